"""The vector a poster is searched by, computed from the backbone features the prediction already made.

Candidates (all L2-normalised, poster and mirror view averaged, so a poster and its mirror image get the
same vector): ``hidden`` - the genre head's hidden layer (ReLU units of every ensemble member, 768
numbers), ``backbone`` - the standardised backbone features (4192), ``logits`` - the 17 genre logits.
``benchmarks/catalog_embedding.py`` measures on val how many of a poster's 10 nearest neighbours'
genres the poster has; the winner is ``DEFAULT_EMBEDDING`` (figures in docs/catalog.md).
"""
from __future__ import annotations

import numpy as np

from postergenre.model.head import Head, average_views

__all__ = ["EMBEDDINGS", "DEFAULT_EMBEDDING", "embed_features"]

EMBEDDINGS = ("hidden", "backbone", "logits")
DEFAULT_EMBEDDING = "hidden"


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def embed_features(feats: np.ndarray, head: Head, kind: str = DEFAULT_EMBEDDING) -> np.ndarray:
    """N x V x D backbone features (V views: poster, mirror) -> N x E unit vectors of ``kind``."""
    n, v, d = feats.shape
    rows = np.asarray(feats, dtype=np.float32).reshape(n * v, d)
    if kind == "backbone":
        out = head.standardise(rows)
    elif kind == "hidden":
        out = head.hidden(rows)
    elif kind == "logits":
        out = head.logits(rows)
    else:
        raise ValueError(f"unknown embedding {kind!r}; use one of {', '.join(EMBEDDINGS)}")
    return _normalise(average_views(out, n))
