"""Index build time and query latency of the similar-poster index (LanceDB) for the whole shared dataset.

The embeddings come from the backbone feature cache (``postergenre.training.features.cache_features``), so this
times the index itself, not the tagging (whose rate ``benchmarks/catalog_tag.py`` prints). It never
computes features: with ``--partial`` it indexes the rows cached so far.

    .venv/bin/python benchmarks/catalog_index.py [--data ../shared/data/posters] [--queries 200]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "posters"))
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--partial", action="store_true", help="index the rows cached so far")
    args = ap.parse_args()

    import pyarrow as pa

    from postergenre.model.backbone import BackboneConfig
    from postergenre.catalog.embedding import DEFAULT_EMBEDDING, embed_features
    from postergenre.catalog.index import INDEX_TABLE, _lancedb
    from postergenre.sources.dataset import load_dataset
    from postergenre import settings
    from postergenre.training.features import _key
    from postergenre.model.head import Head
    from postergenre.model.weights import read_weights

    params, meta = read_weights()
    ds = load_dataset(args.data, check_files=False)
    folder = settings.cache_dir() / "features" / _key(ds, BackboneConfig.from_dict(meta["preprocessing"]))
    feats, done = np.load(folder / "features.npy", mmap_mode="r"), np.load(folder / "done.npy")
    if not done.all() and not args.partial:
        print(f"feature cache incomplete ({done.sum()} of {len(done)}); rerun later or pass --partial")
        return 1
    rows = np.flatnonzero(done)
    t0 = time.perf_counter()
    vectors = np.concatenate([embed_features(np.asarray(feats[rows[i:i + 1024]], np.float32), Head(params))
                              for i in range(0, len(rows), 1024)])
    t_embed = time.perf_counter() - t0
    dim = vectors.shape[1]
    table = pa.table({"path": [str(ds.root / f) for f in ds.table["file"].iloc[rows]],
                      "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), dim),
                      "labels": [list(g) for g in ds.table["genre_list"].iloc[rows]]})
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        tbl = _lancedb().connect(tmp).create_table(INDEX_TABLE, data=table, mode="overwrite")
        t_build = time.perf_counter() - t0
        rng = np.random.default_rng(0)
        lat = []
        for i in rng.choice(len(rows), args.queries, replace=False):
            t0 = time.perf_counter()
            hits = tbl.search(vectors[i], vector_column_name="vector").distance_type("cosine").limit(10) \
                .select(["path", "labels", "_distance"]).to_list()
            lat.append(time.perf_counter() - t0)
            assert hits[0]["path"] == table["path"][int(i)].as_py()
    lat_ms = np.array(lat) * 1000
    print(f"{len(rows)} posters, {dim}-d '{DEFAULT_EMBEDDING}' embeddings (from cached features in {t_embed:.1f} s)")
    print(f"  LanceDB table build (exact search, no ANN index): {t_build:.2f} s")
    print(f"  query k=10, cosine: p50 {np.percentile(lat_ms, 50):.1f} ms, p95 {np.percentile(lat_ms, 95):.1f} ms "
          f"({args.queries} queries; each poster's nearest neighbour was itself)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
