""""Is this a poster?": how much an image's backbone features look like the training posters'.

It reuses the features the genre head already gets (mean of the poster and its mirror), so it costs
no second forward pass. Two detectors on the whitened top-64 principal components of the training
posters' features:

- ``distance``: Mahalanobis distance to the training posters (one-class: needs no non-posters, so it
  also catches kinds of images nobody thought of);
- ``classifier``: logistic regression, training posters vs. a generated set of non-posters (noise,
  flat colours, gradients, patterns, documents, charts, screenshots, photographs and photo crops in
  poster shape; see ``_nonposters.py``).

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

import numpy as np

from postergenre.model.weights import POSTER_CHECK_FILE

__all__ = ["PosterCheck", "fit_poster_check"]


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
    threshold: float          # flag when poster_score < threshold

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

    def looks_like_poster(self, feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bool flags, poster scores) per row of N x D features."""
        s = self.score(feats)
        return s >= self.threshold, s

    def save(self, folder: str | Path) -> Path:
        path = Path(folder) / POSTER_CHECK_FILE
        np.savez_compressed(path, mean=self.mean, scale=self.scale, components=self.components.astype(np.float32),
                            variance=self.variance, coef=self.coef, intercept=np.float64(self.intercept),
                            val_distance=self.val_distance, val_classifier=self.val_classifier,
                            threshold=np.float64(self.threshold))
        return path

    @classmethod
    def load(cls, folder: str | Path) -> "PosterCheck | None":
        """The check stored in a weights folder, or None for weights from before it existed."""
        path = Path(folder) / POSTER_CHECK_FILE
        if not path.is_file():
            return None
        with np.load(path) as z:
            return cls(z["mean"], z["scale"], z["components"], z["variance"], z["coef"], float(z["intercept"]),
                       z["val_distance"], z["val_classifier"], float(z["threshold"]))


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
    dist, logit = check.raw_scores(val_feats)
    check.val_distance, check.val_classifier = np.sort(dist), np.sort(logit)
    val_scores = check.score(val_feats)
    check.threshold = float(np.quantile(val_scores, val_flag_rate))
    return check
