"""What an OCR reading is worth once the text model is retrained on it: read a seeded subset of train and
val posters with each reading (cached and resumable, as ``postergenre train-text`` reads), fit the text
model on the train posters, and score the val posters: the text alone and fused with the image model
(fusion cross-fitted on val, as ``train-text`` reports it). The trivial baseline beside them: the image
model alone on the same val posters.

    .venv/bin/python benchmarks/ocr_retrain.py [--train 5000] [--val 1200] [--reading seed]
                                               [--reading default] [--reading min_line_height=0.045,det_side=320]

A reading is ``seed`` (the settings of the dataset's ocr_text.jsonl: free when that file is present),
``default`` (``OCRConfig()``), or comma-separated ``field=value`` changes to the default. A reading not
in the cache takes about 100 CPU-ms per poster (an interrupted run continues where it stopped).
Figures: docs/performance.md.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def reading(spec: str):
    from postergenre.model.ocr import SEED_CONFIG, OCRConfig

    if spec == "seed":
        return SEED_CONFIG
    if spec == "default":
        return OCRConfig()
    types = {f.name: type(getattr(OCRConfig(), f.name)) for f in fields(OCRConfig)}
    changes = dict(part.split("=", 1) for part in spec.split(","))
    unknown = set(changes) - set(types)
    if unknown:
        raise SystemExit(f"unknown OCR settings {sorted(unknown)}; available = {sorted(types)}")
    return replace(OCRConfig(), **{k: types[k](v) for k, v in changes.items()})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "posters")
    ap.add_argument("--train", type=int, default=5000, help="train posters (a seeded sample)")
    ap.add_argument("--val", type=int, default=1200, help="val posters (a seeded sample)")
    ap.add_argument("--reading", action="append", default=None, help="seed, default or field=value,... (repeat)")
    args = ap.parse_args()

    import postergenre
    from postergenre.model.ocr import cache_text
    from postergenre.model.text_model import TextConfig, fit_text_model, has_text
    from postergenre.sources.dataset import load_dataset
    from postergenre.training.train_text import ablation, image_logits_for_rows

    specs = args.reading or ["seed", "default"]
    ds = load_dataset(args.data)
    p = postergenre.load(device="cpu")
    split, files = ds.table["split"].to_numpy(), list(ds.table["file"])
    rng = np.random.default_rng(0)
    tr = np.sort(rng.choice(np.flatnonzero(split == "train"), args.train, replace=False))
    va = np.sort(rng.choice(np.flatnonzero(split == "val"), args.val, replace=False))
    y = ds.targets(p.genres)
    texts = {}
    for spec in specs:
        cfg = reading(spec)
        got = cache_text(ds, cfg, files=[files[i] for i in np.r_[va, tr]])
        texts[spec] = dict(zip([files[i] for i in np.r_[va, tr]], got))
    img = image_logits_for_rows(p, ds, va, False)
    cfg = TextConfig()
    print(f"\n{len(tr)} train / {len(va)} val posters (seeded); val macro-AP of the image model alone: "
          f"{ablation(img, img, np.zeros(len(va), bool), y[va])['image']['macro_ap']:.4f} (the baseline)")
    print(f"{'reading':48} {'words/poster':>12} {'text AP':>8} {'fused AP':>9}")
    for spec, d in texts.items():
        t_tr, t_va = [d[files[i]] for i in tr], [d[files[i]] for i in va]
        model = fit_text_model(t_tr, y[tr], p.genres, cfg, progress=False)
        rep = ablation(img, model.logits(t_va), np.array([has_text(t, cfg) for t in t_va]), y[va])
        print(f"{spec[:48]:48} {np.mean([len(t.split()) for t in t_va]):12.2f} {rep['text']['macro_ap']:8.4f} "
              f"{rep['fused']['macro_ap']:9.4f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
