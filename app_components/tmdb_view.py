"""TMDB in the app: search a film by title, pick its poster from a grid, compare genres, attribution.

    choice = tmdb_search_ui()                   # None until the user picks a film (forget_tmdb_pick() drops it)
    if choice:
        prediction = predictor.predict(choice.poster)
        draw_genre_comparison(prediction.predicted, list(choice.movie.genres), predictor.genres)
    tmdb_attribution()                          # TMDB's required notice, in the footer / about
    trending_films(6)                           # this week's trending films (the Predict page's examples)

Credentials come from the environment or st.secrets (TMDB_API_TOKEN / TMDB_API_KEY); without them the
search says it is not enabled here and offers a field for the visitor's own token, held in this
browser session's state only (never cached process-wide, logged or sent anywhere but TMDB). TMDB answers are cached with st.cache_data
(ttl 1 h). Grid thumbnails are TMDB image URLs (w185, no credentials in them); the picked poster is
downloaded at w500 for the model.
"""
from __future__ import annotations

import hashlib
import html
from dataclasses import dataclass

import streamlit as st

from app_components.secrets import streamlit_secrets
from postergenre.errors import PosterGenreError
from postergenre.genres import compare_genres
from postergenre.settings import BASE_URL_ENV, KEY_ENV, TOKEN_ENV, TMDBCredentials, tmdb_credentials
from postergenre.sources.tmdb import ATTRIBUTION, Movie, SearchPage, TMDBClient

GRID_SIZE, ANALYSIS_SIZE = "w185", "w500"   # TMDB poster widths: thumbnails, and what the model reads
GRID_COLUMNS = 5
TMDB_URL = "https://www.themoviedb.org/"
_TTL = 3600


@dataclass(frozen=True)
class TMDBChoice:
    poster: bytes      # the w500 poster, checked to be an image
    movie: Movie       # title, year, genres (TMDB's), poster_path...

    @property
    def label(self) -> str:
        return f"{self.movie.title} ({self.movie.year})" if self.movie.year else self.movie.title


def _settings() -> dict[str, str]:
    """TMDB_* values from st.secrets (the environment wins: see postergenre.settings.tmdb_credentials)."""
    return streamlit_secrets(TOKEN_ENV, KEY_ENV, BASE_URL_ENV)


USER_TOKEN_KEY = "tmdb_user_token"   # session state only: a visitor's own token, for this browser session


def _user_token() -> str:
    return str(st.session_state.get(USER_TOKEN_KEY) or "").strip()


def _credentials() -> TMDBCredentials:
    """The deployment's TMDB_* settings (environment, then st.secrets); without a token or key of the
    deployment's own, the visitor's token from this session (a 32-hex v3 key or a v4 read token)."""
    found = tmdb_credentials(secrets=_settings())
    user = _user_token()
    if not found.present and user:
        is_key = len(user) == 32 and all(c in "0123456789abcdefABCDEF" for c in user)
        found = TMDBCredentials(None if is_key else user, user if is_key else None, found.base_url)
    return found


def _client_key() -> str | None:
    """A fingerprint of the credentials in use (cache key; the secrets themselves are never a key), or None."""
    found = _credentials()
    if not found.present:
        return None
    return hashlib.sha256("\0".join(v or "" for v in (found.token, found.key, found.base_url)).encode()).hexdigest()[:16]


def _client(client_key: str) -> TMDBClient:
    """The client for these credentials (built per call: it is cheap, and a visitor's token then lives
    in their session only, never in a process-wide cache)."""
    return TMDBClient.from_credentials(_credentials())


@st.cache_data(ttl=_TTL, show_spinner=False)
def search_tmdb(client_key: str, query: str, year: int | None) -> SearchPage:
    return _client(client_key).search_movies(query, year=year)


@st.cache_data(ttl=_TTL, show_spinner=False)
def tmdb_poster_url(client_key: str, poster_path: str, size: str) -> str:
    return _client(client_key).poster_url(poster_path, size)


@st.cache_data(ttl=_TTL, show_spinner=False, max_entries=64)
def poster_bytes(client_key: str, poster_path: str, size: str) -> bytes:
    return _client(client_key).download_poster(poster_path, size)


