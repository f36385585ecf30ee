"""The Catalog page's helpers: which catalogs this server may open, the opened catalog and its cached
query results, the filter bar, and the figures (Plotly, with a PNG button; the map in Vega-Lite, whose
tooltips show thumbnails). The queries themselves live in ``postergenre.catalog.explore``."""
from __future__ import annotations

import base64
import logging
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app_components.secrets import streamlit_secrets
from postergenre import settings
from postergenre.catalog.explore import Catalog, Filters, available_catalogs, find_index, resolve_catalog
from postergenre.look.analysis import MEASURES

log = logging.getLogger("postergenre.app")
ACCENT, MUTED, GLOBAL = "#e4572e", "#9a9cb0", "#6c6f85"
THUMB = 140           # thumbnail width in the grids (px): two cards a row on a phone
MAP_THUMBS = 240      # map points whose tooltip carries a thumbnail (the rest show text)


def chart_config(name: str) -> dict:
    """Plotly's toolbar with the PNG button only (shown on hover)."""
    return {"displaylogo": False, "displayModeBar": "hover", "modeBarButtons": [["toImage"]],
            "toImageButtonOptions": {"format": "png", "filename": f"catalog-{name}", "scale": 2}}


# --- which catalogs, opened once ---------------------------------------------------------------------
def roots() -> list[Path]:
    """The folders POSTERGENRE_CATALOG (environment, else st.secrets) allows."""
    return settings.catalog_roots(secrets=streamlit_secrets(settings.CATALOG_ENV))


def page_visible() -> bool:
    """The page is in the navigation when a catalog is configured, or anywhere but on a Space."""
    return bool(roots()) or not settings.on_space()


@st.cache_data(ttl=30, show_spinner=False)
def catalogs(folders: tuple[str, ...]) -> dict[str, str]:
    return {k: str(v) for k, v in available_catalogs(list(folders)).items()}


@st.cache_resource(max_entries=4, show_spinner=False)
def _open(path: str, fingerprint: str) -> Catalog:
    return Catalog(path)


def open_catalog(name: str) -> Catalog:
    """The catalog ``name`` (only a name ``available_catalogs`` lists opens); its working copy is built on
    the first open, with a progress bar, and again when its part files change."""
    from postergenre.catalog import explore_store
    from postergenre.catalog.sources import part_files

    path = resolve_catalog(name, roots())
    fp = explore_store.fingerprint(part_files(path))
    if not explore_store.store_file(path, fp).is_file():
        bar = st.progress(0.0, text="Preparing the catalog for exploring (once per catalog)…")
        Catalog(path, progress=lambda x: bar.progress(x, text=f"Preparing the catalog for exploring (once): {x:.0%}"))
        bar.empty()
    return _open(str(path), fp)


def index_for(cat: Catalog) -> str | None:
    """The similar-poster index built from ``cat``: POSTERGENRE_INDEX, or one in a catalog root or
    beside the catalog."""
    configured = settings.lookup(settings.INDEX_ENV, secrets=streamlit_secrets(settings.INDEX_ENV))
    found = find_index(cat.path, ([configured] if configured else []) + roots() + [cat.path.parent])
    return None if found is None else str(found)


# --- cached query results (keyed by the catalog's state and the filters) -----------------------------
def _cat(key: tuple[str, str]) -> Catalog:
    return _open(*key)


@st.cache_data(ttl=3600, max_entries=128, show_spinner=False)
def cached(key: tuple[str, str], view: str, f: Filters, *args):
    """``getattr(catalog, view)(f, *args)``, cached per catalog state, view, filters and arguments."""
    return getattr(_cat(key), view)(f, *args)


def thumbs(key: tuple[str, str], paths: list[str], width: int = THUMB) -> dict[str, bytes | None]:
    """Thumbnails of these catalog rows (the catalog keeps the recent ones)."""
    return _cat(key).thumbnails(paths, width)


# --- the filter bar --------------------------------------------------------------------------------------
def measure_label(k: str) -> str:
    m = MEASURES[k]
    return f"{m.label} ({m.unit})" if m.unit not in ("", "%") else m.label


