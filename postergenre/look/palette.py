"""Dominant colours of a poster: k-means in CIELAB, each colour with hex, share and a plain name.

CIELAB is used because distances there follow perceived colour differences (ΔE*ab), so clusters are
colours a person would tell apart. The fit is deterministic: k-means++ seeding from a fixed seed on
a pixel sample, a fixed number of Lloyd iterations, then every pixel assigned to its nearest centre
to measure shares. Centres closer than ``merge_delta_e`` are merged, so a flat red poster has one
colour (#FF0000, share 1.0), not six copies of it.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

__all__ = ["PaletteColour", "PaletteConfig", "extract_palette", "rgb_to_lab", "lab_to_rgb", "colour_name", "kmeans", "hex_colour"]


@dataclass(frozen=True)
class PaletteConfig:
    k: int = 6                    # number of colours asked for (fewer come back after merging)
    sample: int = 3000            # pixels drawn (fixed seed) to fit the clusters
    iterations: int = 12          # Lloyd iterations after k-means++ seeding
    merge_delta_e: float = 4.0    # centres closer than this ΔE*ab are one colour
    seed: int = 0


@dataclass(frozen=True)
class PaletteColour:
    hex: str                          # '#RRGGBB', mean sRGB of the pixels in the cluster
    rgb: tuple[int, int, int]
    lab: tuple[float, float, float]   # CIELAB (D65): L* 0..100, a*, b*
    share: float                      # fraction of the poster's pixels, 0..1
    name: str                         # plain English name of the nearest basic colour

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rgb"], d["lab"] = list(self.rgb), [round(v, 2) for v in self.lab]
        d["share"] = round(self.share, 4)
        return d


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB uint8 (... x 3) -> CIELAB float32 (... x 3), D65, L* in 0..100 (OpenCV's exact float path)."""
    arr = np.asarray(rgb, dtype=np.float32).reshape(-1, 1, 3) / 255.0
    return cv2.cvtColor(arr, cv2.COLOR_RGB2Lab).reshape(np.shape(rgb))


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """CIELAB (... x 3) -> sRGB uint8 (... x 3), clipped to the sRGB gamut."""
    arr = np.asarray(lab, dtype=np.float32).reshape(-1, 1, 3)
    rgb = cv2.cvtColor(arr, cv2.COLOR_Lab2RGB).reshape(np.shape(lab))
    return np.clip(np.round(rgb * 255.0), 0, 255).astype(np.uint8)


def hex_colour(rgb) -> str:
    r, g, b = (int(round(float(v))) for v in rgb)
    return f"#{r:02X}{g:02X}{b:02X}"


# Basic colour names with a representative sRGB value; a colour is named after the nearest (ΔE*ab).
_NAMED = {
    "black": (0, 0, 0), "charcoal": (54, 54, 54), "dark grey": (96, 96, 96), "grey": (140, 140, 140),
    "light grey": (196, 196, 196), "white": (255, 255, 255), "cream": (250, 240, 205),
    "beige": (215, 195, 160), "tan": (190, 150, 100), "brown": (120, 70, 30), "dark brown": (65, 40, 20),
    "maroon": (110, 10, 20), "dark red": (150, 20, 20), "red": (255, 0, 0), "crimson": (210, 20, 60),
    "salmon": (245, 130, 110), "orange": (255, 140, 0), "dark orange": (200, 90, 10), "gold": (230, 180, 30),
    "yellow": (255, 230, 0), "pale yellow": (250, 245, 150), "olive": (110, 110, 30), "lime": (160, 230, 40),
    "green": (30, 150, 40), "dark green": (10, 70, 25), "mint": (160, 230, 190), "teal": (0, 128, 128),
    "turquoise": (60, 210, 200), "cyan": (0, 230, 255), "sky blue": (120, 190, 240), "blue": (20, 80, 220),
    "navy": (15, 25, 80), "dark blue": (20, 40, 130), "steel blue": (70, 110, 160), "indigo": (75, 30, 130),
    "purple": (130, 50, 170), "lavender": (190, 170, 230), "magenta": (230, 30, 200), "pink": (250, 170, 200),
    "hot pink": (255, 60, 150), "plum": (100, 30, 70),
}
_NAMES = list(_NAMED)
_NAMED_LAB = rgb_to_lab(np.array(list(_NAMED.values()), dtype=np.uint8))


