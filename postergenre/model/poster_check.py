""""Is this a poster?": how much an image's backbone features look like the training posters'.

It reuses the features the genre head already gets (mean of the poster and its mirror), so it costs
no second forward pass. Two detectors on the whitened top-64 principal components of the training
posters' features:

- ``distance``: Mahalanobis distance to the training posters (one-class: needs no non-posters, so it
  also catches kinds of images nobody thought of);
- ``classifier``: logistic regression, training posters vs. a generated set of non-posters (noise,
  flat colours, gradients, patterns, documents, charts, screenshots, photographs and photo crops in
  poster shape; see ``postergenre/training/nonposters.py``).

Each detector's score is turned into the share of real ``val`` posters that score as far or farther
from "poster" (1 = as poster-like as they come, 0.01 = only 1% of real posters look less like one);
``poster_score`` is the lower of the two, and an image is flagged when it is below ``threshold``,
chosen so that about 1.5% of val posters are flagged. What it cannot catch: a poster that is a plain
photograph may look like a photo, and an image that looks like a poster but is not one (a book
cover, an album sleeve, a flyer) passes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from postergenre.model.weights import POSTER_CHECK_FILE

__all__ = ["PosterCheck", "fit_poster_check", "fit_layout_check", "refresh_reference", "layout_features", "LAYOUT_FEATURES"]

# what the text detector's regions say about the layout (a poster's title is large; a page's lines are many)
LAYOUT_FEATURES = ("image evidence: log of the image detectors' poster score",
                   "tallest text region's height / image height",
                   "log(1 + number of text regions)",
                   "text regions' area / image area",
                   "a region at least 4% of the image's height (a title)")


def layout_features(image_score: np.ndarray, regions: Sequence[Sequence[np.ndarray]] | None,
                    sizes: Sequence[tuple[int, int]]) -> np.ndarray:
    """N x 5 features of the combined check (``LAYOUT_FEATURES``): the image detectors' poster score and
    the layout of the text regions the OCR detector found (4 x 2 corner points each, in pixels of an
    image of ``sizes[i]`` = (width, height))."""
    out = np.zeros((len(image_score), len(LAYOUT_FEATURES)), dtype=np.float64)
    out[:, 0] = np.log(np.maximum(np.asarray(image_score, dtype=np.float64), 1e-4))
    for i, boxes in enumerate(regions or []):
        w, h = sizes[i]
        if not boxes or not w or not h:
            continue
        pts = np.asarray(boxes, dtype=np.float64).reshape(len(boxes), 4, 2)
        side_a = np.linalg.norm(pts[:, 1] - pts[:, 0], axis=1)   # along the line
        side_b = np.linalg.norm(pts[:, 3] - pts[:, 0], axis=1)   # across it: the text's height
        heights = np.minimum(side_a, side_b)
        out[i, 1] = min(float(heights.max()) / h, 0.5)
        out[i, 2] = np.log1p(len(boxes))
        out[i, 3] = min(float((side_a * side_b).sum()) / (w * h), 1.0)
        out[i, 4] = float(heights.max() / h >= 0.04)
    return out


@dataclass
class PosterCheck:
    mean: np.ndarray          # D, feature mean of the training posters
    scale: np.ndarray         # D, feature std of the training posters (+ 1e-3)
    components: np.ndarray    # K x D principal axes
    variance: np.ndarray      # K, variance along each axis (whitening)
    coef: np.ndarray          # K, logistic regression weights (non-poster = positive)
    intercept: float
    val_distance: np.ndarray  # sorted detector scores of the val posters (reference distributions)
    val_classifier: np.ndarray
    threshold: float          # flag when poster_score < threshold (image alone: no text read)
    # the combined check, used when the poster's text regions are known: a logistic regression on
    # ``layout_features`` (non-poster = positive), its val-poster reference scores and threshold
    layout_coef: np.ndarray | None = None
    layout_intercept: float = 0.0
    val_layout: np.ndarray | None = None
    layout_threshold: float | None = None

    def _whiten(self, feats: np.ndarray) -> np.ndarray:
        z = (np.atleast_2d(np.asarray(feats, dtype=np.float32)) - self.mean) / self.scale
        return (z @ self.components.T) / np.sqrt(self.variance)

    def raw_scores(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(Mahalanobis distance, classifier logit) per row of N x D features; higher = less poster-like."""
        w = self._whiten(feats)
        return np.sqrt((w ** 2).sum(1)), w @ self.coef + self.intercept

    def score(self, feats: np.ndarray) -> np.ndarray:
        """poster_score in [0, 1] per row: the lower of the two detectors' val-poster tail shares."""
        dist, logit = self.raw_scores(feats)
        return np.minimum(_tail(self.val_distance, dist), _tail(self.val_classifier, logit))

    @property
    def reads_layout(self) -> bool:
        return self.layout_coef is not None and self.val_layout is not None and self.layout_threshold is not None

    def layout_logit(self, image_score: np.ndarray, regions, sizes) -> np.ndarray:
        """The combined check's raw score per image (higher = less poster-like)."""
        return layout_features(image_score, regions, sizes) @ self.layout_coef + self.layout_intercept

    def looks_like_poster(self, feats: np.ndarray, regions: Sequence | None = None,
                          sizes: Sequence[tuple[int, int]] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(bool flags, poster scores) per row of N x D features. With ``regions`` (per image, the text
        regions the OCR detector found, or None where the text was not read) and ``sizes``, the images
        whose text was read are judged by the combined check (image + text layout), the others by the
        image detectors alone."""
        s = self.score(feats)
        flags = s >= self.threshold
        if regions is None or not self.reads_layout:
            return flags, s
        rows = [i for i, r in enumerate(regions) if r is not None]
        if rows:
            z = self.layout_logit(s[rows], [regions[i] for i in rows], [sizes[i] for i in rows])
            combined = _tail(self.val_layout, z)
            s, flags = s.copy(), flags.copy()
            s[rows], flags[rows] = combined, combined >= self.layout_threshold
        return flags, s

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / POSTER_CHECK_FILE
        layout = {} if not self.reads_layout else {
            "layout_coef": self.layout_coef, "layout_intercept": np.float64(self.layout_intercept),
            "val_layout": self.val_layout, "layout_threshold": np.float64(self.layout_threshold)}
        np.savez_compressed(path, mean=self.mean, scale=self.scale, components=self.components.astype(np.float32),
                            variance=self.variance, coef=self.coef, intercept=np.float64(self.intercept),
                            val_distance=self.val_distance, val_classifier=self.val_classifier,
                            threshold=np.float64(self.threshold), **layout)
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "PosterCheck | None":
        """The check stored in a weights folder, or None for weights from before it existed."""
        path = Path(folder) / POSTER_CHECK_FILE
        if not path.is_file():
            return None
        with np.load(path) as z:
            layout = {} if "layout_coef" not in z.files else {
                "layout_coef": z["layout_coef"], "layout_intercept": float(z["layout_intercept"]),
                "val_layout": z["val_layout"], "layout_threshold": float(z["layout_threshold"])}
            return cls(z["mean"], z["scale"], z["components"], z["variance"], z["coef"], float(z["intercept"]),
                       z["val_distance"], z["val_classifier"], float(z["threshold"]), **layout)


def _tail(sorted_ref: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Share of the reference values that are >= x (with half of the ties), in [0, 1]."""
    n = len(sorted_ref)
    lo = np.searchsorted(sorted_ref, x, side="left")
    hi = np.searchsorted(sorted_ref, x, side="right")
    return (n - (lo + hi) / 2) / n


def fit_poster_check(train_feats: np.ndarray, val_feats: np.ndarray, nonposter_feats: np.ndarray, *,
                     components: int = 64, C: float = 0.1, val_flag_rate: float = 0.015,
                     seed: int = 0) -> PosterCheck:
    """Fit on training posters (N x D) and non-posters (M x D); set the threshold on val posters."""
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression

    x = np.asarray(train_feats, dtype=np.float32)
    mean, scale = x.mean(0), x.std(0) + 1e-3
    pca = PCA(components, random_state=seed, svd_solver="randomized").fit((x - mean) / scale)
    check = PosterCheck(mean, scale, pca.components_.astype(np.float32), pca.explained_variance_.astype(np.float32),
                        np.zeros(components, np.float32), 0.0, np.zeros(1), np.zeros(1), 0.0)
    pos, neg = check._whiten(x), check._whiten(nonposter_feats)
    clf = LogisticRegression(C=C, class_weight="balanced", max_iter=5000).fit(
        np.concatenate([pos, neg]), np.r_[np.zeros(len(pos)), np.ones(len(neg))])
    check.coef, check.intercept = clf.coef_[0].astype(np.float32), float(clf.intercept_[0])
    return refresh_reference(check, val_feats, val_flag_rate)


def refresh_reference(check: PosterCheck, val_feats: np.ndarray, val_flag_rate: float = 0.015) -> PosterCheck:
    """Set the detectors' val-poster reference distributions and the threshold (``val_flag_rate`` of the
    val posters flagged) from ``val_feats`` (N x D)."""
    dist, logit = check.raw_scores(val_feats)
    check.val_distance, check.val_classifier = np.sort(dist), np.sort(logit)
    check.threshold = float(np.quantile(check.score(val_feats), val_flag_rate))
    return check


def fit_layout_check(check: PosterCheck, pos: tuple, neg: tuple, val: tuple, *, C: float = 10.0,
                     pos_weight: np.ndarray | None = None, val_flag_rate: float = 0.015) -> PosterCheck:
    """Fit the combined check on ``check``: a logistic regression on ``layout_features`` of posters
    (``pos``) vs non-posters (``neg``), each a tuple (N x D backbone features, text regions per image,
    image sizes); ``pos_weight``: per poster (default 1; the non-posters together weigh as many as
    the posters count); the threshold flags ``val_flag_rate`` of the val posters (``val``, same form)."""
    from sklearn.linear_model import LogisticRegression

    def feats(part: tuple) -> np.ndarray:
        f, regions, sizes = part
        return layout_features(check.score(f), regions, sizes)

    x = np.concatenate([feats(pos), feats(neg)])
    y = np.r_[np.zeros(len(pos[0])), np.ones(len(neg[0]))]
    w_pos = np.ones(len(pos[0])) if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)
    weights = np.r_[w_pos, np.full(len(neg[0]), len(pos[0]) / len(neg[0]))]
    clf = LogisticRegression(C=C, max_iter=5000).fit(x, y, sample_weight=weights)
    check.layout_coef, check.layout_intercept = clf.coef_[0].astype(np.float64), float(clf.intercept_[0])
    z_val = check.layout_logit(check.score(val[0]), val[1], val[2])
    check.val_layout = np.sort(z_val)
    check.layout_threshold = float(np.quantile(_tail(check.val_layout, z_val), val_flag_rate))
    return check
