"""The fine-tuning experiment (issue 13, part 2): frozen backbone vs adapted last blocks, scored on val.

Both arms train the same MLP head recipe (``train.fit_head`` with one ``TrainConfig``, same epochs,
seeds and train posters) and are scored on the val split; the test split is never read here.

- frozen:  pooled features of the frozen ImageNet backbone (``features.py`` cache) -> head recipe.
- adapted: blocks ``from_block``..20 + head conv are fine-tuned jointly with an MLP head on the cached
  activations entering ``from_block`` (``finetune.py``; BN statistics stay frozen, asymmetric loss,
  AdamW one-cycle, each mirror an extra sample), keeping the epoch with the best val macro-AP; then the
  adapted network's pooled features (earlier taps unchanged, from the cache) -> the same head recipe.
"""
from __future__ import annotations

import copy
import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from postergenre.errors import DatasetError, PosterGenreError
from postergenre.genres import TRAINED_GENRES
from postergenre.model.backbone import BackboneConfig
from experiments.finetune.finetune import FinetuneConfig, activation_order, cache_activations, prefix_dim, tail_module
from postergenre.evaluation.metrics import baseline_reports, multilabel_report
from postergenre.training.train import TrainConfig, _asl, fit_head, head_probs
from postergenre.sources.dataset import load_dataset

if TYPE_CHECKING:
    import torch

__all__ = ["run_finetune", "joint_finetune", "tail_features"]

KEEP_MARGIN = 0.01  # the adapted backbone is worth shipping only if it beats frozen by this much val macro-AP


def _blocks(ft: FinetuneConfig) -> str:
    return "block 20" if ft.from_block == 20 else f"blocks {ft.from_block}-20"


def tail_features(tail: "torch.nn.Module", acts: np.ndarray, feats: np.ndarray, rows: np.ndarray, prefix: int,
                  chunk: int = 64) -> np.ndarray:
    """N x 2 x D float16 pooled features of ``rows``: the frozen prefix from ``feats`` + ``tail`` on ``acts``."""
    import torch

    out = np.empty((len(rows), 2, prefix + tail.dim), dtype=np.float16)
    out[:, :, :prefix] = feats[rows][:, :, :prefix]
    tail.eval()
    with torch.inference_mode():
        for s in range(0, len(rows), chunk):
            r = rows[s:s + chunk]
            x = torch.from_numpy(np.asarray(acts[r], dtype=np.float32).reshape(-1, *acts.shape[2:]))
            out[s:s + len(r), :, prefix:] = tail(x).numpy().reshape(len(r), 2, -1).astype(np.float16)
    return out


