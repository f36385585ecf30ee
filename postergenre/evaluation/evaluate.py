"""Scoring a trained model on a dataset folder, beside the trivial baselines.

Only genres that both the model and the data have are scored; the report says which were skipped.
The "training prior" baseline uses the prior stored in the weights' metadata (the model's own training
data), so an external dataset is judged against the same constant predictor the model must beat.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from postergenre.errors import DatasetError
from postergenre.training.features import cache_features
from postergenre.evaluation.metrics import baseline_reports, expected_calibration_error, multilabel_report, reliability_table
from postergenre.model.ocr import cache_text  # the posters' text, read once per dataset (resumable cache)
from postergenre.sources.dataset import load_dataset

__all__ = ["evaluate", "format_report"]


def _cached_predictions(predictor, ds, table, texts: list[list[str]] | None, progress: bool):
    """(Prediction, None) per row from the dataset's backbone feature cache (computing missing rows):
    the same ONNX features the predictor computes, stored as float16; ``texts``: the OCR cache's lines
    per row (None: text channel off)."""
    rows = ds.table.index.get_indexer(table.index)
    feats = cache_features(ds, predictor.preprocessing, rows=rows, progress=progress, precision=predictor.precision)
    n = len(feats)
    logits = predictor.head.view_logits(feats)
    texts = texts if texts is not None else [None] * n
    mean_feats = np.asarray(feats, dtype=np.float32).mean(1)
    preds = predictor.predictions_from(logits, mean_feats, [None] * n, texts)
    return [(p, None) for p in preds]


def evaluate(predictor, data: str | Path, split: str | None = "test", *, limit: int | None = None,
             batch_size: int | None = None, progress: bool = True, seed: int = 0, from_cache: bool = False,
             text: bool = True) -> dict:
    """Run ``predictor`` over ``data``'s ``split`` and return the metrics dict (see ``multilabel_report``)
    plus ``baselines``, ``skipped_genres``, ``unreadable`` and the dataset/split used.
    ``limit`` scores a reproducible random sample of that many posters. ``from_cache`` reads the
    backbone features from the dataset's feature cache instead of running the backbone (the text from
    the OCR cache either way; much faster on a busy CPU). ``text=False``: the image alone (its own
    calibration and headline rule), as ``predict --no-text`` gives it."""
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
    text = text and predictor.has_text
    if text:
        # read as the weights' text channel reads; only this table's posters (a --limit sample reads its own)
        cached = cache_text(ds, predictor.ocr_config, files=list(table["file"]), progress=progress)
        texts = [[t] if t.strip() else [] for t in cached]  # one line: the cache joins them
    probs, raw, chosen, flags, keep, unreadable = [], [], [], [], [], []
    results = (_cached_predictions(predictor, ds, table, texts, progress) if from_cache
               else predictor.iter_predictions(paths, batch_size=batch_size, progress=progress, texts=texts,
                                               text=text))
    for i, (pred, err) in enumerate(results):
        if err:
            unreadable.append({"file": str(table["file"].iloc[i]), "error": err})
            continue
        by_genre = {s.genre: s for s in pred.scores}
        probs.append([by_genre[g].probability for g in genres])
        raw.append([by_genre[g].logit for g in genres])
        chosen.append([by_genre[g].predicted for g in genres])
        flags.append(pred.looks_like_poster)
        keep.append(i)
    index = {g: j for j, g in enumerate(genres)}
    y = np.zeros((len(keep), len(genres)), dtype=np.float32)
    for row, i in enumerate(keep):
        for g in table["genre_list"].iloc[i]:
            if g in index:
                y[row, index[g]] = 1
    probs = np.asarray(probs, dtype=np.float64).reshape(len(keep), len(genres))
    thresholds = np.full(len(cols), predictor.trust(text).rule.cutoff)  # only the headline rule decides
    chosen = np.asarray(chosen, dtype=bool).reshape(len(keep), len(genres))
    report = multilabel_report(y, probs, thresholds, genres, pred=chosen)
    raw_probs = 1 / (1 + np.exp(-np.asarray(raw, dtype=np.float64).reshape(len(keep), len(genres))))
    report["uncalibrated"] = {"ece": expected_calibration_error(y, raw_probs), "reliability": reliability_table(y, raw_probs),
                              "per_genre_ece": {g: expected_calibration_error(y[:, j], raw_probs[:, j])
                                                for j, g in enumerate(genres)}}
    report["poster_check"] = {"flagged": None if None in flags else float(np.mean([not f for f in flags])) if flags else 0.0}
    prior_map = predictor.metadata.training_data.get("train_prior", {})
    prior = np.array([prior_map.get(g, float(y[:, j].mean())) for j, g in enumerate(genres)])
    report["baselines"] = baseline_reports(y, genres, prior)
    report.update({
        "dataset": str(ds.root), "split": split or "all", "model": predictor.name, "text": text,
        "skipped_genres": {"not_in_data": skipped_model, "not_in_model": skipped_data},
        "unreadable": unreadable,
    })
    return report


def format_report(r: dict) -> str:
    """The per-genre table and the summary beside the baselines, as plain text."""
    lines = [f"{r['model']} on {r['dataset']} [{r['split']}]: {r['n_posters']} posters, {len(r['genres'])} genres"]
    lines.append(f"{'genre':<16}{'support':>8}{'AP':>8}{'AUC':>8}{'F1':>8}{'ECE':>8}{'raw ECE':>9}{'prior AP':>10}")
    prior = r["baselines"]["training_prior"]["per_genre"]
    fmt = lambda v: f"{v:8.3f}" if v is not None else f"{'-':>8}"
    for g, m in sorted(r["per_genre"].items(), key=lambda kv: -(kv[1]["ap"] or 0)):
        raw_ece = r.get("uncalibrated", {}).get("per_genre_ece", {}).get(g)
        lines.append(f"{g:<16}{m['support']:>8}{fmt(m['ap'])}{fmt(m['auc'])}{fmt(m['f1'])}{fmt(m.get('ece'))}"
                     f"{fmt(raw_ece):>9}{fmt(prior[g]['ap']):>10}")
    lines.append("")
    keys = ["macro_ap", "micro_ap", "macro_auc", "micro_auc", "macro_f1", "micro_f1", "samples_f1", "ece",
            "genres_per_poster"]
    width = {k: max(13, len(k) + 2) for k in keys}
    lines.append(f"{'':<16}" + "".join(f"{k:>{width[k]}}" for k in keys))
    rows = [("model", r), ("training prior", r["baselines"]["training_prior"]), ("no genre", r["baselines"]["no_genre"])]
    for name, rep in rows:
        lines.append(f"{name:<16}" + "".join(f"{rep[k]:{width[k]}.4f}" if rep[k] is not None else f"{'-':>{width[k]}}"
                                              for k in keys))
    lines.append(f"{'':<16}films have {r['true_genres_per_poster']:.2f} genres per poster; "
                 f"largest per-genre ECE {r['max_genre_ece']:.4f}")
    if "uncalibrated" in r:
        lines.append(f"{'':<16}ECE without calibration (raw sigmoid): {r['uncalibrated']['ece']:.4f}")
    if r.get("poster_check", {}).get("flagged") is not None:
        lines.append(f"{'':<16}poster check: {r['poster_check']['flagged']:.1%} of these posters flagged as not a poster")
    lines += ["", "reliability (all genre probabilities, 10 equal-width bins)",
              f"{'bin':<12}{'count':>8}{'mean prob':>11}{'observed':>10}"]
    for row in r["reliability"]:
        lines.append(f"{row['lo']:.1f}-{row['hi']:.1f}{row['count']:>13}{row['mean_probability']:11.3f}{row['observed_rate']:10.3f}")
    sk = r["skipped_genres"]
    if sk["not_in_data"] or sk["not_in_model"]:
        lines.append(f"skipped: not in the data: {', '.join(sk['not_in_data']) or '-'}; "
                     f"not predicted by the model: {', '.join(sk['not_in_model']) or '-'}")
    if r["unreadable"]:
        lines.append(f"{len(r['unreadable'])} unreadable poster(s) left out, e.g. {r['unreadable'][0]}")
    return "\n".join(lines)
