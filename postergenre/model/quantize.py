"""int8 backbone: ONNX Runtime static quantization (QDQ, per-channel int8 weights, uint8 activations).

The activation ranges come from calibrating the fp32 graph on ``train`` posters; they depend on the
backbone graph only (not the head), so the ranges measured once ship with the package
(``int8_calibration/<graph config digest>.json``, ONNX Runtime's calibration cache format) and the
int8 graph can be rebuilt anywhere from the fp32 one without posters or torch. A different backbone
config needs a new calibration: ``postergenre export-onnx --precision int8 --calibration DATA``.
The pooling and concatenation at the end stay float (one scale for features of very different
ranges would cost accuracy for no speed).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

from postergenre.errors import WeightsError
from postergenre.model.backbone import BackboneConfig, graph_stem, resize_poster, to_nchw
from postergenre.sources.images import load_image

__all__ = ["quantize_backbone", "calibration_file", "CALIBRATION_METHOD", "CALIBRATION_POSTERS"]

CALIBRATION_METHOD = "minmax"   # MinMax, the shipped choice; entropy and percentile were not compared on the shipped model
CALIBRATION_POSTERS = 256       # random train posters (seed 0)
_BATCH, _STRIDE = 8, 4          # calibration batches of 8 posters; ranges merged every 4 batches (bounded memory)


def calibration_file(cfg: BackboneConfig) -> Path:
    """The shipped calibration cache for ``cfg``'s graph (may not exist for a new config)."""
    return Path(__file__).resolve().parent / "int8_calibration" / f"{graph_stem(cfg, 'fp32')}.json"


def _method(name: str):
    from onnxruntime.quantization import CalibrationMethod

    methods = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
               "percentile": CalibrationMethod.Percentile}
    if name not in methods:
        raise WeightsError(f"unknown calibration method {name!r}; use one of {', '.join(methods)}")
    return methods[name]


class _PosterReader:
    """ONNX Runtime's CalibrationDataReader over poster files, in batches, with ``set_range`` so the
    calibrator merges ranges stride by stride instead of holding every activation."""

    def __init__(self, paths: list[Path], cfg: BackboneConfig):
        self.cfg = cfg
        self.items = [paths[i:i + _BATCH] for i in range(0, len(paths), _BATCH)]
        self.set_range(0, len(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._it = iter(self.items[start_index:end_index])

    def get_next(self) -> dict | None:
        batch = next(self._it, None)
        if batch is None:
            return None
        return {"image": to_nchw([resize_poster(load_image(p), self.cfg) for p in batch])}


def calibration_paths(data: str | Path, n: int = CALIBRATION_POSTERS, seed: int = 0) -> list[Path]:
    """``n`` random ``train`` posters of a dataset folder (whole strides of the calibrator)."""
    from postergenre.sources.dataset import load_dataset  # pandas: only when calibrating

    ds = load_dataset(data)
    train = ds.subset("train")
    n = max(_BATCH * _STRIDE, min(n, len(train)) // (_BATCH * _STRIDE) * (_BATCH * _STRIDE))
    if len(train) < n:
        raise WeightsError(f"{ds.root} has {len(train)} train posters; int8 calibration needs at least {n}")
    return [ds.root / f for f in train.sample(n=n, random_state=seed)["file"]]


def quantize_backbone(fp32: Path, out: Path, cfg: BackboneConfig, calibration: list[Path] | None = None,
                      method: str = CALIBRATION_METHOD, cache: Path | None = None, reduce_range: bool = False) -> Path:
    """Write the int8 graph of ``fp32`` to ``out``. Activation ranges: from ``calibration`` posters
    (saved to ``cache`` when given), else from the shipped calibration cache for ``cfg``.
    ``reduce_range``: 7-bit weights, for CPUs without an int8 dot product (``runtime.cpu_has_int8_dot``),
    whose u8 x s8 kernels saturate with 8-bit ones."""
    try:
        import onnx
        from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        raise WeightsError(f"int8 needs onnx and onnxruntime ({e.name} is missing): `pip install -r requirements-serve.txt`") from None
    if calibration is None:
        cache = calibration_file(cfg)
        if not cache.is_file():
            raise WeightsError(
                f"no int8 calibration ships for this backbone config ({cache.name}); calibrate on posters: "
                "`postergenre export-onnx --precision int8 --calibration DATA` (a dataset folder with train posters)")
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        pre = Path(tmp) / "pre.onnx"
        quant_pre_process(str(fp32), str(pre))  # shape inference + graph clean-up, as ORT recommends
        graph = onnx.load(str(pre)).graph
        keep_float = [n.name for n in graph.node if n.op_type in ("ReduceMean", "ReduceMax")
                      or set(n.output) & {"features"}]
        tmp_out = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre), str(tmp_out), _PosterReader(calibration, cfg) if calibration else None,
            quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8, calibrate_method=_method(method), nodes_to_exclude=keep_float,
            reduce_range=reduce_range,
            extra_options={"CalibStridedMinMax": _STRIDE}, calibration_cache_path=cache)
        os.replace(tmp_out, out)  # atomic, like the fp32 export
    return out