def joint_finetune(tail: "torch.nn.Module", acts: np.ndarray, feats: np.ndarray, y_all: np.ndarray, tr: np.ndarray,
                   va: np.ndarray, prefix: int, ft: FinetuneConfig, head_cfg: TrainConfig, *, progress: bool = True,
                   log=print) -> tuple[float, list[dict], np.ndarray]:
    """Train ``tail`` (in place) and an MLP head together; returns (best val macro-AP, per-epoch history, the
    val features of the best epoch). The tail is left with the weights of the epoch with the best val macro-AP."""
    import torch
    from tqdm.auto import tqdm

    from postergenre.model.torch_twin import GenreHead

    torch.manual_seed(ft.seed)
    flat = np.asarray(feats[tr], dtype=np.float32).reshape(-1, feats.shape[-1])
    head = GenreHead(flat.mean(0), flat.std(0) + 1e-3, head_cfg.members, head_cfg.hidden, y_all.shape[1],
                     head_cfg.dropout, head_cfg.input_dropout)
    del flat
    for p in tail.parameters():
        p.requires_grad_(False)
    trainable = tail.trainable(ft.from_block)
    for p in trainable:
        p.requires_grad_(True)
    opt = torch.optim.AdamW([
        {"params": trainable, "lr": ft.lr, "weight_decay": ft.weight_decay},
        {"params": list(head.parameters()), "lr": head_cfg.lr, "weight_decay": head_cfg.weight_decay},
    ])
    steps = (len(tr) + ft.batch_size - 1) // ft.batch_size  # an epoch: every poster once, in a random view
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[ft.lr, head_cfg.lr], total_steps=ft.epochs * steps,
                                                pct_start=0.1)
    rng = np.random.default_rng(ft.seed)
    y_va = y_all[va]
    best, best_state, best_va, history = -1.0, None, None, []
    for epoch in range(ft.epochs):
        t0 = time.time()
        order = np.stack([rng.permutation(tr), rng.integers(0, 2, len(tr))], axis=1)  # (row, view: mirror or not)
        tail.eval()   # BatchNorm keeps its ImageNet statistics (small batches); weights still train
        head.train()
        total = 0.0
        bar = tqdm(range(steps), desc=f"fine-tune epoch {epoch + 1}/{ft.epochs}", leave=False, disable=not progress)
        for s in bar:
            b = order[s * ft.batch_size:(s + 1) * ft.batch_size]
            srt = np.argsort(b[:, 0], kind="stable")  # memmap reads in file order
            b = b[srt]
            x = torch.from_numpy(np.asarray(acts[b[:, 0], b[:, 1]], dtype=np.float32))
            pre = torch.from_numpy(np.asarray(feats[b[:, 0], b[:, 1], :prefix], dtype=np.float32))
            z = torch.cat([pre, tail(x)], dim=1)
            logits = head.member_logits(z)  # K x B x G (every member sees the batch)
            loss = _asl(logits, torch.from_numpy(y_all[b[:, 0]])[None].expand_as(logits), head_cfg)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            if s % 20 == 0:
                bar.set_postfix(loss=f"{total / (s + 1):.3f}")
        head.eval()
        x_va = tail_features(tail, acts, feats, va, prefix)
        rep = multilabel_report(y_va, head_probs(head, x_va), 0.5, [str(j) for j in range(y_va.shape[1])])
        history.append({"epoch": epoch + 1, "loss": total / steps, "val_macro_ap": rep["macro_ap"],
                        "val_micro_ap": rep["micro_ap"], "seconds": round(time.time() - t0, 1)})
        log(f"fine-tune epoch {epoch + 1}/{ft.epochs}  loss {total / steps:.4f}  joint head val macro-AP "
            f"{rep['macro_ap']:.4f}  micro-AP {rep['micro_ap']:.4f}  ({time.time() - t0:.0f} s)")
        if rep["macro_ap"] > best:
            best, best_state, best_va = rep["macro_ap"], copy.deepcopy(tail.state_dict()), x_va
        elif epoch + 1 < ft.epochs:
            log("val macro-AP fell: early stop")
            break
    tail.load_state_dict(best_state)
    for p in tail.parameters():
        p.requires_grad_(False)
    return best, history, best_va


