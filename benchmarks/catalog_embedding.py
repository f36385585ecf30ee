"""Which embedding finds posters of the same genres? Prints, for each candidate of
``postergenre.catalog.embedding`` and for random neighbours, the share of the 10 nearest val posters'
genres that the query poster has (sum over neighbours of |G(n) & G(q)| / sum of |G(n)|), on val.

Reads the backbone feature cache of the shared dataset (``postergenre.training.features.cache_features``); it
never computes features itself: with ``--partial`` it uses the val rows cached so far.

    .venv/bin/python benchmarks/catalog_embedding.py [--data ../shared/data/posters] [--partial]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def genre_share(vectors: np.ndarray, genres: list[set[str]], k: int = 10, rng=None) -> float:
    """Share of the k nearest neighbours' genres (cosine, self excluded) that the query has; random
    neighbours when ``rng`` is given."""
    n = len(vectors)
    hit = total = 0
    for start in range(0, n, 512):
        q = vectors[start : start + 512]
        if rng is None:
            sims = q @ vectors.T
            sims[np.arange(len(q)), np.arange(start, start + len(q))] = -np.inf
            nn = np.argpartition(-sims, k, axis=1)[:, :k]
        else:
            nn = np.stack([rng.choice(np.delete(np.arange(n), i), k, replace=False)
                           for i in range(start, start + len(q))])
        for i, row in zip(range(start, start + len(q)), nn):
            for j in row:
                hit += len(genres[j] & genres[i])
                total += len(genres[j])
    return hit / max(total, 1)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "posters"))
    ap.add_argument("--partial", action="store_true", help="use the val rows cached so far")
    ap.add_argument("--split", default="val")
    args = ap.parse_args()

    from postergenre.model.backbone import BackboneConfig
    from postergenre.catalog.embedding import EMBEDDINGS, embed_features
    from postergenre.sources.dataset import load_dataset
    from postergenre import settings
    from postergenre.training.features import _key
    from postergenre.model.head import Head
    from postergenre.model.weights import read_weights

    params, meta = read_weights()
    cfg = BackboneConfig.from_dict(meta["preprocessing"])
    ds = load_dataset(args.data, check_files=False)
    folder = settings.cache_dir() / "features" / _key(ds, cfg)
    feats = np.load(folder / "features.npy", mmap_mode="r")
    done = np.load(folder / "done.npy")
    rows = np.flatnonzero((ds.table["split"] == args.split).to_numpy() & done)
    if not args.partial and len(rows) < int((ds.table["split"] == args.split).sum()):
        print(f"feature cache incomplete ({done.sum()} of {len(done)} rows); rerun later or pass --partial")
        return 1
    genres = [set(ds.table["genre_list"][i]) for i in rows]
    X = np.asarray(feats[rows], dtype=np.float32)
    print(f"{len(rows)} {args.split} posters (of {int((ds.table['split'] == args.split).sum())}), k = 10")
    results = {"random neighbours": genre_share(np.zeros((len(rows), 1), np.float32), genres,
                                                rng=np.random.default_rng(0))}
    for kind in EMBEDDINGS:
        results[kind] = genre_share(embed_features(X, Head(params), kind), genres)
    for name, share in results.items():
        print(f"  {name:<18} {share:.3f}")
    print(json.dumps({k: round(v, 4) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
