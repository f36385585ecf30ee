"""Streamlit-only drawing helpers shared by the app's pages (the ``postergenre`` core never imports these)."""