def tmdb_available() -> bool:
    return _client_key() is not None


@st.cache_data(ttl=_TTL, show_spinner=False)
def _trending(client_key: str) -> SearchPage:
    return _client(client_key).trending("week")


def trending_films(limit: int = 6) -> list[Movie]:
    """This week's trending films on TMDB that have a poster (at most ``limit``); [] without credentials.
    Raises PosterGenreError when TMDB cannot be reached or refuses."""
    client_key = _client_key()
    return [] if client_key is None else _trending(client_key).with_posters[:limit]


def film_thumbnail(movie: Movie) -> str:
    """The grid-size image URL of a film's poster (no credentials in it)."""
    return tmdb_poster_url(_client_key() or "", movie.poster_path, GRID_SIZE)


def film_poster(movie: Movie) -> bytes:
    """The film's poster at the size the model reads, checked to be an image."""
    return poster_bytes(_client_key() or "", movie.poster_path, ANALYSIS_SIZE)


def tmdb_search_ui(key: str = "tmdb") -> TMDBChoice | None:
    """Search box -> grid of matching films -> the picked film's poster and metadata (None until picked)."""
    client_key = _client_key()
    if not _deployment_has_credentials():
        _ask_for_token()
    if client_key is None:
        return None
    left, right = st.columns([4, 1])
    query = left.text_input("Film title", key=f"{key}_query", placeholder="e.g. Alien",
                            help="Searches The Movie Database (TMDB) by title.")
    year = right.number_input("Year (optional)", min_value=1874, max_value=2100, value=None, step=1,
                              key=f"{key}_year")
    if not query.strip():
        st.caption("Type a film title to see its posters on TMDB.")
        return None
    try:
        with st.spinner("Searching TMDB…"):
            page = search_tmdb(client_key, query.strip(), int(year) if year else None)
    except PosterGenreError as e:
        st.error(str(e))
        return None
    if not page.results:
        st.warning(f"No film on TMDB matches “{query.strip()}”{f' in {int(year)}' if year else ''}; "
                   "check the spelling or leave the year empty.")
        return None
    shown = page.results[:20]
    picked_key = f"{key}_picked"
    movie = next((m for m in shown if m.id == st.session_state.get(picked_key)), None)
    label = (f"{page.total_results:,} film(s) match; showing the first {len(shown)}"
             + (f" · chosen: {movie.title}" if movie else ". Pick a poster to read it."))
    with st.expander(label, expanded=movie is None):   # folds away once a poster is chosen
        _draw_grid(client_key, shown, picked_key)
    tmdb_attribution()
    if movie is None:
        return None
    try:
        with st.spinner(f"Downloading the poster of {movie.title}…"):
            data = poster_bytes(client_key, movie.poster_path, ANALYSIS_SIZE)
    except PosterGenreError as e:
        st.error(str(e))
        return None
    return TMDBChoice(poster=data, movie=movie)


def forget_tmdb_pick(key: str = "tmdb") -> None:
    """Drop ``tmdb_search_ui(key)``'s pick and empty its title box (from a widget callback)."""
    st.session_state.pop(f"{key}_picked", None)
    st.session_state[f"{key}_query"] = ""


def _deployment_has_credentials() -> bool:
    return tmdb_credentials(secrets=_settings()).present


def _keep_user_token() -> None:  # the widget's value outlives the widget (tabs that are closed do not run)
    st.session_state[USER_TOKEN_KEY] = str(st.session_state.get(USER_TOKEN_KEY + "_field") or "").strip()


def _ask_for_token() -> None:
    """No deployment credentials: say so in a user's words, and take the visitor's own token for this
    session (operators read docs/tmdb.md)."""
    if not _user_token():
        st.info("TMDB search is not enabled on this deployment. Uploads and image links work without it.",
                icon=":material/search_off:")
    with st.expander("Using your own TMDB token (this session only)" if _user_token() else "Use your own TMDB token",
                     icon=":material/key:", expanded=False):
        st.text_input("Your TMDB API Read Access Token (or v3 API key)", type="password", value=_user_token(),
                      key=USER_TOKEN_KEY + "_field", on_change=_keep_user_token,
                      help="Free at themoviedb.org › Settings › API. Kept in this browser session only: never "
                           "stored, logged or sent anywhere but TMDB. Clear the field to forget it.")
        st.caption("Get one free at [themoviedb.org/settings/api](https://www.themoviedb.org/settings/api). "
                   "It is forgotten when you close the tab.")


