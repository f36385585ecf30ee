"""The brief check's figures: is the fit percentile honest, and what does the check cost?

    .venv/bin/python benchmarks/brief_check.py [--data ../shared/data/posters] [--train-sample 3000] [--timing 20]

1. Calibration of the percentile. The Genre Atlas holds, per genre, the model's probability for the genre
   over every poster of a held-out split (``postergenre atlas --fit-split val``, the default) labelled with
   it; the check reports where a new poster's probability falls among them ("reads as Horror more strongly
   than 72% of Horror posters"). For posters of the genre that the distribution did not include, those
   percentiles should be uniform: the share of posters above percentile t should be 1 - t/100. Printed:
   the largest gap over t = 1..99, pooled over every (poster, genre) pair (target <= 0.03) and per genre
   with its count, for
   - val, cross-fitted: the distribution from one random half of val, measured on the other half, and back;
   - test, against the installed atlas's distribution (measured only; nothing is fitted on test);
   - baselines: the distribution from ``--train-sample`` training posters (the split the head was trained
     on, which it scores higher than new posters), the raw probability as a percentile, and 50 for all.
   The posters' text comes from the dataset's OCR cache, as the atlas build reads it.
2. Time. On ``--timing`` val posters, after warm-up: a warm ``predict()``, then what the check adds given
   that prediction (contrast heatmaps from one forward pass, signed words, the colour/composition
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
    above = (np.asarray(percentiles)[None, :] > t[:, None]).mean(axis=1)
    return float(np.max(np.abs(above - (1 - t / 100))))


def predict_split(predictor, ds, split: str, limit: int | None = None, seed: int = 0):
    """(rows, N x G probabilities) of a split's posters (``limit``: a random sample), text from the OCR cache."""
    from postergenre.model.ocr import cache_text

    table = ds.subset(split)
    if limit and limit < len(table):
        table = table.iloc[np.sort(np.random.default_rng(seed).permutation(len(table))[:limit])]
    files = list(table["file"])
    lines = [[t] if t.strip() else [] for t in cache_text(ds, predictor.ocr_config, files=files, progress=False)]
    t0 = time.perf_counter()
    preds = list(predictor.iter_predictions([ds.root / f for f in files], texts=lines, progress=True))
    keep = [i for i, (p, _) in enumerate(preds) if p is not None]
    probs = np.array([[preds[i][0].probabilities[g] for g in predictor.genres] for i in keep])
    print(f"predicted {len(files)} {split} posters in {time.perf_counter() - t0:.0f} s")
    return table.iloc[keep].reset_index(drop=True), probs


def distribution_atlas(rows, probs: np.ndarray, genres: list[str]):
    """An Atlas holding only each genre's probability distribution over ``rows`` (as the atlas build makes it)."""
    from postergenre.look.atlas import Atlas
    from postergenre.look.atlas_build import AtlasConfig, fit_distributions

    levels = np.linspace(0.0, 1.0, AtlasConfig().fit_quantiles)
    fits = fit_distributions(rows, dict(zip(rows["file"], probs.tolist())), genres, levels)
    return Atlas({"genres": {g: {"model": {"fit": f}} for g, f in fits.items()}, "fit_levels": levels.tolist()})


def percentiles(atlas, rows, probs: np.ndarray, genres: list[str]) -> dict[str, np.ndarray]:
    """Per genre, the fit percentiles of the posters of ``rows`` labelled with it."""
    from postergenre.look.atlas import fit_percentile

    out = {}
    for j, g in enumerate(genres):
        mine = np.array([g in names for names in rows["genre_list"]])
        if mine.any() and g in atlas.genres and atlas.fit_quantiles(g) is not None:
            out[g] = np.array([fit_percentile(atlas, g, p) for p in probs[mine, j]])
    return out


