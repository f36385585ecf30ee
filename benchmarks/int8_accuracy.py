"""int8 vs fp32 backbone on a dataset split: macro-AP (and the other metrics) of the shipped model on
both graphs' features, beside the trivial baseline, and how often the top genre agrees. Two rows per
precision: the shipped model (image logits fused with the poster's OCR text, as ``predict()`` runs it)
and the image head alone.

    python benchmarks/int8_accuracy.py --data ../shared/data/posters [--split test] [--record]

``--record`` (test split only) stores the figures and the CPU default that follows from them as
``weights/metadata.json``'s "int8" key and regenerates the model card; ``postergenre.load()`` reads
"int8"."cpu_default" (weights without the key run fp32).

Features are cached (``postergenre.training.features``, resumable; the fp32 ones of the whole dataset are
reused when that cache is complete). int8 becomes the CPU default only if macro-AP on the whole test
split stays within 0.005 of fp32 (the head is not retrained for it). The posters' text comes from the
OCR cache (``postergenre.model.ocr.cache_text``, seeded from the dataset's ``ocr_text.jsonl``), as in
``postergenre evaluate``; it does not depend on the backbone's precision.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from postergenre import settings  # noqa: E402
from postergenre.training import features  # noqa: E402
from postergenre.evaluation.metrics import baseline_reports, multilabel_report  # noqa: E402
from postergenre.sources.dataset import load_dataset  # noqa: E402
import postergenre  # noqa: E402

TOLERANCE = 0.005


def split_features(ds, split: str, cfg, precision: str) -> np.ndarray:
    """N x 2 x D features of ``split``'s rows: from the whole-dataset fp32 cache when it is complete,
    else cached for the split alone."""
    whole = settings.cache_dir() / "features" / features._key(ds, cfg, precision) / "done.npy"
    rows = np.flatnonzero((ds.table["split"] == split).to_numpy())
    if whole.is_file() and np.load(whole).all():
        return features.cache_features(ds, cfg, precision=precision, progress=False)[rows]
    part = dataclasses.replace(ds, table=ds.table.iloc[rows].reset_index(drop=True))
    return features.cache_features(part, cfg, precision=precision)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "data" / "posters"))
    ap.add_argument("--split", default="test")
    ap.add_argument("--record", action="store_true", help="store the figures and the CPU default in the weights")
    args = ap.parse_args()
    from postergenre.model.runtime import cpu_has_int8_dot

    if args.record and not cpu_has_int8_dot():  # the record decides the default where int8 is the 8-bit graph
        raise SystemExit("--record needs a CPU with an int8 dot product (VNNI/AMX): on this one int8 is the 7-bit "
                         "fallback graph, which is never the default; run without --record to measure it")
    os.nice(10)  # a long, cached batch job: let interactive work go first
    p = postergenre.load(device="cpu", precision="fp32")
    ds = load_dataset(args.data)
    genres = [g for g in p.genres if g in ds.genres]
    cols = [p.genre_index(g) for g in genres]
    y = ds.targets(genres, args.split)
    texts = None
    if p.text_model is not None:
        from postergenre.model.ocr import cache_text

        rows = np.flatnonzero((ds.table["split"] == args.split).to_numpy())
        cached = cache_text(ds, p.ocr_config, files=list(ds.table["file"].iloc[rows]), progress=False)
        texts = [[t] if t.strip() else [] for t in cached]  # as postergenre evaluate does
    probs, reports = {}, {}
    for precision in ("fp32", "int8"):
        f = split_features(ds, args.split, p.preprocessing, precision).astype(np.float32)
        image = p.head.view_logits(f)
        variants = {"image": p.probabilities(image, [None] * len(image))}
        if texts is not None:
            variants["fused"] = p.probabilities(image, texts)
        for variant, pr in variants.items():
            key = f"{precision} {variant}"
            probs[key] = pr[:, cols]
            reports[key] = multilabel_report(y, probs[key], np.full(len(cols), p.trust().rule.cutoff), genres)
    prior_map = p.metadata.training_data.get("train_prior", {})
    prior = np.asarray([prior_map.get(g, float(y[:, j].mean())) for j, g in enumerate(genres)])
    base = baseline_reports(y, genres, prior)["training_prior"]
    print(f"{args.split} split, {len(y)} posters, {len(genres)} genres; F1 at metadata 'thresholds' on the "
          f"model's probabilities (the headline rule is not applied; AP and AUC need no threshold)")
    print(f"{'':14} {'macro-AP':>9} {'micro-AP':>9} {'macro-AUC':>9} {'macro-F1':>9} {'micro-F1':>9}")
    for name, r in [*reports.items(), ("train prior", base)]:
        print(f"{name[:14]:14} {r['macro_ap']:9.4f} {r['micro_ap']:9.4f} {r['macro_auc']:9.4f} "
              f"{r['macro_f1']:9.4f} {r['micro_f1']:9.4f}")
    shipped = "fused" if texts is not None else "image"
    deltas = {}
    for variant in dict.fromkeys(k.split()[1] for k in reports):
        a, b = f"fp32 {variant}", f"int8 {variant}"
        delta = reports[b]["macro_ap"] - reports[a]["macro_ap"]
        top = (probs[b].argmax(1) == probs[a].argmax(1)).mean()
        verdict = "within" if abs(delta) <= TOLERANCE else "OUTSIDE"
        deltas[variant] = (delta, float(top))
        print(f"{variant}{' (shipped)' if variant == shipped else ''}: int8 - fp32 macro-AP {delta:+.4f} "
              f"(tolerance {TOLERANCE}: {verdict}); top genre agrees on {top:.1%}; "
              f"max |prob diff| {np.abs(probs[b] - probs[a]).max():.3f}")
    if args.record:
        if args.split != "test":
            raise SystemExit("--record stores test-split figures; run with --split test")
        from postergenre.evaluation.card import record_section
        from postergenre.model.quantize import CALIBRATION_METHOD, CALIBRATION_POSTERS

        delta, top = deltas[shipped]
        keys = ("macro_ap", "micro_ap", "macro_auc", "macro_f1", "micro_f1")
        record_section(p.weights_dir, "int8", {
            "command": "python benchmarks/int8_accuracy.py --record", "split": args.split, "n_posters": len(y),
            "calibration": f"{CALIBRATION_METHOD} ranges from {CALIBRATION_POSTERS} train posters",
            **{prec: {v: {k: round(float(reports[f"{prec} {v}"][k]), 4) for k in keys}
                      for v in ("image", "fused") if f"{prec} {v}" in reports} for prec in ("fp32", "int8")},
            "train_prior": {k: round(float(base[k]), 4) for k in keys},
            "delta_macro_ap": round(float(delta), 4), "top_genre_agreement": round(top, 4), "tolerance": TOLERANCE,
            "cpu_default": "int8" if abs(delta) <= TOLERANCE else "fp32"})
        print(f"recorded in {p.weights_dir}/metadata.json (\"int8\") and MODEL_CARD.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
