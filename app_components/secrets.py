"""The app's secrets: the named entries of st.secrets, for ``postergenre.settings.lookup`` (which puts
the environment first). One place for the try/except an absent or unreadable secrets.toml needs."""
from __future__ import annotations

import streamlit as st

__all__ = ["streamlit_secrets"]


def streamlit_secrets(*names: str) -> dict[str, str]:
    """{name: value} for those of ``names`` that st.secrets holds; {} without a secrets file."""
    try:
        return {k: str(st.secrets[k]) for k in names if k in st.secrets}
    except Exception:  # no secrets.toml, or an unreadable one: the environment only
        return {}
