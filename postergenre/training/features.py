"""On-disk cache of backbone features for a dataset folder, so a retrain takes minutes, not hours.

Features are computed once per (dataset file list, backbone config) with the same ONNX Runtime
graph the predictor deploys, for each poster and its horizontal mirror, and stored as float16
``features.npy`` of shape N x 2 x D (view 0 = poster, view 1 = mirror). Interrupted runs resume.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm


from postergenre import settings
from postergenre.model.backbone import BackboneConfig, resize_poster, to_nchw
from postergenre.model.runtime import feature_extractor, graph_precision
from postergenre.sources.dataset import PosterDataset
from postergenre.sources.images import load_image

__all__ = ["cache_features"]


def _key(ds: PosterDataset, cfg: BackboneConfig, precision: str = "fp32") -> str:
    # graph_precision: 'int8r7' on CPUs without an int8 dot product (its features differ from int8's)
    tag = "" if precision == "fp32" else graph_precision(precision)  # fp32 keys stay those of caches made before int8
    h = hashlib.sha1((ds.fingerprint() + json.dumps(cfg.to_dict(), sort_keys=True) + tag).encode())
    return h.hexdigest()[:20]


def cache_features(
    ds: PosterDataset,
    cfg: BackboneConfig,
    cache_dir: str | Path | None = None,
    *,
    batch_size: int = 8,
    progress: bool = True,
    precision: str = "fp32",
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """N x 2 x D float16 features for every row of ``ds`` (in table order), computed or read back,
    from the fp32 or the int8 backbone graph. With ``rows`` (table positions), only those are computed
    if missing, and only they are returned."""
    folder = Path(cache_dir or settings.cache_dir()) / "features" / _key(ds, cfg, precision)
    folder.mkdir(parents=True, exist_ok=True)
    extractor = feature_extractor(cfg, device="cpu", precision=precision)
    n, d = len(ds), extractor.dim
    path, done_path = folder / "features.npy", folder / "done.npy"
    if path.exists() and done_path.exists():
        feats = np.load(path, mmap_mode="r+")
        done = np.load(done_path)
        if feats.shape != (n, 2, d) or done.shape != (n,):
            feats, done = None, None
    else:
        feats, done = None, None
    if feats is None:
        feats = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(n, 2, d))
        done = np.zeros(n, dtype=bool)
    (folder / "info.json").write_text(json.dumps({"root": str(ds.root), "n": n, "dim": d, "backbone": cfg.to_dict()}))
    todo = np.flatnonzero(~done) if rows is None else np.asarray(rows)[~done[np.asarray(rows)]]
    paths = [ds.root / f for f in ds.table["file"]]
    total = n if rows is None else len(rows)
    bar = tqdm(total=total, initial=total - len(todo), desc="backbone features", unit="poster", disable=not progress)
    for start in range(0, len(todo), batch_size):
        idx = todo[start : start + batch_size]
        arrays = []
        for i in idx:
            arrays.append(resize_poster(load_image(paths[i]), cfg))
        out = extractor(to_nchw(arrays, flip=True))
        feats[idx] = out.reshape(len(idx), 2, d).astype(np.float16)
        done[idx] = True
        if start // batch_size % 50 == 0:
            feats.flush()
            np.save(done_path, done)
        bar.update(len(idx))
    bar.close()
    feats.flush()
    np.save(done_path, done)
    return np.asarray(feats) if rows is None else np.asarray(feats[np.asarray(rows)])
