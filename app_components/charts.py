"""Plotly charts of predictions (Streamlit-free: they return figures)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import plotly.graph_objects as go

if TYPE_CHECKING:
    from postergenre.model.predictor import Prediction

PREDICTED, OTHER, THRESHOLD, MUTED = "#e4572e", "#6c6f85", "#f3c969", "#9a9cb0"


def genre_bar_chart(prediction: Prediction, height_per_genre: int = 24, muted: bool = False) -> go.Figure:
    """Every genre as a horizontal bar (highest on top); the genres that clear their thresholds are
    coloured as the prediction, and each genre's threshold is a tick. The percentages stand in a
    column at the right, where no threshold tick can cover them. ``muted``: every bar grey and no ticks
    (an image that does not look like a poster: guesses, not a headline)."""
    rows = [{"genre": s.genre, "probability": s.probability, "threshold": s.threshold,
             "predicted": s.predicted and not muted} for s in reversed(prediction.scores)]
    names = [r["genre"] for r in rows]
    fig = go.Figure()
    fig.add_trace(go.Bar(
        x=[r["probability"] for r in rows], y=names, orientation="h", name="probability",
        marker_color=[PREDICTED if r["predicted"] else MUTED if muted else OTHER for r in rows],
        hovertemplate="%{y}: %{x:.1%}<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=[None if r["threshold"] is None or muted else r["threshold"] for r in rows], y=names, mode="markers",
        name="cut-off", visible=not muted,
        marker=dict(symbol="line-ns", size=16, line=dict(width=3, color=THRESHOLD)),
        hovertemplate="%{y} needs %{x:.0%} at its rank<extra></extra>"))
    fig.add_trace(go.Scatter(
        x=[1.04] * len(rows), y=names, mode="text", text=[f"{r['probability']:.0%}" for r in rows],
        textposition="middle right", showlegend=False, hoverinfo="skip", cliponaxis=False,
        textfont=dict(color=[PREDICTED if r["predicted"] else MUTED for r in rows])))
    fig.update_layout(
        height=60 + height_per_genre * len(rows), margin=dict(l=8, r=44, t=8, b=30),
        xaxis=dict(range=[0, 1.04], tickvals=[0, 0.25, 0.5, 0.75, 1], tickformat=".0%", title=None, fixedrange=True),
        yaxis=dict(fixedrange=True), bargap=0.25,
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0), showlegend=True)
    return fig


def per_genre_ap_chart(test: dict) -> go.Figure:
    """Per-genre AP of the model beside the training-prior baseline (model card page)."""
    prior = test.get("baselines", {}).get("training_prior", {}).get("per_genre", {})
    items = sorted(test["per_genre"].items(), key=lambda kv: kv[1]["ap"] or 0)
    names = [g for g, _ in items]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=[prior.get(g, {}).get("ap") for g in names], orientation="h",
                         name="training prior", marker_color=OTHER))
    fig.add_trace(go.Bar(y=names, x=[m["ap"] for _, m in items], orientation="h", name="model",
                         marker_color=PREDICTED, text=[f"{m['ap']:.2f}" for _, m in items], textposition="outside",
                         cliponaxis=False))
    fig.update_layout(barmode="group", height=80 + 34 * len(names), margin=dict(l=8, r=40, t=8, b=30),
                      xaxis=dict(range=[0, 1.0], title="average precision (test split)", fixedrange=True),
                      yaxis=dict(fixedrange=True), legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    return fig


def reliability_chart(calibrated: list[dict], raw: list[dict] | None = None) -> go.Figure:
    """Reliability diagram: mean predicted probability vs observed rate per bin, before/after
    calibration, with the diagonal (perfect calibration); marker size grows with the bin's count."""
    fig = go.Figure(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", name="perfect", line=dict(color=MUTED, dash="dot")))
    for name, rows, colour in (("raw sigmoid", raw, OTHER), ("calibrated", calibrated, PREDICTED)):
        if not rows:
            continue
        fig.add_trace(go.Scatter(
            x=[b["mean_probability"] for b in rows], y=[b["observed_rate"] for b in rows], mode="lines+markers",
            name=name, line=dict(color=colour), customdata=[b["count"] for b in rows],
            marker=dict(size=[6 + 3 * min(4, b["count"] ** 0.25 / 3) for b in rows]),
            hovertemplate="predicted %{x:.0%} → observed %{y:.0%} (%{customdata} pairs)<extra>" + name + "</extra>"))
    fig.update_layout(height=360, margin=dict(l=8, r=8, t=8, b=30), meta="reliability",
                      xaxis=dict(range=[0, 1], tickformat=".0%", title="predicted probability", fixedrange=True),
                      yaxis=dict(range=[0, 1], tickformat=".0%", title="observed rate", fixedrange=True),
                      legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0))
    return fig
