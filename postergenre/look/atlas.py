"""The Genre Atlas: how each genre's posters look, as aggregate statistics (``weights/atlas.json``).

Built by ``postergenre atlas`` (``atlas_build.build_atlas``). The JSON holds, per genre and for
``"all"`` posters of the sample: ``count``; ``measures[m]`` = n, mean, std, ``quantiles`` (at the
``quantile_levels`` 0, 2.5%, ..., 100%) and ``histogram`` counts (bins ``histogram_edges[m]``);
``hues`` (mean share per hue family); ``palette`` (typical colours: hex, rgb, lab, share, name);
``decades[YYYY][measures][m]`` = q25, median, q75, mean; per genre also ``effect_sizes`` (Cohen's d of
the genre against all other posters, strongest first) and, with a model, ``model`` (mean probability
on its posters vs the rest, average precision, mean probability of every genre on its posters).
Top level: ``source`` (sample size, split, sampling, build settings), ``model`` (name, genres and the
fingerprint of the weights' metadata, or null), ``measures`` (label, unit, words for lower/higher).
With a model, each genre's ``model.fit`` holds how strongly its own posters read as it: ``n`` and the
``quantiles`` (at the top-level ``fit_levels``) of the genre's probability over every poster of the
split labelled with it. ``colour_clusters`` (centres and their colour group) and each group's
``colour_frequency`` say which colours a poster has, as the atlas counted them (``_atlas_palette``).

Reading it: ``load_atlas()``, ``percentile_in_genre()`` and ``compare_to_genre()`` ("darker than 85%
of Horror posters"), ``fit_percentile()`` ("reads as Horror more strongly than 72% of Horror posters"), and
``typical_posters()`` for example posters from a local dataset folder.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from postergenre import settings
from postergenre.errors import DatasetError, UnknownGenreError, WeightsError
from postergenre.genres import normalise_genre

__all__ = ["Atlas", "GenreComparison", "TypicalPoster", "load_atlas", "percentile_in_genre", "fit_percentile",
           "compare_to_genre", "compare_analysis", "share_text", "describe_genre", "typical_posters", "ALL"]

ALL = "all"   # the pseudo-genre holding every poster of the sample


@dataclass
class Atlas:
    data: dict[str, Any]
    path: Path | None = None

    @property
    def genres(self) -> list[str]:
        """Genres with statistics, TMDB order."""
        return list(self.data["genres"])

    @property
    def measures(self) -> list[str]:
        """Measure keys with statistics (text_share is absent when built without a text detector)."""
        return list(self.data["measures"])

    def genre_name(self, genre: str) -> str:
        """The atlas's spelling of ``genre`` (case-insensitive, TMDB aliases, 'all'); UnknownGenreError."""
        if genre.strip().lower() == ALL:
            return ALL
        name = normalise_genre(genre) or genre
        if name not in self.data["genres"]:
            raise UnknownGenreError(f"genre {genre!r} is not in the atlas; available = {', '.join(self.genres)}")
        return name

    def group(self, genre: str) -> dict[str, Any]:
        """The statistics block of a genre (or 'all')."""
        name = self.genre_name(genre)
        return self.data[ALL] if name == ALL else self.data["genres"][name]

    def quantiles(self, genre: str, measure: str) -> tuple[np.ndarray, np.ndarray]:
        """(levels 0..1, values) of a measure's distribution within a genre."""
        if measure not in self.data["measures"]:
            raise KeyError(f"measure {measure!r} is not in the atlas; available = {', '.join(self.measures)}")
        stats = self.group(genre)["measures"][measure]
        return np.asarray(self.data["quantile_levels"], float), np.asarray(stats.get("quantiles", []), float)


    def fit_quantiles(self, genre: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(levels 0..1, values) of the model's probability for ``genre`` over the genre's own posters,
        or None when the atlas was built without a model or before this was kept (rebuild it)."""
        fit = (self.group(genre).get("model") or {}).get("fit")
        if not fit or not self.data.get("fit_levels"):
            return None
        return np.asarray(self.data["fit_levels"], float), np.asarray(fit["quantiles"], float)


    def colour_areas(self, palette: list[list[float]]) -> np.ndarray | None:
        """A poster's area per colour of ``colour_clusters["colours"]`` (``palette``: [L, a, b, share]
        per palette colour), counted as the atlas counted its posters; None for an atlas built before
        colours were kept per cluster (rebuild it)."""
        from postergenre.look._atlas_palette import colour_shares_of

        clusters = self.data.get("colour_clusters")
        return None if not clusters else colour_shares_of(palette, clusters)


def load_atlas(path: str | Path | None = None) -> Atlas:
    """Read an atlas JSON (default ``settings.atlas_path()``); WeightsError says how to build one."""
    path = Path(path) if path else settings.atlas_path()
    if not path.is_file():
        raise WeightsError(f"genre atlas {path} not found; build it with "
                           f"`postergenre atlas --data DATASET_DIR --out {path}`")
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise WeightsError(f"could not read the genre atlas {path}: {e}; rebuild it with `postergenre atlas`") from None
    if not str(data.get("format", "")).startswith("postergenre-atlas/"):
        raise WeightsError(f"{path} is not a postergenre atlas file; rebuild it with `postergenre atlas`")
    return Atlas(data, path)


def _shares_below_above(levels: np.ndarray, q: np.ndarray, value: float) -> tuple[float, float]:
    """(share strictly below, share strictly above) ``value``, read off a quantile grid: between grid
    points the CDF is interpolated linearly; on a grid value, or a run of equal ones (a tie, e.g.
    0 faces for 60% of posters), the run's first and last levels bound it."""
    lo, hi = int(np.searchsorted(q, value, "left")), int(np.searchsorted(q, value, "right"))
    if lo == hi:  # value falls between grid points
        if lo == 0:
            return 0.0, 1.0
        if lo == len(q):
            return 1.0, 0.0
        t = (value - q[lo - 1]) / (q[lo] - q[lo - 1])
        f = float(levels[lo - 1] + t * (levels[lo] - levels[lo - 1]))
        return f, 1.0 - f
    return float(levels[lo]), 1.0 - float(levels[hi - 1])


