"""The brief check's figures: is the fit percentile honest, and what does the check cost?

    .venv/bin/python benchmarks/brief_check.py [--data ../shared/data/posters] [--split val] [--timing 20]

1. Calibration of the percentile. The Genre Atlas holds, per genre, the model's probability for the genre
   over every *training* poster labelled with it; the check reports where a new poster's probability falls
   among them ("reads as Horror more strongly than 72% of Horror posters"). On held-out posters of each
   genre (``--split``, default val; the text read from the dataset's OCR cache, as the atlas does), those
   percentiles should be uniform: the share of posters above percentile t should be 1 - t/100. Printed:
   the largest gap over t = 1..99 pooled over every (poster, genre) pair (target <= 0.03), per genre with
   its count, and two trivial baselines: the raw probability as a percentile, and 50 for every poster.
   The head was trained on the training posters, which it scores higher than new ones; the gap shows
   how much that matters.
2. Time. On ``--timing`` posters of the split, after warm-up: a warm ``predict()``, then what the check adds
   given that prediction (contrast heatmaps from one forward pass, signed words, colour/composition
   analysis against the genre), median and 90th percentile (target: median <= 150 ms on this CPU).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_GAP, TARGET_MS = 0.03, 150.0


def calibration_gap(percentiles: np.ndarray) -> float:
    """Largest |share of values above t - (1 - t/100)| over t = 1..99 (percentiles on 0..100)."""
    t = np.arange(1, 100)
    above = (percentiles[None, :] > t[:, None]).mean(axis=1)
    return float(np.max(np.abs(above - (1 - t / 100))))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "posters"))
    ap.add_argument("--split", default="val", choices=("val", "test"))
    ap.add_argument("--limit", type=int, default=None, help="at most this many posters of the split (default all)")
    ap.add_argument("--timing", type=int, default=20, help="posters timed (0 = no timing)")
    ap.add_argument("--atlas", default=None, help="Genre Atlas JSON (default: the installed one)")
    args = ap.parse_args()

    import postergenre
    from postergenre.look.atlas import fit_percentile, load_atlas
    from postergenre.model.ocr import cache_text
    from postergenre.sources.dataset import load_dataset

    ds = load_dataset(args.data)
    atlas = load_atlas(args.atlas)
    predictor = postergenre.load()
    print(f"model {predictor.name} ({predictor.backend}, {predictor.precision}); atlas {atlas.path} "
          f"(distribution from split {atlas.data['source']['split']!r})")
    table = ds.subset(args.split)
    if args.limit:
        table = table.iloc[: args.limit]
    files = list(table["file"])
    lines = [[t] if t.strip() else [] for t in cache_text(ds, files=files, progress=False)]
    t0 = time.perf_counter()
    preds = [p for p, _ in predictor.iter_predictions([ds.root / f for f in files], texts=lines, progress=True)]
    print(f"predicted {len(files)} {args.split} posters in {time.perf_counter() - t0:.0f} s")

    pooled, raw = [], []
    print(f"\n1. fit percentile on {args.split}: largest gap between the share above t and 1 - t/100 "
          f"(target <= {TARGET_GAP})")
    print(f"{'genre':<16}{'posters':>8}{'gap':>8}{'raw p':>8}")
    for genre in predictor.genres:
        if atlas.fit_quantiles(genre) is None:
            print(f"{genre:<16}  (no distribution in the atlas: rebuild it with `postergenre atlas`)")
            continue
        probs = [p.probabilities[genre] for p, names in zip(preds, table["genre_list"]) if p is not None and genre in names]
        if not probs:
            continue
        pct = np.array([fit_percentile(atlas, genre, q) for q in probs])
        pooled.append(pct)
        raw.append(100 * np.array(probs))
        print(f"{genre:<16}{len(pct):>8}{calibration_gap(pct):>8.3f}{calibration_gap(raw[-1]):>8.3f}")
    if not pooled:
        sys.exit("the atlas has no per-genre probability distribution; rebuild it with `postergenre atlas --data ...`")
    allp, allraw = np.concatenate(pooled), np.concatenate(raw)
    gap = calibration_gap(allp)
    print(f"{'pooled':<16}{len(allp):>8}{gap:>8.3f}{calibration_gap(allraw):>8.3f}   "
          f"{'OK' if gap <= TARGET_GAP else 'OVER'} (target {TARGET_GAP}); baseline 50 for all: "
          f"{calibration_gap(np.full(len(allp), 50.0)):.3f}")
    for t in (10, 25, 50, 75, 90):
        print(f"  share above the {t}th percentile: {(allp > t).mean():.3f} (ideal {1 - t / 100:.2f})")

    if args.timing:
        time_check(predictor, atlas, ds, table, args.timing)


def time_check(predictor, atlas, ds, table, n: int) -> None:
    from postergenre.compare.check import check_poster
    from postergenre.look.analysis import analyze_poster

    rows = table.iloc[:n]
    paths = [ds.root / f for f in rows["file"]]
    genres = [names[0] for names in rows["genre_list"]]
    warm = check_poster(predictor, paths[0], genres[0], atlas=atlas)  # loads OCR, the fp32 twin graph...
    assert warm.genres
    pred_ms, add_ms, analysis_ms = [], [], []
    for path, genre in zip(paths, genres):
        t0 = time.perf_counter()
        pred = predictor.predict(path)
        t1 = time.perf_counter()
        check_poster(predictor, path, genre, atlas=atlas, prediction=pred)
        t2 = time.perf_counter()
        analyze_poster(path)
        t3 = time.perf_counter()
        pred_ms.append(1000 * (t1 - t0))
        add_ms.append(1000 * (t2 - t1))
        analysis_ms.append(1000 * (t3 - t2))

    def q90(v: list[float]) -> float:
        return float(np.percentile(v, 90))

    med = statistics.median(add_ms)
    print(f"\n2. time on {len(paths)} posters (warm; this machine's load makes it noisy)")
    print(f"  predict():                     median {statistics.median(pred_ms):6.0f} ms, p90 {q90(pred_ms):6.0f} ms")
    print(f"  the check adds (given it):     median {med:6.0f} ms, p90 {q90(add_ms):6.0f} ms   "
          f"{'OK' if med <= TARGET_MS else 'OVER'} (target {TARGET_MS:.0f} ms)")
    print(f"    of which the look analysis:  median {statistics.median(analysis_ms):6.0f} ms")


if __name__ == "__main__":
    main()
