"""Fast backbone execution: ONNX Runtime on CPU, PyTorch (fp16 autocast) on CUDA.

On CPU, ONNX Runtime runs this network about 4x faster than eager PyTorch and plans its own memory,
so throughput does not collapse at larger batches (eager PyTorch page-faults on every fresh
activation). The ONNX graph is exported once from the PyTorch module and cached on disk, keyed by
the backbone config and package versions; later loads do not even import torch for it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from .backbone import BackboneConfig, backbone_version

__all__ = ["FeatureExtractor", "feature_extractor", "onnx_path", "resolve_device"]

ONNX_OPSET = 17


def resolve_device(device: str | None = None) -> str:
    """'cuda' when available (or asked for), else 'cpu'. Asking for CUDA without one is an error."""
    from .errors import WeightsError

    if device in (None, "auto"):
        if os.environ.get("POSTERGENRE_DEVICE"):
            return resolve_device(os.environ["POSTERGENRE_DEVICE"])
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


def onnx_path(cfg: BackboneConfig, cache_dir: str | Path | None = None) -> Path:
    from .features import default_cache_dir

    key = json.dumps({"cfg": cfg.to_dict(), "versions": backbone_version(cfg.name), "opset": ONNX_OPSET}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    return Path(cache_dir or default_cache_dir()) / "onnx" / f"{cfg.name}-{digest}.onnx"


def _export(cfg: BackboneConfig, path: Path) -> None:
    import warnings

    import torch

    from .torch_model import torch_features

    module = torch_features(cfg)
    w, h = cfg.input_size
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module, (torch.zeros(2, 3, h, w),), str(tmp), dynamo=False, opset_version=ONNX_OPSET,
            input_names=["image"], output_names=["features"],
            dynamic_axes={"image": {0: "batch"}, "features": {0: "batch"}},
        )
    os.replace(tmp, path)  # atomic: concurrent processes never read a half-written file


class FeatureExtractor:
    """Callable: N x 3 x H x W float32 (0..255 RGB) -> N x dim float32 pooled features."""

    def __init__(self, run: Callable[[np.ndarray], np.ndarray], dim: int, backend: str, device: str):
        self._run, self.dim, self.backend, self.device = run, dim, backend, device

    def __call__(self, batch: np.ndarray) -> np.ndarray:
        return self._run(batch)


def _ort_extractor(cfg: BackboneConfig, cache_dir=None, threads: int | None = None) -> FeatureExtractor:
    import onnxruntime as ort

    path = onnx_path(cfg, cache_dir)
    if not path.exists():
        _export(cfg, path)
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.intra_op_num_threads = threads or int(os.environ.get("POSTERGENRE_THREADS") or 0) or min(os.cpu_count() or 1, 4)
    so.inter_op_num_threads = 1
    # ORT's workers spin-wait after each run by default; on a small CPU that spinning steals the cores
    # from NumPy (the head), image decoding and other requests, which made the head 500x slower here.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    dim = session.get_outputs()[0].shape[1]

    def run(batch: np.ndarray) -> np.ndarray:
        return session.run(None, {"image": np.ascontiguousarray(batch, dtype=np.float32)})[0]

    return FeatureExtractor(run, int(dim), "onnxruntime", "cpu")


def _torch_extractor(cfg: BackboneConfig, device: str) -> FeatureExtractor:
    import torch

    from .torch_model import torch_features

    module = torch_features(cfg).to(device).to(memory_format=torch.channels_last)
    use_amp = device.startswith("cuda")

    @torch.inference_mode()
    def run(batch: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(np.ascontiguousarray(batch, dtype=np.float32)).to(device, non_blocking=True)
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp):
            out = module(x)
        return out.float().cpu().numpy()

    return FeatureExtractor(run, module.dim, "torch", device)


def feature_extractor(cfg: BackboneConfig, device: str | None = None, *, backend: str | None = None,
                      cache_dir=None) -> FeatureExtractor:
    """The fastest available backbone runner for ``device``: ONNX Runtime on CPU, PyTorch on CUDA.

    ``backend='torch'`` forces PyTorch (e.g. to compare both); set POSTERGENRE_BACKEND the same way.
    """
    device = resolve_device(device)
    backend = backend or os.environ.get("POSTERGENRE_BACKEND")
    if device == "cpu" and backend != "torch":
        try:
            return _ort_extractor(cfg, cache_dir)
        except ImportError:
            pass  # onnxruntime missing: eager PyTorch still works, just slower
    return _torch_extractor(cfg, device)
