"""Fast backbone execution: ONNX Runtime on CPU, PyTorch (fp16 autocast) on CUDA.

On CPU, ONNX Runtime runs this network about 4x faster than eager PyTorch and plans its own memory,
so throughput does not collapse at larger batches (eager PyTorch page-faults on every fresh
activation). The ONNX graph is exported once from the PyTorch module and cached on disk, keyed by
the backbone config and package versions; later loads do not even import torch for it.
"""
from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path
from typing import Callable

import numpy as np

from postergenre import settings
from postergenre.errors import WeightsError
from postergenre.model.backbone import GRAPH_OUTPUTS, ONNX_OPSET, BackboneConfig, backbone_version, digest, graph_stem
from postergenre.model.quantize import quantize_backbone

__all__ = ["FeatureExtractor", "feature_extractor", "onnx_path", "find_graph", "ensure_graph", "ort_session",
           "resolve_device", "resolve_precision", "PRECISIONS", "cpu_has_int8_dot", "int8_path", "graph_precision"]

def resolve_device(device: str | None = None) -> str:
    """'cuda' when available (or asked for), else 'cpu'. Asking for CUDA without one is an error."""
    if device in (None, "auto"):
        if settings.device():
            return resolve_device(settings.device())
        if not _nvidia_driver_present():
            return "cpu"  # skip importing torch (~2 s) just to learn there is no GPU
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"
    device = str(device)
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            raise WeightsError(f"device {device!r} requested but CUDA is not available; use device='cpu'")
        return device
    if device != "cpu":
        raise WeightsError(f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N'")
    return device


def _nvidia_driver_present() -> bool:
    """Cheap check for an NVIDIA driver (Linux device nodes / proc entry, or Windows' nvml library)."""
    if "torch" in sys.modules:  # already paid for: ask it directly
        return True
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/proc/driver/nvidia/version",
                                           r"C:\Windows\System32\nvml.dll"))


PRECISIONS = ("fp32", "int8")
# CPU flags of an int8 dot-product instruction (x86 VNNI / AMX, Arm dot product)
_INT8_DOT_FLAGS = {"avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm"}


@functools.lru_cache(maxsize=1)
def cpu_has_int8_dot() -> bool:
    """Whether this CPU has an int8 dot-product instruction (Linux /proc/cpuinfo flags).

    Without one (e.g. AVX2-only x86, such as AMD Zen 3), ONNX Runtime's u8 x s8 kernels use VPMADDUBSW,
    whose 16-bit sums saturate: measured on 300 val posters, the int8 graph's top genre then agreed with
    fp32 on only 90.7%, and 7-bit weights (``reduce_range``) restored 96.7% at a smaller speed-up (AMD
    Zen 3, 2026-12-02; ``benchmarks/int8_accuracy.py --split val`` measures the graph a CPU builds). So
    int8 is the CPU default only where this is true."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return bool(_INT8_DOT_FLAGS & set(line.split(":", 1)[1].split()))
    except OSError:
        pass
    return False


def graph_precision(precision: str) -> str:
    """The graph file's precision tag: 'int8' (8-bit weights) on CPUs with an int8 dot product,
    'int8r7' (7-bit weights, no saturation) on the others; 'fp32' as it is."""
    return "int8r7" if precision == "int8" and not cpu_has_int8_dot() else precision


def int8_path(fp32: Path, reduce_range: bool | None = None) -> Path:
    """Where the int8 graph quantized from the fp32 graph ``fp32`` goes (beside it, same digests):
    this CPU's kind (``reduce_range`` None), or the 7-bit (True) / 8-bit (False) one."""
    tag = graph_precision("int8") if reduce_range is None else ("int8r7" if reduce_range else "int8")
    return fp32.with_name(fp32.name.replace("-fp32-", f"-{tag}-"))


def onnx_path(cfg: BackboneConfig, cache_dir: str | Path | None = None, precision: str = "fp32") -> Path:
    """Where the backbone graph for ``cfg`` lives: ``<cache>/onnx/<name>-<precision>-<config digest>-
    <backbone package versions digest>.onnx``."""
    return Path(cache_dir or settings.cache_dir()) / "onnx" / (
        f"{graph_stem(cfg, graph_precision(precision))}-{digest(backbone_version(cfg.name))}.onnx")


