"""The Compare page's cached work: the comparison itself, its heatmaps and its three exports.
Every call goes through ``call_or_report``, so the page gets a result or None after an ``st.error``.

    comparison = compare_or_report(posters)              # posters: ((name, bytes), ...)
    maps = heatmaps_or_report(posters, comparison, "Horror", alpha=0.6)
    csv, html_report, png = reports_or_report(posters, comparison, "Horror", "Horror", maps)
"""
from __future__ import annotations

import hashlib

import streamlit as st
from PIL import Image, ImageOps

from app_components.inputs import call_or_report
from app_components.model_cache import explain_bytes, get_atlas, get_predictor
from postergenre.compare.posters import PosterComparison, compare_posters
from postergenre.compare.report import to_html_report, to_png_report

__all__ = ["Posters", "posters_key", "compare_or_report", "heatmaps_or_report", "reports_or_report", "framed"]

Posters = tuple[tuple[str, bytes], ...]   # (name shown, image file bytes) per poster, in order
FRAME = (300, 450)                        # px: every poster shown in the same 2:3 frame, so captions line up


def posters_key(posters: Posters) -> str:
    """A short fingerprint of the posters' bytes and names (the cache key of the exports)."""
    h = hashlib.sha1()
    for name, data in posters:
        h.update(name.encode() + b"\0" + hashlib.sha1(data).digest())
    return h.hexdigest()


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def _compare(posters: Posters) -> PosterComparison:
    return compare_posters(get_predictor(), [d for _, d in posters], [n for n, _ in posters], atlas=get_atlas())


def compare_or_report(posters: Posters) -> PosterComparison | None:
    return call_or_report(_compare, posters, failure="These posters could not be compared")


def _heatmaps(posters: Posters, comparison: PosterComparison, genre: str, alpha: float) -> list[Image.Image]:
    return [explain_bytes(data, (genre,))[0].overlay(poster.image, alpha)   # cached per poster, shared with Predict
            for (_, data), poster in zip(posters, comparison.posters)]


def heatmaps_or_report(posters: Posters, comparison: PosterComparison, genre: str,
                       alpha: float = 0.6) -> list[Image.Image] | None:
    return call_or_report(_heatmaps, posters, comparison, genre, alpha,
                          failure="The heatmaps could not be computed for these posters; the rest of the comparison stands")


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def _reports(key: str, genre: str | None, heatmap_genre: str, alpha: float, _comparison: PosterComparison,
             _heatmaps: list[Image.Image] | None) -> tuple[str, bytes, bytes]:
    """CSV, HTML report and PNG sheet (``key`` identifies the posters; the _ arguments are not hashed)."""
    return (_comparison.to_csv(genre),
            to_html_report(_comparison, genre, _heatmaps, heatmap_genre).encode(),
            to_png_report(_comparison, _heatmaps, heatmap_genre))


def reports_or_report(posters: Posters, comparison: PosterComparison, genre: str | None, heatmap_genre: str,
                      heatmaps: list[Image.Image] | None, alpha: float = 0.6) -> tuple[str, bytes, bytes] | None:
    return call_or_report(_reports, posters_key(posters), genre, heatmap_genre, alpha, comparison, heatmaps,
                          failure="The exports could not be made")


def framed(image: Image.Image, background: str = "#1f1f29") -> Image.Image:
    """The image fitted into the common 2:3 frame (letterboxed, not cropped)."""
    return ImageOps.pad(image.convert("RGB"), FRAME, color=background)
