"""The robustness battery on val posters: flagged share, top-genre agreement, macro-AP and ECE per
transformation (upscaled sharp, print size, JPEG q60/q95, WebP, PNG, frames, letterbox, crop, strip),
beside the targets (<= 2% flagged, >= 90% agreement). Val only: test is never read.

    python benchmarks/robustness.py --data ../shared/data/posters --n 300            # image alone
    python benchmarks/robustness.py --data ../shared/data/posters --n 150 --text     # with the poster's text
    python benchmarks/robustness.py ... --preprocess source_scale=none,trim_borders=0   # the steps off
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def load_predictor(weights: str | None, overrides: str | None):
    """The shipped predictor, or one whose preprocessing steps are overridden: ``source_scale=none|WxH``,
    ``trim_borders=0|1`` (comma-separated)."""
    import postergenre
    from postergenre import settings
    from postergenre.model.head import Head
    from postergenre.model.predictor import Predictor
    from postergenre.model.weights import read_weights

    if not overrides:
        return postergenre.load(weights, device="cpu")
    folder = Path(weights) if weights else settings.weights_dir()
    params, meta = read_weights(folder)
    pre = dict(meta["preprocessing"])
    for item in overrides.split(","):
        key, value = item.split("=")
        if key == "source_scale":
            pre[key] = None if value == "none" else [int(v) for v in value.lower().split("x")]
        elif key == "trim_borders":
            pre[key] = value.lower() in ("1", "true", "on")
        else:
            raise SystemExit(f"unknown --preprocess step {key!r}; use source_scale or trim_borders")
    return Predictor(Head(params), {**meta, "preprocessing": pre}, device="cpu", weights_dir=folder)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/posters")
    ap.add_argument("--n", type=int, default=300, help="val posters (a seeded random sample)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--text", action="store_true", help="read each version's text too (slower)")
    ap.add_argument("--weights", default=None, help="weights folder (default: the bundled model)")
    ap.add_argument("--preprocess", default=None,
                    help="override the weights' preprocessing steps, e.g. 'source_scale=none,trim_borders=0'")
    ap.add_argument("--transforms", default=None, help="comma-separated subset of the transformations")
    ap.add_argument("--record", action="store_true",
                    help="store the table in the weights' metadata.json (robustness) and regenerate MODEL_CARD.md")
    args = ap.parse_args()

    from PIL import Image

    from postergenre.evaluation.robustness import TRANSFORMS, format_battery, run_battery
    from postergenre.sources.dataset import load_dataset

    predictor = load_predictor(args.weights, args.preprocess)
    ds = load_dataset(args.data)
    val = ds.subset("val").sample(n=min(args.n, len(ds.subset("val"))), random_state=args.seed).sort_index()
    images = [Image.open(ds.root / f).convert("RGB") for f in val["file"]]
    y = ds.targets(list(predictor.genres), "val")[ds.subset("val").index.get_indexer(val.index)]
    names = args.transforms.split(",") if args.transforms else list(TRANSFORMS)
    t0 = time.perf_counter()
    rows = run_battery(predictor, images, y, text=args.text, transforms=names)
    cfg = predictor.preprocessing
    print(f"\n{len(images)} val posters; {'image + text' if args.text else 'image alone'}; source scale "
          f"{cfg.source_scale or 'none'}, trim borders {'on' if cfg.trim_borders else 'off'}; {predictor.precision} "
          f"backbone; {time.perf_counter() - t0:.0f} s")
    print(format_battery(rows))
    if args.record:
        from dataclasses import asdict

        from postergenre.evaluation.card import record_section

        command = "python benchmarks/robustness.py --data ../shared/data/posters --n " + str(len(images)) + (
            " --text" if args.text else "")
        record_section(predictor.weights_dir, "robustness", {
            "command": command, "n": len(images), "split": "val", "precision": predictor.precision,
            "path": "image + text" if args.text else "image alone", "rows": [asdict(r) for r in rows]})
        print(f"recorded in {predictor.weights_dir}/metadata.json (robustness) and MODEL_CARD.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
