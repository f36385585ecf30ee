"""Multi-label quality: average precision, ROC-AUC and F1 (macro and micro), and the trivial baselines.

Per-label accuracy is deliberately absent: with ~1.9 of 17 genres per poster, predicting "no genre"
already scores 89% of it. Macro averages weigh every genre equally; micro averages pool all
(poster, genre) pairs. A genre with no positive (or no negative) example in the scored set has no AP/AUC
and is left out of the macro averages (its support says why).
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score

__all__ = ["multilabel_report", "best_f1_thresholds", "f1_scores", "baseline_reports", "reliability_table",
           "expected_calibration_error"]


def f1_scores(y: np.ndarray, pred: np.ndarray) -> dict[str, float | np.ndarray]:
    """Per-genre, macro, micro and samples F1 of 0/1 predictions ``pred`` against 0/1 targets ``y``.

    F1 = 2 TP / (2 TP + FP + FN); defined as 0 when TP + FP + FN = 0 for macro/per-genre
    (a genre never present and never predicted), and samples-F1 averages it per poster.
    """
    y, pred = y.astype(bool), pred.astype(bool)
    tp = (y & pred).sum(0).astype(float)
    fp = (~y & pred).sum(0).astype(float)
    fn = (y & ~pred).sum(0).astype(float)
    denom = 2 * tp + fp + fn
    per = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    micro_den = 2 * tp.sum() + fp.sum() + fn.sum()
    tp_s = (y & pred).sum(1).astype(float)
    den_s = y.sum(1) + pred.sum(1)
    samples = np.divide(2 * tp_s, den_s, out=np.zeros_like(tp_s), where=den_s > 0)
    return {
        "per_genre": per,
        "macro": float(per.mean()) if len(per) else 0.0,
        "micro": float(2 * tp.sum() / micro_den) if micro_den else 0.0,
        "samples": float(samples.mean()) if len(samples) else 0.0,
    }


def best_f1_thresholds(y: np.ndarray, probs: np.ndarray, grid: np.ndarray | None = None) -> np.ndarray:
    """Per genre, the probability threshold maximising that genre's F1 on (y, probs) — run on val only.
    Ties go to the higher threshold; a genre without positives keeps 0.5."""
    grid = np.linspace(0.02, 0.95, 94) if grid is None else grid
    out = np.full(y.shape[1], 0.5, dtype=np.float32)
    for j in range(y.shape[1]):
        pos = y[:, j] > 0
        if not pos.any():
            continue
        p = probs[:, j][:, None] >= grid[None, :]
        tp = (p & pos[:, None]).sum(0)
        fp = (p & ~pos[:, None]).sum(0)
        fn = pos.sum() - tp
        f1 = 2 * tp / np.maximum(2 * tp + fp + fn, 1)
        best = np.flatnonzero(f1 == f1.max())[-1]
        out[j] = grid[best]
    return out


def top1_precision(y: np.ndarray, probs: np.ndarray) -> float | None:
    """Share of the posters (with at least one genre) whose most probable genre is one of theirs; a poster
    whose probabilities are all 0 names no genre and counts as wrong."""
    y, probs = np.asarray(y) > 0, np.asarray(probs, dtype=np.float64)
    keep = y.any(axis=1)
    if not keep.any():
        return None
    top = probs[keep].argmax(axis=1)
    named = probs[keep].max(axis=1) > 0
    return float((y[keep][np.arange(int(keep.sum())), top] & named).mean())


def multilabel_report(y: np.ndarray, probs: np.ndarray, thresholds: np.ndarray | float, genres: list[str],
                      pred: np.ndarray | None = None) -> dict:
    """Every metric the evaluate command prints/writes, for N x G targets and probabilities.
    ``pred`` (N x G bool) is the predicted set when a decision rule made it; else ``probs >= thresholds``."""
    y = np.asarray(y, dtype=np.float32)
    probs = np.asarray(probs, dtype=np.float64)
    thr = np.broadcast_to(np.asarray(thresholds, dtype=np.float64), (y.shape[1],))
    pred = probs >= thr if pred is None else np.asarray(pred, dtype=bool)
    per_genre, aps, aucs = {}, [], []
    f1 = f1_scores(y, pred)
    for j, g in enumerate(genres):
        pos = int(y[:, j].sum())
        scorable = 0 < pos < len(y)
        ap = float(average_precision_score(y[:, j], probs[:, j])) if scorable else None
        auc = float(roc_auc_score(y[:, j], probs[:, j])) if scorable else None
        if scorable:
            aps.append(ap)
            aucs.append(auc)
        per_genre[g] = {"ap": ap, "auc": auc, "f1": float(f1["per_genre"][j]), "support": pos,
                        "threshold": float(thr[j]), "ece": expected_calibration_error(y[:, j], probs[:, j])}
    flat_y, flat_p = y.ravel(), probs.ravel()
    both = 0 < flat_y.sum() < len(flat_y)
    return {
        "n_posters": int(len(y)),
        "genres": list(genres),
        "macro_ap": float(np.mean(aps)) if aps else None,
        "micro_ap": float(average_precision_score(flat_y, flat_p)) if both else None,
        "macro_auc": float(np.mean(aucs)) if aucs else None,
        "micro_auc": float(roc_auc_score(flat_y, flat_p)) if both else None,
        "macro_f1": f1["macro"],
        "micro_f1": f1["micro"],
        "samples_f1": f1["samples"],
        "hamming_loss": float((pred != (y > 0)).mean()),
        "top1_precision": top1_precision(y, probs),
        "ece": expected_calibration_error(y, probs),
        "max_genre_ece": max((m["ece"] for m in per_genre.values()), default=0.0),
        "genres_per_poster": float(pred.sum(1).mean()) if len(pred) else 0.0,
        "true_genres_per_poster": float((y > 0).sum(1).mean()) if len(y) else 0.0,
        "reliability": reliability_table(y, probs),
        "per_genre": per_genre,
    }


def baseline_reports(y: np.ndarray, genres: list[str], train_prior: np.ndarray) -> dict[str, dict]:
    """The trivial baselines, scored exactly like the model.

    - ``no_genre``: every probability 0, so nothing is predicted.
    - ``training_prior``: every poster gets each genre's training frequency, thresholded at 0.5 (a genre
      would be predicted only if most training posters had it; none does here).
    A constant score ties every poster: its AP is the genre's prevalence and its ROC-AUC 0.5; the prior
    only helps micro-AP, where frequent genres rank above rare ones.
    """
    n = len(y)
    zeros = np.zeros_like(y, dtype=np.float64)
    prior = np.tile(np.asarray(train_prior, dtype=np.float64), (n, 1))
    return {
        "no_genre": multilabel_report(y, zeros, 0.5, genres),
        "training_prior": multilabel_report(y, prior, 0.5, genres),
    }


def reliability_table(y: np.ndarray, probs: np.ndarray, bins: int = 10) -> list[dict]:
    """Equal-width probability bins over all (poster, genre) pairs: for each non-empty bin its range,
    count, mean predicted probability and observed rate of the genre being present."""
    y = np.asarray(y, dtype=np.float64).ravel()
    p = np.asarray(probs, dtype=np.float64).ravel()
    idx = np.minimum((p * bins).astype(int), bins - 1)  # p = 1.0 falls in the last bin
    rows = []
    for k in range(bins):
        m = idx == k
        if m.any():
            rows.append({"lo": k / bins, "hi": (k + 1) / bins, "count": int(m.sum()),
                         "mean_probability": float(p[m].mean()), "observed_rate": float(y[m].mean())})
    return rows


def expected_calibration_error(y: np.ndarray, probs: np.ndarray, bins: int = 10) -> float:
    """ECE: over all (poster, genre) pairs, |mean predicted - observed rate| per equal-width bin,
    weighted by the bin's share of pairs (10 bins by default)."""
    n = np.asarray(y).size
    if n == 0:
        return 0.0
    return float(sum(r["count"] / n * abs(r["mean_probability"] - r["observed_rate"])
                     for r in reliability_table(y, probs, bins)))
