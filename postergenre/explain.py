"""Why the model thinks so: Grad-CAM heatmaps over the poster, one per genre.

Built on pytorch-grad-cam (``grad-cam`` on PyPI): ``GradCAM`` owns the hooks on the backbone's last
convolution (``model.target_layer``) and is used as a context manager so they are released; the
targets are tiny callables that pick one genre's *logit* of the sigmoid head. All requested genres
share one forward pass: the poster is batched once per genre and each row's target is its genre.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from PIL import Image

from .images import ImageSource, load_image

__all__ = ["Heatmap", "GenreLogit", "explain", "overlay"]

# GradCAM hooks the one shared PyTorch model: two threads (app sessions, API requests) explaining at
# once would read each other's activations, so one explanation runs at a time.
_HOOK_LOCK = threading.Lock()


@dataclass
class Heatmap:
    genre: str
    probability: float   # the model's probability for this genre (flip-TTA, as in predict())
    cam: np.ndarray      # H x W float32 in [0, 1], at the poster's own size (1 = most evidence)

    def overlay(self, image: Image.Image, alpha: float = 0.5) -> Image.Image:
        return overlay(image, self.cam, alpha)


class GenreLogit:
    """Grad-CAM target: the head's logit for one genre column (not the sigmoid, which saturates)."""

    def __init__(self, index: int):
        self.index = index

    def __call__(self, output):
        return output[..., self.index]


def explain(predictor, image: ImageSource, genres: list[str] | None = None, top_k: int = 3) -> list[Heatmap]:
    """Grad-CAM heatmaps for ``genres`` (names; default: the ``top_k`` most probable) on one poster.

    Returns one ``Heatmap`` per genre, in the order asked (or by probability). Raises ImageLoadError
    for a bad image and UnknownGenreError for a genre the model does not predict.
    """
    import torch
    from pytorch_grad_cam import GradCAM

    img = load_image(image)
    probs = predictor.predict_proba([img])[0]
    if genres:
        cols = [predictor.genre_index(g) for g in genres]
    else:
        cols = list(np.argsort(-probs)[: max(1, top_k)])
    arr = predictor.preprocess(img)                                  # H x W x 3 uint8 at the model's size
    model = predictor.torch_model()
    device = next(model.parameters()).device
    x = torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).float()[None].to(device)
    x = x.repeat(len(cols), 1, 1, 1).requires_grad_(True)            # one row per genre, one forward;
    # the weights are frozen, so the input must ask for gradients for the activations to get them
    with _HOOK_LOCK, GradCAM(model=model, target_layers=[model.target_layer]) as cam:
        maps = cam(input_tensor=x, targets=[GenreLogit(int(c)) for c in cols])  # N x h x w in [0, 1]
    out = []
    for c, m in zip(cols, maps):
        resized = Image.fromarray(np.clip(m * 255, 0, 255).astype(np.uint8)).resize(img.size, Image.BILINEAR)
        out.append(Heatmap(predictor.genres[int(c)], float(probs[int(c)]), np.asarray(resized, np.float32) / 255.0))
    return out


def _jet(v: np.ndarray) -> np.ndarray:
    """The 'jet' colour map (blue -> cyan -> yellow -> red) for values in [0, 1], as uint8 RGB."""
    r = np.clip(1.5 - np.abs(4 * v - 3), 0, 1)
    g = np.clip(1.5 - np.abs(4 * v - 2), 0, 1)
    b = np.clip(1.5 - np.abs(4 * v - 1), 0, 1)
    return (np.stack([r, g, b], axis=-1) * 255).astype(np.uint8)


def overlay(image: ImageSource, cam: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """The poster with the heatmap blended on top (``alpha`` 0 = poster only, 1 = heatmap only)."""
    img = load_image(image)
    if cam.shape != (img.height, img.width):
        cam = np.asarray(Image.fromarray((np.clip(cam, 0, 1) * 255).astype(np.uint8)).resize(img.size, Image.BILINEAR),
                         np.float32) / 255.0
    heat = _jet(np.clip(cam, 0, 1))
    # per-pixel opacity grows with the evidence, so regions the genre ignores keep the poster's colours
    a = float(np.clip(alpha, 0.0, 1.0)) * np.clip(cam * 1.5, 0, 1)[..., None]
    blended = np.asarray(img, np.float32) * (1 - a) + heat.astype(np.float32) * a
    return Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8), "RGB")
