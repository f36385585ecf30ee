"""Trust figures of the shipped weights (issue 10), from the cached backbone features, beside baselines.

    .venv/bin/python benchmarks/trust.py [--data ../shared/data/posters] [--weights weights/] [--split test]

The logits are the shipped model's: the image head on cached features fused with the text channel
(OCR cache). Prints for ``val`` and the chosen split: ECE (10 equal-width bins over all genre probabilities) raw
vs calibrated and the largest per-genre ECE; genres per poster and samples-F1 of the headline rule vs
the old per-genre best-F1 thresholds (re-tuned here on val raw probabilities) and vs the training
prior; macro-AP raw vs calibrated (must be equal: calibration is monotone); the poster check's
flag rate on val/test posters and on the held-out generated non-poster set (part 1, never used for
fitting) per category, as is and as 182 px JPEG thumbnails, plus a leave-one-category-out estimate of
the classifier on the fitting set. Uses the feature cache (computes missing rows).

``--nonposter-dir DIR`` (repeatable) also scores a folder of your own images that are not posters (photos,
wallpapers, scans...), each as is and as a centred 2:3 crop, and prints the share flagged and the ones
that passed: e.g. Debian's wallpaper packages, ``apt-get download plasma-workspace-wallpapers
mate-backgrounds gnome-backgrounds ukui-wallpapers`` and ``dpkg -x`` each into one folder.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "posters"))
    ap.add_argument("--weights", default=None)
    ap.add_argument("--split", default="test")
    ap.add_argument("--precision", choices=("fp32", "int8"), default="fp32",
                    help="backbone graph whose features are scored (the calibration and check were fitted on fp32)")
    ap.add_argument("--nonposter-dir", action="append", default=[], metavar="DIR",
                    help="a folder of images that are not posters, to score with the poster check (repeatable)")
    ap.add_argument("--only-dirs", action="store_true", help="score only the --nonposter-dir folders")
    ap.add_argument("--loco", action="store_true",
                    help="also refit the image detectors leaving each non-poster category out (needs the features "
                         "of the check's 6,000 training posters: long on a fresh cache)")
    args = ap.parse_args()
    if args.nonposter_dir:
        score_folders(args.nonposter_dir, args.weights, args.precision)
        if args.only_dirs:
            return

    from postergenre.model.backbone import BackboneConfig
    from postergenre.model.calibration import Calibration, sigmoid
    from postergenre.sources.dataset import load_dataset
    from postergenre.model.decision import DecisionRule, samples_f1
    from postergenre.training.features import cache_features
    from postergenre.evaluation.metrics import best_f1_thresholds, expected_calibration_error, multilabel_report
    from postergenre import settings
    from postergenre.model.weights import read_weights
    from postergenre.model.poster_check import PosterCheck, fit_poster_check
    from postergenre.training.trust import POSTER_CHECK_TRAIN_POSTERS, nonposter_features

    import postergenre
    from postergenre.model.ocr import cache_text

    folder = Path(args.weights) if args.weights else settings.weights_dir()
    params, meta = read_weights(folder)
    predictor = postergenre.load(folder, device="cpu", precision=args.precision)  # for its text fusion: the shipped model's logits
    genres = meta["genres"]
    cfg = BackboneConfig.from_dict(meta["preprocessing"])
    cal = Calibration.from_dict(meta["calibration"], genres)
    rule = DecisionRule.from_dict(meta["decision_rule"])
    check = PosterCheck.load(folder)
    ds = load_dataset(args.data)
    splits = ds.table["split"].to_numpy()
    prior = np.array([meta["training_data"]["train_prior"][g] for g in genres])
    texts = None
    if predictor.text_model is not None:  # the OCR cache, val and the split measured only
        files = list(ds.table["file"][np.isin(splits, ["val", args.split])])
        texts = dict(zip(files, cache_text(ds, predictor.ocr_config, files=files, progress=False)))
    z_val = None
    for split in ("val", args.split):
        rows = np.flatnonzero(splits == split)
        feats = cache_features(ds, cfg, rows=rows, progress=False, precision=args.precision)
        z = predictor.head.view_logits(feats)
        if texts is not None:  # image + text fused, as shipped (on val the fusion weights are in-sample)
            z = predictor.fuse(z, [[t] if (t := texts[ds.table["file"].iloc[i]]).strip() else [] for i in rows])
        y = ds.targets(genres, split)
        raw, p = sigmoid(z), cal(z)
        if split == "val":
            z_val, y_val = z, y
        old_thr = best_f1_thresholds(y_val, sigmoid(z_val))  # the old rule, tuned on val as before
        old = raw >= old_thr
        new = rule.select(p)
        pr = np.tile(prior, (len(y), 1))
        per_genre = [expected_calibration_error(y[:, j], p[:, j]) for j in range(len(genres))]
        print(f"\n== {split}: {len(y)} posters, films have {y.sum(1).mean():.2f} genres on average ==")
        print(f"{'':34}{'ECE':>8}{'max genre ECE':>15}{'genres/poster':>15}{'samples-F1':>12}{'macro-AP':>10}")
        ap_raw = multilabel_report(y, raw, 0.5, genres)["macro_ap"]
        ap_cal = multilabel_report(y, p, 0.5, genres)["macro_ap"]
        print(f"{'calibrated + headline rule':34}{expected_calibration_error(y, p):8.4f}{max(per_genre):15.4f}"
              f"{new.sum(1).mean():15.2f}{samples_f1(y, new):12.4f}{ap_cal:10.4f}")
        print(f"{'raw sigmoid + per-genre thresholds':34}{expected_calibration_error(y, raw):8.4f}"
              f"{max(expected_calibration_error(y[:, j], raw[:, j]) for j in range(len(genres))):15.4f}"
              f"{old.sum(1).mean():15.2f}{samples_f1(y, old):12.4f}{ap_raw:10.4f}")
        print(f"{'training prior (constant)':34}{expected_calibration_error(y, pr):8.4f}"
              f"{max(expected_calibration_error(y[:, j], pr[:, j]) for j in range(len(genres))):15.4f}"
              f"{0.0:15.2f}{0.0:12.4f}{multilabel_report(y, pr, 0.5, genres)['macro_ap']:10.4f}")
        top1 = np.zeros_like(new)
        top1[np.arange(len(p)), p.argmax(1)] = True
        print(f"{'top genre only':34}{'':8}{'':15}{top1.sum(1).mean():15.2f}{samples_f1(y, top1):12.4f}")
        x = np.asarray(feats, np.float32).mean(1)
        print(f"poster check: {np.mean(~check.looks_like_poster(x)[0]):.2%} of {split} posters flagged "
              f"(threshold {check.threshold:.4f})")
    print("\n== non-posters (held-out generated set, part 1: other seeds, other screenshots and photos) ==")
    neg, cats = nonposter_features(cfg, part=1, progress=False, precision=args.precision)
    flags = ~check.looks_like_poster(neg)[0]
    cats = np.array(cats)
    for c in dict.fromkeys(cats):
        m = cats == c
        print(f"  {c:<12}{flags[m].mean():7.1%} of {m.sum()} (as is + thumbnails)")
    print(f"  {'all':<12}{flags.mean():7.1%} of {len(flags)}")
    if check.reads_layout:
        layout_section(predictor, cfg, args.precision)
    if not args.loco:
        return
    # leave-one-category-out: refit with one category missing from the non-posters, score that category
    fit_neg, fit_cats = nonposter_features(cfg, part=0, progress=False, precision=args.precision)
    fit_cats = np.array(fit_cats)
    tr = np.flatnonzero(splits == "train")[:POSTER_CHECK_TRAIN_POSTERS]
    va = np.flatnonzero(splits == "val")
    x_tr = np.asarray(cache_features(ds, cfg, rows=tr, progress=False, precision=args.precision), np.float32).mean(1)
    x_va = np.asarray(cache_features(ds, cfg, rows=va, progress=False, precision=args.precision), np.float32).mean(1)
    print("\n== leave one category out (fitted without it, then scored on its held-out images) ==")
    rates = []
    for c in dict.fromkeys(fit_cats):
        loco = fit_poster_check(x_tr, x_va, fit_neg[fit_cats != c])
        r = float(np.mean(~loco.looks_like_poster(neg[cats == c])[0]))
        rates.append(r)
        print(f"  without {c:<12} {r:7.1%} of its held-out images flagged")
    print(f"  mean {np.mean(rates):.1%}")


def layout_section(predictor, cfg, precision: str) -> None:
    """The check with its second look (the text layout, as when the poster's text is read) on the
    held-out generated sets: non-posters by category, and titled photographs (posters) made from the
    photographs the check was not fitted on."""
    from postergenre.training.nonposters import categories, titled_photos
    from postergenre.training.poster_layout import Readings, generated_cache, generated_set

    readings, check = Readings(predictor.ocr_config), predictor.poster_check
    print("\n== with the text layout (the poster's text read), held-out part 1 ==")
    neg = generated_set(((f"{c}/{n}", im) for c, g in categories(1).items() for n, im in g), cfg,
                        generated_cache(cfg, "nonposters", 1, precision), readings, precision=precision, progress=False)
    titled = generated_set(((f"titled/{n}", im) for n, im in titled_photos(1)), cfg,
                           generated_cache(cfg, "titled", 1, precision), readings, precision=precision, progress=False)
    flags = ~check.looks_like_poster(neg[0], neg[1], neg[2])[0]
    cats = np.array([n.split("/")[0] for n in neg[3]])
    for c in dict.fromkeys(cats):
        print(f"  {c:<12}{flags[cats == c].mean():7.1%} of {(cats == c).sum()} flagged")
    print(f"  {'all':<12}{flags.mean():7.1%} of {len(flags)} non-posters flagged   (target >= 97%)")
    alone = ~check.looks_like_poster(titled[0])[0]
    both = ~check.looks_like_poster(titled[0], titled[1], titled[2])[0]
    print(f"  titled photographs (posters): {both.mean():.1%} of {len(both)} flagged with the text layout, "
          f"{alone.mean():.1%} by the image detectors alone")


def score_folders(folders: list[str], weights: str | None, precision: str) -> None:
    """The poster check on folders of non-poster images: each image as is and as a centred 2:3 crop."""
    import postergenre
    from postergenre.catalog.sources import resolve_source
    from postergenre.errors import ImageLoadError
    from postergenre.sources.images import load_image

    predictor = postergenre.load(weights, device="cpu", precision=precision)
    for folder in folders:
        files = [Path(f) for f in resolve_source(folder).paths]  # every image under it, as `tag` reads folders
        flagged, passed, skipped = {"as is": 0, "2:3 crop": 0}, [], 0
        for f in files:
            try:
                image = load_image(f, draft=(960, 960))
            except ImageLoadError:
                skipped += 1
                continue
            w, h = image.size
            cw, ch = min(w, h * 2 // 3), min(h, w * 3 // 2)
            crop = image.crop(((w - cw) // 2, (h - ch) // 2, (w - cw) // 2 + cw, (h - ch) // 2 + ch))
            for view, im in (("as is", image), ("2:3 crop", crop)):
                pred = predictor.predict(im, text=False)  # the check reads backbone features only
                if pred.looks_like_poster is False:
                    flagged[view] += 1
                else:
                    passed.append(f"{f.name} ({view}, score {pred.poster_score:.3f}, {pred.scores[0].genre})")
        n = len(files) - skipped
        print(f"\n== {folder}: {n} images ({skipped} unreadable skipped) ==")
        for view, k in flagged.items():
            print(f"  {view:<9} {k / max(n, 1):7.1%} flagged as not a poster")
        for line in passed:
            print(f"  passed: {line}")


if __name__ == "__main__":
    main()
