"""postergenre train-text --data DIR [--weights weights/] [--score-test]"""
from __future__ import annotations

import argparse
from pathlib import Path


def _reading() -> str:
    """The default OCR settings in words, from OCRConfig itself."""
    from postergenre.model.ocr import OCRConfig

    c = OCRConfig()
    return (f"{c.det_precision} detector at a {c.det_side} px short side, {c.rec_precision} {c.rec_charset} "
            f"recogniser, lines under {100 * c.min_line_height:.1f}% of the poster's height skipped")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train-text", help="train the OCR text channel and its fusion with the image model",
                       description="Reads every poster's text once with the default OCR settings (" + _reading() + "; cached and resumable: about 20 minutes for 24k posters on 2 cores; "
                                   "the dataset's ocr_text.jsonl seeds the cache only for the settings it was "
                                   "made with), records the settings in the weights, fits TF-IDF + per-genre logistic regression on "
                                   "train, fusion weights and thresholds on val, writes text.npz into the weights.")
    p.add_argument("--data", required=True, type=Path, help="dataset folder with labels.csv (file, genres, split)")
    p.add_argument("--weights", type=Path, default=None, help="weights folder to update (default: the bundled weights/)")
    p.add_argument("--score-test", action="store_true", help="also score the test split (do it once, at the end)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from postergenre.training.train_text import train_text

    report = train_text(args.data, args.weights, score_test=args.score_test)
    print(json.dumps(report, indent=1))
    return 0