def report(title: str, pct: dict[str, np.ndarray], per_genre: bool = False) -> float:
    pooled = np.concatenate(list(pct.values()))
    gap = calibration_gap(pooled)
    print(f"  {title:<58} pairs {len(pooled):>5}  gap {gap:.3f}  {'OK' if gap <= TARGET_GAP else 'over'}")
    if per_genre:
        print("    per genre: " + ", ".join(f"{g} {calibration_gap(v):.2f} (n={len(v)})" for g, v in pct.items()))
    return gap


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "posters"))
    ap.add_argument("--train-sample", type=int, default=0, help="training posters for the train-split baseline (0 = skip)")
    ap.add_argument("--no-test", action="store_true", help="skip the test split")
    ap.add_argument("--timing", type=int, default=20, help="posters timed (0 = no timing)")
    ap.add_argument("--timing-only", action="store_true", help="only the timing (part 2)")
    ap.add_argument("--atlas", default=None, help="Genre Atlas JSON (default: the installed one)")
    args = ap.parse_args()

    import postergenre
    from postergenre.look.atlas import load_atlas
    from postergenre.sources.dataset import load_dataset

    ds = load_dataset(args.data)
    atlas = load_atlas(args.atlas)
    predictor = postergenre.load()
    genres = predictor.genres
    print(f"model {predictor.name} ({predictor.backend}, {predictor.precision}); atlas {atlas.path} "
          f"(distribution from split {atlas.data['source'].get('config', {}).get('fit_split')!r})")
    if args.timing_only:
        time_check(predictor, atlas, ds, ds.subset("val"), args.timing)
        return
    val, pval = predict_split(predictor, ds, "val")
    print(f"\n1. fit percentile: largest gap between the share above t and 1 - t/100 (target <= {TARGET_GAP})")
    half = np.random.default_rng(0).random(len(val)) < 0.5
    crossed: dict[str, list[np.ndarray]] = {}
    for fit_on in (half, ~half):
        dist = distribution_atlas(val[fit_on].reset_index(drop=True), pval[fit_on], genres)
        for g, v in percentiles(dist, val[~fit_on].reset_index(drop=True), pval[~fit_on], genres).items():
            crossed.setdefault(g, []).append(v)
    report("val, cross-fitted halves", {g: np.concatenate(v) for g, v in crossed.items()}, per_genre=True)
    base = percentiles(distribution_atlas(val, pval, genres), val, pval, genres)
    raw = {g: 100 * pval[np.array([g in n for n in val["genre_list"]]), j] for j, g in enumerate(genres) if g in base}
    report("baseline: val, the raw probability as a percentile", raw)
    report("baseline: val, 50 for every poster", {g: np.full(len(v), 50.0) for g, v in base.items()})
    if args.train_sample:
        train, ptrain = predict_split(predictor, ds, "train", args.train_sample)
        report(f"baseline: val against {len(train)} training posters' distribution",
               percentiles(distribution_atlas(train, ptrain, genres), val, pval, genres), per_genre=True)
    if not args.no_test:
        if atlas.fit_quantiles(genres[0]) is None:
            print("  the installed atlas has no distribution: rebuild it with `postergenre atlas --data ...`")
        else:
            test, ptest = predict_split(predictor, ds, "test")
            report("test, against the installed atlas", percentiles(atlas, test, ptest, genres), per_genre=True)
    if args.timing:
        time_check(predictor, atlas, ds, val, args.timing)


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
    print(f"\n2. time on {len(paths)} posters (warm; another process's load makes it noisy)")
    print(f"  predict():                     median {statistics.median(pred_ms):6.0f} ms, p90 {q90(pred_ms):6.0f} ms")
    print(f"  the check adds (given it):     median {med:6.0f} ms, p90 {q90(add_ms):6.0f} ms   "
          f"{'OK' if med <= TARGET_MS else 'OVER'} (target {TARGET_MS:.0f} ms)")
    print(f"    of which the look analysis:  median {statistics.median(analysis_ms):6.0f} ms")


if __name__ == "__main__":
    main()
