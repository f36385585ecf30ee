"""The genre head: standardise -> Linear -> ReLU -> Linear, K ensemble members averaged in logit space.

One object owns every piece of the head's maths that serving needs, so a change to the head is made
here once: the logits, the hidden layer (the catalog's similarity embedding), and the gradient of a
genre's logit with respect to the backbone features (what Grad-CAM back-propagates into the map).
Arrays come from ``weights/head.npz``:  mu, sigma (D), w1 (K x D x H), b1 (K x H), w2 (K x H x G), b2 (K x G).

``average_views`` is the one place where a poster's views (the poster and, with flip-TTA, its mirror
image) are averaged: rows are laid out poster-major (poster 0 view 0, poster 0 view 1, poster 1 ...).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

__all__ = ["Head", "average_views", "sigmoid"]

HEAD_ARRAYS = ("mu", "sigma", "w1", "b1", "w2", "b2")


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60, 60)))


def average_views(x: np.ndarray, n: int) -> np.ndarray:
    """(N*V) x ... rows of ``n`` posters' V views (poster-major) -> N x ... averaged over the views."""
    x = np.asarray(x)
    return x.reshape(n, len(x) // n, *x.shape[1:]).mean(axis=1)


class Head:
    """The MLP ensemble in NumPy. ``arrays``: the head.npz arrays (see the module docstring)."""

    def __init__(self, arrays: Mapping[str, np.ndarray]):
        missing = [k for k in HEAD_ARRAYS if k not in arrays]
        if missing:
            raise KeyError(f"head arrays missing: {', '.join(missing)}")
        self.arrays = {k: np.asarray(arrays[k]) for k in HEAD_ARRAYS}
        self.mu, self.sigma = self.arrays["mu"], self.arrays["sigma"]
        self.w1, self.b1, self.w2, self.b2 = (self.arrays[k] for k in ("w1", "b1", "w2", "b2"))

    @property
    def feature_dim(self) -> int:
        return int(self.mu.shape[-1])

    @property
    def members(self) -> int:
        return int(len(self.w1))

    def standardise(self, feats: np.ndarray) -> np.ndarray:
        return (np.asarray(feats, dtype=np.float32) - self.mu) / self.sigma

    def logits(self, feats: np.ndarray) -> np.ndarray:
        """N x D backbone features -> N x G logits (mean over the members)."""
        z = self.standardise(feats)
        out = np.zeros((len(z), self.w2.shape[-1]), dtype=np.float32)
        # a few small matmuls: BLAS threads cost more in wake-ups than they save
        with threadpool_limits(1, user_api="blas"):
            for k in range(self.members):
                out += np.maximum(z @ self.w1[k] + self.b1[k], 0.0) @ self.w2[k] + self.b2[k]
        return out / self.members

    def view_logits(self, feats: np.ndarray) -> np.ndarray:
        """N x V x D features (V views of each poster, e.g. a feature cache) -> N x G logits, views
        averaged exactly as the predictor does."""
        feats = np.asarray(feats, dtype=np.float32)
        n, v, d = feats.shape
        return average_views(self.logits(feats.reshape(n * v, d)), n)

    def hidden(self, feats: np.ndarray) -> np.ndarray:
        """N x D features -> N x (K*H) hidden activations (every member's ReLU units, concatenated)."""
        z = self.standardise(feats)
        with threadpool_limits(1, user_api="blas"):
            return np.concatenate([np.maximum(z @ self.w1[k] + self.b1[k], 0.0) for k in range(self.members)], axis=1)

    def feature_gradients(self, feats: np.ndarray, cols: Sequence[int]) -> np.ndarray:
        """d logit_c / d features at one poster's feature row (D,), for each column c: len(cols) x D
        (float64: Grad-CAM sums many mostly cancelling terms of these). One BLAS thread, as ``logits``:
        measured 23 ms instead of 140 ms for three genres on a busy 2-core CPU."""
        z = (np.asarray(feats, dtype=np.float64) - self.mu) / self.sigma
        grads = np.zeros((len(cols), z.shape[-1]))
        with threadpool_limits(1, user_api="blas"):
            for k in range(self.members):
                active = (z @ self.w1[k] + self.b1[k]) > 0                       # the ReLU's gate, H
                grads += (self.w2[k][:, list(cols)].T * active) @ self.w1[k].T.astype(np.float64)
        return grads / self.members / self.sigma
