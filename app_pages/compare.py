"""Compare posters: up to 50 drafts (files, a zip, links, TMDB picks) read in one batch into a sortable table,
and two to four of them side by side — genre probabilities, palettes, composition against a genre's
typical range, heatmaps for one genre — exported as CSV, an HTML report or a PNG sheet. A file that
cannot be read is named with the reason and left out; the others are compared."""
from __future__ import annotations

import hashlib
import html
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import streamlit as st

from app_components.analysis import swatches_html
from app_components.check import draw_variant_ranking, intended_genre_selector
from app_components.compare import (framed, heatmaps_or_report, read_or_report, report_unreadable, reports_or_report,
                                    ticked_posters, unpack_or_report)
from app_components.inputs import POSTER_TYPES, poster_key
from app_components.model_cache import fetch_bytes, get_atlas, get_predictor
from postergenre.compare.batch import MAX_BATCH
from postergenre.compare.posters import MAX_POSTERS, POSTER_COLOURS
from postergenre.compare.report import measure_rows
from postergenre.errors import PosterGenreError
from postergenre.sources.archive import ARCHIVE_EXTENSIONS

TILE_WIDTH = 170  # px: up to four posters in a row on a laptop, two per row on a phone


def url_name(url: str) -> str:
    return PurePosixPath(urlsplit(url).path).stem or urlsplit(url).hostname or url


def gather_posters() -> list[tuple[str, bytes]]:
    """(name, image bytes) from the uploads (zips opened), the links and the TMDB picks, in that order."""
    files = st.file_uploader("Poster files, or a .zip of a folder of them", type=POSTER_TYPES + list(ARCHIVE_EXTENSIONS),
                             accept_multiple_files=True,
                             help=f"Drop 2 to {MAX_BATCH} posters (JPEG, PNG, WebP…): select them all in the file "
                                  "picker, or zip their folder. Nothing is stored.")
    posters = unpack_or_report([(f.name, f.getvalue()) for f in files or []])
    links = st.text_area("…or image links, one per line", placeholder="https://…/poster.jpg", height=80)
    for url in [u.strip() for u in links.splitlines() if u.strip()]:
        try:
            with st.spinner(f"Downloading {url_name(url)}…"):
                posters.append((url_name(url), fetch_bytes(url)))
        except PosterGenreError as e:
            st.error(str(e))
    posters += tmdb_picks()
    return without_duplicates(posters)


