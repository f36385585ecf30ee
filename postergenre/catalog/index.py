"""Similar posters: a LanceDB table of poster embeddings (embedded, file-based: a folder on local disk or
object storage), built from a catalog and searched by a poster's embedding (cosine distance).

``build_index(source, index)`` reuses a tag output that has embeddings, or tags the source into
``INDEX/tagged.parquet`` first (resumable). ``PosterIndex(index).similar(image, k)`` returns the k
nearest catalog posters. Exact (flat) search below ``ANN_FROM`` rows; an IVF-PQ index above it.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from postergenre.catalog.sources import CatalogSource, is_uri, is_url, part_files
from postergenre.errors import DatasetError, PosterGenreError

__all__ = ["SimilarPoster", "PosterIndex", "build_index", "embed_image", "INDEX_TABLE", "ANN_FROM"]

INDEX_TABLE = "posters"
INFO_FILE = "index.json"
ANN_FROM = 200_000  # rows from which an approximate (IVF-PQ) index beats the exact scan


@dataclass
class SimilarPoster:
    path: str                        # the catalog poster (file path, URI or URL as tagged)
    distance: float                  # cosine distance, 0 = the same look
    predicted: list[str]             # the model's genres for it
    labels: list[str] | None = None  # its known genres, when the catalog had them
    summary: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def embed_image(predictor, image, kind: str | None = None) -> np.ndarray:
    """The similarity embedding of one poster (any input ``load_image`` accepts)."""
    from postergenre.catalog.embedding import DEFAULT_EMBEDDING, embed_features

    feats, _ = predictor.encode([predictor.preprocess(image)])
    feats = np.asarray(feats, dtype=np.float32)
    return embed_features(feats.reshape(1, -1, feats.shape[-1]), predictor.head, kind or DEFAULT_EMBEDDING)[0]


def _lancedb():
    import os

    os.environ.setdefault("LANCEDB_LOG", "error")  # lance's Rust side logs "creating dataset" warnings otherwise
    try:
        import lancedb
    except ImportError:  # the Space's install (requirements-space.txt) has no catalog engines
        raise PosterGenreError("the similar-poster index needs LanceDB, which this install leaves out: "
                               "`pip install -r requirements-serve.txt`") from None
    return lancedb


def _has_embeddings(path: Path) -> bool:
    import pyarrow.parquet as pq

    parts = part_files(path)
    return bool(parts) and "embedding" in pq.read_schema(parts[0]).names


def _tag_output_with_embeddings(source) -> Path | None:
    """``source`` as a folder to reuse when it names a tag output made with embeddings, else None. Only a
    path names a folder: a ``CatalogSource`` or a list of inputs is tagged (never read as a file name)."""
    if not isinstance(source, (str, os.PathLike)) or is_url(str(source)) or is_uri(str(source)):
        return None
    folder = Path(source).expanduser()
    return folder if folder.is_dir() and _has_embeddings(folder) else None


def _describe(source) -> str:
    """A short name for ``source`` in a message (a catalog of many inputs is not spelled out)."""
    if isinstance(source, CatalogSource):
        return f"the {len(source)} inputs of the catalog"
    if isinstance(source, list):
        return f"the {len(source)} inputs given"
    return str(source)


def build_index(source, index: str | Path, tag_config=None, worker=None, progress: bool = True) -> dict:
    """Build (or rebuild) the index folder ``index`` from ``source``: a tag output with embeddings, or
    anything ``tag`` reads (tagged first into INDEX/tagged.parquet). Returns the index info."""
    from postergenre.catalog.embedding import DEFAULT_EMBEDDING
    from postergenre.catalog.tag import TagConfig, read_output, tag
    from postergenre.catalog.worker import WorkerConfig

    index = Path(index)
    t0 = time.perf_counter()
    reused = _tag_output_with_embeddings(source)
    if reused is not None:
        tagged = reused
    else:
        tagged = index / "tagged.parquet"
        wcfg = worker or WorkerConfig()
        from dataclasses import replace

        tag(source, tagged, tag_config or TagConfig(progress=progress), replace(wcfg, embeddings=True))
    t1 = time.perf_counter()
    table = read_output(tagged, columns=["path", "error", "embedding", "predicted", "labels", "summary"])
    import pyarrow.compute as pc

    table = table.filter(pc.is_null(table.column("error"))).drop_columns(["error"])
    table = table.rename_columns(["vector" if c == "embedding" else c for c in table.column_names])
    if table.num_rows == 0:
        raise DatasetError(f"no readable poster in {_describe(source)}; nothing to index")
    db = _lancedb().connect(str(index / "lance"))
    tbl = db.create_table(INDEX_TABLE, data=table, mode="overwrite")
    ann = table.num_rows >= ANN_FROM
    if ann:
        tbl.create_index(metric="cosine", vector_column_name="vector",
                         num_partitions=int(np.sqrt(table.num_rows)), num_sub_vectors=32)
    dim = len(table.column("vector")[0].as_py())
    info = {"format": "postergenre-index/1", "rows": table.num_rows, "dim": dim, "embedding": DEFAULT_EMBEDDING,
            "tagged": str(tagged.resolve()), "ann": ann, "tag_seconds": round(t1 - t0, 2),
            "index_seconds": round(time.perf_counter() - t1, 2)}
    import pyarrow.parquet as pq

    meta = json.loads((pq.read_schema(part_files(tagged)[0]).metadata or {})
                      .get(b"postergenre", b"{}"))
    info.update(model=meta.get("model"), fingerprint=meta.get("fingerprint"))
    (index / INFO_FILE).write_text(json.dumps(info, indent=2))
    return info


class PosterIndex:
    """An opened index; ``similar(image, k)`` embeds the poster with the model and searches."""

    def __init__(self, index: str | Path, predictor=None):
        self.path = Path(index)
        info_path = self.path / INFO_FILE
        if not info_path.is_file():
            raise DatasetError(f"{self.path} is not a poster index (no {INFO_FILE}); build one with "
                               f"`postergenre index SOURCE --out {self.path}`")
        self.info = json.loads(info_path.read_text())
        self.table = _lancedb().connect(str(self.path / "lance")).open_table(INDEX_TABLE)
        self._predictor = predictor

    def __len__(self) -> int:
        return int(self.info["rows"])

    @property
    def predictor(self):
        if self._predictor is None:
            import postergenre

            self._predictor = postergenre.load()
        return self._predictor

    def embed(self, image) -> np.ndarray:
        from postergenre.look.atlas_build import model_fingerprint

        if self.info.get("fingerprint") and model_fingerprint(self.predictor) != self.info["fingerprint"]:
            raise PosterGenreError(f"the index {self.path} was built with another model; rebuild it with "
                                   "`postergenre index SOURCE --out INDEX`")
        return embed_image(self.predictor, image, self.info.get("embedding"))

    def search(self, vector: np.ndarray, k: int = 10, genre: str | None = None) -> list[SimilarPoster]:
        """The ``k`` catalog posters nearest ``vector``; with ``genre`` only posters of that genre that
        read strongly as it: the model puts it in their headline, and their labels (when the catalog
        has them) name it too."""
        if k < 1:
            raise DatasetError(f"k must be 1 or more, not {k}")
        query = (self.table.search(np.asarray(vector, dtype=np.float32), vector_column_name="vector")
                 .distance_type("cosine"))
        if genre is not None:
            name = genre.replace("'", "''")
            query = query.where(f"array_has(predicted, '{name}') AND (labels IS NULL OR array_has(labels, '{name}'))",
                                prefilter=True)
        hits = query.limit(k).select(["path", "predicted", "labels", "summary", "_distance"]).to_list()
        # cosine distance is >= 0; float rounding can give -1e-7 for the same poster (shown as "-0.000")
        return [SimilarPoster(h["path"], max(float(h["_distance"]), 0.0), list(h["predicted"] or []),
                              None if h.get("labels") is None else list(h["labels"]), h.get("summary") or "")
                for h in hits]

    def similar(self, image, k: int = 10, genre: str | None = None) -> list[SimilarPoster]:
        """The ``k`` catalog posters closest to ``image`` (nearest first); ``genre``: only that genre's
        posters that read strongly as it (see ``search``)."""
        return self.search(self.embed(image), k, genre)
