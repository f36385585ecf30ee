"""Model card: metrics with baselines, per-genre AP, thresholds, data, limitations — all from weights/."""
import streamlit as st

from app_components.charts import per_genre_ap_chart
from app_components.model_cache import get_predictor
from postergenre.errors import PosterGenreError
from postergenre.model_card import LIMITATIONS

st.title("Model card")
try:
    meta = get_predictor().meta
except PosterGenreError as e:
    st.error(str(e))
    st.stop()

metrics = meta.get("metrics", {})
split = "test" if "test" in metrics else "val"
r = metrics.get(split)
bb, pre, td, head = meta["backbone"], meta["preprocessing"], meta.get("training_data", {}), meta.get("head", {})
st.markdown(f"**{meta['name']}**: {bb['name']} (ImageNet, frozen) + an ensemble of {head.get('members')} MLP heads, "
            f"{len(meta['genres'])} genres, input {pre['input_size'][0]}×{pre['input_size'][1]} with flip test-time "
            f"augmentation.")
if r is None:
    st.warning("These weights carry no evaluation yet: run `postergenre evaluate --data DIR --record`.")
    st.stop()

st.subheader(f"Quality on the {split} split ({r['n_posters']:,} posters)")
base = r.get("baselines", {}).get("training_prior", {})
cols = st.columns(4)
for col, (key, label) in zip(cols, [("macro_ap", "macro-AP"), ("micro_ap", "micro-AP"),
                                     ("macro_auc", "macro ROC-AUC"), ("micro_f1", "micro-F1")]):
    delta = f"{r[key] - base[key]:+.3f} vs prior" if base.get(key) is not None else None
    col.metric(label, f"{r[key]:.3f}", delta)
rows = [("model", r)] + [(n.replace("_", " "), b) for n, b in r.get("baselines", {}).items()]
keys = ["macro_ap", "micro_ap", "macro_auc", "micro_auc", "macro_f1", "micro_f1", "samples_f1", "hamming_loss"]
st.dataframe([{"": name, **{k: (round(m[k], 3) if m.get(k) is not None else None) for k in keys}} for name, m in rows],
             hide_index=True)
st.caption("Predicting “no genre” for every poster scores 89% per-label accuracy on this data, which is why "
           "accuracy is not shown. AP and ROC-AUC do not depend on thresholds; F1 uses the thresholds below.")

st.subheader("Per genre")
st.plotly_chart(per_genre_ap_chart(r), config={"displayModeBar": False})
st.dataframe([{"genre": g, "support": m["support"], "AP": m["ap"], "ROC-AUC": m["auc"], "F1": m["f1"],
               "threshold": meta["thresholds"][g]} for g, m in sorted(r["per_genre"].items(), key=lambda kv: -(kv[1]["ap"] or 0))],
             hide_index=True, column_config={k: st.column_config.NumberColumn(format="%.3f")
                                             for k in ("AP", "ROC-AUC", "F1", "threshold")})

st.subheader("Data")
st.markdown(f"- {td.get('n_train', 0):,} train / {td.get('n_val', 0):,} val / {td.get('n_test', 0):,} test posters "
            "(IMDb thumbnails 1970–2017, MovieLens genres mapped to TMDB names; a fixed split by IMDb id).\n"
            "- Thresholds were tuned on val for each genre's F1; the test split was scored once.\n"
            "- Not trained: History, TV Movie (absent from the training data).")
st.subheader("Limitations")
st.markdown(LIMITATIONS)
