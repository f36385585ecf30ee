"""Predict: a poster in (upload, image link or TMDB search) -> ranked genres, Grad-CAM, colours."""
import json
import logging

import streamlit as st

from app_components.charts import genre_bar_chart
from app_components.model_cache import analyze_bytes, explain_bytes, fetch_bytes, get_atlas, get_predictor, predict_bytes
from postergenre.errors import PosterGenreError
from postergenre.explain import overlay
from postergenre.images import load_image

log = logging.getLogger("postergenre.app")
POSTER_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff"]

st.title("What genre is this poster?")
st.caption("Upload a movie poster, paste an image link or search TMDB: the model ranks every genre, "
           "shows where it looked, and reads the poster's colours and composition.")

try:
    predictor = get_predictor()
except PosterGenreError as e:
    st.error(str(e))
    st.stop()

# --- input --------------------------------------------------------------------------------------
source = st.radio("Poster from", ["Upload", "Image link", "TMDB search"], horizontal=True, key="source",
                  label_visibility="collapsed")
data, name, tmdb_choice = None, None, None
if source == "Upload":
    f = st.file_uploader("Poster image (JPEG, PNG, WebP, GIF, BMP or TIFF; up to 15 MB)", type=POSTER_TYPES, key="poster")
    if f is not None:
        data, name = f.getvalue(), f.name
elif source == "Image link":
    url = st.text_input("Image link (http or https)", key="url", placeholder="https://…/poster.jpg")
    if url.strip():
        try:
            with st.spinner("Fetching the image…"):
                data, name = fetch_bytes(url.strip()), url.strip()
        except PosterGenreError as e:
            st.error(f"Could not use that link: {e}")
else:
    from app_components.tmdb_view import tmdb_search_ui

    tmdb_choice = tmdb_search_ui()
    if tmdb_choice is not None:
        data, name = tmdb_choice.poster, tmdb_choice.label

if data is None:
    st.info("Choose a poster to start. Nothing you upload is stored.")
    st.stop()

# --- one call into the core -----------------------------------------------------------------------
try:
    with st.spinner("Reading the poster…"):
        pred = predict_bytes(data)
        poster = load_image(data)
except PosterGenreError as e:
    st.error(f"That file could not be read as a poster: {e}")
    st.stop()
except Exception:  # never a traceback in the page
    log.exception("prediction failed")
    st.error("Something went wrong while reading this poster. Try another image; if it keeps happening, "
             "report it with the file.")
    st.stop()

# --- drawing ------------------------------------------------------------------------------------------
st.subheader(pred["summary"])
left, right = st.columns([2, 3], gap="large")
with left:
    st.image(poster, caption=name, width=360)
with right:
    st.plotly_chart(genre_bar_chart(pred), config={"displayModeBar": False}, key="genre_chart")
    st.caption("Bars in orange clear their genre's threshold (the yellow tick, tuned on held-out posters): "
               "that is the prediction. Several genres per film are normal.")

if tmdb_choice is not None:
    from app_components.tmdb_view import draw_genre_comparison

    st.subheader("The model vs TMDB's genres")
    draw_genre_comparison(pred["predicted"], list(tmdb_choice.movie.genres), predictor.genres)

st.subheader("Where the model looked")
ranked = [g["genre"] for g in pred["genres"]]
chosen = st.multiselect("Genres to explain", ranked, default=ranked[:3], key="cam_genres",
                        help="Grad-CAM on the head's logit for each genre: warm areas raised that genre's score.")
alpha = st.slider("Heatmap opacity", 0.0, 1.0, 0.6, 0.05, key="cam_alpha")
if chosen:
    try:
        with st.spinner("Computing heatmaps…"):
            maps = explain_bytes(data, tuple(chosen))
    except PosterGenreError as e:
        st.error(str(e))
        maps = []
    probs = {g["genre"]: g["probability"] for g in pred["genres"]}
    per_row = 4
    for start in range(0, len(maps), per_row):
        cols = st.columns(per_row)
        for col, h in zip(cols, maps[start:start + per_row]):
            col.image(overlay(poster, h.cam, alpha), caption=f"{h.genre} · {probs[h.genre]:.0%}", width=260)

with st.expander("Table and JSON"):
    st.dataframe([{"genre": g["genre"], "probability": g["probability"], "threshold": g["threshold"],
                   "predicted": g["predicted"]} for g in pred["genres"]], hide_index=True,
                 column_config={"probability": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1),
                                "threshold": st.column_config.NumberColumn(format="%.2f")})
    st.download_button("Download JSON", json.dumps(dict(pred, source=name), indent=2), file_name="postergenre.json",
                       mime="application/json", key="download_json")

st.subheader("Colours and composition")
try:
    with st.spinner("Analysing colours and composition…"):
        analysis = analyze_bytes(data)
except PosterGenreError as e:
    st.error(str(e))
else:
    from app_components.analysis import draw_measures, draw_palette

    draw_palette(analysis)
    atlas = get_atlas()
    genre = st.selectbox("Compare with the typical range of", ranked, index=0, key="atlas_genre")
    draw_measures(analysis, atlas, genre)
