"""The vector a poster is searched by, computed from the backbone features the prediction already made.

Candidates (all L2-normalised, poster and mirror view averaged, so a poster and its mirror image get the
same vector): ``hidden`` - the genre head's hidden layer (ReLU units of every ensemble member, 768
numbers), ``backbone`` - the standardised backbone features (4192), ``logits`` - the 17 genre logits.
``benchmarks/catalog_embedding.py`` measures on val how many of a poster's 10 nearest neighbours'
genres the poster has; the winner is ``DEFAULT_EMBEDDING`` (figures in docs/catalog.md).
"""
from __future__ import annotations

import numpy as np

__all__ = ["EMBEDDINGS", "DEFAULT_EMBEDDING", "embed_features"]

EMBEDDINGS = ("hidden", "backbone", "logits")
DEFAULT_EMBEDDING = "hidden"


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)).astype(np.float32)


def embed_features(feats: np.ndarray, params: dict[str, np.ndarray], kind: str = DEFAULT_EMBEDDING) -> np.ndarray:
    """N x V x D backbone features (V views: poster, mirror) -> N x E unit vectors of ``kind``."""
    from threadpoolctl import threadpool_limits

    n, v, d = feats.shape
    z = (feats.reshape(n * v, d).astype(np.float32) - params["mu"]) / params["sigma"]
    with threadpool_limits(1, user_api="blas"):
        if kind == "backbone":
            out = z
        elif kind == "hidden":
            out = np.concatenate([np.maximum(z @ params["w1"][k] + params["b1"][k], 0.0)
                                  for k in range(len(params["w1"]))], axis=1)
        elif kind == "logits":
            from postergenre.model.predictor import head_logits

            out = head_logits(params, feats.reshape(n * v, d))
        else:
            raise ValueError(f"unknown embedding {kind!r}; use one of {', '.join(EMBEDDINGS)}")
    return _normalise(out.reshape(n, v, -1).mean(axis=1))
