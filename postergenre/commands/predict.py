"""postergenre predict POSTER [POSTER ...] [--json] [--out results.csv]"""
from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="ranked genres for one or more posters (files, folders or URLs)",
                       description="Every genre ranked by probability; the ones that clear their val-tuned "
                                   "thresholds are the prediction. A folder or many files get a progress bar.")
    p.add_argument("posters", nargs="+", metavar="POSTER", help="image file, folder of images, or http(s) URL")
    p.add_argument("--json", action="store_true", help="print JSON (one object per poster) instead of text")
    p.add_argument("--out", type=Path, help="write a CSV (file, predicted, summary, one probability column per genre)")
    p.add_argument("--top", type=int, default=5, help="genres shown per poster in text output (default 5; JSON has all)")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA when available)")
    p.add_argument("--weights", default=None, help="weights folder (default: the bundled weights/)")
    p.add_argument("--batch-size", type=int, default=None, help="posters per forward pass (default: the fastest measured)")
    p.set_defaults(func=run)


def expand_inputs(items: list[str]) -> list[str | Path]:
    """Files as given, folders expanded to their image files (sorted, recursive), URLs kept."""
    from ..errors import ImageLoadError
    from ..images import SUPPORTED_EXTENSIONS

    suffixes = {f".{ext}" for ext in SUPPORTED_EXTENSIONS}
    out: list[str | Path] = []
    for item in items:
        if item.startswith(("http://", "https://")):
            out.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            found = sorted(f for f in path.rglob("*") if f.suffix.lower() in suffixes and f.is_file())
            if not found:
                raise ImageLoadError(f"no images ({', '.join(sorted(suffixes))}) found in folder {path}")
            out.extend(found)
        elif path.exists():
            out.append(path)
        else:
            raise ImageLoadError(f"{item}: no such file or folder; give an image path, a folder or an http(s) URL")
    return out


def run(args: argparse.Namespace) -> int:
    import csv
    import json
    import sys

    import postergenre

    from ..fetch import fetch_url

    inputs = expand_inputs(args.posters)
    predictor = postergenre.load(args.weights, device=args.device)
    sources = [fetch_url(i) if isinstance(i, str) else i for i in inputs]  # URLs fetched safely first
    many = len(inputs) > 1
    results, failures = [], 0
    for name, (pred, err) in zip(inputs, predictor.iter_predictions(sources, args.batch_size, progress=many and not args.json)):
        results.append((str(name), pred, err))
        failures += err is not None
    if args.json:
        objs = [dict(pred.to_dict(), source=name) if pred else {"source": name, "error": err} for name, pred, err in results]
        print(json.dumps(objs if many else objs[0], indent=2))
    else:
        for name, pred, err in results:
            if err:
                print(f"{name}: ERROR {err}", file=sys.stderr)
                continue
            print(f"{name}: {pred.summary}")
            for s in pred.scores[: args.top]:
                mark = "*" if s.predicted else " "
                print(f"  {mark} {s.genre:<16} {s.probability:6.1%}  (threshold {s.threshold:.2f})")
    if args.out:
        with open(args.out, "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["file", "predicted", "summary", "error", *predictor.genres])
            for name, pred, err in results:
                if pred:
                    probs = pred.probabilities
                    w.writerow([name, "|".join(pred.predicted), pred.summary, "", *(f"{probs[g]:.5f}" for g in predictor.genres)])
                else:
                    w.writerow([name, "", "", err, *([""] * len(predictor.genres))])
        print(f"wrote {args.out} ({len(results)} rows)", file=sys.stderr)
    return 1 if failures and failures == len(results) else 0
