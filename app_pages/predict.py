"""Predict: a poster in (upload, image link or TMDB search) -> ranked genres, Grad-CAM, colours."""
import json

import streamlit as st

from app_components.charts import genre_bar_chart
from app_components.check import draw_brief_check, intended_genre_selector
from app_components.inputs import call_or_report
from app_components.model_cache import analyze_bytes, get_atlas, get_predictor
from app_components.poster_source import SOURCES, choose_poster
from app_components.prediction_view import draw_heatmaps, draw_poster_text, read_poster
from app_components.similar import draw_similar
from postergenre.sources.images import load_image

st.title("What genre is this poster?")
st.caption("Upload a movie poster, paste an image link or search TMDB: the model ranks every genre, "
           "shows where it looked, and reads the poster's colours and composition.")

predictor = call_or_report(get_predictor, failure="The genre model could not be loaded")
if predictor is None:
    st.stop()

# --- input: only the open tab runs; what is shown is the poster it holds now ----------------------------
chosen = choose_poster()
poster_in, tmdb_choice = chosen.poster, chosen.tmdb
intended = intended_genre_selector(predictor.genres, key="intended_genres")  # empty: the page as it always was

if poster_in is None:
    if chosen.source == SOURCES[0]:  # the other tabs say themselves what they need
        st.info("Choose a poster to start. Nothing you upload is stored.", icon=":material/movie:")
        with st.container(horizontal=True, gap="medium"):
            for icon, title, text in [
                (":material/bar_chart:", "Ranked genres", f"All {len(predictor.genres)} genres with calibrated "
                 "probabilities, the film's likely genres in words, and a warning when it is not a poster."),
                (":material/visibility:", "Where it looked", "Grad-CAM heatmaps show which parts of the poster "
                 "raised each genre's score."),
                (":material/palette:", "Colours and composition", "The palette, faces, text and balance, "
                 "placed within the genre's typical range.")]:
                with st.container(border=True):
                    st.markdown(f"**{icon} {title}**")
                    st.caption(text)
    st.stop()
data, pkey = poster_in.data, poster_in.key  # pkey: widgets that depend on the poster are new for each one

# --- one call into the core -------------------------------------------------------------------------
pred = read_poster(poster_in)
if pred is None:
    st.stop()
poster = load_image(data)  # it just decoded for the prediction
probabilities = pred.probabilities
ranked = list(probabilities)
flagged = pred.warning is not None  # not a poster: nothing below wears confident words

# --- the brief check: does the poster say the genre it should sell? ----------------------------------
if intended:
    draw_brief_check(data, intended, pkey)
    st.subheader("All genres")

# --- the ranked genres ----------------------------------------------------------------------------------
if flagged:  # a clear warning instead of a confident headline
    st.warning(pred.summary, icon=":material/warning:")
else:
    st.subheader(pred.summary)
left, right = st.columns([2, 3], gap="medium")
with left:
    st.image(poster, caption=poster_in.name, width="stretch")
with right:
    show_guesses = not flagged or st.toggle(
        "Show the guesses anyway", value=False, key=f"show_guesses_{pkey}",
        help="The model's genre scores for this image. It was made for posters, so for other images these are guesses.")
    if show_guesses:
        st.plotly_chart(genre_bar_chart(pred, muted=flagged), config={"displayModeBar": False}, key="genre_chart")
    if flagged:
        st.caption("This image does not look like a movie poster, so the model's scores are guesses: their "
                   "calibration holds for posters only.")
    else:
        st.caption("Probabilities are calibrated on held-out posters: of posters given 70%, about 7 in 10 have "
                   "the genre. Orange bars are the headline: the top genres whose probability clears the "
                   "cut-off (yellow tick), at most 3.")

if tmdb_choice is not None:
    from app_components.tmdb_view import draw_genre_comparison

    st.subheader("The model vs TMDB's genres")
    draw_genre_comparison(pred.predicted, list(tmdb_choice.movie.genres), predictor.genres)

with st.expander("Table and JSON" + (" (guesses: not a poster)" if flagged else ""), icon=":material/table:"):
    st.dataframe([{"genre": g.genre, "probability": g.probability, "confidence": g.confidence,
                   "predicted": g.predicted} for g in pred.scores], hide_index=True, height="content",
                 column_config={"probability": st.column_config.ProgressColumn(format="%.3f", min_value=0, max_value=1)})
    st.download_button("Download JSON", json.dumps(dict(pred.to_dict(), source=poster_in.name), indent=2),
                       file_name="postergenre.json", mime="application/json", key="download_json",
                       icon=":material/download:")

# --- the text on the poster (OCR, fused with the image model) and where the model looked -------------
draw_poster_text(pred)
draw_heatmaps(poster_in, poster, pred, pkey)

# --- colours and composition --------------------------------------------------------------------------
st.subheader("Colours and composition")
with st.spinner("Analyzing colours and composition…"):
    analysis = call_or_report(analyze_bytes, data, failure="The colours and composition could not be measured")
if analysis is not None:
    from app_components.analysis import draw_measures, draw_palette

    draw_palette(analysis)
    genre = st.selectbox("Compare with the typical range of", ranked, index=None if flagged else 0,
                         key=f"atlas_genre_{pkey}", placeholder="Pick a genre (this image does not look like a poster)")
    draw_measures(analysis, get_atlas(), genre)

# --- similar posters of the user's catalog (only with POSTERGENRE_INDEX) ----------------------------
draw_similar(data, poster_in.name or "this poster")
