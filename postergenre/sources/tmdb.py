"""A client for The Movie Database (TMDB) API v3: search films, read their genres, download posters.

This module holds the data classes and the endpoints; the transport (retries, TMDB's error bodies,
the rate limiter, the response cache, redaction) is in ``tmdb_http.py``.

    from postergenre.sources.tmdb import TMDBClient
    tmdb = TMDBClient.from_env()                      # TMDB_API_TOKEN (v4 read token) or TMDB_API_KEY (v3 key)
    page = tmdb.search_movies("Alien", year=1979)     # SearchPage of Movie(id, title, year, genres, poster_path...)
    week = tmdb.trending("week")                      # this week's trending films, also a SearchPage
    poster = tmdb.download_poster(page.results[0].poster_path, "w500")   # bytes of a checked image

Credentials never appear in messages, reprs or logs: the token travels in the Authorization header; a v3
key must travel in the query string (TMDB's rule), so every message is redacted and urllib3's debug log
gets a redacting filter. Trouble is handled as TMDB documents it: 429 waits ``Retry-After`` (capped) and
retries, 5xx / timeouts retry with exponential backoff, 401 -> TMDBAuthError, 404 -> TMDBNotFoundError,
anything unreadable -> TMDBError. Answers are cached in memory and, with ``cache=DIR``, on disk.
This product uses the TMDB API but is not endorsed or certified by TMDB.
"""
from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests

from postergenre.errors import ImageLoadError, TMDBAuthError, TMDBError
from postergenre.genres import genre_by_id, genre_by_name
from postergenre.settings import KEY_ENV, TOKEN_ENV, TMDBCredentials, tmdb_credentials
from postergenre.sources.fetch import fetch_url
from postergenre.sources.images import load_image
from postergenre.sources.tmdb_http import RateLimiter, ResponseCache, Transport, install_log_redaction

__all__ = ["TMDBClient", "Movie", "SearchPage", "ImageConfig", "RateLimiter",
           "DEFAULT_BASE_URL", "ATTRIBUTION", "MISSING_CREDENTIALS"]

DEFAULT_BASE_URL = "https://api.themoviedb.org/3"
ATTRIBUTION = "This product uses the TMDB API but is not endorsed or certified by TMDB."
MISSING_CREDENTIALS = (
    "No TMDB credentials found. Create a free API key at https://www.themoviedb.org/settings/api, then set "
    f"{TOKEN_ENV} to its 'API Read Access Token' (or {KEY_ENV} to the v3 'API Key') in the environment "
    f"(export {TOKEN_ENV}=...) or in .streamlit/secrets.toml ({TOKEN_ENV} = \"...\").")
_V3_KEY = re.compile(r"^[0-9a-fA-F]{32}$")
_POSTER_PATH = re.compile(r"^/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class Movie:
    """One film as TMDB lists it (search, discover or /movie/{id})."""
    id: int
    title: str
    year: int | None              # from release_date; None when TMDB has no date
    release_date: str             # "YYYY-MM-DD", or "" when unknown
    genre_ids: tuple[int, ...]
    genres: tuple[str, ...]       # TMDB names of genre_ids (ids newer than postergenre.genres are dropped)
    poster_path: str | None       # e.g. "/abc.jpg"; None when TMDB has no poster (kept, see has_poster)
    overview: str = ""
    popularity: float = 0.0

    @property
    def has_poster(self) -> bool:
        return bool(self.poster_path)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Movie:
        """From a search/discover result (``genre_ids``) or a /movie/{id} answer (``genres`` objects)."""
        try:
            ids = data.get("genre_ids")
            if ids is None:
                ids = [g["id"] for g in data.get("genres") or []]
            ids = tuple(int(i) for i in ids)
            date = str(data.get("release_date") or "")
            poster = data.get("poster_path")
            return cls(id=int(data["id"]), title=str(data.get("title") or data.get("original_title") or ""),
                       year=int(date[:4]) if date[:4].isdigit() else None, release_date=date,
                       genre_ids=ids, genres=tuple(_genre_names(ids)),
                       poster_path=poster if isinstance(poster, str) and poster else None,
                       overview=str(data.get("overview") or ""), popularity=float(data.get("popularity") or 0.0))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise TMDBError(f"TMDB sent a film entry that could not be read ({type(e).__name__}: {e}); "
                            "try again later, or report it if it persists.") from None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"has_poster": self.has_poster}


@dataclass(frozen=True)
class SearchPage:
    """One page of /search/movie or /discover/movie (TMDB pages hold up to 20 films; page <= 500)."""
    results: list[Movie]
    page: int
    total_pages: int
    total_results: int

    @property
    def with_posters(self) -> list[Movie]:
        return [m for m in self.results if m.has_poster]


