"""Predict: a poster in (upload, image link or TMDB search) -> ranked genres, Grad-CAM, colours."""
import json
from pathlib import PurePosixPath

import streamlit as st

from app_components.charts import genre_bar_chart
from app_components.check import draw_brief_check, intended_genre_selector
from app_components.examples import example_posters
from app_components.inputs import PosterInput, call_or_report, poster_link, poster_upload, random_dataset_poster
from app_components.model_cache import (analyze_bytes, explain_bytes, get_atlas, get_predictor, heatmap_png,
                                        predict_bytes)
from app_components.similar import draw_similar
from postergenre.sources.images import load_image

HEATMAP_WIDTH = 170  # px: four tiles in a row on a laptop, two on a phone

st.title("What genre is this poster?")
st.caption("Upload a movie poster, paste an image link or search TMDB: the model ranks every genre, "
           "shows where it looked, and reads the poster's colours and composition.")

predictor = call_or_report(get_predictor, failure="The genre model could not be loaded")
if predictor is None:
    st.stop()

# --- input: only the open tab runs ------------------------------------------------------------------
upload_tab, link_tab, tmdb_tab = st.tabs(["Upload", "Image link", "TMDB search"], key="source", on_change="rerun")
poster_in, tmdb_choice = None, None
if upload_tab.open:
    with upload_tab:
        poster_in = poster_upload(key="poster") or random_dataset_poster() or example_posters()
if link_tab.open:
    with link_tab:
        poster_in = poster_link(key="url")
if tmdb_tab.open:
    with tmdb_tab:
        from app_components.tmdb_view import tmdb_search_ui

        tmdb_choice = tmdb_search_ui()
        if tmdb_choice is not None:
            poster_in = PosterInput(tmdb_choice.poster, tmdb_choice.label)

intended = intended_genre_selector(predictor.genres, key="intended_genres")  # empty: the page as it always was

if poster_in is None:
    if upload_tab.open:  # the other tabs say themselves what they need
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
with st.status("Reading the poster…", expanded=False) as status:  # shown while a new poster is read
    pred = call_or_report(predict_bytes, data, failure="That file could not be read as a poster")
    status.update(label="Poster read" if pred else "The poster could not be read",
                  state="complete" if pred else "error", expanded=pred is None)  # the reason, where one looks
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

# --- the text on the poster (OCR, fused with the image model) ----------------------------------------
if pred.text is not None:
    st.subheader("Text on the poster")
    if pred.text:
        st.markdown(" · ".join(f"`{line}`" for line in pred.text))
        for genre, words in pred.text_words.items():
            st.markdown(f"**{genre}** ← " + ", ".join(f"{w} (+{c:.2f})" for w, c in words))
        st.caption("Read from the pixels (OCR). The words that raised the top genres' scores most in the text "
                   "model; stylised or non-English lettering is often misread or missed.")
    else:
        st.markdown("No text found: the genres come from the image alone.")

# --- Grad-CAM ---------------------------------------------------------------------------------------------
st.subheader("Where the model looked")
pick, opacity = st.columns([3, 1], vertical_alignment="bottom")
chosen = pick.multiselect("Genres to explain", ranked, default=[] if flagged else ranked[:3], key=f"cam_genres_{pkey}",
                          help="Grad-CAM on the head's logit for each genre: warm areas raised that genre's score.")
alpha = opacity.slider("Heatmap opacity", 0.0, 1.0, 0.6, 0.05, key="cam_alpha")
if chosen:
    with st.spinner("Computing heatmaps…"):
        maps = call_or_report(explain_bytes, data, tuple(chosen), failure="The heatmaps could not be computed")
    if maps:
        with st.container(horizontal=True, gap="small"):
            st.image(poster, caption="Poster", width=HEATMAP_WIDTH)
            for h in maps:
                st.image(h.overlay(poster, alpha), caption=f"{h.genre} · {probabilities[h.genre]:.0%}",
                         width=HEATMAP_WIDTH)
        st.caption("Red and yellow: the areas that raised the genre's score most; untinted areas barely "
                   "mattered. The maps come from the network's last, coarse layer: they show regions, not details."
                   + (" They explain the image's part of each score; the words read from the poster (above) "
                      "explain the text's part." if pred.text else ""))
        st.download_button("Download heatmaps (PNG)", heatmap_png(data, tuple(chosen), alpha),
                           file_name=f"{PurePosixPath(poster_in.name).stem or 'poster'}_heatmaps.png",
                           mime="image/png", key="download_heatmaps", icon=":material/download:",
                           help="The poster and each heatmap side by side, labelled with genre and probability.")
elif flagged:
    st.caption("This image does not look like a poster: pick genres to see where the model looked anyway.")
else:
    st.caption("Pick one or more genres to see where the model found evidence for them.")

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