def find_graph(cfg: BackboneConfig, cache_dir: str | Path | None = None, precision: str = "fp32") -> Path | None:
    """The cached graph for ``cfg``: the one for the installed backbone packages, or, on a serving
    install without them (nothing to export from), any graph of the same config and precision."""
    exact = onnx_path(cfg, cache_dir, precision)
    if exact.is_file():
        return exact
    if any(backbone_version(cfg.name).values()):
        return None  # the backbone is installed: a graph from other package versions is stale
    found = sorted(exact.parent.glob(f"{graph_stem(cfg, graph_precision(precision))}-*.onnx"),
                   key=lambda f: f.stat().st_mtime)
    return found[-1] if found else None


def ensure_graph(cfg: BackboneConfig, cache_dir: str | Path | None = None, precision: str = "fp32") -> Path:
    """The backbone graph for ``cfg`` at ``precision``, exported (fp32, needs torch) or quantized
    (int8, from the fp32 graph; ONNX Runtime only) into the cache the first time."""
    if precision not in PRECISIONS:
        raise WeightsError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    path = find_graph(cfg, cache_dir, precision)
    if path is not None:
        return path
    if precision == "int8":
        fp32 = ensure_graph(cfg, cache_dir, "fp32")
        try:
            import onnx  # noqa: F401  (ONNX Runtime's quantizer needs it)
        except ImportError:
            raise WeightsError(
                f"no int8 graph of the backbone in {fp32.parent}, and this install cannot make one from the fp32 "
                f"graph (the onnx package is missing: `pip install -r requirements-serve.txt`). Or copy "
                f"{graph_stem(cfg, graph_precision('int8'))}-*.onnx from a full install (`postergenre export-onnx`), or use "
                "--precision fp32 / POSTERGENRE_PRECISION=fp32") from None
        path = int8_path(fp32)
        quantize_backbone(fp32, path, cfg, reduce_range=not cpu_has_int8_dot())
        return path
    path = onnx_path(cfg, cache_dir, precision)
    if not _can_export(cfg):
        raise WeightsError(
            f"no ONNX graph of the backbone in {path.parent} (this install has no torch to export one). "
            f"On a machine with the full set (`pip install -r requirements.txt`), run `postergenre export-onnx` and "
            f"copy the files it prints ({graph_stem(cfg, 'fp32')}-*.onnx and {graph_stem(cfg, graph_precision('int8'))}-*.onnx) into "
            f"{path.parent}; or point POSTERGENRE_CACHE at a folder whose onnx/ holds them; or use the Docker "
            "image, whose first stage exports them")
    _export(cfg, path)
    return path


def _can_export(cfg: BackboneConfig) -> bool:
    """Whether this install can export the graph: the backbone packages and torch (training extras)."""
    if not any(backbone_version(cfg.name).values()):
        return False
    try:
        import torch  # noqa: F401  (heavy; only imported to export, which needs it anyway)
    except ImportError:
        return False
    return True


def _export(cfg: BackboneConfig, path: Path, module=None, output_names: tuple[str, ...] = GRAPH_OUTPUTS) -> None:
    """Export ``module`` (default: the feature network with its last-conv map) for N x 3 x H x W images."""
    import torch

    from postergenre.model.torch_twin import FeaturesWithMap, torch_features

    module = module if module is not None else FeaturesWithMap(torch_features(cfg)).eval()
    w, h = cfg.input_size
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, (torch.zeros(2, 3, h, w),), str(tmp), dynamo=False, opset_version=ONNX_OPSET,
            input_names=["image"], output_names=list(output_names),
            dynamic_axes={"image": {0: "batch"}, **{name: {0: "batch"} for name in output_names}},
        )
    os.replace(tmp, path)  # atomic: concurrent processes never read a half-written file