def percentile_in_genre(atlas: Atlas, genre: str, measure: str, value: float) -> float:
    """Mid-rank percentile (0..100) of ``value`` among the genre's posters: the share below plus half
    the share equal to it. 85 means 'higher than about 85% of them'."""
    levels, q = atlas.quantiles(genre, measure)
    return _midrank(levels, q, value) if len(q) else float("nan")


def _midrank(levels: np.ndarray, q: np.ndarray, value: float) -> float:
    below, above = _shares_below_above(levels, q, float(value))
    return 100.0 * (below + (1.0 - below - above) / 2.0)


def fit_percentile(atlas: Atlas, genre: str, probability: float) -> float | None:
    """Mid-rank percentile (0..100) of the model's ``probability`` for ``genre`` among the genre's own
    posters: 72 = reads as the genre more strongly than about 72% of them. None without the distribution."""
    fit = atlas.fit_quantiles(genre)
    return None if fit is None else _midrank(*fit, probability)


@dataclass
class GenreComparison:
    measure: str
    label: str
    value: float
    genre: str
    percentile: float        # mid-rank percentile of the value within the genre, 0..100
    below: float             # % of the genre's posters with a lower value
    above: float             # % with a higher value
    typical: tuple[float, float]   # the genre's middle half (25th..75th percentile)
    phrase: str              # "darker than 85% of Horror posters", or "typical of Horror posters"

    def to_dict(self) -> dict[str, Any]:
        return {**vars(self), "typical": list(self.typical)}


def share_text(fraction: float) -> str:
    """A share as a whole percentage that never rounds up to "100%" (or down to "0%") when it is not exact."""
    if 0.99 < fraction < 1.0:
        return "99%"
    if 0.0 < fraction < 0.01:
        return "1%"
    return f"{fraction:.0%}"


