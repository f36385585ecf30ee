"""Where the Predict page's poster comes from: the Upload / Image link / TMDB search tabs, and clearing.

    chosen = choose_poster()            # the tabs; only the open one runs
    if chosen.poster is None: ...       # nothing to read yet
    clear_button()                      # beside the results: back to an empty page

What the page shows is always the poster the open tab holds now. Leaving the Upload tab empties it (the
browser forgets the uploaded file when the tab closes; keeping its results showed a poster that was no
longer there), a new upload or an emptied uploader drops an earlier example or dataset pick, and
``clear_button`` empties every source at once.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from app_components.inputs import (PosterInput, forget_link, forget_random_poster, forget_upload, poster_link,
                                   poster_upload, random_dataset_poster)

__all__ = ["SOURCES", "Chosen", "choose_poster", "clear_poster", "clear_button"]

SOURCES = ("Upload", "Image link", "TMDB search")
TABS_KEY = "source"              # st.session_state[TABS_KEY]: the open tab's label
_LAST = "source__last"           # the tab open in the previous run


@dataclass(frozen=True)
class Chosen:
    poster: PosterInput | None   # the poster to read, or None while there is none
    source: str                  # the open tab's label (one of SOURCES)
    tmdb: Any = None             # the TMDB pick (tmdb_view.TMDBChoice) when the poster came from TMDB


def _forget_upload_tab() -> None:
    """Empty the Upload tab: the uploader, the example picked, the dataset poster drawn."""
    forget_upload()
    _drop_picks()


def _drop_picks() -> None:
    """A new file (or none) in the uploader: an earlier example or dataset pick is not the poster."""
    from app_components.examples import forget_example

    forget_example()
    forget_random_poster()


def clear_poster() -> None:
    """Empty every source: the Upload tab, the image link, the TMDB pick (a widget callback)."""
    from app_components.tmdb_view import forget_tmdb_pick

    _forget_upload_tab()
    forget_link()
    forget_tmdb_pick()


def clear_button() -> None:
    """A button that clears the poster and its results (``clear_poster``)."""
    st.button("Clear", key="clear_poster", icon=":material/close:", on_click=clear_poster,
              help="Remove this poster and its results, to start again with another.")


def choose_poster() -> Chosen:
    """The three input tabs; only the open one runs. Leaving the Upload tab empties it."""
    tabs = st.tabs(list(SOURCES), key=TABS_KEY, on_change="rerun")
    source = next((label for label, tab in zip(SOURCES, tabs) if tab.open), SOURCES[0])
    if st.session_state.get(_LAST, SOURCES[0]) == SOURCES[0] and source != SOURCES[0]:
        _forget_upload_tab()   # the browser drops its file when the tab closes: its results go too
    st.session_state[_LAST] = source
    upload_tab, link_tab, tmdb_tab = tabs
    if upload_tab.open:
        from app_components.examples import example_posters

        with upload_tab:
            poster = poster_upload(on_change=_drop_picks) or random_dataset_poster() or example_posters()
        return Chosen(poster, source)
    if link_tab.open:
        with link_tab:
            return Chosen(poster_link(), source)
    with tmdb_tab:
        from app_components.tmdb_view import tmdb_search_ui

        choice = tmdb_search_ui()
    return Chosen(None if choice is None else PosterInput(choice.poster, choice.label), source, choice)
