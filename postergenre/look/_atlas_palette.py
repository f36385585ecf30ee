"""A genre's typical colours for the Genre Atlas: which colours its posters actually contain.

Averaging the palettes of hundreds of posters (or clustering them into a handful of groups) mixes a
red poster and a blue one into a purple, and dark reds, greens and blues into one "charcoal" that no
poster has. Instead, every palette colour of the sample is assigned to one of a fixed set of colour
clusters shared by all genres (scikit-learn ``KMeans`` in CIELAB, each colour weighted by its share of
its poster; enough clusters that each one is a single recognisable colour). A poster *has* a cluster's
colour when that colour covers at least ``min_share`` of the poster; close clusters with the same plain
name are one colour. For a genre we then report

- ``palette``: its most frequent colours (the share of the genre's posters that have each one), and
  ``palette_neutrals``: the same for black, the greys and white, which nearly every poster has;
- ``palette_distinctive``: the colours its posters have more often than posters overall (``lift`` =
  the genre's share / the whole sample's share), strongest first.

Each colour is the weighted mean of the palette colours in its clusters (tight clusters, so an actual
poster colour, not a mix), with ``hex``, ``rgb``, ``lab``, ``name``, ``share`` (of the genre's posters),
``area`` (mean share of a poster's area), ``lift`` and ``id`` (its index among the grouped colours).

To tell whether *one* poster has a colour the way the atlas counted it, the atlas also keeps the
cluster centres with their colour group (``colour_clusters``) and, per genre, the share of its posters
that have each group (``colour_frequency``): ``colour_shares_of(palette, clusters)`` gives a new
poster's area per group.
"""
from __future__ import annotations

import numpy as np

from postergenre.look.palette import colour_name, hex_colour, lab_to_rgb

__all__ = ["fit_colour_clusters", "poster_colour_shares", "colour_shares_of", "describe_colours", "genre_colours",
           "NEUTRALS"]


def _entries(palettes: list[list[list[float]]]) -> tuple[np.ndarray, np.ndarray]:
    """(M x 4 array of [L, a, b, share] palette colours, M poster indices)."""
    rows = [(i, c) for i, p in enumerate(palettes) for c in p]
    if not rows:
        return np.zeros((0, 4)), np.zeros(0, dtype=int)
    return np.array([c for _, c in rows], dtype=np.float64).reshape(-1, 4), np.array([i for i, _ in rows])


def fit_colour_clusters(palettes: list[list[list[float]]], k: int = 32, seed: int = 0) -> np.ndarray:
    """k x 3 CIELAB cluster centres of all palette colours (``[L, a, b, share]`` per colour, per poster),
    by weighted k-means (weight = the colour's share of its poster). Fewer centres when the palettes
    hold fewer distinct colours."""
    from sklearn.cluster import KMeans

    entries, _ = _entries(palettes)
    keep = entries[:, 3] > 0
    lab, w = entries[keep, :3], entries[keep, 3]
    if len(lab) == 0:
        return np.zeros((0, 3))
    k = min(k, len(np.unique(np.round(lab, 2), axis=0)))
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(lab, sample_weight=w)
    return km.cluster_centers_


NEUTRALS = frozenset({"black", "charcoal", "dark grey", "grey", "light grey", "white"})


