"""int8 graphs: ONNX Runtime static quantization (QDQ, per-channel int8 weights, uint8 activations) of
the backbone and of the OCR's detector and recogniser.

The activation ranges come from calibrating the fp32 graph on ``train`` posters; they depend on the
backbone graph only (not the head), so the ranges measured once ship with the package
(``int8_calibration/<graph config digest>.json``, ONNX Runtime's calibration cache format) and the
int8 graph can be rebuilt anywhere from the fp32 one without posters or torch. A different backbone
config needs a new calibration: ``postergenre export-onnx --precision int8 --calibration DATA``.
The pooling and concatenation at the end stay float (one scale for features of very different
ranges would cost accuracy for no speed).

The OCR graphs (``ocr_int8_graph``) are made the same way: ranges from running the fp32 detector and
recogniser on ``train`` posters (their inputs as the OCR pipeline makes them), shipped as
``int8_calibration/ocr-<model>.json``; recalibrate with ``python -m postergenre.model.quantize --ocr DATA``.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from postergenre.errors import WeightsError
from postergenre.model.backbone import BackboneConfig, graph_stem, resize_poster, to_nchw
from postergenre.sources.images import load_image

__all__ = ["quantize_backbone", "calibration_file", "CALIBRATION_METHOD", "CALIBRATION_POSTERS", "ocr_int8_graph",
           "calibrate_ocr"]

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


class _Reader:
    """ONNX Runtime's CalibrationDataReader over ``items``, each turned into a model input by ``feed``
    when it is read, with ``set_range`` so the calibrator merges ranges stride by stride instead of
    holding every activation."""

    def __init__(self, items: list, feed):
        self.items, self.feed = items, feed
        self.set_range(0, len(self.items))

    def __len__(self) -> int:
        return len(self.items)

    def set_range(self, start_index: int, end_index: int) -> None:
        self._it = iter(self.items[start_index:end_index])

    def get_next(self) -> dict | None:
        item = next(self._it, None)
        return None if item is None else self.feed(item)


def _poster_reader(paths: list[Path], cfg: BackboneConfig) -> _Reader:
    """Poster files in batches of ``_BATCH``, decoded and resized only when the calibrator reads them."""
    return _Reader([paths[i:i + _BATCH] for i in range(0, len(paths), _BATCH)],
                   lambda batch: {"image": to_nchw([resize_poster(load_image(p), cfg) for p in batch])})


def calibration_paths(data: str | Path, n: int = CALIBRATION_POSTERS, seed: int = 0) -> list[Path]:
    """``n`` random ``train`` posters of a dataset folder (whole strides of the calibrator)."""
    from postergenre.sources.dataset import load_dataset  # pandas: only when calibrating

    ds = load_dataset(data)
    train = ds.subset("train")
    n = max(_BATCH * _STRIDE, min(n, len(train)) // (_BATCH * _STRIDE) * (_BATCH * _STRIDE))
    if len(train) < n:
        raise WeightsError(f"{ds.root} has {len(train)} train posters; int8 calibration needs at least {n}")
    return [ds.root / f for f in train.sample(n=n, random_state=seed)["file"]]


def _quantize(fp32: Path, out: Path, reader, cache: Path | None, *, reduce_range: bool, method: str = CALIBRATION_METHOD,
              keep_float=lambda graph: [], opset: int | None = None, symbolic_shapes: bool = True) -> Path:
    """Write the int8 (QDQ) graph of ``fp32`` to ``out``, with activation ranges from ``reader`` (saved
    to ``cache`` when given) or from the calibration cache ``cache``. ``keep_float(graph)``: names of
    nodes to leave float; ``opset``: raise the graph's opset first (per-channel QDQ needs 13)."""
    try:
        import onnx
        from onnx import version_converter
        from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process
    except ImportError as e:
        raise WeightsError(f"int8 needs onnx and onnxruntime ({e.name} is missing): `pip install -r requirements-serve.txt`") from None
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        pre = Path(tmp) / "pre.onnx"
        # shape inference + graph clean-up, as ORT recommends (the OCR graphs defeat the symbolic pass)
        quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=not symbolic_shapes)
        model = onnx.load(str(pre))
        if opset and model.opset_import[0].version < opset:
            model = version_converter.convert_version(model, opset)
            onnx.save(model, str(pre))
        tmp_out = Path(tmp) / "int8.onnx"
        quantize_static(
            str(pre), str(tmp_out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=_method(method),
            nodes_to_exclude=keep_float(model.graph), reduce_range=reduce_range,
            extra_options={"CalibStridedMinMax": _STRIDE}, calibration_cache_path=cache)
        os.replace(tmp_out, out)  # atomic, like the fp32 export
    return out


def quantize_backbone(fp32: Path, out: Path, cfg: BackboneConfig, calibration: list[Path] | None = None,
                      method: str = CALIBRATION_METHOD, cache: Path | None = None, reduce_range: bool = False) -> Path:
    """Write the int8 graph of ``fp32`` to ``out``. Activation ranges: from ``calibration`` posters
    (saved to ``cache`` when given), else from the shipped calibration cache for ``cfg``.
    ``reduce_range``: 7-bit weights, for CPUs without an int8 dot product (``runtime.cpu_has_int8_dot``),
    whose u8 x s8 kernels saturate with 8-bit ones."""
    if calibration is None:
        cache = calibration_file(cfg)
        if not cache.is_file():
            raise WeightsError(
                f"no int8 calibration ships for this backbone config ({cache.name}); calibrate on posters: "
                "`postergenre export-onnx --precision int8 --calibration DATA` (a dataset folder with train posters)")
    return _quantize(fp32, out, _poster_reader(calibration, cfg) if calibration else None, cache,
                     reduce_range=reduce_range, method=method,
                     keep_float=lambda graph: [n.name for n in graph.node if n.op_type in ("ReduceMean", "ReduceMax")
                                               or set(n.output) & {"features"}])


# ----------------------------------------------------------------------------------------------------
# the OCR's detector and recogniser

OCR_CALIBRATION_POSTERS = 64    # random train posters (seed 0): 64 detector inputs, ~400 recogniser lines


def ocr_calibration_file(model: Path) -> Path:
    return Path(__file__).resolve().parent / "int8_calibration" / f"ocr-{model.stem}.json"


def ocr_int8_graph(model: Path, reduce_range: bool | None = None, cache_dir: str | Path | None = None) -> Path:
    """The int8 graph of the fp32 OCR graph ``model``, quantized into ``<cache>/onnx/`` the first time from
    the shipped ranges: this CPU's kind (``reduce_range`` None: 7-bit weights on CPUs without an int8
    dot product, as the backbone's), or the 7-bit (True) / 8-bit (False) one."""
    import hashlib

    from postergenre import settings
    from postergenre.model.runtime import cpu_has_int8_dot

    cache = ocr_calibration_file(model)
    if not cache.is_file():
        raise WeightsError(f"no int8 calibration ships for the OCR model {model.name} ({cache.name}); calibrate on "
                           "posters: `python -m postergenre.model.quantize --ocr DATA` (a dataset folder with train "
                           "posters), or use the fp32 OCR graphs")
    reduce_range = not cpu_has_int8_dot() if reduce_range is None else reduce_range
    # keyed by the fp32 graph (its name and size: hashing 20 MB would cost every process start) and the ranges
    digest = hashlib.sha1(f"{model.name}:{model.stat().st_size}:".encode() + cache.read_bytes()).hexdigest()[:12]
    tag = "int8r7" if reduce_range else "int8"
    out = Path(cache_dir or settings.cache_dir()) / "onnx" / f"ocr-{model.stem}-{tag}-{digest}.onnx"
    if not out.is_file():
        _quantize(model, out, None, cache, reduce_range=reduce_range, opset=13, symbolic_shapes=False)
    return out


def calibrate_ocr(data: str | Path, n: int = OCR_CALIBRATION_POSTERS, seed: int = 0, det_side: int | None = None
                  ) -> list[Path]:
    """Measure the activation ranges of the default OCR settings' fp32 detector and recogniser on ``n``
    train posters of the dataset at ``data`` (``det_side``: the detector's input size while measuring,
    default the settings' own); write the shipped calibration files and this CPU's int8 graphs (returned).
    The shipped ranges were measured with ``det_side=256`` (``--det-side 256`` reproduces them)."""
    from dataclasses import replace

    from postergenre.model.ocr import OCRConfig, ocr_engine, poster_pixels

    paths = calibration_paths(data, n, seed)
    cfg = replace(OCRConfig(), det_precision="fp32", rec_precision="fp32")
    engine = ocr_engine(replace(cfg, det_side=det_side or cfg.det_side))
    det_inputs, rec_inputs = [], []
    for path in paths:
        bgr = poster_pixels(path)
        det_inputs.append(engine.det_input(bgr))
        crops = engine.crops(bgr, engine.detect(bgr))
        rec_inputs += [batch for _, batch in engine.rec_batches(crops)] if crops else []
    out = []
    for model, inputs in ((engine.det_path, det_inputs), (engine.rec_path, rec_inputs)):
        cache = ocr_calibration_file(model)
        cache.unlink(missing_ok=True)
        with tempfile.TemporaryDirectory() as tmp:  # the ranges are what ships; the graph is made below
            whole_strides = _Reader(inputs[:len(inputs) // _STRIDE * _STRIDE], lambda x: {"x": x})
            _quantize(model, Path(tmp) / "int8.onnx", whole_strides, cache, reduce_range=False, opset=13,
                      symbolic_shapes=False)
        cache.chmod(0o644)  # ONNX Runtime writes it owner-only; it ships with the package
        out.append(ocr_int8_graph(model))
    return out


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="measure the OCR graphs' int8 activation ranges on train posters")
    ap.add_argument("--ocr", type=Path, required=True, metavar="DATA", help="dataset folder with train posters")
    ap.add_argument("--det-side", type=int, default=None, help="the detector's input size while measuring")
    args = ap.parse_args()
    print(*calibrate_ocr(args.ocr, det_side=args.det_side), sep="\n")
