"""Scoring a trained model on a dataset folder, beside the trivial baselines.

Only genres that both the model and the data have are scored; the report says which were skipped.
The "training prior" baseline uses the prior stored in the weights' metadata (the model's own training
data), so an external dataset is judged against the same constant predictor the model must beat.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .dataset import load_dataset
from .errors import DatasetError
from .metrics import baseline_reports, multilabel_report

__all__ = ["evaluate", "format_report"]


def evaluate(predictor, data: str | Path, split: str | None = "test", *, limit: int | None = None,
             batch_size: int | None = None, progress: bool = True, seed: int = 0) -> dict:
    """Run ``predictor`` over ``data``'s ``split`` and return the metrics dict (see ``multilabel_report``)
    plus ``baselines``, ``skipped_genres``, ``unreadable`` and the dataset/split used.
    ``limit`` scores a reproducible random sample of that many posters."""
    ds = load_dataset(data)
    table = ds.subset(split) if split else ds.table
    if len(table) == 0:
        have = ", ".join(sorted(set(ds.table["split"])))
        raise DatasetError(f"{ds.root}/labels.csv has no '{split}' rows (splits present: {have}); pick one with --split")
    if limit and limit < len(table):
        table = table.sample(n=limit, random_state=seed).sort_index()
    genres = [g for g in predictor.genres if g in ds.genres]
    skipped_model = [g for g in predictor.genres if g not in ds.genres]
    skipped_data = [g for g in ds.genres if g not in predictor.genres]
    if not genres:
        raise DatasetError(f"no genre of {ds.root} is predicted by the model; model genres: {', '.join(predictor.genres)}")
    cols = [predictor.genre_index(g) for g in genres]
    paths = [ds.root / f for f in table["file"]]
    texts = None
    if getattr(predictor, "text_model", None) is not None and predictor.use_text:
        from .ocr import cache_text  # the posters' text, read once per dataset (resumable cache)

        cached = cache_text(ds, progress=progress)
        texts = [[cached[i]] if cached[i].strip() else [] for i in table.index]  # one line: the cache joins them
    probs, keep, unreadable = [], [], []
    for i, (pred, err) in enumerate(predictor.iter_predictions(paths, batch_size=batch_size, progress=progress,
                                                               texts=texts)):
        if err:
            unreadable.append({"file": str(table["file"].iloc[i]), "error": err})
            continue
        p = pred.probabilities
        probs.append([p[g] for g in genres])
        keep.append(i)
    index = {g: j for j, g in enumerate(genres)}
    y = np.zeros((len(keep), len(genres)), dtype=np.float32)
    for row, i in enumerate(keep):
        for g in table["genre_list"].iloc[i]:
            if g in index:
                y[row, index[g]] = 1
    probs = np.asarray(probs, dtype=np.float64).reshape(len(keep), len(genres))
    thresholds = predictor.thresholds[cols]
    report = multilabel_report(y, probs, thresholds, genres)
    prior_map = predictor.meta.get("training_data", {}).get("train_prior", {})
    prior = np.array([prior_map.get(g, float(y[:, j].mean())) for j, g in enumerate(genres)])
    report["baselines"] = baseline_reports(y, genres, prior)
    report.update({
        "dataset": str(ds.root), "split": split or "all", "model": predictor.name,
        "skipped_genres": {"not_in_data": skipped_model, "not_in_model": skipped_data},
        "unreadable": unreadable,
    })
    return report


def format_report(r: dict) -> str:
    """The per-genre table and the summary beside the baselines, as plain text."""
    lines = [f"{r['model']} on {r['dataset']} [{r['split']}]: {r['n_posters']} posters, {len(r['genres'])} genres"]
    lines.append(f"{'genre':<16}{'support':>8}{'AP':>8}{'AUC':>8}{'F1':>8}{'thr':>7}{'prior AP':>10}")
    prior = r["baselines"]["training_prior"]["per_genre"]
    fmt = lambda v: f"{v:8.3f}" if v is not None else f"{'-':>8}"
    for g, m in sorted(r["per_genre"].items(), key=lambda kv: -(kv[1]["ap"] or 0)):
        lines.append(f"{g:<16}{m['support']:>8}{fmt(m['ap'])}{fmt(m['auc'])}{fmt(m['f1'])}{m['threshold']:7.2f}"
                     f"{fmt(prior[g]['ap']):>10}")
    lines.append("")
    keys = ["macro_ap", "micro_ap", "macro_auc", "micro_auc", "macro_f1", "micro_f1", "samples_f1", "hamming_loss"]
    lines.append(f"{'':<16}" + "".join(f"{k:>13}" for k in keys))
    rows = [("model", r), ("training prior", r["baselines"]["training_prior"]), ("no genre", r["baselines"]["no_genre"])]
    for name, rep in rows:
        lines.append(f"{name:<16}" + "".join(f"{rep[k]:13.4f}" if rep[k] is not None else f"{'-':>13}" for k in keys))
    sk = r["skipped_genres"]
    if sk["not_in_data"] or sk["not_in_model"]:
        lines.append(f"skipped: not in the data: {', '.join(sk['not_in_data']) or '-'}; "
                     f"not predicted by the model: {', '.join(sk['not_in_model']) or '-'}")
    if r["unreadable"]:
        lines.append(f"{len(r['unreadable'])} unreadable poster(s) left out, e.g. {r['unreadable'][0]}")
    return "\n".join(lines)
