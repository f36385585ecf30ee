"""Build the Genre Atlas: analyze (and optionally predict) a sample of a dataset folder, then reduce it to
a small JSON file of aggregate statistics per genre. No images, titles or per-poster rows are kept.

Per-poster results are cached on disk (``<cache>/atlas/<dataset>/``, one JSON line per poster), so an
interrupted build resumes where it stopped and a rebuild with other statistics costs nothing.
The file's layout is described in ``postergenre.look.atlas``.
"""
from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from postergenre import settings
from postergenre.errors import DatasetError, ImageLoadError
from postergenre.genres import TMDB_GENRES
from postergenre.look._atlas_palette import describe_colours, fit_colour_clusters, genre_colours, poster_colour_shares
from postergenre.look.analysis import ANALYSIS_VERSION, MEASURES, AnalysisConfig, analyze_poster
from postergenre.look.composition import HUE_NAMES
from postergenre.look.palette import PaletteConfig
from postergenre.sources.dataset import PosterDataset

__all__ = ["AtlasConfig", "select_posters", "build_atlas", "summarize", "fit_distributions", "cache_folder",
           "model_fingerprint", "read_cache", "write_atlas", "ATLAS_FORMAT"]

ATLAS_FORMAT = "postergenre-atlas/2"   # /2: palettes are frequent colours (_atlas_palette.py)


@dataclass(frozen=True)
class AtlasConfig:
    split: str | None = "train"     # rows of labels.csv to use; None = every row
    per_genre: int | None = 300     # up to this many posters per genre (their union, each poster once)
    limit: int | None = None        # instead: this many posters drawn at random (wins over per_genre)
    seed: int = 0                   # sampling seed
    k: int = 6                      # palette colours per poster
    genre_palette_k: int = 8        # colours listed per genre (most frequent; distinctive)
    colour_clusters: int = 32       # colour clusters shared by all genres (KMeans in CIELAB)
    colour_min_share: float = 0.05  # a poster has a colour when it covers this share of its area
    quantiles: int = 41             # quantile levels 0, 2.5%, ..., 100%
    bins: int = 20                  # histogram bins per measure (edges shared by all genres)
    min_genre: int = 5              # genres with fewer posters in the sample are left out
    min_decade: int = 15            # a genre's decade is reported from this many posters up
    text: bool = True               # read the posters' text: text coverage (PP-OCR detector) and the model's
                                    # text channel (words from the dataset's OCR cache); False = neither
    fit_split: str | None = "val"   # with a model: each genre's probability over every poster of this split
                                    # labelled with it, for "reads as Horror more strongly than 72% of Horror
                                    # posters" (postergenre.compare.check). Held-out posters: the head was
                                    # trained on `train` and scores those posters higher than new ones
                                    # (benchmarks/brief_check.py). None = no distribution
    fit_quantiles: int = 201        # quantile levels of that distribution: 0, 0.5%, ..., 100%


def select_posters(ds: PosterDataset, cfg: AtlasConfig) -> pd.DataFrame:
    """The rows to analyze: the split, then ``limit`` random rows or up to ``per_genre`` per genre."""
    table = ds.subset(cfg.split)
    if table.empty:
        raise DatasetError(f"{ds.root} has no posters in split {cfg.split!r}; pick another --split")
    rng = np.random.default_rng(cfg.seed)
    if cfg.limit:
        keep = rng.permutation(len(table))[: cfg.limit]
        return table.iloc[np.sort(keep)]
    if cfg.per_genre:
        chosen: set[int] = set()
        for genre in ds.genres:
            idx = np.flatnonzero([genre in names for names in table["genre_list"]])
            chosen.update(rng.permutation(idx)[: cfg.per_genre].tolist())
        return table.iloc[sorted(chosen)]
    return table


def read_cache(path: Path) -> dict[str, Any]:
    """Per-poster results of a cache file, keyed by file; a torn line (interrupted write) is skipped."""
    done: dict[str, Any] = {}
    if path.is_file():
        for line in path.read_text().splitlines():
            try:
                row = json.loads(line)
                done[row["file"]] = row["v"]
            except (ValueError, KeyError, TypeError):
                continue
    return done


