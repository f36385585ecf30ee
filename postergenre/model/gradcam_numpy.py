"""Grad-CAM in NumPy from the ONNX graph's last-convolution activations (no torch, no autograd).

The genre logit depends on the last convolution's output ``A`` (the backbone's ``_bn1``, the layer
pytorch-grad-cam hooks in the PyTorch twin) only through ReLU6, the mean and max pooling of the
``head`` tap and the MLP head, so ``d logit / dA`` is written out by hand:
  head:      d logit_g / d feature = mean over members of (W2[:, g] * [hidden > 0]) @ W1.T / sigma
  mean pool: each position gets the pooled gradient / (h * w)
  max pool:  the arg-max position(s) get it (shared evenly among ties, as torch's amax does)
  ReLU6:     passes the gradient where 0 < A < 6
Then Grad-CAM as ``pytorch_grad_cam.GradCAM`` computes it: channel weights = spatial mean of the
gradient, ReLU of the weighted sum of the channels, scaled to [0, 1] per map, resized to the input,
and scaled again (its single-layer aggregation). tests/test_gradcam_numpy.py checks the result
against pytorch-grad-cam on the twin.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = ["head_feature_gradients", "gradcam_maps", "scale_cams"]

RELU6 = (0.0, 6.0)  # EfficientNet-Lite's activation after the last convolution (ReLU6)


def head_feature_gradients(params: dict[str, np.ndarray], feats: np.ndarray, cols: Sequence[int]) -> np.ndarray:
    """d logit_c / d features of one poster's feature row (D,), for each column c: len(cols) x D."""
    z = (feats.astype(np.float64) - params["mu"]) / params["sigma"]
    w1, b1, w2 = params["w1"], params["b1"], params["w2"]  # K x D x H, K x H, K x H x G
    grads = np.zeros((len(cols), z.shape[-1]))
    for k in range(len(w1)):
        active = (z @ w1[k] + b1[k]) > 0                             # the ReLU's gate, H
        grads += (w2[k][:, list(cols)].T * active) @ w1[k].T.astype(np.float64)
    return grads / len(w1) / params["sigma"]


def gradcam_maps(acts: np.ndarray, feature_grads: np.ndarray, pooling: Sequence[str] = ("mean", "max")) -> np.ndarray:
    """Raw Grad-CAM maps (G x h x w, ReLU applied) from the last convolution's activations ``acts``
    (C x h x w, before ReLU6) and ``feature_grads`` (G x D; the last C * len(pooling) features are
    that layer's pooled outputs, in ``pooling`` order)."""
    c, h, w = acts.shape
    a = acts.reshape(c, h * w).astype(np.float64)
    s = np.clip(a, *RELU6)
    tail = feature_grads[:, feature_grads.shape[1] - c * len(pooling):]
    grad_s = np.zeros((len(feature_grads), c, h * w))
    for i, kind in enumerate(pooling):
        g = tail[:, i * c:(i + 1) * c, None]                        # G x C x 1
        if kind == "mean":
            grad_s += g / (h * w)
        else:
            at_max = s == s.max(axis=1, keepdims=True)
            grad_s += g * (at_max / at_max.sum(axis=1, keepdims=True))
    grad_a = grad_s * ((a > RELU6[0]) & (a < RELU6[1]))            # ReLU6's backward
    weights = grad_a.mean(axis=2)                                  # G x C
    # float64 throughout: a map is a sum of ~1000 terms that mostly cancel, so float32 rounding
    # alone would move a faint map by ~1e-3 once it is scaled to [0, 1]
    cams = np.einsum("gc,chw->ghw", weights, acts.astype(np.float64))
    return np.maximum(cams, 0.0)


def scale_cams(cams: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Each map to [0, 1], resized to ``size`` = (width, height), scaled again: pytorch-grad-cam's
    ``scale_cam_image`` + single-layer ``aggregate_multi_layers``."""
    import cv2

    out = []
    for cam in cams:
        cam = cam - cam.min()
        cam = cv2.resize(cam / (1e-7 + cam.max()), size)
        cam = np.maximum(cam, 0.0)
        cam = cam - cam.min()
        out.append(cam / (1e-7 + cam.max()))
    return np.asarray(out, np.float32)
