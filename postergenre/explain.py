"""Why the model thinks so: Grad-CAM heatmaps over the poster, one per genre.

Built on pytorch-grad-cam (``grad-cam`` on PyPI): ``GradCAM`` owns the hooks on the backbone's last
convolution (``model.target_layer``) and is used as a context manager so they are released; the
targets are the library's tiny ``ClassifierOutputTarget(j)`` callables, which pick column ``j`` of
the model's output: the sigmoid head's *logit* for one genre (not its probability, which saturates).
All requested genres share one forward pass: the poster is batched once per genre and each row's
target is its genre.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .images import ImageSource, load_image

__all__ = ["Heatmap", "COLORMAPS", "explain", "overlay"]

# GradCAM hooks the one shared PyTorch model: two threads (app sessions, API requests) explaining at
# once would read each other's activations, so one explanation runs at a time.
_HOOK_LOCK = threading.Lock()

# OpenCV's colour maps usable in overlay(): low evidence first, high evidence last.
COLORMAPS = ("jet", "turbo", "inferno", "magma", "plasma", "viridis", "hot")


@dataclass
class Heatmap:
    genre: str
    probability: float   # the model's probability for this genre (flip-TTA, as in predict())
    cam: np.ndarray      # H x W float32 in [0, 1], at the poster's own size (1 = most evidence)

    def overlay(self, image: ImageSource, alpha: float = 0.5, colormap: str = "jet") -> Image.Image:
        return overlay(image, self.cam, alpha, colormap)


def explain(predictor, image: ImageSource, genres: list[str] | None = None, top_k: int = 3) -> list[Heatmap]:
    """Grad-CAM heatmaps for ``genres`` (names; default: the ``top_k`` most probable) on one poster.

    Returns one ``Heatmap`` per genre, in the order asked (or by probability). Raises ImageLoadError
    for a bad image and UnknownGenreError for a genre the model does not predict.
    """
    import torch
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    img = load_image(image)
    probs = predictor.predict_proba([img])[0]
    if genres:
        cols = [predictor.genre_index(g) for g in genres]
    else:
        cols = [int(c) for c in np.argsort(-probs)[: max(1, top_k)]]
    arr = predictor.preprocess(img)                                  # H x W x 3 uint8 at the model's size
    model = predictor.torch_model()
    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float()[None].to(device)
    x = x.repeat(len(cols), 1, 1, 1).requires_grad_(True)            # one row per genre, one forward;
    # the weights are frozen, so the input must ask for gradients for the activations to get them
    with _HOOK_LOCK, GradCAM(model=model, target_layers=[model.target_layer]) as cam:
        maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in cols])  # N x h x w in [0, 1]
    return [Heatmap(predictor.genres[c], float(probs[c]), _resize_cam(m, img.size)) for c, m in zip(cols, maps)]


def _resize_cam(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A heatmap resized (bilinear) to ``size`` = (width, height), as float32 in [0, 1]."""
    cam = np.clip(np.asarray(cam, np.float32), 0.0, 1.0)
    if cam.shape == (size[1], size[0]):
        return cam
    return np.asarray(Image.fromarray(cam).resize(size, Image.BILINEAR), np.float32).clip(0.0, 1.0)


def _colorize(cam: np.ndarray, colormap: str) -> np.ndarray:
    """H x W values in [0, 1] -> H x W x 3 uint8 RGB through one of OpenCV's colour maps."""
    import cv2

    if colormap not in COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}; choose one of {', '.join(COLORMAPS)}")
    bgr = cv2.applyColorMap(np.round(cam * 255).astype(np.uint8), getattr(cv2, f"COLORMAP_{colormap.upper()}"))
    return bgr[..., ::-1]


def overlay(image: ImageSource, cam: np.ndarray, alpha: float = 0.5, colormap: str = "jet") -> Image.Image:
    """The poster with the heatmap blended on top (``alpha`` 0 = poster only, 1 = heatmap only).

    The heatmap is resized to the poster when needed. Each pixel's opacity also grows with its
    evidence, so the regions a genre ignores keep the poster's own colours.
    """
    img = load_image(image)
    cam = _resize_cam(cam, img.size)
    heat = _colorize(cam, colormap).astype(np.float32)
    a = float(np.clip(alpha, 0.0, 1.0)) * np.clip(cam * 1.5, 0.0, 1.0)[..., None]
    blended = np.asarray(img, np.float32) * (1 - a) + heat * a
    return Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8), "RGB")
