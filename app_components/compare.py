"""The Compare page's work: the posters given (files, zips, links), read in one batch with a progress bar,
the table of all of them with ticks, the side-by-side comparison's heatmaps and the exports. Every call
into the core goes through ``call_or_report``, so the page gets a result or None after an ``st.error``.

    given = unpack_or_report(files)                      # [(name, bytes)], zips opened, what was left out said
    batch = read_or_report(posters)                      # PosterBatch; the unreadable named with why
    picks = ticked_posters(batch, key)                   # the table, and the 2-4 ticked for side by side
    maps = heatmaps_or_report(posters, comparison, "Horror", alpha=0.6)
    csv, html_report, png = reports_or_report(posters, comparison, "Horror", "Horror", maps)
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any, Iterator

import streamlit as st
from PIL import Image, ImageOps

from app_components.inputs import call_or_report
from app_components.model_cache import explain_bytes, get_atlas, get_predictor
from postergenre.compare.batch import MAX_BATCH, TABLE_MEASURES, PosterBatch, read_posters
from postergenre.compare.posters import MAX_POSTERS, ComparedPoster, PosterComparison
from postergenre.compare.report import data_uri, to_html_report, to_png_report
from postergenre.look.analysis import MEASURES
from postergenre.sources.archive import unpack_uploads

__all__ = ["Posters", "posters_key", "unpack_or_report", "read_or_report", "report_unreadable", "ticked_posters",
           "heatmaps_or_report", "reports_or_report", "framed", "markdown_text"]

Posters = tuple[tuple[str, bytes], ...]   # (name shown, image file bytes) per poster, in order
FRAME = (300, 450)                        # px: every poster shown in the same 2:3 frame, so captions line up
THUMB_SIDE = 120                          # px: the table's thumbnails (long side)
MEMO_SIZE = MAX_BATCH + 10                # read posters kept for the next rerun (a few dozen MB)
_SKIPPED_SHOWN = 8                        # files left out of a zip named one by one; the rest counted


def posters_key(posters: Posters) -> str:
    """A short fingerprint of the posters' bytes and names (the cache key of the exports)."""
    h = hashlib.sha1()
    for name, data in posters:
        h.update(name.encode() + b"\0" + hashlib.sha1(data).digest())
    return h.hexdigest()


def markdown_text(text: str) -> str:
    """``text`` shown literally in markdown (file names may hold *, _, [ ] ...)."""
    return "".join("\\" + c if c in "\\`*_{}[]()#+-.!|<>~$" else c for c in text)


