"""postergenre evaluate --data DIR [--split test] [--json OUT]"""
from __future__ import annotations

import argparse
from pathlib import Path

from postergenre.commands._options import add_precision_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("evaluate", help="score the model on a dataset folder beside the trivial baselines",
                       description="Per-genre AP/AUC/F1 and macro/micro summaries (mAP, ROC-AUC, F1) for the model, "
                                   "'predict no genre' and 'predict the training prior'.")
    p.add_argument("--data", required=True, type=Path, help="dataset folder with labels.csv")
    p.add_argument("--split", default="test", help="train, val, test or all (default test)")
    p.add_argument("--json", type=Path, dest="json_out", help="also write the full report as JSON here")
    p.add_argument("--limit", type=int, default=None, help="score a reproducible random sample of N posters")
    p.add_argument("--weights", default=None, help="weights folder (default: the bundled weights/)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N")
    add_precision_argument(p)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--from-cache", action="store_true",
                   help="read backbone features from the dataset's feature cache (computing missing ones) instead "
                        "of running the backbone per poster: same numbers, much faster; image-only models")
    p.add_argument("--record", action="store_true",
                   help="store the report in the weights' metadata.json (metrics.<split>) and regenerate MODEL_CARD.md")
    p.add_argument("--no-text", action="store_true", help="image alone: leave out the OCR text channel")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    import postergenre

    from postergenre.evaluation.evaluate import evaluate, format_report

    predictor = postergenre.load(args.weights, device=args.device, precision=args.precision)
    split = None if args.split == "all" else args.split
    report = evaluate(predictor, args.data, split, limit=args.limit, batch_size=args.batch_size,
                      from_cache=args.from_cache, text=not args.no_text)
    print(format_report(report))
    if args.json_out:
        args.json_out.write_text(json.dumps(report, indent=1))
        print(f"wrote {args.json_out}")
    if args.record:
        from postergenre.evaluation.card import record_metrics

        record_metrics(predictor.weights_dir, report, report["split"])
        print(f"recorded metrics.{report['split']} in {predictor.weights_dir}/metadata.json and MODEL_CARD.md")
    return 0