class _JsonlCache:
    """Append-only JSON-lines store of per-poster results keyed by file (resumable)."""

    def __init__(self, path: Path):
        self.path = path
        self.done = read_cache(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = path.open("a")

    def add(self, file: str, value: Any) -> None:
        self._fh.write(json.dumps({"file": file, "v": value}) + "\n")
        self._fh.flush()
        self.done[file] = value

    def close(self) -> None:
        self._fh.close()


def _analysis_record(path: Path, cfg: AtlasConfig) -> dict:
    try:
        a = analyze_poster(path, config=AnalysisConfig(palette=PaletteConfig(k=cfg.k), text=cfg.text))
    except ImageLoadError as e:
        return {"error": str(e)}
    return {
        "m": {k: (None if v is None else round(float(v), 5)) for k, v in a.measures.items()},
        "h": [round(v, 4) for v in a.hue_histogram.values()],
        "p": [[round(x, 2) for x in c.lab] + [round(c.share, 4)] for c in a.palette],
    }


def _analyze(ds: PosterDataset, table: pd.DataFrame, cfg: AtlasConfig, folder: Path, progress: bool) -> dict:
    from tqdm.auto import tqdm

    cache = _JsonlCache(folder / f"analysis-v{ANALYSIS_VERSION}-k{cfg.k}-text{int(cfg.text)}.jsonl")
    files = list(table["file"])
    todo = [f for f in files if f not in cache.done]
    try:
        for f in tqdm(todo, desc="analyzing posters", unit="poster", disable=not progress,
                      initial=len(files) - len(todo), total=len(files)):
            cache.add(f, _analysis_record(ds.root / f, cfg))
    finally:
        cache.close()
    return {f: cache.done[f] for f in files}


# metadata sections that record measurements of the model, not what it computes: recording a new
# figure (evaluate --record, a benchmark's --record) must not make caches and atlases look stale
MEASUREMENTS = ("metrics", "robustness", "int8", "backbone_finetune", "train_seconds")


def model_fingerprint(predictor) -> str:
    """Short id of what a model computes (its metadata less the recorded measurements), for prediction
    caches, atlases and catalog indexes."""
    what = {k: v for k, v in predictor.metadata.raw.items() if k not in MEASUREMENTS}
    return hashlib.sha1(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _predict(ds: PosterDataset, table: pd.DataFrame, predictor, folder: Path, progress: bool,
             text: bool = True, chunk: int = 64) -> dict:
    from tqdm.auto import tqdm

    text = text and predictor.has_text
    cache = _JsonlCache(folder / f"predictions-{model_fingerprint(predictor)}{'' if text else '-image'}.jsonl")
    files = list(table["file"])
    todo = [f for f in files if f not in cache.done]
    lines = None
    if text and todo:  # the posters' text from the dataset's OCR cache (read once, shared with evaluate)
        from postergenre.model.ocr import cache_text

        lines = {f: [t] if t.strip() else [] for f, t in zip(todo, cache_text(ds, predictor.ocr_config, files=todo, progress=progress))}
    bar = tqdm(desc="predicting genres", unit="poster", disable=not progress, initial=len(files) - len(todo),
               total=len(files))
    try:
        for start in range(0, len(todo), chunk):
            part = todo[start : start + chunk]
            texts = None if lines is None else [lines[f] for f in part]
            for f, (pred, err) in zip(part, predictor.iter_predictions([ds.root / f for f in part], texts=texts,
                                                                      text=text)):
                probs = None if pred is None else [round(pred.probabilities[g], 5) for g in predictor.genres]
                cache.add(f, probs)
                bar.update(1)
    finally:
        cache.close()
        bar.close()
    return {f: cache.done[f] for f in files}


def cache_folder(ds: PosterDataset, cache_dir: str | Path | None = None) -> Path:
    """Where per-poster atlas results of this dataset folder are cached."""
    key = hashlib.sha1(str(ds.root.resolve()).encode()).hexdigest()[:16]
    return Path(cache_dir or settings.cache_dir()) / "atlas" / key


def build_atlas(ds: PosterDataset, out: str | Path | None = None, cfg: AtlasConfig = AtlasConfig(), *,
                predictor=None, cache_dir: str | Path | None = None, progress: bool = True) -> dict:
    """Analyze (and predict, given a ``predictor``) the selected posters of ``ds``; return the atlas
    dict and write it as JSON to ``out`` when given."""
    t0 = time.perf_counter()
    table = select_posters(ds, cfg)
    folder = cache_folder(ds, cache_dir)
    records = _analyze(ds, table, cfg, folder, progress)
    probs = _predict(ds, table, predictor, folder, progress, cfg.text) if predictor is not None else None
    model = ({"name": predictor.name, "genres": list(predictor.genres), "fingerprint": model_fingerprint(predictor)}
             if predictor is not None else None)
    fit = None
    if predictor is not None and cfg.fit_split:  # every poster of the fit split (cached like the sample's)
        everyone = ds.subset(cfg.fit_split)
        fit = (everyone, _predict(ds, everyone, predictor, folder, progress, cfg.text))
    atlas = summarize(table, records, probs, model, cfg, fit=fit)
    atlas["source"].update({"dataset": ds.root.name, "build_seconds": round(time.perf_counter() - t0, 1)})
    if out is not None:
        write_atlas(atlas, out)
    return atlas


def write_atlas(atlas: dict, out: str | Path) -> None:
    """Write the atlas JSON to ``out`` atomically (a temporary file, then a rename)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(atlas, separators=(",", ":")))
    tmp.replace(out)


# --- reduction to statistics --------------------------------------------------------------------------

def _r(x: float) -> float | None:
    """A float rounded to 5 significant digits for the JSON file (None for NaN)."""
    return None if x is None or not math.isfinite(x) else float(f"{x:.5g}")


def _stats(v: np.ndarray, levels: np.ndarray, edges: np.ndarray) -> dict:
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return {"n": 0}
    return {"n": int(len(v)), "mean": _r(v.mean()), "std": _r(v.std(ddof=1) if len(v) > 1 else 0.0),
            "quantiles": [_r(q) for q in np.quantile(v, levels)],
            "histogram": np.histogram(np.clip(v, edges[0], edges[-1]), edges)[0].tolist()}


def _mean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _cohens_d(a: np.ndarray, b: np.ndarray) -> float:
    """(mean(a) - mean(b)) / pooled standard deviation; NaN when undefined."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0


def summarize(table: pd.DataFrame, records: dict, probs: dict | None, model: dict | None,
              cfg: AtlasConfig = AtlasConfig(), *, fit: tuple[pd.DataFrame, dict] | None = None) -> dict:
    """Reduce per-poster records (and model probabilities) to the atlas dict. Pure: no files touched.
    ``fit``: (rows with ``file`` and ``genre_list``, their probabilities by file) for each genre's
    probability distribution over its posters (default: the sample's own rows and ``probs``, unless
    ``cfg.fit_split`` is None)."""
    ok = [i for i, f in enumerate(table["file"]) if "error" not in records[f]]
    rows = table.iloc[ok]
    recs = [records[f] for f in rows["file"]]
    if not recs:
        raise DatasetError("no poster of the sample could be read; check the dataset folder's images")
    keys = [k for k in MEASURES if any(r["m"].get(k) is not None for r in recs)]
    values = {k: np.array([np.nan if r["m"].get(k) is None else r["m"][k] for r in recs]) for k in keys}
    levels = np.linspace(0.0, 1.0, cfg.quantiles)
    edges = {k: np.linspace(np.nanmin(v), np.nanmax(v) if np.nanmax(v) > np.nanmin(v) else np.nanmin(v) + 1,
                            cfg.bins + 1) for k, v in values.items()}
    years = pd.to_numeric(rows["year"], errors="coerce").to_numpy() if "year" in rows else np.full(len(rows), np.nan)
    decades = np.where(np.isfinite(years), np.floor(years / 10) * 10, np.nan)
    hues = np.array([r["h"] for r in recs])
    palettes = [r["p"] for r in recs]
    centres = fit_colour_clusters(palettes, cfg.colour_clusters, cfg.seed)
    colours, colour_shares, colour_group = poster_colour_shares(palettes, centres)
    P = None
    if probs is not None and model is not None:
        P = np.array([probs[f] if probs.get(f) is not None else [np.nan] * len(model["genres"]) for f in rows["file"]])

    def group(mask: np.ndarray, name: str) -> dict:
        g = {"count": int(mask.sum()),
             "measures": {k: _stats(values[k][mask], levels, edges[k]) for k in keys},
             "hues": [_r(x) for x in hues[mask].mean(axis=0)],
             **genre_colours(colour_shares, mask, colours, n=cfg.genre_palette_k, min_share=cfg.colour_min_share),
             "decades": {}}
        if name == "all":
            del g["palette_distinctive"]  # nothing stands out against itself
        for d in sorted(set(decades[mask & np.isfinite(decades)])):
            dm = mask & (decades == d)
            if dm.sum() >= cfg.min_decade:
                g["decades"][str(int(d))] = {"count": int(dm.sum()), "measures": {
                    k: {"q25": _r(np.nanquantile(values[k][dm], 0.25)), "median": _r(np.nanmedian(values[k][dm])),
                        "q75": _r(np.nanquantile(values[k][dm], 0.75)), "mean": _r(np.nanmean(values[k][dm]))}
                    for k in keys if np.isfinite(values[k][dm]).any()}}
        if name != "all":
            d = {k: _cohens_d(values[k][mask], values[k][~mask]) for k in keys}
            g["effect_sizes"] = [
                {"measure": k, "d": _r(d[k]), "genre_mean": _r(_mean(values[k][mask])),
                 "rest_mean": _r(_mean(values[k][~mask]))}
                for k in sorted(keys, key=lambda k: -abs(d[k]) if math.isfinite(d[k]) else 0.0)]
            if P is not None and name in model["genres"]:
                g["model"] = _model_stats(P, mask, model["genres"].index(name), model["genres"])
                if fit_stats is not None:
                    g["model"]["fit"] = fit_stats.get(name)
        return g

    fit_stats = None
    if P is not None and (fit is not None or cfg.fit_split):
        fit_rows, fit_probs = fit if fit is not None else (rows, probs)
        fit_stats = fit_distributions(fit_rows, fit_probs, model["genres"], np.linspace(0.0, 1.0, cfg.fit_quantiles))

    genre_names = [g for g in _genres_in(rows) if sum(g in n for n in rows["genre_list"]) >= cfg.min_genre]
    atlas = {
        "format": ATLAS_FORMAT,
        "analysis_version": ANALYSIS_VERSION,
        "source": {"posters": int(len(rows)), "unreadable": int(len(table) - len(rows)), "split": cfg.split,
                   "fit_posters": None if fit_stats is None else int(len(fit[0]) if fit is not None else len(rows)),
                   "sampling": (f"{cfg.limit} at random" if cfg.limit else
                                f"up to {cfg.per_genre} per genre" if cfg.per_genre else "all"),
                   "config": asdict(cfg)},
        "model": model,
        "measures": {k: {"label": MEASURES[k].label, "unit": MEASURES[k].unit, "lower": MEASURES[k].lower,
                         "higher": MEASURES[k].higher, "help": MEASURES[k].help} for k in keys},
        "quantile_levels": [_r(x) for x in levels],
        "histogram_edges": {k: [_r(x) for x in e] for k, e in edges.items()},
        "hue_names": list(HUE_NAMES),
        "colour_clusters": {"centres": [[_r(x) for x in c] for c in centres], "group": colour_group.tolist(),
                            "min_share": cfg.colour_min_share, "colours": describe_colours(colours)},
        "fit_levels": [_r(x) for x in np.linspace(0.0, 1.0, cfg.fit_quantiles)] if fit_stats else None,
        "all": group(np.ones(len(rows), dtype=bool), "all"),
        "genres": {},
    }
    for name in genre_names:
        atlas["genres"][name] = group(np.array([name in n for n in rows["genre_list"]]), name)
    return atlas


def _genres_in(rows: pd.DataFrame) -> list[str]:
    present = {g for names in rows["genre_list"] for g in names}
    return [g.name for g in TMDB_GENRES if g.name in present]


def fit_distributions(rows: pd.DataFrame, probs: dict, genres: list[str], levels: np.ndarray) -> dict:
    """Per genre: how strongly its own posters read as it, as quantiles (at ``levels``) of the model's
    probability for the genre over every poster of ``rows`` labelled with it (``n`` posters; unreadable
    ones left out). ``probs``: file -> probabilities in ``genres`` order (None when unreadable)."""
    out = {}
    for j, name in enumerate(genres):
        p = np.array([probs[f][j] for f, names in zip(rows["file"], rows["genre_list"])
                      if name in names and probs.get(f) is not None], dtype=np.float64)
        if len(p):
            out[name] = {"n": int(len(p)), "quantiles": [_r(q) for q in np.quantile(p, levels)]}
    return out


def _model_stats(P: np.ndarray, mask: np.ndarray, j: int, genres: list[str]) -> dict:
    """Mean probability of the genre on its posters vs the rest, its average precision on the sample,
    and the mean probability of every genre on this genre's posters (what the model sees in them)."""
    from sklearn.metrics import average_precision_score

    valid = np.isfinite(P[:, j])
    y, p = mask[valid], P[valid, j]
    ap = float(average_precision_score(y, p)) if 0 < y.sum() < len(y) else float("nan")
    return {"mean_probability": _r(p[y].mean()) if y.any() else None,
            "rest_mean_probability": _r(p[~y].mean()) if (~y).any() else None,
            "average_precision": _r(ap),
            "profile": {g: _r(np.nanmean(P[mask & valid, i])) for i, g in enumerate(genres)} if y.any() else {}}
