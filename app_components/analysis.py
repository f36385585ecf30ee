"""Drawing one poster's colour/composition analysis in Streamlit (used by the Predict page).

    from app_components.analysis import draw_palette, draw_measures
    draw_palette(analysis)                       # swatches + share bar
    draw_measures(analysis, atlas, "Horror")     # each measure placed in the genre's range

``atlas`` may be None (no atlas built): the measures are then listed without a genre comparison.
"""
from __future__ import annotations

import html
from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from postergenre.look.analysis import MEASURES, PosterAnalysis
from postergenre.look.atlas import Atlas, compare_analysis


def is_dark(hex_colour: str) -> bool:
    """Dark enough to vanish on the dark theme (relative luminance below ~0.06): such swatches get a border."""
    try:
        r, g, b = (int(hex_colour.lstrip("#")[i:i + 2], 16) / 255 for i in (0, 2, 4))
    except ValueError:
        return False
    return 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.16


def swatches_html(colours: list[dict], label: Callable[[dict], str] | None = None, bar: bool = True) -> str:
    """A share bar (segments as wide as each colour's share) and a wrapping row of labelled chips.
    ``colours``: dicts with hex, name, share; ``label(colour)`` is the chip's text after name and hex
    (default: the share); ``bar=False`` draws the chips only. Wraps on narrow screens; nothing has a
    fixed width. Dark colours get a light outline, so they stay visible on the dark theme."""
    label = label or (lambda c: f"{c['share']:.0%}")
    strip = "".join(
        f'<div title="{html.escape(c["name"])} {html.escape(label(c))}" '
        f'style="background:{c["hex"]};flex:{max(c["share"], 0.001):.4f} 1 0;height:28px;'
        f'{"box-shadow:inset 0 0 0 1px #ecebf266" if is_dark(c["hex"]) else ""}"></div>'
        for c in colours)
    chips = "".join(
        f'<span style="display:inline-flex;align-items:center;margin:4px 10px 4px 0;font-size:0.85rem">'
        f'<span style="width:18px;height:18px;border-radius:4px;border:1px solid '
        f'{"#ecebf2aa" if is_dark(c["hex"]) else "#8884"};background:{c["hex"]};flex:none;'
        f'margin-right:6px"></span>{html.escape(c["name"])} · <code>{c["hex"]}</code> · '
        f'{html.escape(label(c))}</span>'
        for c in colours)
    head = (f'<div style="display:flex;width:100%;border-radius:6px;overflow:hidden;border:1px solid #8884">'
            f"{strip}</div>") if bar else ""
    return f"{head}<div style='display:flex;flex-wrap:wrap'>{chips}</div>"


# plain words beside each measure's exact figure (the core's help text stays in the tooltips / exports)
GLOSS = {
    "brightness": "how light the poster is overall (L* = lightness, 0 black … 100 white)",
    "contrast": "how strongly light and dark areas differ (spread of lightness L*)",
    "saturation": "how vivid rather than greyish the colours are (0 grey … 1 pure colour)",
    "colourfulness": "how many strong colours (≈15 muted, ≈33 moderate, ≈59 quite, ≈109 very colourful)",
    "warm_share": "share of the poster in reds, oranges and yellows",
    "cool_share": "share of the poster in greens, blues and violets",
    "edge_density": "how busy it looks: share of the poster on edges and fine detail",
    "symmetry": "how far the left half mirrors the right (1 = a mirror image)",
    "thirds": "how much of the eye-catching detail sits on the rule-of-thirds lines (evenly spread ≈ 56%)",
    "balance": "whether left and right look equally heavy (1 = perfectly balanced)",
    "face_count": "frontal faces found",
    "face_share": "share of the poster covered by faces",
    "text_share": "share of the poster covered by text",
}


def gloss(measure: str, value: float | None) -> str:
    """A plain-language reading of one measure ("the eye is drawn slightly above the middle")."""
    if measure in ("weight_x", "weight_y") and value is not None:
        low, high = ("left", "right") if measure == "weight_x" else ("top", "bottom")
        off = value - 0.5
        where = ("at the centre" if abs(off) < 0.03 else
                 f"{'slightly' if abs(off) < 0.1 else 'well'} towards the {high if off > 0 else low}")
        axis = "across" if measure == "weight_x" else "from top to bottom"
        return f"where the eye-catching detail sits {axis}: {where} (0 = {low} edge, 1 = {high} edge)"
    return GLOSS.get(measure, MEASURES[measure].help if measure in MEASURES else "")


def draw_palette(analysis: PosterAnalysis) -> None:
    """The poster's dominant colours: share bar + chips with name, hex and share."""
    st.markdown(swatches_html([c.to_dict() for c in analysis.palette]), unsafe_allow_html=True)
    st.caption(f"Dominant hue: {analysis.dominant_hue}. Colours by k-means in CIELAB; shares are of the "
               "poster's area.")


def percentile_figure(comparisons: list, genre: str) -> go.Figure:
    """One row per measure: the genre's middle half (25th–75th percentile) as a band and this poster
    as a dot, on a shared 0–100 percentile axis (so measures with different units line up)."""
    rows = list(reversed(comparisons))
    labels = [c.label for c in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=labels, x=[50] * len(rows), base=[25] * len(rows), orientation="h",
                         marker=dict(color="rgba(144,206,161,0.30)", line=dict(color="rgba(144,206,161,0.8)", width=1)),
                         hoverinfo="skip", name=f"middle half of {genre} posters (25th–75th percentile)"))
    fig.add_trace(go.Scatter(
        y=labels, x=[c.percentile for c in rows], mode="markers", marker=dict(size=12, color="#d62728"),
        name="this poster",
        hovertext=[f"{c.label}: {MEASURES[c.measure].format(c.value)} — {c.phrase}" for c in rows],
        hoverinfo="text"))
    fig.update_layout(
        xaxis=dict(range=[-2, 102], tickvals=[0, 25, 50, 75, 100], title=f"percentile among {genre} posters",
                   ticksuffix="%", fixedrange=True),
        yaxis=dict(fixedrange=True),
        height=90 + 26 * len(rows), margin=dict(l=10, r=10, t=10, b=40), barmode="overlay",
        legend=dict(orientation="h", y=-0.25), showlegend=True)
    return fig


def draw_measures(analysis: PosterAnalysis, atlas: Atlas | None, genre: str | None) -> None:
    """Every measure with its value; with an atlas and a genre, also where it sits in the genre's range
    ("darker than 85% of Horror posters"), most unusual first."""
    if atlas is None or genre is None or genre not in atlas.genres:
        rows = [{"measure": MEASURES[k].label, "value": MEASURES[k].format(v), "in plain words": gloss(k, v)}
                for k, v in analysis.measures.items()]
        st.table(rows, border="horizontal", hide_index=True)
        if atlas is not None and genre is not None:
            st.caption(f"The Genre Atlas has no statistics for {genre}.")
    else:
        comps = compare_analysis(atlas, genre, analysis)
        st.plotly_chart(percentile_figure(comps, genre), config={"displayModeBar": False})
        st.caption(f"Each dot is this poster's place among {genre} posters (50% = a typical {genre} poster); "
                   "the shaded band is where the middle half of them lie.")
        st.table([{"measure": c.label, "value": MEASURES[c.measure].format(c.value), f"vs {genre}": c.phrase,
                   "in plain words": gloss(c.measure, c.value)} for c in comps], border="horizontal", hide_index=True)
    for note in analysis.notes:
        st.caption(note)
