"""Plotly figures and Streamlit helpers for the Genre Atlas page. Every figure reads an ``Atlas``
(aggregate statistics only), so the page needs no dataset; example posters are optional."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import streamlit as st

from app_components.secrets import streamlit_secrets
from postergenre.look.atlas import ALL, Atlas
from postergenre.settings import DATA_ENV, lookup

HUE_COLOURS = {"red": "#e41a1c", "orange": "#ff7f00", "yellow": "#ffd92f", "chartreuse": "#a6d854",
               "green": "#4daf4a", "spring green": "#1bbc9b", "cyan": "#17becf", "azure": "#3fa0ff",
               "blue": "#1f4fd6", "violet": "#7b3fd6", "magenta": "#d62ad6", "rose": "#f0508c"}
GENRE_COLOURS = ("#d62728", "#1f77b4")   # first and second picked genre
ALL_COLOUR = "#7f7f7f"


def _layout(fig: go.Figure, height: int, **kw) -> go.Figure:
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=40, b=10),
                      legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0), **kw)
    return fig


def label(atlas: Atlas, measure: str) -> str:
    m = atlas.data["measures"][measure]
    return f"{m['label']} ({m['unit']})" if m["unit"] not in ("", "%") else m["label"]


def effect_figure(atlas: Atlas, genres: list[str]) -> go.Figure:
    """Cohen's d of each genre against all other posters, for every measure, ordered by the first
    genre's strongest effect. Bars right = the genre has more of it than the rest."""
    order = [e["measure"] for e in atlas.group(genres[0])["effect_sizes"]]
    fig = go.Figure()
    for genre, colour in zip(genres, GENRE_COLOURS):
        d = {e["measure"]: e["d"] or 0.0 for e in atlas.group(genre)["effect_sizes"]}
        fig.add_trace(go.Bar(y=[label(atlas, m) for m in reversed(order)], x=[d[m] for m in reversed(order)],
                             orientation="h", name=genre, marker_color=colour,
                             hovertemplate="%{y}: d = %{x:.2f}<extra>" + genre + "</extra>"))
    fig.add_vline(x=0, line_color="#888")
    return _layout(fig, 110 + 24 * len(order) * len(genres) ** 0.5, barmode="group",
                   xaxis_title="effect size (Cohen's d) vs all other posters")


def distribution_figure(atlas: Atlas, measure: str, highlight: list[str], violin: bool = False) -> go.Figure:
    """One horizontal box (or violin) per genre plus all posters, sorted by median (highest on top);
    picked genres coloured. Genres run down the side, so 18 rows read on a phone as on a laptop.
    Boxes are drawn from stored quantiles (whiskers 5th–95th percentile); violins from the 41-point
    quantile grid, which is an equal-weight sample of each distribution."""
    names = sorted(atlas.genres, key=lambda g: np.interp(0.5, *atlas.quantiles(g, measure))) + [ALL]
    fig = go.Figure()
    for g in names:
        levels, q = atlas.quantiles(g, measure)
        colour = GENRE_COLOURS[highlight.index(g)] if g in highlight else ALL_COLOUR if g == ALL else "#bbbbbb"
        name = "All posters" if g == ALL else g
        if violin:
            fig.add_trace(go.Violin(x=q, name=name, line_color=colour, points=False, meanline_visible=False,
                                    spanmode="hard", showlegend=False, orientation="h", width=0.9))
        else:
            at = lambda p: [float(np.interp(p, levels, q))]  # noqa: E731
            fig.add_trace(go.Box(name=name, q1=at(0.25), median=at(0.5), q3=at(0.75), lowerfence=at(0.05),
                                 upperfence=at(0.95), marker_color=colour, showlegend=False,
                                 y=[name], orientation="h"))
    fig = _layout(fig, 60 + 24 * len(names), xaxis_title=label(atlas, measure))
    return fig.update_layout(yaxis=dict(automargin=True, fixedrange=True), xaxis_fixedrange=True,
                             margin=dict(l=10, r=10, t=10, b=40))