def unpack_or_report(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The uploaded files with each zip replaced by the posters in it (at most ``MAX_BATCH`` in all);
    what was left out of an archive, and why, is said under the uploader."""
    found = unpack_uploads(files, limit=MAX_BATCH)
    if found.skipped:
        shown = "\n".join(f"- **{markdown_text(name)}**: {markdown_text(why)}" for name, why in found.skipped[:_SKIPPED_SHOWN])
        more = len(found.skipped) - _SKIPPED_SHOWN
        st.warning(f"Left out of the upload ({len(found.skipped)}):\n{shown}" + (f"\n- …and {more} more" if more > 0 else ""),
                   icon=":material/folder_zip:")
    if found.dropped:
        st.warning(f"{found.dropped} more poster{'s' if found.dropped > 1 else ''} left out: the page reads at most "
                   f"{MAX_BATCH} at a time (the first {MAX_BATCH}, in the order given).", icon=":material/filter_list:")
    return found.posters


class _Memo(MutableMapping):
    """A bounded, thread-safe mapping (least recently used out): the posters read, by their bytes' hash."""

    def __init__(self, size: int):
        self.size, self.items, self.lock = size, OrderedDict(), threading.Lock()

    def __getitem__(self, key: str) -> ComparedPoster:
        with self.lock:
            self.items.move_to_end(key)
            return self.items[key]

    def __setitem__(self, key: str, value: ComparedPoster) -> None:
        with self.lock:
            self.items[key] = value
            self.items.move_to_end(key)
            while len(self.items) > self.size:
                self.items.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        with self.lock:
            del self.items[key]

    def __contains__(self, key: object) -> bool:
        with self.lock:
            return key in self.items

    def __iter__(self) -> Iterator[str]:
        with self.lock:
            return iter(list(self.items))

    def __len__(self) -> int:
        return len(self.items)


@st.cache_resource(show_spinner=False)
def _read_memo() -> _Memo:
    return _Memo(MEMO_SIZE)


def read_or_report(posters: Posters) -> PosterBatch | None:
    """Every poster read (predictions batched); a progress bar while new ones are read. Posters read
    before (this session or another) are not read again."""
    bar: list[Any] = []

    def progress(fraction: float, message: str) -> None:
        if fraction < 1.0 and not bar:
            bar.append(st.progress(fraction, text=message))
        elif bar:
            bar[0].progress(fraction, text=message)

    batch = call_or_report(read_posters, get_predictor(), [d for _, d in posters], [n for n, _ in posters],
                           atlas=get_atlas(), progress=progress, memo=_read_memo(),
                           failure="These posters could not be read")
    if bar:
        bar[0].empty()
    return batch


def report_unreadable(batch: PosterBatch, given: int) -> None:
    """The files that could not be read, each named with the reason (they are left out; the rest is compared)."""
    if not batch.unreadable:
        return
    lines = "\n".join(f"- **{markdown_text(u.name)}**: {markdown_text(u.reason)}" for u in batch.unreadable)
    n = len(batch.unreadable)
    st.error(f"{n} of {given} files could not be read, so {'it is' if n == 1 else 'they are'} left out:\n{lines}",
             icon=":material/broken_image:")


PERCENT_FORMAT = "%.0f%%"   # shares are shown x100 in the table: "64%", as everywhere else in the app


def ticked_posters(batch: PosterBatch, key: str) -> list[int]:
    """The table of every poster (sortable: click a column's name) with a tick box per row; the
    positions of the ticked rows. The first ``MAX_POSTERS`` start ticked."""
    if key not in st.session_state:
        st.session_state[key] = {"selection": {"rows": list(range(min(MAX_POSTERS, len(batch.posters)))),
                                               "columns": [], "cells": []}}
    table = batch.table(thumbnails=lambda p: data_uri(p.image, THUMB_SIDE))
    shares = batch.genre_order() + [MEASURES[k].label for k in TABLE_MEASURES if MEASURES[k].fmt.endswith("%")]
    table[shares] = table[shares].astype(float) * 100
    columns: dict[str, Any] = {
        "thumbnail": st.column_config.ImageColumn("", width="small", pinned=True),
        "poster": st.column_config.TextColumn("Poster", pinned=True),
        "headline": st.column_config.TextColumn("Headline", width="medium"),
        "poster check": st.column_config.TextColumn("Poster check", help="Whether the image looks like a movie poster; "
                                                    "for one that does not, the genres are guesses."),
    }
    columns.update({g: st.column_config.ProgressColumn(g, min_value=0, max_value=100, format=PERCENT_FORMAT, width="small")
                    for g in batch.genre_order()})
    columns.update({m.label: st.column_config.NumberColumn(m.label, help=m.help, format=PERCENT_FORMAT if m.label in shares
                                                           else f"%{m.fmt}") for m in (MEASURES[k] for k in TABLE_MEASURES)})
    event = st.dataframe(table, column_config=columns, hide_index=True, row_height=64, key=key,
                         on_select="rerun", selection_mode="multi-row")
    return list(event.selection.rows)


def _heatmaps(posters: Posters, comparison: PosterComparison, genre: str, alpha: float) -> list[Image.Image]:
    return [explain_bytes(data, (genre,), poster.prediction)[0].overlay(poster.image, alpha)  # cached per poster,
            for (_, data), poster in zip(posters, comparison.posters)]                      # shared with Predict


def heatmaps_or_report(posters: Posters, comparison: PosterComparison, genre: str,
                       alpha: float = 0.6) -> list[Image.Image] | None:
    return call_or_report(_heatmaps, posters, comparison, genre, alpha,
                          failure="The heatmaps could not be computed for these posters; the rest of the comparison stands")


@st.cache_data(ttl=3600, max_entries=8, show_spinner=False)
def _reports(key: str, genre: str | None, heatmap_genre: str, alpha: float, _comparison: PosterComparison,
             _heatmaps: list[Image.Image] | None, _batch: PosterBatch | None) -> tuple[str, bytes, bytes]:
    """CSV, HTML report and PNG sheet (``key`` identifies the posters; the _ arguments are not hashed)."""
    return (_comparison.to_csv(genre),
            to_html_report(_comparison, genre, _heatmaps, heatmap_genre, batch=_batch).encode(),
            to_png_report(_comparison, _heatmaps, heatmap_genre))


def reports_or_report(posters: Posters, comparison: PosterComparison, genre: str | None, heatmap_genre: str,
                      heatmaps: list[Image.Image] | None, alpha: float = 0.6, batch: PosterBatch | None = None,
                      everyone: Posters = ()) -> tuple[str, bytes, bytes] | None:
    """The exports of the side-by-side ``posters``; with a ``batch`` (more posters than fit side by side,
    ``everyone`` of them) the HTML report opens with the table of all of them."""
    key = posters_key(posters) + posters_key(everyone)
    return call_or_report(_reports, key, genre, heatmap_genre, alpha, comparison, heatmaps, batch,
                          failure="The exports could not be made")


def framed(image: Image.Image, background: str = "#1f1f29") -> Image.Image:
    """The image fitted into the common 2:3 frame (letterboxed, not cropped)."""
    return ImageOps.pad(image.convert("RGB"), FRAME, color=background)
