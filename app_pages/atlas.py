"""Genre Atlas: how each genre's posters look — palette, measures against other genres, decades,
what the model sees, and (with a local dataset folder) the most typical posters."""
from __future__ import annotations

import streamlit as st

from app_components import atlas as view
from app_components.inputs import call_or_report
from app_components.model_cache import get_predictor, load_current_atlas
from postergenre.look.atlas import describe_genre, typical_posters


@st.cache_data(ttl=3600, show_spinner=False)
def get_typical(data_dir: str, genre: str):
    return typical_posters(data_dir, genre, get_predictor(), n=6)


st.title("Genre Atlas")
atlas = call_or_report(load_current_atlas, failure="The Genre Atlas could not be loaded")
if atlas is None:
    st.stop()
source = atlas.data["source"]
st.caption(f"How {len(atlas.genres)} genres look, from {source['posters']:,} posters "
           f"({source['sampling']}, {source['split'] or 'all'} split). Statistics only; no posters are stored.")

genre = st.selectbox("Genre", atlas.genres, index=atlas.genres.index("Horror") if "Horror" in atlas.genres else 0)
other = st.selectbox("Contrast with", ["(none)"] + [g for g in atlas.genres if g != genre])
picked = [genre] + ([other] if other != "(none)" else [])

st.subheader("Typical palette")
for g in picked:
    st.markdown(f"**{g}** · {atlas.group(g)['count']:,} posters")
    st.markdown(view.palette_html(atlas.group(g)), unsafe_allow_html=True)
build = atlas.data["source"]["config"]
st.caption(f"A poster has a colour when it covers at least {build.get('colour_min_share', 0.05):.0%} of it. "
           f"Colours are grouped into {build.get('colour_clusters', 32)} shades shared by all genres, so a red "
           "poster and a blue one count as red and blue, never as their purple average.")

st.subheader("What sets it apart")
for g in picked:
    st.write(describe_genre(atlas, g))
st.plotly_chart(view.effect_figure(atlas, picked), config={"displayModeBar": False})
st.caption("Bars show how far the genre's posters differ from all others, in standard deviations (Cohen's d): "
           "about 0.2 is a slight difference, 0.5 a clear one, 0.8 or more a strong one. Right = more of it.")

st.subheader("Against the other genres")
top_measure = atlas.group(genre)["effect_sizes"][0]["measure"]
measure = st.selectbox("Measure", atlas.measures, index=atlas.measures.index(top_measure),
                       format_func=lambda m: view.label(atlas, m))
st.caption(atlas.data["measures"][measure]["help"])
violin = st.toggle("Violin plots", value=False)
st.plotly_chart(view.distribution_figure(atlas, measure, picked, violin=violin), config={"displayModeBar": False})

st.subheader("Over the decades")
decades = view.decade_figure(atlas, measure, picked)
if decades is None:
    st.caption("The atlas has no decades with enough posters for this genre.")
else:
    st.plotly_chart(decades, config={"displayModeBar": False})

st.subheader("Hues")
st.plotly_chart(view.hue_figure(atlas, picked), config={"displayModeBar": False})

model_fig = view.model_figure(atlas, genre)
if model_fig is not None:
    st.subheader("What the model sees")
    st.caption(f"Mean probability the model gives each genre on {genre} posters"
               + (" of the training split, which the model learned from, so these are optimistic."
                  if source["split"] == "train" else "."))
    st.plotly_chart(model_fig, config={"displayModeBar": False})

st.subheader("Typical posters")
data_dir = view.dataset_dir_setting()
if data_dir is None:
    st.caption(f"The posters the model finds most typical of {genre} appear here on deployments that keep a "
               "local copy of the poster dataset; this one does not. (Operators: the README links to the app's "
               "documentation, whose Genre Atlas section says how.)")
else:
    with st.spinner(f"Scoring {genre} posters…"):
        posters = call_or_report(get_typical, str(data_dir), genre, failure="The typical posters could not be found")
    if posters:
        view.draw_typical(posters)
    elif posters is not None:  # listed, but no image file of the genre could be read: say so, not a blank
        st.caption(f"No {genre} poster to show: the poster dataset on this deployment lists some, but their "
                   "image files are missing or could not be read.")
