"""The weights format, in one place: the file names, reading and writing a weights folder, the int8
storage of the head, and the typed metadata (like timm's ``PretrainedCfg``).

A weights folder holds ``metadata.json`` (what the model is: genres, thresholds, preprocessing, how it
was trained and measured), ``head.npz`` (the MLP ensemble; the first layer as int8 with one scale per
hidden unit) and, optionally, ``text.npz`` (the OCR text channel), ``poster_check.npz``, ``atlas.json`` and
``MODEL_CARD.md``.
The bundled folder ships inside the package (``settings.BUNDLED_WEIGHTS``), so ``pip install .`` has it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from postergenre import settings
from postergenre.errors import WeightsError
from postergenre.model.backbone import BackboneConfig

__all__ = ["HEAD_FILE", "META_FILE", "TEXT_FILE", "POSTER_CHECK_FILE", "ATLAS_FILE", "CARD_FILE", "WeightsMetadata", "read_weights",
           "read_metadata", "write_metadata", "write_head", "quantize_head", "dequantize_head"]

HEAD_FILE, META_FILE, TEXT_FILE = "head.npz", "metadata.json", "text.npz"
POSTER_CHECK_FILE = "poster_check.npz"   # the "is this a poster?" check (poster_check.py)
ATLAS_FILE, CARD_FILE = "atlas.json", "MODEL_CARD.md"
HEAD_KEYS = ("mu", "sigma", "w1", "b1", "w2", "b2")     # the head's arrays once dequantized
REQUIRED_META = ("genres", "thresholds", "preprocessing")


@dataclass(frozen=True)
class WeightsMetadata:
    """``metadata.json``, typed. ``raw`` keeps the whole document (sections added later stay readable)."""
    name: str                                   # e.g. "postergenre-lite2"
    genres: tuple[str, ...]                     # output order of the head
    thresholds: dict[str, float]                # per genre, tuned on val
    preprocessing: BackboneConfig               # the backbone and its input, never re-typed
    tta_flip: bool = True                       # average the poster and its mirror
    inference_batch_size: int = 4               # posters per backbone call
    created: str | None = None                  # ISO time of training
    backbone: dict[str, Any] = field(default_factory=dict)       # name, packages, pretrained, feature_dim
    head: dict[str, Any] = field(default_factory=dict)           # the TrainConfig of the MLP ensemble
    training_data: dict[str, Any] = field(default_factory=dict)  # source, split sizes, train prior, val support
    metrics: dict[str, Any] = field(default_factory=dict)        # split -> multilabel report
    text: dict[str, Any] | None = None                           # the OCR text channel's settings, if any
    calibration: dict[str, Any] | None = None      # per-genre logit -> probability maps (calibration.py)
    decision_rule: dict[str, Any] | None = None    # the headline rule (decision.py)
    poster_check: dict[str, Any] | None = None     # the "is this a poster?" check's settings (poster_check.py)
    image_only: dict[str, Any] | None = None       # calibration + decision_rule of the image alone (text off)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> WeightsMetadata:
        missing = [k for k in REQUIRED_META if k not in meta]
        if missing:
            raise WeightsError(f"metadata.json lacks {', '.join(missing)}; retrain the weights")
        genres = tuple(str(g) for g in meta["genres"])
        return cls(name=str(meta.get("name", "postergenre-lite2")), genres=genres,
                   thresholds={g: float(meta["thresholds"][g]) for g in genres},
                   preprocessing=BackboneConfig.from_dict(meta["preprocessing"]),
                   tta_flip=bool(meta.get("tta_flip", True)),
                   inference_batch_size=int(meta.get("inference_batch_size", 4)), created=meta.get("created"),
                   backbone=dict(meta.get("backbone") or {}), head=dict(meta.get("head") or {}),
                   training_data=dict(meta.get("training_data") or {}), metrics=dict(meta.get("metrics") or {}),
                   text=meta.get("text"), calibration=meta.get("calibration"),
                   decision_rule=meta.get("decision_rule"), poster_check=meta.get("poster_check"),
                   image_only=meta.get("image_only"), raw=dict(meta))

    @property
    def feature_dim(self) -> int | None:
        value = self.backbone.get("feature_dim")
        return int(value) if value is not None else None


def read_metadata(folder: str | Path) -> dict[str, Any]:
    """``folder``/metadata.json as stored (a dict, for code that updates it); WeightsError if unreadable."""
    path = Path(folder) / META_FILE
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise WeightsError(f"could not read {path}: {e}; restore the file or retrain") from None


def write_metadata(folder: str | Path, meta: dict[str, Any]) -> Path:
    """Write ``meta`` as ``folder``/metadata.json (indented, as shipped)."""
    path = Path(folder) / META_FILE
    path.write_text(json.dumps(meta, indent=1))
    return path


def quantize_head(params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Store the big first layer as int8 with one scale per hidden unit (4x smaller than float32; the
    round-off is below 0.4% of each column's largest weight), the rest as float32."""
    out = {k: v.astype(np.float32) for k, v in params.items() if k != "w1"}
    w1 = params["w1"]                                               # K x D x H
    scale = np.abs(w1).max(axis=1, keepdims=True) / 127.0 + 1e-12  # K x 1 x H
    out["w1_int8"] = np.round(w1 / scale).astype(np.int8)
    out["w1_scale"] = scale.astype(np.float32)
    return out


def dequantize_head(stored: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """float32 head parameters from ``head.npz``'s arrays: the first layer is stored as int8 with one
    scale per hidden unit (``w1 = w1_int8 * w1_scale``), the rest as float32."""
    params = {k: v.astype(np.float32) for k, v in stored.items()}
    if "w1_int8" in params:
        params["w1"] = params.pop("w1_int8") * params.pop("w1_scale")
    return params


def write_head(folder: str | Path, stored: dict[str, np.ndarray]) -> Path:
    """Write the (quantized) head arrays as ``folder``/head.npz."""
    path = Path(folder) / HEAD_FILE
    np.savez_compressed(path, **stored)
    return path


def read_weights(folder: str | Path | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """(float32 head params, metadata dict) from a weights folder (default: ``settings.weights_dir()``);
    WeightsError says how to get them."""
    folder = Path(folder) if folder else settings.weights_dir()
    meta_path, head_path = folder / META_FILE, folder / HEAD_FILE
    if not meta_path.is_file() or not head_path.is_file():
        raise WeightsError(
            f"model weights not found in {folder} (need {META_FILE} and {HEAD_FILE}); "
            "reinstall postergenre (the bundled weights ship with it), set POSTERGENRE_WEIGHTS, or train "
            "them with `postergenre train --data DIR`"
        )
    try:
        meta = json.loads(meta_path.read_text())
        with np.load(head_path) as z:
            params = dequantize_head({k: z[k] for k in z.files})
    except (OSError, ValueError) as e:
        raise WeightsError(f"could not read the weights in {folder}: {e}; restore the files or retrain") from None
    missing = [k for k in HEAD_KEYS if k not in params] + [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise WeightsError(f"weights in {folder} are incomplete (missing {', '.join(missing)}); retrain them")
    return params, meta