def filter_bar(cat: Catalog, name: str) -> Filters:
    """The filters every view follows; widget keys carry the catalog's name, so another catalog starts
    from no filter."""
    k = f"{name}:"
    with st.expander("Filters (every view below follows them)", expanded=True, icon=":material/filter_list:"):
        c1, c2, c3 = st.columns([3, 2, 2])
        genre = c1.selectbox("Genre", ["All genres"] + cat.genres, key=k + "genre")
        genre = None if genre == "All genres" else genre
        source = "predicted"
        if cat.has_labels:
            pick = c2.segmented_control("Genre from", ["Model", "Labels"], default="Model", key=k + "source",
                                        help="The model's predicted genres, or the genres the catalog was labelled with")
            source = "labels" if pick == "Labels" else "predicted"
        check = c3.selectbox("Poster check", ["All", "Posters only", "Flagged non-posters"], key=k + "check",
                             disabled=not cat.has_check,
                             help="Images the model's poster check says do not look like a movie poster")
        flagged = {"All": None, "Posters only": False, "Flagged non-posters": True}[check]
        c1, c2 = st.columns(2)
        years = None
        if cat.has_years and cat.stats["years"][0] < cat.stats["years"][1]:
            lo, hi = cat.stats["years"]
            picked = c1.slider("Years", lo, hi, (lo, hi), key=k + "years")
            years = None if tuple(picked) == (lo, hi) else tuple(picked)
        prob = c2.slider(f"{genre + ' probability' if genre else 'Top genre probability'}", 0, 100, (0, 100),
                         step=5, format="%d%%", key=k + "prob",
                         help="The selected genre's probability; with all genres, each poster's highest one")
        prob_range = None if tuple(prob) == (0, 100) else (prob[0] / 100, prob[1] / 100)
        measure, measure_range = None, None
        if cat.stats["measures"]:
            c1, c2 = st.columns(2)
            options = ["(none)"] + list(cat.stats["measures"])
            measure = c1.selectbox("Measure", options, key=k + "measure",
                                   format_func=lambda m: "No measure filter" if m == "(none)" else measure_label(m))
            if measure != "(none)":
                lo, hi = cat.stats["measures"][measure]
                if lo < hi:
                    r = c2.slider(f"{MEASURES[measure].label} range", float(lo), float(hi), (float(lo), float(hi)),
                                  key=k + "range_" + measure, help=MEASURES[measure].help)
                    measure_range = None if tuple(r) == (lo, hi) else (float(r[0]), float(r[1]))
            measure = None if measure == "(none)" else measure
    return Filters(genre=genre, source=source, years=years, prob=prob_range, flagged=flagged,
                   measure=measure if measure_range else None, measure_range=measure_range)


# --- figures ---------------------------------------------------------------------------------------------
def _layout(fig: go.Figure, height: int, **kw) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=8, r=8, t=30, b=30),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0), **kw)
    return fig


def mix_figure(mix: dict) -> go.Figure:
    """Each genre's predicted count, and its labelled count beside it when the catalog has labels."""
    order = np.argsort(mix["predicted"] + mix["labelled"])
    names = [mix["genres"][i] for i in order]
    fig = go.Figure(go.Bar(y=names, x=mix["predicted"][order], orientation="h", name="predicted by the model",
                           marker_color=ACCENT, hovertemplate="%{y}: %{x:,} posters predicted<extra></extra>"))
    if mix["labelled_rows"]:
        fig.add_trace(go.Bar(y=names, x=mix["labelled"][order], orientation="h", name="labelled",
                             marker_color=GLOBAL, hovertemplate="%{y}: %{x:,} posters labelled<extra></extra>"))
    return _layout(fig, 80 + 22 * len(names) * (1.5 if mix["labelled_rows"] else 1), barmode="group",
                   xaxis=dict(title="posters", fixedrange=True), yaxis=dict(fixedrange=True))


def share_heatmap(matrix: np.ndarray, rows: list[str], cols: list[str], row_totals: np.ndarray, *,
                  row_word: str, col_word: str) -> go.Figure:
    """Row-normalised matrix: the share of each row's posters that are also ``col_word`` each column."""
    share = np.divide(matrix, np.maximum(row_totals[:, None], 1)).astype(float)
    if rows == cols:
        np.fill_diagonal(share, np.nan)  # a genre with itself says nothing
    text = [[f"{v:.0%}" if v >= 0.005 else "" for v in row] for row in share]
    fig = go.Figure(go.Heatmap(z=share, x=cols, y=rows, zmin=0, zmax=1, colorscale="OrRd", text=text,
                               texttemplate="%{text}", showscale=False,
                               customdata=np.broadcast_to(row_totals[:, None], share.shape),
                               hovertemplate=f"%{{z:.0%}} of the %{{customdata:,}} posters {row_word} %{{y}} "
                                             f"are {col_word} %{{x}}<extra></extra>"))
    return _layout(fig, 120 + 26 * len(rows), xaxis=dict(side="top", tickangle=-45, fixedrange=True),
                   yaxis=dict(autorange="reversed", fixedrange=True))


