"""Similar posters from the user's catalog on the Predict page, when an index is configured.

``POSTERGENRE_INDEX`` (environment, or st.secrets) names a folder built by ``postergenre index``; without
it the section is absent and the About panel says how to add one. A similar poster can be sent to the
Compare page (with the poster being read), which keeps its picks in the session.
"""
from __future__ import annotations

import logging
from pathlib import Path

import streamlit as st

from app_components.secrets import streamlit_secrets
from postergenre.errors import PosterGenreError
from postergenre.settings import INDEX_ENV, lookup

__all__ = ["index_path", "catalog_index", "thumbnail", "draw_similar", "index_hint"]

THUMB_WIDTH = 110
log = logging.getLogger(__name__)


def index_path() -> str | None:
    """The configured index folder (environment first, then st.secrets), or None."""
    return lookup(INDEX_ENV, secrets=streamlit_secrets(INDEX_ENV))


@st.cache_resource(show_spinner="Opening the poster index…")
def _index(path: str):
    from app_components.model_cache import get_predictor
    from postergenre.catalog.index import PosterIndex

    return PosterIndex(path, predictor=get_predictor())


@st.cache_data(ttl=3600, max_entries=64, show_spinner=False)
def similar_bytes(path: str, data: bytes, k: int) -> list[dict]:
    return [h.to_dict() for h in _index(path).similar(data, k)]


def catalog_index():
    """The configured catalog index, opened once (with the app's model), or None without one."""
    path = index_path()
    return None if path is None else _index(path)


def thumbnail(path: str) -> bytes | None:
    """A catalog poster's image bytes, or None when it cannot be read."""
    try:
        from postergenre.catalog.worker import read_bytes

        return read_bytes(path)
    except PosterGenreError:
        return None


def draw_similar(data: bytes, name: str, k: int = 8) -> None:
    """The section: nearest catalog posters with genres and distance, each sendable to Compare."""
    path = index_path()
    if path is None:
        return
    st.subheader("Similar posters in your catalog")
    try:
        with st.spinner("Searching your catalog…"):
            hits = similar_bytes(path, data, k)
    except PosterGenreError as e:
        st.warning(f"The poster index could not be searched: {e}")
        return
    except Exception:  # never a traceback in the page
        log.exception("similar-poster search failed")
        st.warning("The poster index could not be searched; check that it was built with `postergenre index`.")
        return
    picks: dict = st.session_state.setdefault("compare_tmdb_picks", {})  # the Compare page's session picks
    digest = __import__("hashlib").sha1(data).hexdigest()[:12]
    with st.container(horizontal=True, gap="small"):
        for i, h in enumerate(hits):
            with st.container(border=True, width=THUMB_WIDTH + 30):
                thumb = thumbnail(h["path"])
                label = Path(h["path"]).stem
                if thumb:
                    st.image(thumb, width=THUMB_WIDTH)
                st.caption(f"**{label}**  \n{' · '.join(h['predicted']) or 'no genre'}  \ndistance {h['distance']:.3f}")
                if thumb:
                    st.button("Compare", key=f"similar_compare_{digest}_{i}", icon=":material/compare:",
                              help="Add this poster and the one you are reading to the Compare page",
                              on_click=_send_to_compare, args=(picks, (name, data), (label, thumb)))
    st.caption(f"The {len(hits)} nearest of the catalog's {len(_index(path))} posters by the model's genre "
               "features (cosine distance: 0 = the same look). Genres under each are the model's.")


def _send_to_compare(picks: dict, *posters: tuple[str, bytes]) -> None:
    for label, data in posters:
        picks.setdefault(f"catalog:{label}", (label, data))
    st.toast("Added to Compare: open the Compare page", icon=":material/compare:")


def index_hint() -> None:
    """One line for the About panel when no index is configured."""
    if index_path() is None:
        st.caption("Similar posters: build an index of your own catalog with `postergenre index FOLDER --out "
                   f"INDEX` and set `{INDEX_ENV}` (environment or secrets) to see its nearest posters on Predict.")
