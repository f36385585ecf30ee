"""postergenre train --data DIR [--out weights/]"""
from __future__ import annotations

import argparse
from pathlib import Path

from postergenre.commands._options import add_config_options, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    from postergenre.training.train import TrainConfig

    p = sub.add_parser("train", help="train the genre head on a dataset folder and write weights/",
                       description="Caches backbone features (once per dataset), trains the head on the train "
                                   "split, tunes per-genre thresholds on val, prints val metrics, writes the weights.")
    p.add_argument("--data", required=True, type=Path, help="dataset folder with labels.csv (file, genres, split)")
    p.add_argument("--out", type=Path, default=None, help="weights folder to write (default: the bundled weights/)")
    p.add_argument("--cache-dir", type=Path, default=None, help="feature cache (default ~/.cache/postergenre)")
    add_config_options(p, TrainConfig, "head training: ")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from postergenre import settings
    from postergenre.training.train import TrainConfig, train

    cfg = config_from_args(TrainConfig, args)
    train(args.data, args.out or settings.weights_dir(), cfg, cache_dir=args.cache_dir)
    return 0
