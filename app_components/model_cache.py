"""The app's shared, cached access to the core: one model per process, results cached by image hash.

Every page imports from here, so the model is loaded once (st.cache_resource) however many pages use
it. Results are cached with st.cache_data keyed on the image bytes (hashed by Streamlit).
"""
from __future__ import annotations

import streamlit as st

import postergenre
from postergenre.errors import WeightsError

__all__ = ["get_predictor", "get_atlas", "predict_bytes", "explain_bytes", "analyze_bytes", "fetch_bytes"]


@st.cache_resource(show_spinner="Loading the genre model…")
def get_predictor() -> postergenre.Predictor:
    predictor = postergenre.load()
    predictor.warm_up_explanations()  # Grad-CAM's PyTorch model loads while the user picks a poster
    return predictor


@st.cache_resource(show_spinner=False)
def get_atlas():
    """The Genre Atlas, or None when it has not been built (measures then show without genre ranges)."""
    from postergenre.atlas import load_atlas

    try:
        return load_atlas()
    except WeightsError:
        return None


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def predict_bytes(data: bytes) -> dict:
    return get_predictor().predict(data).to_dict()


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def explain_bytes(data: bytes, genres: tuple[str, ...]) -> list:
    from postergenre.explain import explain

    return explain(get_predictor(), data, list(genres))


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def analyze_bytes(data: bytes):
    from postergenre.analysis import analyze_poster

    return analyze_poster(data)


@st.cache_data(ttl=600, max_entries=32, show_spinner=False)
def fetch_bytes(url: str) -> bytes:
    from postergenre.fetch import fetch_url

    return fetch_url(url)
