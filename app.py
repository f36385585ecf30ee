"""postergenre: the Streamlit entry point. It only draws the frame and routes to the pages."""
import streamlit as st

st.set_page_config(page_title="postergenre: what genre is this poster?", page_icon="🎬", layout="wide",
                   initial_sidebar_state="auto")

from app_components.catalog import page_visible as catalog_page_visible  # noqa: E402 (after set_page_config)

pages = [
    st.Page("app_pages/predict.py", title="Predict", icon=":material/movie:", default=True),
    st.Page("app_pages/compare.py", title="Compare", icon=":material/compare:"),
    st.Page("app_pages/atlas.py", title="Genre Atlas", icon=":material/map:"),
    *([st.Page("app_pages/catalog.py", title="Catalog", icon=":material/grid_view:")] if catalog_page_visible() else []),
    st.Page("app_pages/model.py", title="Model card", icon=":material/insights:"),
]
page = st.navigation(pages)

with st.sidebar:
    from app_components.model_cache import get_predictor
    from postergenre.errors import PosterGenreError

    st.markdown("### postergenre")
    try:
        predictor = get_predictor()
        st.caption(f"Model **{predictor.name}** · {len(predictor.genres)} genres  \n"
                   f"Running on **{predictor.device.upper()}** ({predictor.backend})")
    except PosterGenreError as e:
        st.error(f"The genre model could not be loaded: {e}")
    with st.expander("About"):
        st.markdown("Reads a movie poster and ranks its genres, shows where the model looked (Grad-CAM) "
                    "and what the colours and composition say. Predictions are educated guesses from the "
                    "poster alone (its image and the text read on it), never from the film itself; see the "
                    "Model card for how good they are.")
        from app_components.tmdb_view import tmdb_attribution

        tmdb_attribution()
        from app_components.similar import index_hint

        index_hint()

page.run()