def colour_name(lab) -> str:
    """Plain name of the basic colour nearest to a CIELAB colour."""
    d = np.sum((_NAMED_LAB - np.asarray(lab, dtype=np.float32)) ** 2, axis=1)
    return _NAMES[int(np.argmin(d))]


def kmeans(points: np.ndarray, k: int, *, weights: np.ndarray | None = None, iterations: int = 12,
           seed: int = 0) -> np.ndarray:
    """Deterministic weighted k-means (k-means++ seeding, fixed iterations) -> k x D centres."""
    rng = np.random.default_rng(seed)
    n = len(points)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    k = max(1, min(k, n))
    centres = [points[rng.choice(n, p=w / w.sum())]]
    for _ in range(1, k):  # k-means++: next centre far from the chosen ones
        d2 = np.min(((points[:, None, :] - np.array(centres)[None]) ** 2).sum(-1), axis=1) * w
        if d2.sum() <= 0:
            break  # every point already sits on a centre
        centres.append(points[rng.choice(n, p=d2 / d2.sum())])
    centres = np.array(centres, dtype=np.float64)
    for _ in range(iterations):
        labels = _nearest(points, centres)
        mass = np.bincount(labels, weights=w, minlength=len(centres))
        sums = _cluster_sums(points, labels, w, len(centres))
        filled = mass > 0
        centres[filled] = sums[filled] / mass[filled, None]
    return centres


def _cluster_sums(points: np.ndarray, labels: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    """k x D weighted sums of the points in each cluster."""
    return np.stack([np.bincount(labels, weights=weights * points[:, d], minlength=k)
                     for d in range(points.shape[1])], axis=1)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Index of the nearest centre per point: argmin of |c|² - 2 p·c (|p|² is the same for every centre).
    Written out per coordinate in float32: a BLAS matmul this thin is slower and competes for cores."""
    p, c = points.astype(np.float32, copy=False), centres.astype(np.float32)
    d = (c * c).sum(1)[None, :] - 2.0 * sum(p[:, j : j + 1] * c[None, :, j] for j in range(p.shape[1]))
    return np.argmin(d, axis=1)


def extract_palette(rgb: np.ndarray, cfg: PaletteConfig = PaletteConfig(), *,
                    lab: np.ndarray | None = None) -> list[PaletteColour]:
    """Dominant colours of an H x W x 3 uint8 sRGB array, largest share first (pass ``lab`` if known)."""
    pixels = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3)
    lab_px = (rgb_to_lab(pixels) if lab is None else np.asarray(lab, np.float32).reshape(-1, 3)).astype(np.float64)
    rng = np.random.default_rng(cfg.seed)
    sample = lab_px[rng.choice(len(lab_px), cfg.sample, replace=False)] if len(lab_px) > cfg.sample else lab_px
    centres = _merge_close(kmeans(sample, cfg.k, iterations=cfg.iterations, seed=cfg.seed), cfg.merge_delta_e)
    labels = _nearest(lab_px, centres)
    counts = np.bincount(labels, minlength=len(centres))
    ones = np.ones(len(labels))
    rgb_sums = _cluster_sums(pixels.astype(np.float64), labels, ones, len(centres))
    lab_sums = _cluster_sums(lab_px, labels, ones, len(centres))
    colours = []
    for j in np.argsort(-counts, kind="stable"):
        if counts[j] == 0:
            continue
        mean_rgb, mean_lab = rgb_sums[j] / counts[j], lab_sums[j] / counts[j]
        colours.append(PaletteColour(
            hex=hex_colour(mean_rgb), rgb=tuple(int(round(v)) for v in mean_rgb),
            lab=tuple(float(v) for v in mean_lab), share=float(counts[j] / len(labels)),
            name=colour_name(mean_lab),
        ))
    return colours


def _merge_close(centres: np.ndarray, delta_e: float) -> np.ndarray:
    """Drop centres within ``delta_e`` of an earlier kept one (k-means++ order = most distinct first)."""
    kept: list[np.ndarray] = []
    for c in centres:
        if all(np.linalg.norm(c - q) >= delta_e for q in kept):
            kept.append(c)
    return np.array(kept)