def poster_colour_shares(palettes: list[list[list[float]]], centres: np.ndarray
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(U x 3 CIELAB colours, N posters x U shares, the group of each centre): each poster's area per
    colour. Clusters of the same plain name that are close ("charcoal" and a slightly lighter charcoal)
    are one colour, at their area-weighted mean."""
    group = _same_colour_groups(centres)
    k_shares = _cluster_shares(palettes, centres)
    member = (np.arange(group.max() + 1 if len(group) else 0)[:, None] == group[None]).astype(float)
    mass = k_shares.sum(0)
    weights = member * np.maximum(mass, 1e-12)[None]
    colours = (weights @ centres) / weights.sum(1, keepdims=True) if len(member) else np.zeros((0, 3))
    return colours, k_shares @ member.T, group


def _cluster_shares(palettes: list[list[list[float]]], centres: np.ndarray) -> np.ndarray:
    """N posters x k clusters: the area of each poster's palette colours nearest each centre."""
    k_shares = np.zeros((len(palettes), len(centres)))
    entries, owner = _entries(palettes)
    if len(entries) and len(centres):
        nearest = np.argmin(((entries[:, None, :3] - centres[None]) ** 2).sum(-1), axis=1)
        np.add.at(k_shares, (owner, nearest), entries[:, 3])
    return k_shares


def colour_shares_of(palette: list[list[float]], clusters: dict) -> np.ndarray:
    """One poster's area per colour group of an atlas (``clusters`` = its ``colour_clusters``:
    ``centres`` k x [L, a, b] and ``group`` per centre), counted as the atlas counted its posters.
    ``palette``: [L, a, b, share] per palette colour."""
    centres = np.asarray(clusters["centres"], np.float64).reshape(-1, 3)
    group = np.asarray(clusters["group"], int)
    shares = _cluster_shares([palette], centres)[0]
    return np.bincount(group, weights=shares, minlength=int(group.max()) + 1 if len(group) else 0)


def _same_colour_groups(centres: np.ndarray, delta_e: float = 15.0) -> np.ndarray:
    """Group index per centre: centres with the same plain name within ``delta_e`` (ΔE*ab) of each other
    (chained) are one group; same-named but distinct shades stay apart."""
    names = [colour_name(c) for c in centres]
    group = np.arange(len(centres))
    for i in range(len(centres)):
        for j in range(i):
            if names[i] == names[j] and np.linalg.norm(centres[i] - centres[j]) < delta_e:
                group[group == group[i]] = group[j]
    return np.unique(group, return_inverse=True)[1].reshape(-1)


def _describe(j: int, lab: np.ndarray) -> dict:
    rgb = lab_to_rgb(lab)
    return {"id": int(j), "hex": hex_colour(rgb), "rgb": rgb.tolist(), "lab": [round(float(x), 2) for x in lab],
            "name": colour_name(lab)}


def describe_colours(colours: np.ndarray) -> list[dict]:
    """id, hex, rgb, lab and plain name of each grouped colour (``poster_colour_shares``' colours)."""
    return [_describe(j, c) for j, c in enumerate(colours)]


def genre_colours(shares: np.ndarray, mask: np.ndarray, colours: np.ndarray, *, n: int = 8,
                  min_share: float = 0.05, min_posters: float = 0.05, min_lift: float = 1.25) -> dict:
    """For the posters in ``mask``: ``palette`` (their most frequent colours, greys left out),
    ``palette_neutrals`` (the most frequent of black, greys and white) and ``palette_distinctive``
    (colours at least ``min_lift`` times as frequent as in the whole sample, on at least
    ``min_posters`` of the genre's posters); ``colour_frequency``: the share of its posters that have each
    colour, by id. ``colours``/``shares`` from :func:`poster_colour_shares`."""
    if not mask.any() or not len(colours):
        return {"palette": [], "palette_neutrals": [], "palette_distinctive": [],
                "colour_frequency": [0.0] * len(colours)}
    has = shares >= min_share
    freq, base = has[mask].mean(0), has.mean(0)
    lift = np.divide(freq, base, out=np.zeros_like(freq), where=base > 0)
    area = shares[mask].mean(0)
    names = [colour_name(c) for c in colours]

    def colour(j: int) -> dict:
        return {**_describe(j, colours[j]), "share": round(float(freq[j]), 4), "area": round(float(area[j]), 4),
                "lift": round(float(lift[j]), 3)}

    by_freq = [j for j in np.lexsort((-area, -freq)) if freq[j] > 0]
    standout = [j for j in np.lexsort((-freq, -lift)) if lift[j] >= min_lift and freq[j] >= min_posters][:n]
    return {"palette": [colour(j) for j in by_freq if names[j] not in NEUTRALS][:n],
            "palette_neutrals": [colour(j) for j in by_freq if names[j] in NEUTRALS][:n],
            "palette_distinctive": [colour(j) for j in standout],
            "colour_frequency": [round(float(f), 4) for f in freq]}
