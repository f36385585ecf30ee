"""Where a poster comes from: an upload or an image link (the TMDB search lives in tmdb_view.py).

Each input returns a ``PosterInput`` (the image bytes and a name to show) or None while there is
nothing to read; a link that cannot be fetched becomes an ``st.error`` saying what to do.
``call_or_report`` runs one call into the core the same way: a result, or a message instead of a
traceback.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, TypeVar

import streamlit as st

from app_components.model_cache import fetch_bytes
from postergenre.errors import PosterGenreError
from postergenre.sources.images import SUPPORTED_EXTENSIONS, SUPPORTED_TEXT

__all__ = ["POSTER_TYPES", "PosterInput", "poster_key", "poster_upload", "upload_widget_key", "forget_upload", "poster_link",
           "forget_link", "random_dataset_poster", "forget_random_poster", "call_or_report"]

log = logging.getLogger("postergenre.app")
T = TypeVar("T")

# file name endings st.file_uploader accepts (the core reads whatever Pillow can decode)
POSTER_TYPES = list(SUPPORTED_EXTENSIONS)


@dataclass(frozen=True)
class PosterInput:
    data: bytes   # the image file's bytes, as uploaded or downloaded
    name: str     # the file name or the link, shown as the poster's caption

    @property
    def key(self) -> str:
        """A short id of the image bytes: widget keys that depend on the poster end with it, so a new
        poster gets fresh widgets (options and defaults of its own) instead of the last one's state."""
        return poster_key(self.data)


def poster_key(*images: bytes) -> str:
    """A short, stable id of one or more images' bytes (for poster-dependent widget keys)."""
    import hashlib

    return hashlib.sha1(b"".join(hashlib.sha1(d).digest() for d in images)).hexdigest()[:12]


def poster_upload(key: str = "poster", on_change: Callable[[], None] | None = None) -> PosterInput | None:
    """A file drop zone for one poster. ``forget_upload(key)`` empties it (its widget starts afresh)."""
    f = st.file_uploader(f"Poster image ({SUPPORTED_TEXT}; up to 15 MB)", type=POSTER_TYPES,
                         key=upload_widget_key(key), on_change=on_change,
                         help="Nothing you upload is stored: the poster is read in memory. A photo of a poster "
                              "(on a wall, in a frame): crop it to the poster first; the surroundings are read as "
                              "part of the design and change the first genre for about 1 poster in 4.")
    return None if f is None else PosterInput(f.getvalue(), f.name)


def upload_widget_key(key: str = "poster") -> str:
    """The widget key of ``poster_upload(key)`` now: ``key`` until it is first emptied by
    ``forget_upload``, then ``key~1``, ``key~2``... (a file uploader's value cannot be set; a new key
    is a new, empty uploader, and the browser's memory of the old one's file is ignored)."""
    n = st.session_state.get(f"{key}__emptied", 0)
    return key if n == 0 else f"{key}~{n}"


def forget_upload(key: str = "poster") -> None:
    """Empty ``poster_upload(key)``: its next run draws a new, empty uploader."""
    st.session_state[f"{key}__emptied"] = st.session_state.get(f"{key}__emptied", 0) + 1


def poster_link(key: str = "url") -> PosterInput | None:
    """A text box for an image link, fetched safely (public http/https addresses, size and time limits)."""
    url = st.text_input("Image link (http or https)", key=key, placeholder="https://…/poster.jpg",
                        help="A direct link to a JPEG, PNG, WebP or AVIF image of up to 15 MB.").strip()
    if not url:
        return None
    try:
        with st.spinner("Fetching the image…"):
            return PosterInput(fetch_bytes(url), url)
    except PosterGenreError as e:
        st.error(f"Could not use that link: {e}")
        return None


def forget_link(key: str = "url") -> None:
    """Empty ``poster_link(key)``'s box (from a widget callback, before the box is drawn again)."""
    st.session_state[key] = ""


def forget_random_poster(key: str = "random_poster") -> None:
    """Drop ``random_dataset_poster(key)``'s pick."""
    st.session_state.pop(f"{key}_pick", None)


def random_dataset_poster(key: str = "random_poster") -> PosterInput | None:
    """With a local dataset configured (POSTERGENRE_DATA), a button that picks one of its posters at
    random; the pick stays until the button is pressed again. None without a dataset or a pick."""
    import random

    from app_components.atlas import dataset_dir_setting

    folder = dataset_dir_setting()
    if folder is None:
        return None
    images = folder / "images"
    if st.button("Try a random poster from the dataset", key=key, icon=":material/shuffle:",
                 help=f"Picks one of the posters in {folder.name}/images."):
        names = sorted(p.name for p in images.iterdir() if p.suffix.lower().lstrip(".") in POSTER_TYPES) \
            if images.is_dir() else []
        st.session_state[f"{key}_pick"] = random.choice(names) if names else None
        if not names:
            st.warning(f"No poster images found in {images}.")
    name = st.session_state.get(f"{key}_pick")
    if not name:
        return None
    try:
        return PosterInput((images / name).read_bytes(), name)
    except OSError:
        st.session_state.pop(f"{key}_pick", None)
        return None


def call_or_report(fn: Callable[..., T], *args: Any, failure: str, **kwargs: Any) -> T | None:
    """``fn(*args, **kwargs)``, or None after an ``st.error``: a core error's own message (it says what
    to do) after ``failure`` (``failure=""``: the message alone, where a heading above already says what
    failed); anything unexpected gets a generic message, and its traceback goes to the log only."""
    try:
        return fn(*args, **kwargs)
    except PosterGenreError as e:
        st.error(f"{failure}: {e}" if failure else str(e))
    except Exception:  # never a traceback in the page
        log.exception("%s (%s)", failure or "failed", getattr(fn, "__name__", fn))
        st.error(f"{failure + ': s' if failure else 'S'}omething unexpected went wrong. Try another image; if it "
                 "keeps happening, report it with the file.")
    return None