@dataclass(frozen=True)
class ImageConfig:
    """From /configuration: where images live and which poster widths exist."""
    base_url: str                  # images.secure_base_url, e.g. "https://image.tmdb.org/t/p/"
    poster_sizes: tuple[str, ...]  # e.g. ("w92", "w154", "w185", "w342", "w500", "w780", "original")


@dataclass
class TMDBClient:
    """TMDB API v3 over HTTPS. Give ``api_token`` (v4 read access token, sent as a Bearer header) or
    ``api_key`` (v3 key, sent as the ``api_key`` query parameter); neither -> TMDBAuthError."""
    api_token: str | None = field(default=None, repr=False)
    api_key: str | None = field(default=None, repr=False)
    base_url: str = DEFAULT_BASE_URL       # TMDB_API_BASE_URL overrides it in from_env (tests, proxies)
    timeout: float = 10.0                  # seconds per request
    max_retries: int = 4                   # retries after a 429, a 5xx, a timeout or a dropped connection
    backoff: float = 0.5                   # first retry waits this long, doubling each time
    max_retry_after: float = 60.0          # cap on a 429's Retry-After (seconds)
    cache: str | Path | None = None        # on-disk response cache folder (dataset builds); memory always
    cache_ttl: float = 24 * 3600           # seconds an on-disk answer stays fresh
    rate_limiter: RateLimiter | None = None  # e.g. RateLimiter(40, 10.0) for bulk work
    allow_private_images: bool = False     # fetch posters from private addresses (a local test server)
    session: requests.Session | None = field(default=None, repr=False)
    sleep: Any = field(default=time.sleep, repr=False)

    def __post_init__(self) -> None:
        token, key = (self.api_token or "").strip() or None, (self.api_key or "").strip() or None
        if token and not key and _V3_KEY.match(token):  # a v3 key put where the token goes: use it as a key
            token, key = None, token
        if not token and not key:
            raise TMDBAuthError(MISSING_CREDENTIALS)
        self.api_token, self.api_key = token, key
        self.base_url = self.base_url.rstrip("/")
        self.session = self.session or requests.Session()
        self._responses = ResponseCache(self.cache, self.cache_ttl)
        self._images: ImageConfig | None = None
        self._transport = Transport(self.session, self.base_url, token, key, timeout=self.timeout,
                                    max_retries=self.max_retries, backoff=self.backoff,
                                    max_retry_after=self.max_retry_after, rate_limiter=self.rate_limiter,
                                    sleep=self.sleep)
        self.stats = self._transport.stats  # requests, retries, cache_hits
        if key:
            install_log_redaction()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None,
                 **kwargs: Any) -> TMDBClient:
        """Credentials from ``env`` (default os.environ), else from ``secrets`` (default: Streamlit's secrets
        files, ./.streamlit/secrets.toml then ~/.streamlit/secrets.toml; the app passes st.secrets), as
        ``settings.tmdb_credentials`` finds them."""
        return cls.from_credentials(tmdb_credentials(env, secrets), **kwargs)

    @classmethod
    def from_credentials(cls, found: TMDBCredentials, **kwargs: Any) -> TMDBClient:
        """A client for ``found``; its ``base_url`` (TMDB_API_BASE_URL) points the client at another
        server, whose posters may be on a private address."""
        if found.base_url:
            kwargs.setdefault("base_url", found.base_url)
            kwargs.setdefault("allow_private_images", True)
        return cls(found.token, found.key, **kwargs)

    # --- endpoints ---------------------------------------------------------------------------------

    def search_movies(self, query: str, *, year: int | None = None, page: int = 1, include_adult: bool = False,
                      language: str = "en-US") -> SearchPage:
        """/search/movie: films whose title matches ``query`` (optionally released in ``year``)."""
        query = str(query or "").strip()
        if not query:
            raise TMDBError("The search text is empty; type (part of) a film title.")
        params = {"query": query, "page": _page(page), "include_adult": _flag(include_adult), "language": language}
        if year:
            params["year"] = int(year)
        return _search_page(self.get("/search/movie", params))

    def discover(self, *, with_genres: int | str | Iterable[int | str] | None = None,
                 sort_by: str = "popularity.desc", page: int = 1, primary_release_date_gte: str | None = None,
                 include_adult: bool = False, language: str = "en-US") -> SearchPage:
        """/discover/movie: e.g. the most popular films having all of ``with_genres`` (ids or names)."""
        params: dict[str, Any] = {"sort_by": sort_by, "page": _page(page), "include_adult": _flag(include_adult),
                                  "include_video": "false", "language": language}
        if with_genres is not None:
            items = [with_genres] if isinstance(with_genres, (int, str)) else list(with_genres)
            params["with_genres"] = ",".join(str(_genre_id(g)) for g in items)
        if primary_release_date_gte:
            params["primary_release_date.gte"] = str(primary_release_date_gte)
        return _search_page(self.get("/discover/movie", params))

    def trending(self, window: str = "week", *, page: int = 1, language: str = "en-US") -> SearchPage:
        """/trending/movie/{day|week}: the films most watched on TMDB today or this week."""
        if window not in ("day", "week"):
            raise TMDBError(f"TMDB's trending window is 'day' or 'week', not {window!r}.")
        return _search_page(self.get(f"/trending/movie/{window}", {"page": _page(page), "language": language}))

    def movie(self, movie_id: int, *, language: str = "en-US") -> Movie:
        """/movie/{id}: one film's details (TMDBNotFoundError when TMDB has no such id)."""
        return Movie.from_json(self.get(f"/movie/{int(movie_id)}", {"language": language}))

    def genres(self, *, language: str = "en-US") -> dict[int, str]:
        """/genre/movie/list as {id: name}."""
        data = self.get("/genre/movie/list", {"language": language})
        try:
            return {int(g["id"]): str(g["name"]) for g in data["genres"]}
        except (KeyError, TypeError, ValueError):
            raise TMDBError("TMDB's genre list came back in an unexpected shape; try again later.") from None

    def configuration(self) -> ImageConfig:
        """/configuration's image settings, asked once per client (TMDB: cache it, refresh every few days)."""
        if self._images is None:
            images = self.get("/configuration").get("images")
            try:
                base = images.get("secure_base_url") or images["base_url"]
                sizes = tuple(str(s) for s in images["poster_sizes"])
            except (AttributeError, KeyError, TypeError):
                raise TMDBError("TMDB's /configuration lacks images.secure_base_url or poster_sizes; "
                                "try again later.") from None
            self._images = ImageConfig(base_url=str(base).rstrip("/") + "/", poster_sizes=sizes)
        return self._images

    def poster_url(self, poster_path: str, size: str = "w500") -> str:
        """The image URL of a poster at ``size`` (w185 suits grids, w500 analysis); no credentials in it."""
        images = self.configuration()
        if size not in images.poster_sizes:
            raise TMDBError(f"TMDB has no poster size {size!r}; use one of {', '.join(images.poster_sizes)}.")
        if not isinstance(poster_path, str) or not _POSTER_PATH.match(poster_path):
            raise TMDBError(f"{poster_path!r} is not a TMDB poster path (like '/abc123.jpg'); this film may "
                            "have no poster on TMDB.")
        return f"{images.base_url}{size}{poster_path}"

    def download_poster(self, poster_path: str, size: str = "w500", *, max_bytes: int = 10 * 2**20) -> bytes:
        """The poster's bytes from TMDB's image server, refused over ``max_bytes`` or if not an image."""
        url = self.poster_url(poster_path, size)
        data = fetch_url(url, max_bytes=max_bytes, timeout=self.timeout, allow_private=self.allow_private_images)
        try:
            load_image(data, max_bytes=max_bytes)
        except ImageLoadError as e:
            raise TMDBError(f"TMDB's poster {poster_path} ({size}) is not a usable image: {e}") from None
        return data

    # --- one GET: the cache here, the rest (rate limit, retries, TMDB's error bodies) in Transport ----

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET ``base_url + path`` as JSON (a dict). Credentials are added here and never cached."""
        params = dict(params or {})
        cached = self._responses.get(path, params)
        if cached is not None:
            self.stats["cache_hits"] += 1
            return cached
        data = self._transport.get_json(path, params)
        self._responses.put(path, params, data)
        return data


def _search_page(data: Mapping[str, Any]) -> SearchPage:
    results = data.get("results")
    if not isinstance(results, list):
        raise TMDBError("TMDB's answer has no list of results; try again later.")
    movies = [Movie.from_json(r) for r in results if isinstance(r, Mapping)]
    try:
        return SearchPage(results=movies, page=int(data.get("page") or 1), total_pages=int(data.get("total_pages") or 0),
                          total_results=int(data.get("total_results") or len(movies)))
    except (TypeError, ValueError):
        raise TMDBError("TMDB's answer has unreadable page counts; try again later.") from None


def _genre_names(ids: Iterable[int]) -> list[str]:
    names = []
    for i in ids:
        try:
            names.append(genre_by_id(i).name)
        except KeyError:  # UnknownGenreError: a genre TMDB added after our list
            pass
    return names


def _genre_id(genre: int | str) -> int:
    if isinstance(genre, int) or str(genre).isdigit():
        return int(genre)
    return genre_by_name(str(genre)).id


def _page(page: int) -> int:
    if not 1 <= int(page) <= 500:
        raise TMDBError(f"TMDB pages run from 1 to 500, not {page}.")
    return int(page)


def _flag(value: bool) -> str:
    return "true" if value else "false"