def quality_figure(genres: list[str], ap: list, baseline: list) -> go.Figure:
    """AP per genre beside the trivial baseline (a random ranking scores the genre's prevalence)."""
    fig = go.Figure(go.Bar(y=genres, x=baseline, orientation="h", name="random ranking (prevalence)",
                           marker_color=MUTED))
    fig.add_trace(go.Bar(y=genres, x=ap, orientation="h", name="model", marker_color=ACCENT,
                         text=[f"{v:.2f}" if v is not None else "" for v in ap], textposition="outside",
                         cliponaxis=False))
    return _layout(fig, 80 + 30 * len(genres), barmode="group",
                   xaxis=dict(range=[0, 1.05], title="average precision", fixedrange=True), yaxis=dict(fixedrange=True))


def _period_axis(trend: dict) -> dict:
    """Decades read as '1980s', one tick each; years as plain years."""
    if trend["by"] != "decade":
        return dict(title="year", fixedrange=True)
    periods = [p["period"] for p in trend["periods"]]
    return dict(title=None, tickvals=periods, ticktext=[f"{p}s" for p in periods], fixedrange=True)


def shares_figure(trend: dict, genres: list[str], focus: str | None) -> go.Figure:
    """Each genre's share of the posters by period; the chosen genre drawn strong, the others faint."""
    periods = [p["period"] for p in trend["periods"]]
    fig = go.Figure()
    for g in genres:
        strong = focus is None or g == focus
        fig.add_trace(go.Scatter(x=periods, y=[p[g] for p in trend["periods"]], mode="lines+markers" if strong else "lines",
                                 name=g, line=dict(width=3 if g == focus else 1.5, color=ACCENT if g == focus else None),
                                 opacity=1.0 if strong else 0.25, visible=True,
                                 hovertemplate=f"{g}, %{{x}}: %{{y:.0%}}<extra></extra>"))
    return _layout(fig, 380, yaxis=dict(tickformat=".0%", title="share of posters", fixedrange=True),
                   xaxis=_period_axis(trend), showlegend=focus is None)


def measure_trend_figure(trend: dict, label: str, focus: str | None) -> go.Figure:
    """The measure's median and quartile band by period: the filtered posters and, dashed, all posters
    (the global trend beside the genre's)."""
    periods = [p["period"] for p in trend["periods"]]
    fig = go.Figure()
    series = [("all genres", "q_all", GLOBAL, "dash")] + ([(focus, "q_sel", ACCENT, "solid")] if focus else [])
    for name, key, colour, dash in series:
        q = [p[key] or [None] * 3 for p in trend["periods"]]
        lo, mid, hi = ([r[i] for r in q] for i in range(3))
        fig.add_trace(go.Scatter(x=periods + periods[::-1], y=hi + lo[::-1], fill="toself", line=dict(width=0),
                                 fillcolor=colour, opacity=0.15, hoverinfo="skip", showlegend=False))
        fig.add_trace(go.Scatter(x=periods, y=mid, mode="lines+markers", name=f"{name}: median, band = middle half",
                                 line=dict(color=colour, dash=dash),
                                 hovertemplate=f"{name}, %{{x}}: median %{{y:.2f}}<extra></extra>"))
    return _layout(fig, 340, yaxis=dict(title=label, fixedrange=True), xaxis=_period_axis(trend))


def data_uri(jpeg: bytes | None) -> str | None:
    return None if jpeg is None else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def map_chart(points: list[dict], images: dict[str, str | None]):
    """The embedding map (Vega-Lite): one dot per sampled poster, coloured by its top predicted genre;
    hovering shows the poster (for the first ``MAP_THUMBS`` dots), its name and genres."""
    import altair as alt
    import pandas as pd

    df = pd.DataFrame({"x": [p["x"] for p in points], "y": [p["y"] for p in points],
                       "genre": [(p["predicted"] or ["no genre"])[0] for p in points],
                       "poster": [Path(p["path"]).name for p in points],
                       "predicted": [" · ".join(p["predicted"] or []) or "none" for p in points],
                       "image": [images.get(p["path"]) for p in points]})
    return (alt.Chart(df).mark_circle(size=60, opacity=0.8)
            .encode(x=alt.X("x", axis=None), y=alt.Y("y", axis=None),
                    color=alt.Color("genre", title="top genre", legend=alt.Legend(orient="bottom", columns=3)),
                    tooltip=["image", "poster", "predicted"])
            .properties(height=460).interactive())


# --- poster grids ----------------------------------------------------------------------------------------
def poster_grid(key: tuple[str, str], items: list[tuple[str, str]], width: int = THUMB) -> None:
    """Cards of (path, caption) with thumbnails read for these posters only; wraps on a phone."""
    images = thumbs(key, [p for p, _ in items], width)
    with st.container(horizontal=True, gap="small"):
        for path, caption in items:
            with st.container(border=True, width=width + 30):
                if images.get(path):
                    st.image(images[path], width=width)
                else:
                    st.caption("(no image: the file cannot be read from here)")
                st.caption(f"**{Path(path).name}**  \n{caption}")