def _draw_grid(client_key: str, movies: list[Movie], picked_key: str) -> None:
    for start in range(0, len(movies), GRID_COLUMNS):
        for column, movie in zip(st.columns(GRID_COLUMNS), movies[start:start + GRID_COLUMNS]):
            with column:
                _draw_card(client_key, movie, picked_key)


def _draw_card(client_key: str, movie: Movie, picked_key: str) -> None:
    title = f"{movie.title} ({movie.year})" if movie.year else movie.title
    if movie.has_poster:
        try:
            st.image(tmdb_poster_url(client_key, movie.poster_path, GRID_SIZE), width="stretch", alt=f"Poster of {title}")
        except PosterGenreError as e:
            st.caption(f"Poster unavailable: {e}")
    else:
        st.markdown('<div style="aspect-ratio:2/3;display:flex;align-items:center;justify-content:center;'
                    'border:1px dashed #8886;border-radius:6px;font-size:0.8rem;opacity:0.7">no poster on TMDB</div>',
                    unsafe_allow_html=True)
    st.markdown(f"**{_escape(title)}**")
    chosen = st.session_state.get(picked_key) == movie.id
    st.button("Chosen" if chosen else "Use this poster", key=f"{picked_key}_{movie.id}", disabled=not movie.has_poster,
              type="primary" if chosen else "secondary", width="stretch",
              on_click=st.session_state.__setitem__, args=(picked_key, movie.id),
              help=None if movie.has_poster else "TMDB has no poster for this film.")


def draw_genre_comparison(predicted: list[str], tmdb_genres: list[str], trained: list[str]) -> dict[str, list[str]]:
    """The model's genres beside TMDB's: hits, misses, extras (and TMDB genres the model cannot predict).
    The page draws the heading."""
    result = compare_genres(predicted, tmdb_genres, trained)
    if not tmdb_genres:
        st.caption("TMDB lists no genres for this film, so there is nothing to compare.")
        return result
    columns = st.columns(3)
    groups = (("Hits", "hits", "#2e7d32", "predicted, and on TMDB"),
              ("Misses", "misses", "#c62828", "on TMDB, not predicted"),
              ("Extras", "extras", "#ef6c00", "predicted, not on TMDB"))
    for column, (title, name, colour, meaning) in zip(columns, groups):
        with column:
            st.markdown(f"**{title}** · {len(result[name])}")
            st.caption(meaning)
            st.markdown(_chips(result[name], colour) or "—", unsafe_allow_html=True)
    if result["untrained"]:
        st.caption(f"TMDB also lists {', '.join(result['untrained'])}, which the model is not trained to "
                   "predict, so it counts as neither a hit nor a miss.")
    return result


def tmdb_attribution() -> None:
    """TMDB's required notice with a link to TMDB (their logo's wording and colours, less prominent than ours)."""
    badge = ('<a href="{url}" target="_blank" rel="noopener" style="text-decoration:none">'
             '<span style="font-weight:700;padding:1px 6px;border-radius:4px;color:#0d253f;'
             'background:linear-gradient(90deg,#90cea1,#01b4e4)">TMDB</span></a>').format(url=TMDB_URL)
    st.markdown(f'<div style="font-size:0.8rem;opacity:0.8">{badge} {html.escape(ATTRIBUTION)} '
                f'Film data and posters: <a href="{TMDB_URL}" target="_blank" rel="noopener">themoviedb.org</a>.</div>',
                unsafe_allow_html=True)


def _chips(names: list[str], colour: str) -> str:
    return " ".join(f'<span style="display:inline-block;margin:2px 4px 2px 0;padding:2px 8px;border-radius:10px;'
                    f'border:1px solid {colour};color:{colour};font-size:0.85rem">{html.escape(n)}</span>' for n in names)


def _escape(text: str) -> str:
    """Markdown-safe film title (titles may contain *, _, [ ] ...)."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~$" else c for c in text)