def run_finetune(data: str | Path, ft: FinetuneConfig | None = None, head_cfg: TrainConfig | None = None, *,
                 backbone: BackboneConfig | None = None, cache_dir=None, cache_only: bool = False,
                 progress: bool = True, log=print) -> dict:
    """Cache the activations, run both arms, print and return their val figures (and save the adapted tail)."""
    import torch

    from postergenre.model.backbone import build_backbone
    from postergenre.training.features import cache_features

    ft, head_cfg, backbone = ft or FinetuneConfig(), head_cfg or TrainConfig(), backbone or BackboneConfig()
    torch.set_num_threads(ft.threads)
    ds = load_dataset(data)
    splits = ds.table["split"].to_numpy()
    for split in ("train", "val"):
        if not (splits == split).any():
            raise DatasetError(f"{ds.root}/labels.csv has no '{split}' rows; the experiment needs train and val")
    genres = [g for g in TRAINED_GENRES if g in ds.genres] or ds.genres
    rows = activation_order(ds, ft.max_train, ft.seed)
    if not ft.cache_block <= ft.from_block:
        raise PosterGenreError(f"from_block ({ft.from_block}) must be >= cache_block ({ft.cache_block})")
    acts, done = cache_activations(ds, backbone, rows, ft.cache_block, cache_dir=cache_dir, threads=ft.threads,
                                   progress=progress)
    if cache_only:
        log(f"cached activations entering block {ft.cache_block} for {int(done[rows].sum())} posters (x2 mirrored)")
        return {"cached": int(done[rows].sum())}
    feats = cache_features(ds, backbone, cache_dir, progress=progress)
    tr, va = np.sort(rows[splits[rows] == "train"]), rows[splits[rows] == "val"]
    y_all = ds.targets(genres)
    t0 = time.time()
    log(f"experiment: {len(tr)} train posters{' (seeded random subset)' if ft.max_train else ''} x2 mirrored, "
        f"{len(va)} val posters; {_blocks(ft)} + head conv trainable")

    log("arm 1/2: frozen backbone -> head recipe")
    head = fit_head(np.asarray(feats[tr], np.float32), y_all[tr], head_cfg, progress=progress, log=log)
    frozen = multilabel_report(y_all[va], head_probs(head, np.asarray(feats[va], np.float32)), 0.5, genres)

    log("arm 2/2: fine-tune the last blocks jointly with a head, then the same head recipe on their features")
    net = build_backbone(backbone.name)
    channels = {i: b._bn2.num_features for i, b in enumerate(net._blocks)}
    prefix = prefix_dim(backbone, ft.cache_block, channels)
    tail = tail_module(backbone, ft.cache_block, net)
    best_joint, history, x_va = joint_finetune(tail, acts, feats, y_all, tr, va, prefix, ft, head_cfg,
                                               progress=progress, log=log)
    x_tr = tail_features(tail, acts, feats, tr, prefix)
    head = fit_head(np.asarray(x_tr, np.float32), y_all[tr], head_cfg, progress=progress, log=log)
    adapted = multilabel_report(y_all[va], head_probs(head, np.asarray(x_va, np.float32)), 0.5, genres)
    trivial = baseline_reports(y_all[va], genres, y_all[tr].mean(0))["training_prior"]

    delta = adapted["macro_ap"] - frozen["macro_ap"]
    keep = delta >= KEEP_MARGIN
    log(f"\nval split ({len(va)} posters; train: {len(tr)} posters)   macro-AP  micro-AP  macro-AUC")
    for name, r in (("trivial (training prior)", trivial), ("frozen backbone + head", frozen),
                    (f"adapted {_blocks(ft)} + head", adapted)):
        log(f"  {name:<34} {r['macro_ap']:.4f}    {r['micro_ap']:.4f}    {r['macro_auc']:.4f}")
    log(f"  (joint fine-tune head, best epoch)  {best_joint:.4f}")
    log(f"delta macro-AP {delta:+.4f}, micro-AP {adapted['micro_ap'] - frozen['micro_ap']:+.4f}: "
        + ("KEEP (>= +%.2f val macro-AP)" % KEEP_MARGIN if keep else "do not ship (< +%.2f val macro-AP)" % KEEP_MARGIN))

    folder = Path(acts.filename).parent
    np.savez_compressed(folder / "adapted_tail.npz",
                        **{k: v.numpy() for k, v in tail.state_dict().items()})
    result = {
        "finetune": asdict(ft), "head": asdict(head_cfg), "n_train": int(len(tr)), "n_val": int(len(va)),
        "history": history, "seconds": round(time.time() - t0, 1), "delta_macro_ap": delta, "keep": bool(keep),
        "val": {k: {m: r[m] for m in ("macro_ap", "micro_ap", "macro_auc", "micro_f1")}
                for k, r in (("trivial", trivial), ("frozen", frozen), ("adapted", adapted))},
        "val_per_genre_ap": {g: {"frozen": frozen["per_genre"][g]["ap"], "adapted": adapted["per_genre"][g]["ap"]}
                             for g in genres},
    }
    (folder / "result.json").write_text(json.dumps(result, indent=1))
    log(f"wrote {folder / 'result.json'} and the adapted blocks {folder / 'adapted_tail.npz'}")
    return result
