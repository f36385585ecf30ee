"""Adapting the backbone's last stages to posters (issue 13, part 2): the cached-activation set-up.

The backbone is frozen ImageNet EfficientNet-Lite2. To fine-tune only its last block(s) on a 2-core
CPU, the activation map *entering* block ``from_block`` (1/32 resolution, 208 x 12 x 8 at 240x360) is
computed once per poster and per mirror image, with an ONNX export of the frozen trunk, and stored as
float16 on disk (resumable, val rows first, then train rows in a seeded random order, so a budgeted
run uses a random train subsample). Everything after it — blocks ``from_block..20``, the head conv and
the pooled-feature MLP — is then trainable in PyTorch in seconds per thousand posters; the pooled taps
before ``from_block`` are frozen and read from the backbone feature cache (``features.py``).
``finetune_run.py`` runs the experiment (frozen vs adapted, same head recipe, scored on val).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from postergenre.errors import PosterGenreError
from postergenre.model.backbone import BackboneConfig, resize_poster, to_nchw
from postergenre.sources.dataset import PosterDataset
from postergenre.sources.images import load_image

__all__ = ["FinetuneConfig", "trunk_module", "tail_module", "prefix_dim", "activation_order", "cache_activations"]


@dataclass
class FinetuneConfig:
    cache_block: int = 19       # the activations entering this block are cached (train + val, x2 mirrored)
    from_block: int = 20        # first block that is trained (>= cache_block; blocks in between run frozen):
    #   20 = the last block + head conv; 19 = the last two blocks (2x the CPU time per step here)
    max_train: int = 4000       # train posters used (a seeded random subset; 0 = all 19.5k: ~25 min of caching and
    #   ~1 h a fine-tune epoch on a busy 2-core box)
    epochs: int = 3             # fine-tuning epochs; the epoch with the best val macro-AP is kept
    batch_size: int = 64        # poster views per step (each mirror is its own sample)
    lr: float = 2e-4            # AdamW for the backbone blocks (one-cycle); the MLP uses the head recipe's lr
    weight_decay: float = 0.0   # on the backbone blocks (pretrained weights: no pull towards zero)
    seed: int = 0               # subsample order, initialisation and batch order
    threads: int = 2            # torch / ONNX Runtime CPU threads


def prefix_dim(cfg: BackboneConfig, from_block: int, channels: dict) -> int:
    """Length of the leading part of the pooled feature vector that comes from taps before ``from_block``."""
    return sum(channels[t] for t in cfg.taps if t != "head" and t < from_block) * len(cfg.pooling)


def _check(cfg: BackboneConfig, from_block: int, n_blocks: int) -> None:
    block_taps = [t for t in cfg.taps if t != "head"]
    if not 1 <= from_block < n_blocks:
        raise PosterGenreError(f"from_block must be between 1 and {n_blocks - 1}; got {from_block}")
    if list(block_taps) != sorted(block_taps) or (cfg.taps and cfg.taps[-1] != "head" and "head" in cfg.taps):
        raise PosterGenreError(f"taps must be ascending block indices followed by 'head'; got {cfg.taps}")


def trunk_module(cfg: BackboneConfig, from_block: int, net=None):
    """The frozen trunk: N x 3 x H x W RGB (0..255) -> the activation map entering block ``from_block``."""
    import torch
    import torch.nn as nn

    from postergenre.model.backbone import build_backbone

    net = net if net is not None else build_backbone(cfg.name)
    _check(cfg, from_block, len(net._blocks))

    class Trunk(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(cfg.mean, dtype=torch.float32).view(1, 3, 1, 1))
            self.register_buffer("std", torch.tensor(cfg.std, dtype=torch.float32).view(1, 3, 1, 1))

        def forward(self, x):
            x = (x - self.mean) / self.std
            x = self.net._swish(self.net._bn0(self.net._conv_stem(x)))
            for block in self.net._blocks[:from_block]:
                x = block(x)
            return x

    return Trunk().eval()


def tail_module(cfg: BackboneConfig, from_block: int, net=None):
    """Blocks ``from_block``.. + head conv: activation map -> the pooled taps at or after ``from_block``, in
    the same order as ``torch_model.MultiScaleFeatures`` (so prefix + tail = the full feature vector).
    The module shares its parameters with ``net``: training it adapts ``net`` in place."""
    import torch
    import torch.nn as nn

    from postergenre.model.backbone import build_backbone

    net = net if net is not None else build_backbone(cfg.name)
    _check(cfg, from_block, len(net._blocks))
    taps = {t for t in cfg.taps if t != "head" and t >= from_block}
    use_head = "head" in cfg.taps
    last = len(net._blocks) - 1 if use_head else max(taps)

    class Tail(nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = nn.ModuleList(net._blocks[from_block:last + 1])
            self.conv_head, self.bn1, self.swish = net._conv_head, net._bn1, net._swish
            self.dim = (sum(net._blocks[t]._bn2.num_features for t in taps)
                        + (net._bn1.num_features if use_head else 0)) * len(cfg.pooling)

        def trainable(self, first: int) -> list:
            """Parameters of block ``first`` onwards and the head conv (what fine-tuning updates)."""
            mods = list(self.blocks[first - from_block:]) + ([self.conv_head, self.bn1] if use_head else [])
            return [p for m in mods for p in m.parameters()]

        def _pool(self, x):
            return [x.mean(dim=(2, 3)) if p == "mean" else x.amax(dim=(2, 3)) for p in cfg.pooling]

        def forward(self, x):
            pooled = []
            for idx, block in enumerate(self.blocks, start=from_block):
                x = block(x)
                if idx in taps:
                    pooled += self._pool(x)
            if use_head:
                x = self.swish(self.bn1(self.conv_head(x)))
                pooled += self._pool(x)
            return torch.cat(pooled, dim=1)

    return Tail().eval()


def activation_order(ds: PosterDataset, max_train: int, seed: int = 0) -> np.ndarray:
    """Rows to cache, in computing order: every val row (table order), then ``max_train`` train rows in a
    seeded random order (0 = all). Test rows are never touched."""
    splits = ds.table["split"].to_numpy()
    val = np.flatnonzero(splits == "val")
    train = np.random.default_rng(seed).permutation(np.flatnonzero(splits == "train"))
    return np.concatenate([val, train[:max_train] if max_train else train])


def _folder(ds: PosterDataset, cfg: BackboneConfig, from_block: int, cache_dir) -> Path:
    from postergenre import settings
    key = json.dumps({"ds": ds.fingerprint(), "cfg": cfg.to_dict(), "from_block": from_block}, sort_keys=True)
    digest = hashlib.sha1(key.encode()).hexdigest()[:20]
    return Path(cache_dir or settings.cache_dir()) / "finetune" / digest


def _trunk_session(cfg: BackboneConfig, from_block: int, cache_dir, threads: int):
    from postergenre.model.runtime import _export, onnx_path, ort_session

    base = onnx_path(cfg, cache_dir)  # a name of its own, never matched by runtime.find_graph's glob
    path = base.with_name(f"trunk{from_block}-{base.name}")
    if not path.exists():
        _export(cfg, path, trunk_module(cfg, from_block), output_names=("activation",))
    return ort_session(path, threads)


def cache_activations(ds: PosterDataset, cfg: BackboneConfig, rows: np.ndarray, from_block: int, *,
                      cache_dir=None, batch_size: int = 8, threads: int = 2, progress: bool = True,
                      stop_after_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Activations entering ``from_block`` for ``rows`` of ``ds`` (poster and mirror), computed or read back.

    Returns (acts, done): acts is a float16 memmap N x 2 x C x H x W over the whole table (only ``rows`` are
    filled), done a bool mask of the filled rows. Interrupted runs resume; ``stop_after_s`` ends the run
    cleanly after that many seconds (the rest is computed by the next call)."""
    import time

    from tqdm.auto import tqdm

    t0 = time.time()
    folder = _folder(ds, cfg, from_block, cache_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path, done_path = folder / "activations.npy", folder / "done.npy"
    session = None
    if path.exists() and done_path.exists():
        acts, done = np.load(path, mmap_mode="r+"), np.load(done_path)
    else:
        session = _trunk_session(cfg, from_block, cache_dir, threads)
        w, h = cfg.input_size
        c, hh, ww = session.run(None, {"image": np.zeros((1, 3, h, w), np.float32)})[0].shape[1:]
        acts = np.lib.format.open_memmap(path, mode="w+", dtype=np.float16, shape=(len(ds), 2, c, hh, ww))
        done = np.zeros(len(ds), dtype=bool)
        _save_atomic(done_path, done)
    (folder / "info.json").write_text(json.dumps({"root": str(ds.root), "n": len(ds), "shape": list(acts.shape[1:]),
                                                  "from_block": from_block, "backbone": cfg.to_dict()}))
    todo = [int(i) for i in rows if not done[i]]
    if todo and session is None:
        session = _trunk_session(cfg, from_block, cache_dir, threads)
    paths = [ds.root / f for f in ds.table["file"]]
    bar = tqdm(total=len(rows), initial=len(rows) - len(todo), desc=f"activations entering block {from_block}",
               unit="poster", disable=not progress)
    for start in range(0, len(todo), batch_size):
        idx = todo[start:start + batch_size]
        batch = to_nchw([resize_poster(load_image(paths[i]), cfg) for i in idx], flip=True)
        out = session.run(None, {"image": batch})[0]
        acts[idx] = out.reshape(len(idx), 2, *out.shape[1:]).astype(np.float16)
        done[idx] = True
        bar.update(len(idx))
        last = start + batch_size >= len(todo)
        out_of_time = stop_after_s is not None and time.time() - t0 > stop_after_s
        if last or out_of_time or start // batch_size % 25 == 0:
            acts.flush()
            _save_atomic(done_path, done)
        if out_of_time:
            break
    bar.close()
    return acts, done


def _save_atomic(path: Path, arr: np.ndarray) -> None:
    """np.save via a temporary file and a rename, so an interrupted run never leaves a torn done mask."""
    import os

    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp.npy")
    np.save(tmp, arr)
    os.replace(tmp, path)