class FeatureExtractor:
    """Callable: N x 3 x H x W float32 (0..255 RGB) -> N x dim float32 pooled features.
    ``features_and_map`` also returns the last convolution's map where the runtime gives it (ONNX)."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], dim: int, backend: str, device: str,
                 precision: str = "fp32", run_with_map: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None):
        self._run, self.dim, self.backend, self.device = run, dim, backend, device
        self.precision, self._run_with_map = precision, run_with_map

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self._run(batch)

    def features_and_map(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if self._run_with_map is None:
            raise NotImplementedError(f"the {self.backend} backbone gives no activation map")
        return self._run_with_map(batch)


def ort_session(path: Path, threads: int | None = None):
    """A CPU ONNX Runtime session for the graph at ``path`` with this project's thread settings."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads or settings.threads() or min(os.cpu_count() or 1, 4)
    so.inter_op_num_threads = 1
    # ORT's workers spin-wait after each run by default; on a small CPU that spinning steals the cores
    # from NumPy (the head), image decoding and other requests, which made the head 500x slower here.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def _ort_extractor(cfg: BackboneConfig, cache_dir=None, threads: int | None = None,
                   precision: str = "fp32") -> FeatureExtractor:
    session = ort_session(ensure_graph(cfg, cache_dir, precision), threads)
    dim = session.get_outputs()[0].shape[1]

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(["features"], {"image": np.ascontiguousarray(batch, dtype=np.float32)})[0]

    def run_with_map(batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        feats, last_conv = session.run(list(GRAPH_OUTPUTS), {"image": np.ascontiguousarray(batch, dtype=np.float32)})
        return feats, last_conv

    return FeatureExtractor(run, int(dim), "onnxruntime", "cpu", precision, run_with_map)


def _torch_extractor(cfg: BackboneConfig, device: str) -> FeatureExtractor:
    import torch

    from postergenre.model.torch_twin import torch_features

    module = torch_features(cfg).to(device).to(memory_format=torch.channels_last)
    use_amp = device.startswith("cuda")

    @torch.inference_mode()
    def run(batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device, non_blocking=True)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp):
            out = module(x)
        return out.float().cpu().numpy()

    return FeatureExtractor(run, module.dim, "torch", device, "fp16" if use_amp else "fp32")


def resolve_precision(precision: str | None, device: str, cpu_default: str = "fp32") -> str:
    """'fp32' or 'int8' from the argument, else $POSTERGENRE_PRECISION, else the default: ``cpu_default``
    on a CPU with an int8 dot product (the weights' measured choice, ``metadata.json`` "int8"."cpu_default";
    see the model card), fp32 on other CPUs (``cpu_has_int8_dot``) and elsewhere. int8 runs in ONNX
    Runtime on CPU only."""
    default = cpu_default if device == "cpu" and cpu_has_int8_dot() else "fp32"
    precision = precision or settings.precision() or default
    if precision not in PRECISIONS:
        raise WeightsError(f"unknown precision {precision!r}; use one of {', '.join(PRECISIONS)}")
    if precision == "int8" and device != "cpu":
        raise WeightsError(f"int8 runs in ONNX Runtime on the CPU; use device='cpu' or precision='fp32' on {device}")
    return precision


def feature_extractor(cfg: BackboneConfig, device: str | None = None, *, backend: str | None = None,
                      cache_dir=None, precision: str | None = None, cpu_default: str = "fp32") -> FeatureExtractor:
    """The fastest available backbone runner for ``device``: ONNX Runtime on CPU, PyTorch on CUDA.

    ``backend='torch'`` forces PyTorch (e.g. to compare both); set POSTERGENRE_BACKEND the same way.
    ``precision`` 'int8' runs the statically quantized graph (CPU, ONNX Runtime); None = as
    ``resolve_precision`` decides, with ``cpu_default`` for ONNX Runtime on the CPU.
    """
    device = resolve_device(device)
    backend = backend or settings.backend()
    precision = resolve_precision(precision, device if backend != "torch" else "the torch backend", cpu_default)
    if device == "cpu" and backend != "torch":
        try:
            return _ort_extractor(cfg, cache_dir, precision=precision)
        except ImportError:
            pass  # onnxruntime missing: eager PyTorch still works, just slower
    return _torch_extractor(cfg, device)
