"""Catalogs at scale: tag a catalog into Parquet (locally or on Ray Data), reduce it into a Genre Atlas,
and index it for similar-poster search (LanceDB).

    from postergenre import catalog
    catalog.tag("posters/", "out.parquet")                       # one row per poster
    catalog.tag("posters/", "out.parquet", catalog.TagConfig(engine="ray", concurrency=2, num_cpus=1))
    atlas = catalog.atlas_from_parquet("out.parquet")            # the app's atlas.json dict
    catalog.build_index("posters/", "index/")                    # LanceDB table of embeddings
    catalog.PosterIndex("index/").similar("poster.jpg", k=10)    # [SimilarPoster(path, distance, genres...)]

Heavy dependencies (ray, lancedb, pyarrow) are imported inside the functions that use them.

May import the top level, sources/, model/ and look/; never compare/, api/, commands/.
"""
from __future__ import annotations

from postergenre.catalog.sources import CatalogSource, resolve_source
from postergenre.catalog.tag import TagConfig, TagReport, done_paths, read_output, tag
from postergenre.catalog.worker import TagWorker, WorkerConfig

__all__ = ["CatalogSource", "resolve_source", "TagConfig", "TagReport", "TagWorker", "WorkerConfig", "tag",
           "done_paths", "read_output", "atlas_from_parquet", "build_index", "PosterIndex", "SimilarPoster"]

_LAZY = {"atlas_from_parquet": ".atlas", "build_index": ".index", "PosterIndex": ".index", "SimilarPoster": ".index"}


def __getattr__(name: str):
    """The atlas and index parts load on first use (they pull in pandas / the atlas code)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
