"""postergenre finetune --data DIR: the backbone fine-tuning experiment (frozen vs adapted last blocks, on val)."""
from __future__ import annotations

import argparse
from pathlib import Path

from postergenre.commands._options import add_config_options, config_from_args


def register(sub: argparse._SubParsersAction) -> None:
    from postergenre.model.finetune import FinetuneConfig

    p = sub.add_parser(
        "finetune", help="experiment: fine-tune the backbone's last blocks on posters, val figures beside frozen",
        description="Caches (once, resumable) the activations entering --cache-block for the val posters and "
                    "--max-train train posters (seeded random subset) and their mirrors, under the cache dir; "
                    "then trains the same MLP head recipe on (1) the frozen backbone's features and (2) the "
                    "features of blocks --from-block..20 + head conv fine-tuned on train (best epoch by val "
                    "macro-AP), and prints both arms' val macro/micro-AP beside the trivial baseline. CPU only; "
                    "test is never read. It writes no weights/: the adapted blocks go to the cache folder.")
    p.add_argument("--data", required=True, type=Path, help="dataset folder with labels.csv (file, genres, split)")
    p.add_argument("--cache-dir", type=Path, default=None, help="cache root (default ~/.cache/postergenre)")
    p.add_argument("--cache-only", action="store_true", help="only compute the activation cache, then stop")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    add_config_options(p, FinetuneConfig)
    p.add_argument("--head-epochs", type=int, default=None, help="head recipe epochs (default: train's, 8)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from postergenre.model.finetune import FinetuneConfig
    from postergenre.model.finetune_run import run_finetune
    from postergenre.model.train import TrainConfig

    ft = config_from_args(FinetuneConfig, args)
    head = TrainConfig(threads=ft.threads, seed=ft.seed)
    if args.head_epochs:
        head = replace(head, epochs=args.head_epochs)
    run_finetune(args.data, ft, head, cache_dir=args.cache_dir, cache_only=args.cache_only,
                 progress=not args.quiet)
    return 0
