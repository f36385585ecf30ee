"""The fit step after training: calibration, the headline rule and the poster check, all on ``val``.

``fit_trust(data, weights_dir)`` runs on the cached backbone features (``features.py``): it scores val
with the shipped head (the logits Predictor computes: both views, averaged), chooses and fits each
genre's calibration with cross-fitting, tunes the decision rule on the cross-fitted probabilities
(for the fused path and, with a text channel, the image alone), fits the poster check on training
posters vs. generated non-posters with its threshold set on val posters, and its second look on the
text layout (``poster_layout.py``: the OCR detector's readings are cached, so only the first run takes
minutes), and writes everything into the weights folder. ``postergenre train``
runs it at the end; ``postergenre calibrate --data DIR`` runs it alone on existing weights (e.g.
after the head or its logits change). Test is never looked at here.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np

from postergenre.errors import DatasetError
from postergenre.evaluation.card import write_model_card
from postergenre.evaluation.metrics import expected_calibration_error
from postergenre.model.backbone import BackboneConfig
from postergenre.model.calibration import fit_calibration
from postergenre.model.decision import fit_decision_rule
from postergenre.model.head import Head
from postergenre.model.ocr import OCRConfig, cache_text
from postergenre.model.poster_check import LAYOUT_FEATURES, PosterCheck, fit_poster_check, refresh_reference
from postergenre.model.runtime import graph_precision
from postergenre.model.text_model import TextModel, has_text
from postergenre.model.weights import POSTER_CHECK_FILE, TEXT_FILE, read_weights, write_metadata
from postergenre.sources.dataset import PosterDataset, load_dataset
from postergenre.training.features import cache_features
from postergenre.training.nonposters import categories
from postergenre.training.poster_layout import LAYOUT_TRAIN_POSTERS, fit_layout, generated_cache, generated_set
from postergenre.training.train_text import cross_fitted_fusion

__all__ = ["fit_trust", "nonposter_features", "POSTER_CHECK_TRAIN_POSTERS"]

POSTER_CHECK_TRAIN_POSTERS = 6000  # training posters the poster check is fitted on (the first in table order)


def nonposter_features(cfg: BackboneConfig, cache_dir: str | Path | None = None, part: int = 0,
                       precision: str = "fp32", progress: bool = True) -> tuple[np.ndarray, list[str]]:
    """Backbone features (M x D, views averaged) of the generated non-poster set ``part`` (0: the set
    the check is fitted on, 1: the evaluation set), each image as it is and as a 182 px wide JPEG
    thumbnail; cached on disk. Returns (features, category per row)."""
    items = ((f"{c}/{n}", im) for c, gen in categories(part).items() for n, im in gen)
    feats, _, _, names = generated_set(items, cfg, generated_cache(cfg, "nonposters", part, graph_precision(precision),
                                                                   cache_dir), precision=precision, progress=progress)
    return feats, [n.split("/")[0] for n in names]


def _default_val_logits(folder: Path, params: dict, meta: dict, y_va: np.ndarray, log) -> Callable:
    """The model's val logits as the Predictor computes them: the image head on cached features, fused
    with the text channel when the weights have one (fusion cross-fitted on val, since the shipped
    fusion weights were themselves fitted on val; the OCR text comes from the resumable OCR cache)."""
    if not ((folder / TEXT_FILE).is_file() and "text" in meta):
        return lambda _ds, _rows, f: Head(params).view_logits(f)

    def fused(ds: PosterDataset, rows: np.ndarray, f: np.ndarray) -> np.ndarray:
        model = TextModel.load(folder / TEXT_FILE, list(meta["genres"]))
        texts = cache_text(ds, OCRConfig.from_dict(meta["text"].get("ocr")), files=list(ds.table["file"].iloc[rows]),
                           progress=False)  # as the weights read, these rows only
        img, txt = Head(params).view_logits(f), model.logits(texts)
        log(f"val logits: image head fused with the text channel ({np.mean([has_text(t) for t in texts]):.0%} of "
            "val posters have text), fusion cross-fitted on val")
        return cross_fitted_fusion(img, txt, np.array([has_text(t) for t in texts]), y_va)

    return fused


def _fit_image_only(z_va: np.ndarray, y_va: np.ndarray, genres: list[str], log) -> dict:
    """The image-alone path's own calibration and headline rule (text off: ``--no-text``, ``explain``,
    a catalog tagged without text), fitted on the same val posters as the fused path's: the fused
    path's maps applied to image-only logits would be far off (the image head's raw sigmoid is
    pushed up by its asymmetric loss)."""
    calibration, oof = fit_calibration(z_va, y_va, genres)
    rule, info = fit_decision_rule(oof, y_va)
    log(f"image alone: ECE {expected_calibration_error(y_va, 1 / (1 + np.exp(-z_va))):.4f} raw -> "
        f"{expected_calibration_error(y_va, oof):.4f} cross-fitted; rule top >= {rule.top_min:.2f}, then >= "
        f"{rule.cutoff:.2f}: {info['genres_per_poster']:.2f} genres/poster (films have {info['true_genres_per_poster']:.2f})")
    return {"fitted_on": "val", "calibration": calibration.to_dict(), "decision_rule": {**rule.to_dict(), "val": info}}


def fit_trust(data: str | Path | PosterDataset, weights_dir: str | Path, *, cache_dir: str | Path | None = None,
              val_logits: Callable[[PosterDataset, np.ndarray, np.ndarray], np.ndarray] | None = None,
              progress: bool = True, log=print, refit_image_check: bool = True) -> dict:
    """Fit calibration, decision rule and poster check on ``data``'s val split for the weights in
    ``weights_dir`` and write them there (metadata.json, poster_check.npz, MODEL_CARD.md).
    ``refit_image_check=False`` keeps the poster check's image detectors stored there (they depend on
    the backbone features only) and refits the rest, including the check's text-layout part.

    ``val_logits(ds, val_rows, val_feats)`` may replace how the model's val logits are computed
    (default: the image head on cached features), for models whose logits use more than the image."""
    folder = Path(weights_dir)
    params, meta = read_weights(folder)
    genres = list(meta["genres"])
    cfg = BackboneConfig.from_dict(meta["preprocessing"])
    ds = data if isinstance(data, PosterDataset) else load_dataset(data)
    splits = ds.table["split"].to_numpy()
    va, train = np.flatnonzero(splits == "val"), np.flatnonzero(splits == "train")
    tr, tr_layout = train[:POSTER_CHECK_TRAIN_POSTERS], train[POSTER_CHECK_TRAIN_POSTERS:][:LAYOUT_TRAIN_POSTERS]
    old_check = None if refit_image_check else PosterCheck.load(folder)
    if old_check is not None:
        tr = tr[:0]  # the stored image detectors are kept: their training posters are not needed
    elif len(tr_layout) < 10:  # a small dataset: the layout part sees the check's own training posters
        tr_layout = tr
    if len(va) < 10 or (old_check is None and len(tr) < 10):
        raise DatasetError(f"{ds.root}/labels.csv needs at least 10 'train' and 10 'val' rows to fit calibration "
                           f"and the poster check (has {len(tr)} train, {len(va)} val); about 2,000 val posters "
                           "give calibration you can trust")
    missing = [g for g in genres if g not in ds.genres]
    if missing:
        raise DatasetError(f"the data has no labels for {', '.join(missing)}: calibrate on the model's training data")
    feats = cache_features(ds, cfg, cache_dir, progress=progress, rows=np.r_[va, tr, tr_layout])
    f_va, f_tr, f_layout = feats[: len(va)], feats[len(va):len(va) + len(tr)], feats[len(va) + len(tr):]
    y_va = ds.targets(genres, "val")
    z_va = (val_logits or _default_val_logits(folder, params, meta, y_va, log))(ds, va, f_va)
    calibration, oof = fit_calibration(z_va, y_va, genres)
    rule, rule_info = fit_decision_rule(oof, y_va)
    image_only = _fit_image_only(Head(params).view_logits(f_va), y_va, genres, log) if "text" in meta else None
    p_va = calibration(z_va)
    ece_before = expected_calibration_error(y_va, 1 / (1 + np.exp(-z_va)))
    ece_oof = expected_calibration_error(y_va, oof)
    log(f"calibration on val ({len(va)} posters): ECE {ece_before:.4f} raw -> {ece_oof:.4f} cross-fitted; methods: "
        + ", ".join(f"{m} {list(calibration.methods.values()).count(m)}" for m in ("platt", "temperature", "isotonic")))
    log(f"decision rule: top genre if >= {rule.top_min:.2f}, then while >= {rule.cutoff:.2f}, at most "
        f"{rule.max_genres}: val samples-F1 {rule_info['samples_f1']:.4f}, {rule_info['genres_per_poster']:.2f} "
        f"genres/poster (films have {rule_info['true_genres_per_poster']:.2f})")
    neg, cats = nonposter_features(cfg, cache_dir, part=0, progress=progress)
    x_va = np.asarray(f_va, np.float32).mean(1)
    if old_check is None:
        x_tr = np.asarray(f_tr, np.float32).mean(1)
        check = fit_poster_check(x_tr, x_va, neg, components=min(64, len(x_tr) - 1))
    else:  # the stored detectors, their val reference and threshold refreshed on val as it is preprocessed now
        check, tr = old_check, np.arange(int((meta.get("poster_check") or {}).get("n_train_posters", 0)))
        refresh_reference(check, x_va)
    flagged_val = float(np.mean(~check.looks_like_poster(x_va)[0]))
    flagged_neg = float(np.mean(~check.looks_like_poster(neg)[0]))
    log(f"poster check: {flagged_val:.1%} of val posters flagged, {flagged_neg:.1%} of the {len(neg)} non-posters "
        "it was fitted on (see benchmarks/trust.py for the held-out set)")
    layout = None
    if "text" in meta:  # the check's second look: the layout of the text the OCR detector finds
        layout = fit_layout(check, ds, va, f_va, tr_layout, f_layout, cfg, OCRConfig.from_dict(meta["text"].get("ocr")),
                            cache_dir=cache_dir, progress=progress, log=log)
    check.save(folder)
    if image_only is not None:
        meta["image_only"] = image_only
    else:
        meta.pop("image_only", None)
    meta["calibration"] = calibration.to_dict()
    meta["decision_rule"] = {**rule.to_dict(), "val": rule_info}
    meta["thresholds"] = {g: float(rule.cutoff) for g in genres}  # a genre below the top needs this probability
    meta["poster_check"] = {
        "file": POSTER_CHECK_FILE, "features": "backbone features, views averaged (no extra forward pass)",
        "detectors": ["Mahalanobis distance on 64 whitened principal components of training posters",
                      "logistic regression: training posters vs generated non-posters (training/nonposters.py)"],
        "score": "share of val posters that look less poster-like, lower of the two detectors",
        "threshold": check.threshold, "n_train_posters": int(len(tr)), "n_nonposters": int(len(neg)),
        "val_flagged": flagged_val, "fit_nonposters_flagged": flagged_neg,
        "layout": None if layout is None else {
            "features": list(LAYOUT_FEATURES), "model": "logistic regression, non-poster = positive",
            "used": "when the poster's text was read (the image detectors alone otherwise)", **layout},
    }
    meta.setdefault("metrics", {})["val_calibration"] = {"ece_raw": ece_before, "ece_cross_fitted": ece_oof,
                                                         "ece_refit_in_sample": expected_calibration_error(y_va, p_va)}
    meta.get("metrics", {}).pop("test", None)  # new probabilities: old test figures no longer describe them
    write_metadata(folder, meta)
    write_model_card(folder)
    return meta