def decade_figure(atlas: Atlas, measure: str, genres: list[str]) -> go.Figure | None:
    """Median of a measure per decade for the picked genres and all posters, with the first genre's
    middle half as a band. None when the atlas has no decades."""
    fig = go.Figure()
    series = [(g, c) for g, c in zip(genres, GENRE_COLOURS)] + [(ALL, ALL_COLOUR)]
    for i, (g, colour) in enumerate(series):
        dec = {d: v["measures"].get(measure) for d, v in atlas.group(g)["decades"].items()}
        dec = {d: v for d, v in dec.items() if v}
        if not dec:
            continue
        xs = sorted(int(d) for d in dec)
        vals = [dec[str(d)] for d in xs]
        if i == 0:
            fig.add_trace(go.Scatter(x=xs + xs[::-1], y=[v["q75"] for v in vals] + [v["q25"] for v in vals][::-1],
                                     fill="toself", fillcolor="rgba(214,39,40,0.12)", mode="lines", line_width=0,
                                     hoverinfo="skip", name=f"{g}: middle half"))
        fig.add_trace(go.Scatter(x=xs, y=[v["median"] for v in vals], mode="lines+markers", line_color=colour,
                                 name=f"{'All posters' if g == ALL else g}: median"))
    if not fig.data:
        return None
    return _layout(fig, 340, yaxis_title=label(atlas, measure), xaxis=dict(dtick=10, ticksuffix="s"))


def hue_figure(atlas: Atlas, genres: list[str]) -> go.Figure:
    """Mean share of each hue family among the coloured pixels, picked genres against all posters:
    one colour per genre (as in the other charts), the hue itself as a swatch under each group."""
    names = atlas.data["hue_names"]
    fig = go.Figure()
    top = 0.0
    for g, colour in zip(genres + [ALL], list(GENRE_COLOURS[:len(genres)]) + [ALL_COLOUR]):
        values = atlas.group(g)["hues"]
        top = max(top, *values)
        fig.add_trace(go.Bar(x=names, y=values, name="All posters" if g == ALL else g, marker_color=colour,
                             hovertemplate="%{x}: %{y:.0%}<extra>" + ("All posters" if g == ALL else g) + "</extra>"))
    fig.add_trace(go.Scatter(x=names, y=[-0.06 * top] * len(names), mode="markers", showlegend=False, hoverinfo="skip",
                             marker=dict(symbol="square", size=14, color=[HUE_COLOURS[h] for h in names],
                                         line=dict(color="#ecebf2", width=1))))
    return _layout(fig, 340, barmode="group", yaxis=dict(tickformat=".0%", title="share of coloured pixels",
                                                          range=[-0.12 * top, top * 1.12], fixedrange=True),
                   xaxis=dict(fixedrange=True, tickangle=-45))


def model_figure(atlas: Atlas, genre: str) -> go.Figure | None:
    """Mean model probability of every genre on this genre's posters (what the model sees in them)."""
    model = atlas.group(genre).get("model")
    if not model or not model.get("profile"):
        return None
    items = sorted(model["profile"].items(), key=lambda kv: kv[1])
    fig = go.Figure(go.Bar(y=[k for k, _ in items], x=[v for _, v in items], orientation="h",
                           marker_color=[GENRE_COLOURS[0] if k == genre else "#999" for k, _ in items]))
    return _layout(fig, 90 + 22 * len(items), xaxis_tickformat=".0%", xaxis_range=[0, 1],
                   xaxis_title=f"mean model probability on {genre} posters")


def palette_html(group: dict) -> str:
    """A genre's colours (``atlas.group(g)``): its most frequent colours as a bar and chips, its most
    frequent neutrals, then the colours it has more often than posters overall. Each share is of the
    genre's posters (how many have the colour), not of their area."""
    from app_components.analysis import swatches_html

    def caption(text: str) -> str:
        return f'<div style="font-size:0.85rem;opacity:0.75;margin:8px 0 2px">{text}</div>'

    on = lambda c: f"on {c['share']:.0%}"  # noqa: E731
    html = caption("Most frequent colours (how many of the posters have each)") + swatches_html(group.get("palette") or [], on)
    if group.get("palette_neutrals"):
        html += caption("Black, greys and white") + swatches_html(group["palette_neutrals"][:5], on, bar=False)
    if group.get("palette_distinctive"):
        html += caption("More often than on posters overall") + swatches_html(
            group["palette_distinctive"], lambda c: f"on {c['share']:.0%} · {c['lift']:.1f}× as often", bar=False)
    return html


def dataset_dir_setting() -> Path | None:
    """The local dataset folder for example posters: $POSTERGENRE_DATA or ``POSTERGENRE_DATA`` in
    .streamlit/secrets.toml; None when neither names a folder with labels.csv."""
    value = lookup(DATA_ENV, secrets=streamlit_secrets(DATA_ENV))
    if value and (Path(value).expanduser() / "labels.csv").is_file():
        return Path(value).expanduser()
    return None


def draw_typical(posters: list) -> None:
    """Example posters in a grid that wraps to fewer columns on a phone."""
    cols = st.columns(3)
    for i, p in enumerate(posters):
        caption = f"{p.title or p.path.stem} — {p.probability:.0%}"
        cols[i % 3].image(str(p.path), caption=caption, width="stretch")
