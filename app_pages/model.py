"""Model card: metrics with baselines, per-genre AP and calibration, reliability, data, limitations — all from weights/."""
import streamlit as st

from app_components.charts import per_genre_ap_chart, reliability_chart
from app_components.inputs import call_or_report
from app_components.model_cache import get_predictor
from postergenre.genres import TMDB_GENRES
from postergenre.evaluation.card import LIMITATIONS, MEASURES, plain_measures

HEADLINE = ("macro_ap", "micro_ap", "macro_auc", "micro_f1")

st.title("Model card")
predictor = call_or_report(get_predictor, failure="The genre model could not be loaded")
if predictor is None:
    st.stop()
meta = predictor.metadata  # postergenre.model.weights.WeightsMetadata
metrics = meta.metrics
split = "test" if "test" in metrics else "val"
r = metrics.get(split)
bb, pre, td, head = meta.backbone, meta.preprocessing, meta.training_data, meta.head
st.markdown(f"**{meta.name}**: {bb.get('name', pre.name)} ({bb.get('pretrained', 'ImageNet')}, frozen) + an "
            f"ensemble of {head.get('members')} MLP heads, {len(meta.genres)} genres, input "
            f"{pre.input_size[0]}×{pre.input_size[1]}"
            + (" with flip test-time augmentation." if meta.tta_flip else "."))
if r is None:
    st.warning("These weights carry no evaluation yet: run `postergenre evaluate --data DIR --record`.")
    st.stop()

# --- headline numbers and baselines ------------------------------------------------------------------------
st.subheader(f"Quality on the {split} split ({r['n_posters']:,} posters)")
baselines = r.get("baselines", {})
prior = baselines.get("training_prior", {})
plain = plain_measures(r)  # one plain sentence per measure, from these numbers
with st.container(horizontal=True, gap="medium"):
    for key in HEADLINE:
        delta = f"{r[key] - prior[key]:+.3f} vs prior" if prior.get(key) is not None else None
        st.metric(MEASURES[key], f"{r[key]:.3f}", delta, border=True, help=plain.get(key))
columns = {"model": r, **{name.replace("_", " "): b for name, b in baselines.items()}}
st.dataframe([{"measure": label, **{name: m.get(key) for name, m in columns.items()}} for key, label in MEASURES.items()],
             hide_index=True, height="content",   # one row per measure: as narrow as a phone, never clipped
             column_config={name: st.column_config.NumberColumn(format="%.3f") for name in columns})
st.markdown("\n".join(f"- **{MEASURES[key]}** {r[key]:.3f}: {text}" for key, text in plain.items()))
notes = ["The baselines: **training prior** scores every poster with each genre's share of the training posters; "
         "**no genre** predicts nothing."]
if baselines.get("no_genre", {}).get("hamming_loss") is not None:
    notes.append(f"Predicting no genre at all is right for {1 - baselines['no_genre']['hamming_loss']:.0%} of the "
                 "poster-genre pairs, which is why accuracy is not shown.")
notes.append("AP and ROC-AUC do not depend on the headline rule; F1, the Hamming loss and genres per poster "
             "use it. ECE: expected calibration error.")
st.caption(" ".join(notes))

# --- per genre ----------------------------------------------------------------------------------------------
st.subheader("Per genre")
st.plotly_chart(per_genre_ap_chart(r), config={"displayModeBar": False}, key="ap_chart")
methods = (meta.calibration or {}).get("methods", {})
st.dataframe([{"genre": g, "support": m["support"], "AP": m["ap"], "ROC-AUC": m["auc"], "F1": m["f1"],
               "ECE": m.get("ece"), "calibration": methods.get(g, "none")}
              for g, m in sorted(r["per_genre"].items(), key=lambda kv: -(kv[1]["ap"] or 0))],
             hide_index=True, height="content",
             column_config={"support": st.column_config.NumberColumn(help=f"posters of this genre in the {split} split"),
                            "calibration": st.column_config.TextColumn(help="map from logit to probability, chosen "
                                                                       "on val by cross-fitted log-loss"),
                            **{k: st.column_config.NumberColumn(format="%.3f") for k in ("AP", "ROC-AUC", "F1", "ECE")}})

# --- calibration --------------------------------------------------------------------------------------------
if r.get("reliability"):
    st.subheader("Calibration")
    raw = r.get("uncalibrated", {})
    st.plotly_chart(reliability_chart(r["reliability"], raw.get("reliability")), config={"displayModeBar": False},
                    key="reliability_chart")
    st.caption(f"Each point: the {split} posters' genre probabilities in one 10%-wide bin, against how often the "
               f"genre was really there. On the diagonal, 70% means 7 in 10. ECE {r['ece']:.3f} calibrated"
               + (f", {raw['ece']:.3f} before (raw sigmoid of the head)." if raw.get("ece") is not None else "."))

# --- data and limitations ---------------------------------------------------------------------------------
st.subheader("Data")
untrained = [g.name for g in TMDB_GENRES if g.name not in meta.genres]
st.markdown(f"- {td.get('n_train', 0):,} train / {td.get('n_val', 0):,} val / {td.get('n_test', 0):,} test posters "
            "(IMDb thumbnails 1970–2017, MovieLens genres mapped to TMDB names; a fixed split by IMDb id).\n"
            "- Calibration, the headline rule and the poster check were fitted on val; the test split was scored once.\n"
            + (f"- Not trained: {', '.join(untrained)} (absent from the training data).\n" if untrained else ""))
st.subheader("Limitations")
st.markdown(LIMITATIONS)
