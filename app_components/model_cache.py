"""The app's shared, cached access to the core: one model per process, results cached by image hash.

Every page imports from here, so the model is loaded once (st.cache_resource) however many pages use
it. Results are cached with st.cache_data keyed on the image bytes (hashed by Streamlit).
"""
from __future__ import annotations

import streamlit as st

import postergenre
from postergenre.errors import WeightsError

__all__ = ["get_predictor", "get_atlas", "load_current_atlas", "predict_bytes", "explain_bytes", "analyze_bytes", "fetch_bytes", "heatmap_png"]


@st.cache_resource(show_spinner="Loading the genre model…")
def get_predictor() -> postergenre.Predictor:
    from importlib import import_module

    from postergenre.model.warmup import in_background

    predictor = postergenre.load()
    predictor.warm_up()  # Grad-CAM's model, the OCR engine and the text model load while the user picks a poster
    # st.dataframe (the Predict page's table) imports pandas on first use: about 1.5 s, paid here instead
    in_background(lambda: import_module("pandas"), 0.0, low_priority=False)
    return predictor


@st.cache_resource(show_spinner=False, max_entries=4)
def _atlas_at(path: str, mtime: float):  # the file's mtime in the key: a rebuilt atlas is read afresh
    from postergenre.look.atlas import load_atlas

    return load_atlas(path)


def load_current_atlas():
    """The Genre Atlas at ``settings.atlas_path()``, re-read when the file changes; WeightsError (which
    says how to build one) when there is none."""
    from postergenre import settings
    path = settings.atlas_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0  # missing: load_atlas raises the error that says how to build it
    return _atlas_at(str(path), mtime)


def get_atlas():
    """The Genre Atlas, or None when it has not been built (measures then show without genre ranges)."""
    try:
        return load_current_atlas()
    except WeightsError:
        return None


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def predict_bytes(data: bytes) -> postergenre.Prediction:
    return get_predictor().predict(data)


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def explain_bytes(data: bytes, genres: tuple[str, ...], _prediction: postergenre.Prediction | None = None) -> list:
    """Heatmaps of ``genres`` on the poster ``data``. Its prediction gives the probabilities and text, so
    neither OCR nor the prediction runs again: ``_prediction`` when the caller holds it (Compare's batch;
    not part of the cache key, as it follows from ``data``), else the cached ``predict_bytes``."""
    from postergenre.model.explain import explain

    return explain(get_predictor(), data, list(genres), prediction=_prediction or predict_bytes(data))


@st.cache_data(ttl=3600, max_entries=16, show_spinner=False)
def heatmap_png(data: bytes, genres: tuple[str, ...], alpha: float) -> bytes:
    """The poster and its heatmaps as one labelled PNG (the same sheet `postergenre explain` saves)."""
    from postergenre.evaluation.explain_sheet import heatmap_sheet_png

    return heatmap_sheet_png(data, explain_bytes(data, genres), alpha=alpha)


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def analyze_bytes(data: bytes):
    from postergenre.look.analysis import analyze_poster

    return analyze_poster(data)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def fetch_bytes(url: str) -> bytes:
    from postergenre.sources.fetch import fetch_url

    return fetch_url(url)
