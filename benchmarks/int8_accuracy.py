"""int8 vs fp32 backbone on a dataset split: macro-AP (and the other metrics) of the same head on both
graphs' features, beside the trivial baseline, and how often the top genre agrees.

    python benchmarks/int8_accuracy.py --data ../shared/data/posters [--split test]

Features are cached (``postergenre.features``, resumable; the fp32 ones of the whole dataset are
reused when that cache is complete). int8 becomes the CPU default only if macro-AP on the whole test
split stays within 0.005 of fp32 (the head is not retrained for it).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import postergenre  # noqa: E402
from postergenre import features, settings  # noqa: E402
from postergenre.dataset import load_dataset  # noqa: E402
from postergenre.metrics import baseline_reports, multilabel_report  # noqa: E402
from postergenre.model import head_logits, sigmoid  # noqa: E402

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
    args = ap.parse_args()
    os.nice(10)  # a long, cached batch job: let interactive work go first
    p = postergenre.load(device="cpu", precision="fp32")
    ds = load_dataset(args.data)
    genres = [g for g in p.genres if g in ds.genres]
    cols = [p.genre_index(g) for g in genres]
    y = ds.targets(genres, args.split)
    probs, reports = {}, {}
    for precision in ("fp32", "int8"):
        f = split_features(ds, args.split, p.cfg, precision).astype(np.float32)
        logits = head_logits(p.params, f.reshape(-1, f.shape[-1])).reshape(len(f), 2, -1).mean(axis=1)
        probs[precision] = sigmoid(logits)[:, cols]
        reports[precision] = multilabel_report(y, probs[precision], p.thresholds[cols], genres)
    prior = np.asarray([p.meta.get("train_prior", {}).get(g, float(y[:, j].mean())) for j, g in enumerate(genres)])
    base = ("train prior", baseline_reports(y, genres, prior)["training_prior"])
    print(f"{args.split} split, {len(y)} posters, {len(genres)} genres")
    print(f"{'':12} {'macro-AP':>9} {'micro-AP':>9} {'macro-AUC':>9} {'macro-F1':>9} {'micro-F1':>9}")
    for name, r in [("fp32", reports["fp32"]), ("int8", reports["int8"]), (f"{base[0]}", base[1])]:
        print(f"{name[:12]:12} {r['macro_ap']:9.4f} {r['micro_ap']:9.4f} {r['macro_auc']:9.4f} "
              f"{r['macro_f1']:9.4f} {r['micro_f1']:9.4f}")
    delta = reports["int8"]["macro_ap"] - reports["fp32"]["macro_ap"]
    top = (probs["int8"].argmax(1) == probs["fp32"].argmax(1)).mean()
    print(f"int8 - fp32 macro-AP: {delta:+.4f} (tolerance {TOLERANCE}: {'within' if abs(delta) <= TOLERANCE else 'OUTSIDE'}); "
          f"top genre agrees on {top:.1%}; max |prob diff| {np.abs(probs['int8'] - probs['fp32']).max():.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
