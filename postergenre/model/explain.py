"""Why the model thinks so: Grad-CAM heatmaps over the poster, one per genre.

An ``Explainer`` belongs to one Predictor (``predictor.explainer``) and owns what Grad-CAM needs, the
way pytorch-grad-cam's ``BaseCAM`` owns its hooks: the one lock (one explanation at a time, since
hooks and the shared model's state must not interleave), the choice of genres and the resizing to
the poster. Its variants override ``_cams``:
- ``NumpyExplainer`` (CPU, ONNX Runtime): the backbone graph also outputs the last convolution's
  activations, and the gradient from there to the genre logit is a few lines of NumPy (the head's
  ``feature_gradients``, then ``gradcam_maps`` below); one forward pass gives the probabilities and
  every requested heatmap, and torch is never imported.
- ``TorchExplainer`` (CUDA, or ``backend='torch'``): ``pytorch_grad_cam.GradCAM`` on the PyTorch twin
  of the model, which it builds (once, under the lock) and can warm up in the background. It is
  also the oracle the NumPy variant is tested against.
The targets are genre *logits* (not probabilities, which saturate).

NumPy Grad-CAM from the ONNX graph's last-convolution activations: the genre logit depends on the
last convolution's output ``A`` (the backbone's ``_bn1``, the layer pytorch-grad-cam hooks in the
PyTorch twin) only through ReLU6, the mean and max pooling of the ``head`` tap and the MLP head, so
``d logit / dA`` is written out by hand:
  head:      d logit_g / d feature = ``Head.feature_gradients``
  mean pool: each position gets the pooled gradient / (h * w)
  max pool:  the arg-max position(s) get it (shared evenly among ties, as torch's amax does)
  ReLU6:     passes the gradient where 0 < A < 6
Then Grad-CAM as ``pytorch_grad_cam.GradCAM`` computes it: channel weights = spatial mean of the
gradient, ReLU of the weighted sum of the channels, scaled to [0, 1] per map, resized to the input,
and scaled again (its single-layer aggregation). tests/test_gradcam_numpy.py checks the result
against pytorch-grad-cam on the twin.

Each map is relative: scaled to its own strongest area, it shows *where* a genre's evidence is, not how
much there is. Grad-CAM's raw values do not compare across genres here: a genre the head weighs with
large weights (a rare one) gets large positive and negative evidence alike, so on 25 dataset posters
the strongest positive evidence of all 17 genres belonged to a genre under 5% on 13 of them (Animation,
Western, Music...) and to the most probable genre on 3; a shared scale would have drawn the likely
genres faint. The genre's probability says how likely it is; its map says where the picture says it.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np
from PIL import Image

from postergenre.model.backbone import content_box, to_nchw
from postergenre.sources.images import ImageSource, load_image

if TYPE_CHECKING:
    from postergenre.model.predictor import Prediction, Predictor

__all__ = ["Heatmap", "ContrastMap", "COLORMAPS", "Explainer", "NumpyExplainer", "TorchExplainer",
           "make_explainer", "explain", "overlay", "gradcam_evidence", "gradcam_maps", "scale_cams"]

# OpenCV's colour maps usable in overlay(): low evidence first, high evidence last.
COLORMAPS = ("jet", "turbo", "inferno", "magma", "plasma", "viridis", "hot")
# overlay(): a map value under TINT_FLOOR leaves the poster untinted (what the captions promise); the
# tint's opacity grows to full at TINT_FULL
TINT_FLOOR, TINT_FULL = 0.1, 0.6


@dataclass
class Heatmap:
    genre: str
    probability: float   # the model's probability for this genre (flip-TTA, as in predict())
    cam: np.ndarray      # H x W float32 in [0, 1], at the poster's own size (1 = this genre's most evidence)

    def overlay(self, image: ImageSource, alpha: float = 0.5, colormap: str = "jet") -> Image.Image:
        return overlay(image, self.cam, alpha, colormap)


@dataclass
class ContrastMap:
    genre: str
    against: str | None    # None: the genre's own map; else where the poster says ``genre`` rather than this
    evidence: np.ndarray   # h x w Grad-CAM evidence before ReLU, on the last convolution's grid (float64)
    cam: np.ndarray        # H x W float32 in [0, 1] at the poster's own size (ReLU, scaled as explain()'s maps)


class Explainer:
    """Grad-CAM for one Predictor: genre choice, the lock, resizing. Subclasses implement ``_cams``."""

    def __init__(self, predictor: "Predictor"):
        self.predictor = predictor
        self.lock = threading.Lock()  # the one lock: model build and every explanation

    def explain(self, image: ImageSource, genres: Sequence[str] | None = None, top_k: int = 3,
                text: bool | Sequence[str] | None = None, prediction: "Prediction | None" = None) -> list[Heatmap]:
        """Heatmaps for ``genres`` (names; default: the ``top_k`` most probable) on one poster, in the
        order asked (or by probability). Each heatmap's probability is the model's, as ``predict()``
        gives it (image fused with the poster's text when the text channel is on); ``text``: the
        poster's text lines already read (``prediction.text``), so they are not read again; ``False``: the
        image alone (its own calibration, as ``predict(text=False)``); None: read when the model can. The map is
        Grad-CAM of the *image* logit: the fusion scales it by a positive per-genre weight and adds the
        text term, which does not depend on the pixels' gradient, so the map is the same.
        ``prediction``: this poster's ``predict()`` result when the caller has it (the Predict page, the
        API): its probabilities and text are used as they are, so no prediction is computed again and
        only the view Grad-CAM needs is run (one forward of the poster, not the two of flip-TTA).
        ImageLoadError for a bad image, UnknownGenreError for a genre the model does not predict
        (both before any model work)."""
        p = self.predictor
        img = load_image(image)
        cols = [p.genre_index(g) for g in genres] if genres else None
        probs = None if prediction is None else np.array([prediction.probabilities[g] for g in p.genres])
        if prediction is not None:  # no OCR either: the prediction's probabilities already hold its text
            arr, lines = p.preprocess(img), prediction.text
        else:
            read = text if isinstance(text, bool) or text is None else True
            known = None if isinstance(text, bool) or text is None else list(text)
            arr, reading = p.prepare(img, text=read, known_text=known)  # model-size uint8; OCR
            lines = None if reading is None else list(reading.lines or [])
        with self.lock:
            probs, cols, cams = self._cams(arr, lines, cols, max(1, top_k), probs)
        return [Heatmap(p.genres[c], float(probs[c]), _poster_cam(m, img, p.preprocessing)) for c, m in zip(cols, cams)]

    def contrasts(self, image: ImageSource, pairs: Sequence[tuple[str, str | None]]) -> list[ContrastMap]:
        """For each (genre, against) pair, Grad-CAM of ``genre``'s logit minus ``against``'s (``against``
        None: the genre's own map), all from one forward pass of the poster: where it pushes towards
        ``genre`` rather than ``against``. The logits are the model's fused ones, whose pixel gradient is
        the image logit's times the genre's fusion weight (the text term does not depend on the pixels),
        so a pair's ``evidence`` (before ReLU) is the difference of the two genres' own evidence; its
        ``cam`` is ReLU'd and scaled like ``explain()``'s maps (a genre's own ``cam`` is its heatmap).
        UnknownGenreError before any model work."""
        p = self.predictor
        img = load_image(image)
        weights = np.zeros((len(pairs), len(p.genres)))
        scale = self._logit_scale()
        names = []
        for i, (genre, against) in enumerate(pairs):
            j = p.genre_index(genre)
            weights[i, j] += scale[j]
            k = None if against is None else p.genre_index(against)
            if k is not None:
                weights[i, k] -= scale[k]
            names.append((p.genres[j], None if k is None else p.genres[k]))
        arr = p.preprocess(img)
        with self.lock:
            evidence = self._evidence(arr, weights)
        cams = scale_cams(np.maximum(evidence, 0.0), p.preprocessing.input_size)
        return [ContrastMap(g, a, ev, _poster_cam(c, img, p.preprocessing)) for (g, a), ev, c in zip(names, evidence, cams)]

    def _logit_scale(self) -> np.ndarray:
        """Per genre, d fused logit / d image logit: the text channel's fusion weight (1 without one)."""
        model = self.predictor.text_model
        return np.ones(len(self.predictor.genres)) if model is None else model.fusion[:, 0].astype(np.float64)

    def _evidence(self, arr: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """N x h x w Grad-CAM evidence before ReLU of the N weighted sums of genre logits ``weights``
        (N x G) for one preprocessed poster (the poster alone, one forward pass). Called holding the lock."""
        raise NotImplementedError

    def _cams(self, arr: np.ndarray, lines: list[str] | None, cols: list[int] | None, top_k: int,
              probs: np.ndarray | None = None) -> tuple[np.ndarray, list[int], np.ndarray]:
        """(G probabilities, the columns explained, N x H x W maps in [0, 1] at the model's input size);
        ``lines``: the poster's text (None: text channel off); ``cols`` None = the ``top_k`` most
        probable; ``probs``: the poster's probabilities when already known (not computed again).
        Called holding ``self.lock``."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """Build whatever ``_cams`` needs (called holding ``self.lock``); nothing by default."""

    def warm_up(self, delay: float = 2.0) -> None:
        """Prepare in a background thread after ``delay`` seconds at the lowest CPU priority, so the
        first explanation does not wait and a first prediction right after start-up is not slowed."""
        from postergenre.model.warmup import in_background

        def build() -> None:
            with self.lock:
                self._prepare()

        in_background(build, delay)


def _probabilities(p: "Predictor", arr: np.ndarray, lines: list[str] | None) -> np.ndarray:
    """G calibrated probabilities of one preprocessed poster, as ``predict()`` computes them."""
    feats, _ = p.encode([arr])
    return p.probabilities(p.image_logits(feats, 1), [lines])[0]


def _top(probs: np.ndarray, cols: list[int] | None, top_k: int) -> list[int]:
    return cols if cols else [int(c) for c in np.argsort(-probs, kind="stable")[:top_k]]


class NumpyExplainer(Explainer):
    """Grad-CAM from the ONNX graph's activations and a NumPy backward pass; no torch.

    The maps always come from the fp32 graph: Grad-CAM is a sum of many mostly cancelling terms, and
    int8 activations move it a lot (measured: median correlation 0.67 between int8 and fp32 maps
    of the same genres), while int8's predictions agree with fp32's. So an int8 predictor keeps its
    own probabilities (those ``predict()`` gives) and explains them with its fp32 twin graph, run
    on the poster alone (one view), loaded once on first use or at ``warm_up``."""

    def __init__(self, predictor: "Predictor"):
        super().__init__(predictor)
        self._fp32 = None  # the fp32 backbone, for an int8 predictor

    def _prepare(self) -> None:
        if self.predictor.precision != "fp32" and self._fp32 is None:
            from postergenre.model.runtime import feature_extractor

            self._fp32 = feature_extractor(self.predictor.preprocessing, "cpu", precision="fp32")

    def _cams(self, arr, lines, cols, top_k, probs=None):
        p = self.predictor
        if probs is None and p.precision == "fp32":  # one forward of both views: probabilities and the map
            feats, acts = p.encode([arr], with_map=True)           # view 0 = the poster (1 = its mirror)
            probs = p.probabilities(p.image_logits(feats, 1), [lines])[0]
        else:
            if probs is None:
                probs = _probabilities(p, arr, lines)              # the int8 model's own
            self._prepare()
            if p.precision == "fp32":
                feats, acts = p.encode([arr], with_map=True, views=False)            # the poster alone
            else:
                feats, acts = self._fp32.features_and_map(to_nchw([arr], flip=False))
        cols = _top(probs, cols, top_k)
        grads = p.head.feature_gradients(feats[0], cols)
        cfg = p.preprocessing
        return probs, cols, scale_cams(gradcam_maps(acts[0], grads, cfg.pooling), cfg.input_size)

    def evidence_backbone(self):
        """The backbone graph the maps come from: the predictor's own in fp32, else its fp32 twin."""
        self._prepare()
        return self.predictor.backbone if self.predictor.precision == "fp32" else self._fp32

    def _evidence(self, arr, weights):
        p = self.predictor
        feats, acts = self.evidence_backbone().features_and_map(to_nchw([arr], flip=False))  # the poster alone
        cols = np.flatnonzero(np.any(weights != 0, axis=0))                 # the genres the pairs name
        grads = weights[:, cols] @ p.head.feature_gradients(feats[0], cols)  # linear in the logits
        return gradcam_evidence(acts[0], grads, p.preprocessing.pooling)


class TorchExplainer(Explainer):
    """``pytorch_grad_cam.GradCAM`` on the differentiable PyTorch twin of the predictor."""

    def __init__(self, predictor: "Predictor"):
        super().__init__(predictor)
        self._model = None

    def model(self):
        """The PyTorch twin: N x 3 x H x W float (0..255 RGB) -> N x G logits; ``model.target_layer``
        is the last convolution. Built once (under the lock: a warm-up thread and a request may race)."""
        with self.lock:
            self._prepare()
        return self._model

    def _prepare(self) -> None:
        if self._model is None:
            from postergenre.model.torch_twin import build_torch_model

            p = self.predictor
            device = p.device if p.device.startswith("cuda") else "cpu"
            self._model = build_torch_model(p.preprocessing, p.head.arrays).to(device).eval()
            import pytorch_grad_cam  # noqa: F401  (2 s of imports; Grad-CAM is what the twin is for)

    def _cams(self, arr, lines, cols, top_k, probs=None):
        import torch
        from pytorch_grad_cam import GradCAM
        from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

        p = self.predictor
        if probs is None:
            probs = _probabilities(p, arr, lines)
        cols = _top(probs, cols, top_k)
        self._prepare()
        model = self._model
        x = torch.from_numpy(to_nchw([arr])).to(next(model.parameters()).device)
        x = x.repeat(len(cols), 1, 1, 1).requires_grad_(True)    # one row per genre, one forward;
        # the weights are frozen, so the input must ask for gradients for the activations to get them
        with GradCAM(model=model, target_layers=[model.target_layer]) as cam:
            maps = cam(input_tensor=x, targets=[ClassifierOutputTarget(c) for c in cols])  # N x h x w in [0, 1]
        return probs, cols, maps

    def _evidence(self, arr, weights):
        import torch

        self._prepare()
        model, seen = self._model, {}
        device = next(model.parameters()).device
        hook = model.target_layer.register_forward_hook(lambda m, i, out: seen.__setitem__("acts", out))
        try:
            x = torch.from_numpy(to_nchw([arr])).to(device).requires_grad_(True)  # frozen weights: grads via x
            logits = model(x)[0]
            acts, out = seen["acts"], []
            for row in torch.as_tensor(weights, dtype=logits.dtype, device=device):
                (grad,) = torch.autograd.grad((logits * row).sum(), acts, retain_graph=True)
                channel = grad[0].mean(dim=(1, 2))                      # Grad-CAM's channel weights
                out.append((channel[:, None, None] * acts[0]).sum(0).detach().double().cpu().numpy())
        finally:
            hook.remove()
        return np.stack(out)


def make_explainer(predictor: "Predictor") -> Explainer:
    """NumPy Grad-CAM when the backbone runs in ONNX Runtime (CPU), pytorch-grad-cam otherwise."""
    if predictor.backend == "onnxruntime":
        return NumpyExplainer(predictor)
    return TorchExplainer(predictor)


def explain(predictor: "Predictor", image: ImageSource, genres: Sequence[str] | None = None,
            top_k: int = 3, text: bool | Sequence[str] | None = None,
            prediction: "Prediction | None" = None) -> list[Heatmap]:
    """Grad-CAM heatmaps for ``genres`` (default: the ``top_k`` most probable) on one poster
    (``predictor.explainer.explain``; ``text``: its text lines when already read; ``prediction``: its
    ``predict()`` result, so the heatmaps cost one forward pass and no second prediction)."""
    return predictor.explainer.explain(image, genres, top_k, text, prediction)


def _poster_cam(cam: np.ndarray, img: Image.Image, cfg) -> np.ndarray:
    """A map computed on the model's input, placed on the poster's own pixels: over the content the
    model saw (without a trimmed frame or letterbox bars, which get no evidence)."""
    box = content_box(img) if cfg.trim_borders else (0, 0, img.width, img.height)
    if box == (0, 0, img.width, img.height):
        return _resize_cam(cam, img.size)
    out = np.zeros((img.height, img.width), np.float32)
    out[box[1]:box[3], box[0]:box[2]] = _resize_cam(cam, (box[2] - box[0], box[3] - box[1]))
    return out


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
    evidence, from none under ``TINT_FLOOR`` (those areas keep the poster's own colours) to full from
    ``TINT_FULL`` up.
    """
    img = load_image(image)
    cam = _resize_cam(cam, img.size)
    heat = _colorize(cam, colormap).astype(np.float32)
    ramp = np.clip((cam - TINT_FLOOR) / (TINT_FULL - TINT_FLOOR), 0.0, 1.0)
    a = float(np.clip(alpha, 0.0, 1.0)) * ramp[..., None]
    blended = np.asarray(img, np.float32) * (1 - a) + heat * a
    return Image.fromarray(np.clip(blended, 0, 255).astype(np.uint8), "RGB")


# ----------------------------------------------------------------------------------------------------
# Grad-CAM in NumPy (see the module docstring)

RELU6 = (0.0, 6.0)  # EfficientNet-Lite's activation after the last convolution (ReLU6)


def gradcam_maps(acts: np.ndarray, feature_grads: np.ndarray, pooling: Sequence[str] = ("mean", "max")) -> np.ndarray:
    """Raw Grad-CAM maps (G x h x w): ``gradcam_evidence`` with ReLU applied."""
    return np.maximum(gradcam_evidence(acts, feature_grads, pooling), 0.0)


def gradcam_evidence(acts: np.ndarray, feature_grads: np.ndarray, pooling: Sequence[str] = ("mean", "max")) -> np.ndarray:
    """Grad-CAM evidence before ReLU (G x h x w, float64) from the last convolution's activations
    ``acts`` (C x h x w, before ReLU6) and ``feature_grads`` (G x D; the last C * len(pooling) features
    are that layer's pooled outputs, in ``pooling`` order). Linear in ``feature_grads``: the evidence of
    a difference of logits is the difference of their evidence."""
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
    return np.einsum("gc,chw->ghw", weights, acts.astype(np.float64))


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
