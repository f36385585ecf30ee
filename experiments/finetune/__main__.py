"""python -m experiments.finetune --data DIR: the backbone fine-tuning experiment (frozen vs adapted last
blocks, on val). Not shipped: the frozen backbone won (the model card records both arms)."""
from __future__ import annotations

import argparse
from pathlib import Path

from postergenre.commands._options import add_config_options, config_from_args


def build_parser() -> argparse.ArgumentParser:
    from experiments.finetune.finetune import FinetuneConfig

    p = argparse.ArgumentParser(
        prog="python -m experiments.finetune",
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
    return p


def run(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from experiments.finetune.finetune import FinetuneConfig
    from experiments.finetune.run import run_finetune
    from postergenre.training.train import TrainConfig

    ft = config_from_args(FinetuneConfig, args)
    head = TrainConfig(threads=ft.threads, seed=ft.seed)
    if args.head_epochs:
        head = replace(head, epochs=args.head_epochs)
    run_finetune(args.data, ft, head, cache_dir=args.cache_dir, cache_only=args.cache_only,
                 progress=not args.quiet)
    return 0


def main(argv: list[str] | None = None) -> int:
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
