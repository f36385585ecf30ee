"""postergenre calibrate --data DIR [--weights weights/]"""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("calibrate", help="refit calibration, headline rules and poster check on val (minutes)",
                       description="On existing weights and the cached backbone features of the val split: per genre, "
                                   "compares Platt scaling, temperature and isotonic calibration with 5-fold "
                                   "cross-fitting and keeps the best; tunes the headline rule (how many genres, "
                                   "from calibrated probabilities) for samples-F1; fits the 'is this a poster?' "
                                   "check and sets its threshold so about 1.5% of val posters are flagged. With a "
                                   "text channel it also fits the image-alone path's own calibration and headline "
                                   "rule, and the poster check's second look (the layout of the text regions the OCR "
                                   "detector finds; the detector runs once per poster, cached and resumable). "
                                   "Writes them into the weights folder. `postergenre train` runs this at its end.")
    p.add_argument("--data", required=True, type=Path, help="the training dataset folder (labels.csv with train/val)")
    p.add_argument("--weights", type=Path, default=None, help="weights folder to update (default: the bundled weights/)")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature cache (default ~/.cache/postergenre)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from postergenre import settings
    from postergenre.training.trust import fit_trust

    folder = args.weights or settings.weights_dir()
    fit_trust(args.data, folder, cache_dir=args.cache_dir)
    print(f"updated {folder}/metadata.json, poster_check.npz and MODEL_CARD.md; test metrics were cleared: "
          "re-run `postergenre evaluate --split test --record`")
    return 0
