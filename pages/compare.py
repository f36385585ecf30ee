"""Compare posters: two to four side by side — genre probabilities, palettes, composition against a
genre's typical range, heatmaps for one genre — exported as CSV, an HTML report or a PNG sheet."""
from __future__ import annotations

import hashlib
import html
import logging
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import streamlit as st

from app_components.analysis import swatches_html
from app_components.inputs import POSTER_TYPES
from app_components.model_cache import explain_bytes, fetch_bytes, get_atlas, get_predictor
from postergenre.compare import MAX_POSTERS, POSTER_COLOURS, compare_posters
from postergenre.compare_report import measure_rows, to_html_report, to_png_report
from postergenre.errors import PosterGenreError

log = logging.getLogger("postergenre.app")


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def compare(posters: tuple[tuple[str, bytes], ...]):
    return compare_posters(get_predictor(), [d for _, d in posters], [n for n, _ in posters], atlas=get_atlas())


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def reports(key: str, genre: str | None, heatmap_genre: str, _comparison, _heatmaps) -> tuple[str, bytes, bytes]:
    """CSV, HTML report and PNG sheet (``key`` identifies the posters; the _ arguments are not hashed)."""
    return (_comparison.to_csv(genre),
            to_html_report(_comparison, genre, _heatmaps, heatmap_genre).encode(),
            to_png_report(_comparison, _heatmaps, heatmap_genre))


def url_name(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).stem or urlsplit(url).hostname or url


def gather_posters() -> list[tuple[str, bytes]]:
    """(name, image bytes) from the uploads, the links and the TMDB picks, in that order."""
    posters: list[tuple[str, bytes]] = []
    files = st.file_uploader("Poster files", type=POSTER_TYPES, accept_multiple_files=True,
                             help=f"Drop 2 to {MAX_POSTERS} posters (JPEG, PNG, WebP…).")
    posters += [(PurePosixPath(f.name).stem, f.getvalue()) for f in files or []]
    links = st.text_area("…or image links, one per line", placeholder="https://…/poster.jpg", height=80)
    for url in [u.strip() for u in links.splitlines() if u.strip()]:
        try:
            with st.spinner(f"Downloading {url_name(url)}…"):
                posters.append((url_name(url), fetch_bytes(url)))
        except PosterGenreError as e:
            st.error(str(e))
    posters += tmdb_picks()
    return posters


def tmdb_picks() -> list[tuple[str, bytes]]:
    """Posters picked on TMDB (kept in the session until removed)."""
    picks: dict[int, tuple[str, bytes]] = st.session_state.setdefault("compare_tmdb_picks", {})
    try:
        from app_components.tmdb_view import tmdb_search_ui
    except ImportError:
        return list(picks.values())
    with st.expander("Add posters from TMDB", expanded=False):
        choice = tmdb_search_ui(key="compare_tmdb")
        if choice is not None and choice.movie.id not in picks:
            st.button(f"Add “{choice.label}” to the comparison", type="primary",
                      on_click=picks.__setitem__, args=(choice.movie.id, (choice.label, choice.poster)))
    for movie_id, (label, _) in list(picks.items()):
        st.button(f"Remove {label}", key=f"compare_remove_{movie_id}", on_click=picks.pop, args=(movie_id,))
    return list(picks.values())


st.title("Compare posters")
st.caption(f"Two to {MAX_POSTERS} posters side by side: which genres each one signals, its colours and "
           "composition against a genre's typical range, and where the model looks. Export everything at the end.")
posters = gather_posters()
if len(posters) < 2:
    st.info(f"Add at least two posters (files, links or TMDB picks); {len(posters)} so far.")
    st.stop()
if len(posters) > MAX_POSTERS:
    st.warning(f"{len(posters)} posters given; comparing the first {MAX_POSTERS}.")
    posters = posters[:MAX_POSTERS]

try:
    with st.spinner("Reading the posters…"):
        comparison = compare(tuple(posters))
except PosterGenreError as e:
    st.error(str(e))
    st.stop()
except Exception:  # never a traceback in the page
    log.exception("comparison failed")
    st.error("Something went wrong while reading these posters. Try other images; if it keeps happening, "
             "report it with the files.")
    st.stop()
key = hashlib.sha1(b"".join(hashlib.sha1(d).digest() for _, d in posters)).hexdigest()
predictor, atlas = get_predictor(), get_atlas()

for i, (column, poster) in enumerate(zip(st.columns(len(comparison.posters)), comparison.posters)):
    with column:
        st.image(poster.image, width="stretch")
        st.markdown(f"<b style='color:{POSTER_COLOURS[i]}'>{html.escape(poster.name)}</b>", unsafe_allow_html=True)
        st.caption(poster.prediction.summary)

st.subheader("Genre probabilities")
st.caption("One bar per poster; the grey tick is the genre's decision threshold: a bar past it is a predicted genre.")
st.plotly_chart(comparison.probability_figure(), config={"displayModeBar": False})

st.subheader("Palettes")
for name, colours in comparison.palettes().items():
    st.markdown(f"**{name}**")
    st.markdown(swatches_html(colours), unsafe_allow_html=True)

st.subheader("Composition")
top_genre = comparison.default_genre()
range_genre = None
if atlas is None:
    st.caption("No Genre Atlas is installed, so the measures are shown without genre ranges.")
else:
    range_genre = st.selectbox("Against the typical range of", atlas.genres,
                               index=atlas.genres.index(top_genre) if top_genre in atlas.genres else 0)
st.dataframe(measure_rows(comparison, range_genre), hide_index=True)

st.subheader("Where the model looks")
heat_genre = st.selectbox("Heatmaps for the genre", predictor.genres, index=predictor.genres.index(top_genre))
try:
    with st.spinner(f"Computing {heat_genre} heatmaps…"):  # cached per poster, shared with the Predict page
        maps = [explain_bytes(data, (heat_genre,))[0].overlay(poster.image)
                for (_, data), poster in zip(posters, comparison.posters)]
    for column, name, image in zip(st.columns(len(maps)), comparison.names, maps):
        column.image(image, caption=name, width="stretch")
except PosterGenreError as e:
    st.error(str(e))
    maps = None
except Exception:
    log.exception("heatmaps failed")
    st.error("The heatmaps could not be computed for these posters; the rest of the comparison stands.")
    maps = None

st.subheader("Export")
csv, html_report, png_report = reports(key, range_genre, heat_genre, comparison, maps)
left, middle, right = st.columns(3)
left.download_button("CSV of all numbers", csv, "poster-comparison.csv", "text/csv", width="stretch")
middle.download_button("HTML report", html_report, "poster-comparison.html", "text/html", width="stretch")
right.download_button("PNG summary", png_report, "poster-comparison.png", "image/png", width="stretch")
