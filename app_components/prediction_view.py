"""The Predict page's sections about one poster: reading it, the text read on it, the heatmaps.

    pred = read_poster(poster_in)                      # a status box while it is read; None + the reason
    draw_poster_text(pred)                             # what was read on the poster, and the words
    draw_heatmaps(poster_in, poster, pred, pkey)       # Grad-CAM of the genres picked
"""
from __future__ import annotations

from pathlib import PurePosixPath

import streamlit as st

from app_components.inputs import PosterInput, call_or_report
from app_components.model_cache import explain_bytes, heatmap_png, predict_bytes
from app_components.poster_source import clear_button
from postergenre.model.explain import TINT_FLOOR
from postergenre.model.text_model import legible_text

__all__ = ["read_poster", "draw_poster_text", "draw_heatmaps", "HEATMAP_WIDTH"]

HEATMAP_WIDTH = 170  # px: four tiles in a row on a laptop, two on a phone


def read_poster(poster_in: PosterInput):
    """The poster's prediction, read under a status box, with a Clear button under it. A file that
    cannot be read leaves the box open on the reason and what to do (None), full width so a phone
    shows it whole; an image the poster check flags gets no "Poster read" check (the warning below
    says what it is)."""
    slot = st.empty()
    clear_button()
    with slot.status("Reading the poster…", expanded=False) as status:  # shown while a new poster is read
        pred = call_or_report(predict_bytes, poster_in.data, failure="")  # the box's label says what failed
        if pred is None:
            status.update(label="The poster could not be read", state="error", expanded=True)  # the reason, in sight
        else:
            status.update(label="Poster read", state="complete", expanded=False)
    if pred is not None and pred.warning is not None:
        slot.empty()  # no green check for an image that does not look like a poster
    return pred


def _code(line: str) -> str:
    return "`" + line.replace("`", "'") + "`"


def draw_poster_text(pred) -> None:
    """The text read on the poster as a person should see it (``legible_text``: lines the recogniser is
    confident of, each once; words that are words), and plainly when some of it was hard to read."""
    if pred.text is None:  # the text channel is off
        return
    st.subheader("Text on the poster")
    if not pred.text:
        st.markdown("No text found: the genres come from the image alone.")
        return
    read = legible_text(pred.text, pred.text_scores, pred.text_words)
    if read.lines:
        st.markdown(" · ".join(_code(line) for line in read.lines))
        for genre, words in read.words.items():
            st.markdown(f"**{genre}** ← " + ", ".join(f"{w} (+{c:.2f})" for w, c in words))
    n = read.unsure
    if read.hard_to_read and read.lines:
        st.markdown(f":material/blur_on: **Some of the text was hard to read:** "
                    + (f"{n} lines the reader was unsure of are" if n != 1 else "1 line the reader was unsure of is")
                    + " not shown. The genres still count what it read there, and a misread word can move them.")
    elif read.hard_to_read:
        st.markdown(f":material/blur_on: **The text was hard to read:** the reader found {n} line{'s' if n != 1 else ''} "
                    "but was unsure of " + ("every one" if n != 1 else "it") + ", so nothing is shown. The genres still "
                    "count what it read, and a misread word can move them.")
    st.caption("Read from the pixels (OCR): the lines the reader is confident of, and the words that raised the "
               "top genres' scores most in the text model. Stylised or non-English lettering is often misread "
               "or missed.")


def draw_heatmaps(poster_in: PosterInput, poster, pred, pkey: str) -> None:
    """Grad-CAM of the genres picked (the top 3 by default; none for an image that is not a poster).
    Each map is relative (``postergenre.model.explain``: Grad-CAM's values do not compare across
    genres), and the caption says so."""
    flagged = pred.warning is not None
    ranked = [s.genre for s in pred.scores]
    st.subheader("Where the model looked")
    pick, opacity = st.columns([3, 1], vertical_alignment="bottom")
    chosen = pick.multiselect("Genres to explain", ranked, default=[] if flagged else ranked[:3],
                              key=f"cam_genres_{pkey}",
                              help="Grad-CAM on the head's logit for each genre: warm areas raised that genre's score.")
    alpha = opacity.slider("Heatmap opacity", 0.0, 1.0, 0.6, 0.05, key="cam_alpha")
    if not chosen:
        st.caption("This image does not look like a poster: pick genres to see where the model looked anyway."
                   if flagged else "Pick one or more genres to see where the model found evidence for them.")
        return
    with st.spinner("Computing heatmaps…"):
        maps = call_or_report(explain_bytes, poster_in.data, tuple(chosen), failure="The heatmaps could not be computed")
    if not maps:
        return
    with st.container(horizontal=True, gap="small"):
        st.image(poster, caption="Poster", width=HEATMAP_WIDTH)
        for h in maps:
            st.image(h.overlay(poster, alpha), caption=f"{h.genre} · {pred.probabilities[h.genre]:.0%}",
                     width=HEATMAP_WIDTH)
    st.caption("Each map is scaled to its own strongest area: it shows where the picture raised that genre's "
               "score, not how much, so an unlikely genre's map has red areas too (its probability, under the "
               "map, says how likely it is). Colours run from blue (a little) to red (the genre's strongest "
               f"area); areas under {TINT_FLOOR:.0%} of that are left untinted. The maps come from the network's "
               "last, coarse layer: they show regions, not details."
               + (" They explain the image's part of each score; the words read from the poster (above) explain "
                  "the text's part." if pred.text else ""))
    st.download_button("Download heatmaps (PNG)", heatmap_png(poster_in.data, tuple(chosen), alpha),
                       file_name=f"{PurePosixPath(poster_in.name).stem or 'poster'}_heatmaps.png",
                       mime="image/png", key="download_heatmaps", icon=":material/download:",
                       help="The poster and each heatmap side by side, labelled with genre and probability.")