def without_duplicates(posters: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The same image given twice is compared once, and the page says so."""
    seen: dict[str, str] = {}
    kept = []
    for name, data in posters:
        digest = hashlib.sha1(data).hexdigest()
        if digest in seen:
            st.warning(f"“{name}” is the same image as “{seen[digest]}”; it is compared once.",
                       icon=":material/content_copy:")
            continue
        seen[digest] = name
        kept.append((name, data))
    return kept


def renamed(posters: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Each poster's name as the user typed it (default: its file name or title)."""
    with st.expander("Rename the posters", icon=":material/edit:"):
        columns = st.columns(min(len(posters), 2))
        out = []
        for i, (name, data) in enumerate(posters):
            digest = hashlib.sha1(data).hexdigest()[:12]   # the key follows the image, not its position
            typed = columns[i % len(columns)].text_input(f"Poster {i + 1}", value=name, key=f"compare_name_{digest}",
                                                         max_chars=40).strip()
            out.append((typed or name, data))
    return out


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


def between(items: list, most: int, too_few: str, too_many: str) -> list:
    """``items`` when there are at least two (else ``too_few`` is said and the page stops), the first
    ``most`` of them (``too_many`` said) when there are more."""
    if len(items) < 2:
        st.info(too_few.format(n=len(items)))
        st.stop()
    if len(items) > most:
        st.warning(too_many.format(n=len(items), most=most))
    return items[:most]


st.title("Compare posters")
st.caption(f"Up to {MAX_BATCH} drafts in a table you can sort, and {MAX_POSTERS} of them side by side: which genres "
           "each one signals, its colours and composition against a genre's typical range, and where the model "
           "looks. Export everything at the end.")
given = between(gather_posters(), MAX_BATCH, "Add at least two posters (files, a zip, links or TMDB picks); {n} so far.",
                "{n} posters given; reading the first {most}.")

batch = read_or_report(tuple(given))
if batch is None:
    st.stop()
report_unreadable(batch, len(given))
readable = [(name, given[i][1]) for name, i in zip(batch.names, batch.given)]
between(readable, len(readable), "Add at least two posters that can be read; {n} so far.", "")
everyone = tuple(renamed(readable))
batch = batch.renamed([n for n, _ in everyone])
picks = list(range(len(everyone)))
if len(everyone) > MAX_POSTERS:  # more than fit side by side: the table of all, and ticks
    st.subheader(f"All {len(everyone)} posters")
    st.caption(f"Click a column's name to sort by it. Tick 2 to {MAX_POSTERS} posters to see them side by side below.")
    picks = ticked_posters(batch, key=f"compare_table_{poster_key(*(d for _, d in everyone))}")
    st.download_button(f"CSV of the table ({len(everyone)} posters)", batch.to_csv(), "poster-table.csv", "text/csv",
                       icon=":material/download:", key="compare_table_csv")
    picks = between(picks, MAX_POSTERS, f"Tick 2 to {MAX_POSTERS} posters in the table to see them side by side; "
                    "{n} ticked.", "{n} ticked: side by side shows the first {most} of them. Untick some to choose.")
    st.subheader("Side by side")
posters = tuple(everyone[i] for i in picks)
comparison = batch.comparison(picks)
predictor, atlas = get_predictor(), get_atlas()
key = poster_key(*(d for _, d in posters))  # widgets whose options or defaults depend on the posters end with it


def poster_row(images, captions: list[str]) -> None:
    """Tiles of one width in a row that wraps: four across on a laptop, two per row on a phone."""
    with st.container(horizontal=True, gap="small"):
        for image, caption in zip(images, captions):
            with st.container(width=TILE_WIDTH, gap=None):
                st.image(framed(image), width="stretch")
                st.markdown(caption, unsafe_allow_html=True)


poster_row([p.image for p in comparison.posters],
           [f"<b style='color:{POSTER_COLOURS[i]}'>{html.escape(p.name)}</b><br>"
            f"<small>{'⚠ ' if p.prediction.warning else ''}{html.escape(p.prediction.summary)}</small>"
            for i, p in enumerate(comparison.posters)])
for name, p in zip(comparison.names, comparison.posters):
    if p.prediction.warning:  # not a poster: say so plainly, the genres are a guess
        st.warning(f"{name}: {p.prediction.summary}", icon=":material/warning:")

intended = intended_genre_selector(predictor.genres, key="compare_intended",
                                   help_extra=" Here: the drafts ranked by how well each one says it.")
if intended:
    draw_variant_ranking(batch.posters, intended)  # every draft read, not only the ticked ones

st.subheader("Genre probabilities")
relevant = comparison.relevant_genres()
show_all = st.toggle(f"All {len(comparison.genres)} genres", value=False, key="compare_all_genres",
                     help=f"Off: the {len(relevant)} genres that matter here (any poster's top 5 or predicted).")
st.caption("One bar per poster, calibrated probabilities (of posters given 70%, about 7 in 10 have the genre). "
           + " ".join(comparison.chart_notes()))
st.plotly_chart(comparison.probability_figure(genres=None if show_all else relevant),
                config={"displayModeBar": False}, key="compare_chart")

st.subheader("Palettes")
for i, (name, colours) in enumerate(comparison.palettes().items()):
    st.markdown(f"<b style='color:{POSTER_COLOURS[i]}'>{html.escape(name)}</b>", unsafe_allow_html=True)
    st.markdown(swatches_html(colours), unsafe_allow_html=True)

st.subheader("Composition")
top_genre = comparison.default_genre()
range_genre = None
if atlas is None:
    st.caption("No Genre Atlas is installed, so the measures are shown without genre ranges.")
else:
    range_genre = st.selectbox("Against the typical range of", atlas.genres, key=f"compare_range_{key}",
                               index=atlas.genres.index(top_genre) if top_genre in atlas.genres else 0)
st.table(measure_rows(comparison, range_genre), border="horizontal", hide_index=True)

st.subheader("Where the model looks")
pick, opacity = st.columns([3, 1], vertical_alignment="bottom")
heat_default = intended[0] if intended else top_genre  # the intended genre, once one is chosen
heat_genre = pick.selectbox("Heatmaps for the genre", predictor.genres, index=predictor.genres.index(heat_default),
                            key=f"compare_heat_{key}_{heat_default}")  # new posters: new widget with their own default
alpha = opacity.slider("Heatmap opacity", 0.0, 1.0, 0.6, 0.05, key="compare_cam_alpha")
with st.spinner(f"Computing {heat_genre} heatmaps…"):
    maps = heatmaps_or_report(posters, comparison, heat_genre, alpha)
flagged = [p.prediction.warning is not None for p in comparison.posters]
show_flagged = not any(flagged) or st.toggle(
    "Heatmaps of the images that are not posters too", value=False, key=f"compare_flagged_maps_{key}",
    help="The model was made for posters: for other images its heatmaps explain guesses.")
if maps:
    poster_row([m if show_flagged or not f else p.image for m, f, p in zip(maps, flagged, comparison.posters)],
               [f"<small>{html.escape(n)} · " + ("not a poster: heatmap on request" if f and not show_flagged else
                f"{p.prediction.probabilities[heat_genre]:.0%} {html.escape(heat_genre)}") + "</small>"
                for n, p, f in zip(comparison.names, comparison.posters, flagged)])

st.subheader("Export")
exports = reports_or_report(posters, comparison, range_genre, heat_genre, maps, alpha,
                            batch if len(everyone) > len(posters) else None, everyone)
if exports is not None:
    csv, html_report, png_report = exports
    with st.container(horizontal=True, gap="small"):
        st.download_button("CSV of all numbers", csv, "poster-comparison.csv", "text/csv", icon=":material/download:")
        st.download_button("HTML report", html_report, "poster-comparison.html", "text/html", icon=":material/download:")
        st.download_button("PNG summary", png_report, "poster-comparison.png", "image/png", icon=":material/download:")