def compare_to_genre(atlas: Atlas, genre: str, measure: str, value: float) -> GenreComparison:
    """Where ``value`` sits in the genre's range, with a plain sentence for people."""
    name = atlas.genre_name(genre)
    meta = atlas.data["measures"][measure]
    levels, q = atlas.quantiles(name, measure)
    below, above = _shares_below_above(levels, q, float(value))
    who = "posters in the atlas" if name == ALL else f"{name} posters"
    if max(below, above) < 0.6:  # within the middle fifth, or tied with most posters (0 faces)
        phrase = f"typical of {who}"
    elif below >= above:
        phrase = f"{meta['higher']} than {share_text(below)} of {who}"
    else:
        phrase = f"{meta['lower']} than {share_text(above)} of {who}"
    return GenreComparison(
        measure=measure, label=meta["label"], value=float(value), genre=name,
        percentile=percentile_in_genre(atlas, name, measure, value), below=100 * below, above=100 * above,
        typical=(float(np.interp(0.25, levels, q)), float(np.interp(0.75, levels, q))), phrase=phrase,
    )


def compare_analysis(atlas: Atlas, genre: str, analysis) -> list[GenreComparison]:
    """Every measure of a ``PosterAnalysis`` that the atlas knows, compared with the genre's range,
    most unusual first (furthest from the genre's median)."""
    out = [compare_to_genre(atlas, genre, m, v) for m, v in analysis.measures.items()
           if v is not None and m in atlas.data["measures"]]
    return sorted(out, key=lambda c: -abs(c.percentile - 50.0))


def describe_genre(atlas: Atlas, genre: str, top: int = 3) -> str:
    """One line on what sets a genre's posters apart: its ``top`` largest effect sizes, e.g.
    "Horror posters, against all others: darker (d = -0.62), less colourful (d = -0.41)."."""
    name = atlas.genre_name(genre)
    parts = []
    for e in atlas.group(name)["effect_sizes"][:top]:
        if e["d"] is not None and abs(e["d"]) >= 0.1:
            meta = atlas.data["measures"][e["measure"]]
            parts.append(f"{meta['higher'] if e['d'] > 0 else meta['lower']} (d = {e['d']:+.2f})")
    if not parts:
        return f"{name} posters look much like all others on every measure (all |d| < 0.1)."
    return f"{name} posters, against all others: {', '.join(parts)}."


@dataclass
class TypicalPoster:
    path: Path
    probability: float       # the model's probability for the genre
    title: str | None = None
    year: str | None = None


def typical_posters(data_dir: str | Path, genre: str, predictor, *, n: int = 6, pool: int = 48,
                    split: str | None = None, seed: int = 0, cache_dir: str | Path | None = None) -> list[TypicalPoster]:
    """The ``n`` posters labelled ``genre`` in a local dataset folder that the model scores highest
    for it. Every such poster already scored by an atlas build (cached) takes part at no cost; when
    fewer than ``pool`` are cached, random others are scored until there are ``pool``."""
    from postergenre.look.atlas_build import cache_folder, model_fingerprint, read_cache
    from postergenre.sources.dataset import load_dataset

    ds = load_dataset(data_dir, check_files=False)
    j = predictor.genre_index(genre)
    name = predictor.genres[j]
    table = ds.subset(split)
    table = table[[name in g for g in table["genre_list"]]]
    if table.empty:
        raise DatasetError(f"no poster in {ds.root} is labelled {name}; pick another genre")
    cached = read_cache(cache_folder(ds, cache_dir) / f"predictions-{model_fingerprint(predictor)}.jsonl")
    is_cached = np.array([cached.get(f) is not None for f in table["file"]], dtype=bool)
    extra = np.random.default_rng(seed).permutation(np.flatnonzero(~is_cached))[: max(0, pool - is_cached.sum())]
    rows = table.iloc[np.sort(np.concatenate([np.flatnonzero(is_cached), extra]).astype(int))]
    rows = rows[[(ds.root / f).is_file() for f in rows["file"]]]
    missing = [f for f in rows["file"] if cached.get(f) is None]
    for f, (pred, _err) in zip(missing, predictor.iter_predictions([ds.root / f for f in missing])):
        cached[f] = None if pred is None else [pred.probabilities[g] for g in predictor.genres]
    scored = sorted(((cached[f][j], row) for f, (_, row) in zip(rows["file"], rows.iterrows()) if cached.get(f)),
                    key=lambda s: -s[0])
    return [TypicalPoster(ds.root / row["file"], float(p), row.get("title") or None, row.get("year") or None)
            for p, row in scored[:n]]
