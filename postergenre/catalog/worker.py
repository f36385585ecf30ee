"""``TagWorker``: one model, loaded once, that turns a batch of inputs into output rows.

The same class is the Ray Data actor (``map_batches(TagWorker, ...)``) and the local engine's worker, so
both engines compute every number the same way. A batch is a dict of columns: ``path`` (the input key)
and, from Ray's ``read_binary_files``, ``bytes``; without bytes the worker reads the input itself
(local files, pyarrow URIs, or http(s) URLs through the safe fetcher). Any input that cannot be read
or decoded becomes a row with ``error`` set; it never stops the batch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from postergenre import settings
from postergenre.catalog.rows import analysis_columns, prediction_columns, schema_for
from postergenre.catalog.sources import is_uri, is_url
from postergenre.errors import PosterGenreError

__all__ = ["WorkerConfig", "TagWorker", "read_bytes"]


@dataclass(frozen=True)
class WorkerConfig:
    weights: str | None = None      # weights folder (None = the bundled model)
    device: str | None = "cpu"      # 'cpu', 'cuda', or None (CUDA when available)
    precision: str | None = None    # backbone 'fp32' or 'int8' on CPU (None = $POSTERGENRE_PRECISION / the weights' default)
    threads: int | None = None      # ONNX Runtime threads in this worker (None = the runtime's default)
    analyze: bool = False           # add the palette / composition measures (the atlas's record)
    text: bool = True               # read the poster's text: OCR for the model's text channel, and with
                                    # analyze the text-coverage measure (slow; False = image alone)
    embeddings: bool = False        # add the similarity embedding
    allow_private: bool = False     # let URLs reach private addresses (trusted intranets, tests)


def read_bytes(key: str, allow_private: bool = False) -> bytes:
    """The encoded image behind an input key (a file, a pyarrow URI or an http(s) URL)."""
    from postergenre.errors import ImageLoadError

    if is_url(key):
        from postergenre.sources.fetch import fetch_url

        return fetch_url(key, allow_private=allow_private)
    try:
        if is_uri(key):
            import pyarrow.fs as pafs

            fs, path = pafs.FileSystem.from_uri(key)
            with fs.open_input_stream(path) as fh:
                return fh.read(25 * 2**20 + 1)
        with open(key, "rb") as fh:
            return fh.read(25 * 2**20 + 1)  # load_image refuses anything over 25 MiB
    except (OSError, ValueError) as e:
        raise ImageLoadError(f"could not read {key}: {e}") from None


class TagWorker:
    """Callable class for Ray Data's ``map_batches``: ``__init__`` loads the model once per actor."""

    def __init__(self, config: WorkerConfig = WorkerConfig(), labels: dict | None = None, meta: dict | None = None):
        if config.threads:
            os.environ[settings.THREADS_ENV] = str(config.threads)  # read by the ONNX session it builds
        import postergenre

        from postergenre.catalog.embedding import embed_features

        self.cfg = config
        self.labels, self.meta = labels or {}, meta or {}
        self.predictor = postergenre.load(config.weights, device=config.device, precision=config.precision)
        self._embed = embed_features
        probe = self._predict_one(np.full((360, 240, 3), 127, dtype=np.uint8))
        self.schema = schema_for(prediction_columns(probe[0], self.predictor.genres), analyze=config.analyze,
                                 embedding_dim=None if probe[1] is None else len(probe[1]),
                                 metadata=self.output_metadata())

    def output_metadata(self) -> dict[str, str]:
        import json

        from postergenre.look.atlas_build import model_fingerprint

        p = self.predictor
        return {"postergenre": json.dumps({"model": p.name, "genres": list(p.genres),
                                           "fingerprint": model_fingerprint(p), "precision": p.precision,
                                           "analyze": self.cfg.analyze,
                                           "text": self.cfg.text, "embeddings": self.cfg.embeddings})}

    def _predictions(self, images: list, batch_size: int):
        """(Prediction | None, error) per image; each Prediction carries its backbone features when the
        embedding is asked for (no second forward pass)."""
        return list(self.predictor.iter_predictions(images, batch_size=batch_size, text=self.cfg.text,
                                                    keep_features=self.cfg.embeddings))

    def _predict_one(self, image) -> tuple[Any, np.ndarray | None]:
        (pred, err), = self._predictions([image], 1)
        return pred, self._embeddings([pred])[0] if self.cfg.embeddings else None

    def _embeddings(self, preds: list) -> np.ndarray:
        feats = np.stack([np.asarray(p.view_features, dtype=np.float32) for p in preds])
        return self._embed(feats, self.predictor.head)

    def __call__(self, batch: dict[str, Any]) -> dict[str, list]:
        """Rows for a batch; columns follow ``self.schema`` (returned as a pyarrow Table)."""
        import pyarrow as pa

        from postergenre.errors import ImageLoadError

        keys = [str(k) for k in batch["path"]]
        blobs = list(batch["bytes"]) if "bytes" in batch else [None] * len(keys)
        rows = [{name: None for name in self.schema.names} for _ in keys]
        readable: list[int] = []
        data: list[bytes] = []
        for i, (key, blob) in enumerate(zip(keys, blobs)):
            rows[i].update(path=key, labels=self.labels.get(key), **self.meta.get(key, {}))
            try:
                data.append(bytes(blob) if blob is not None else read_bytes(key, self.cfg.allow_private))
                readable.append(i)
            except PosterGenreError as e:
                rows[i]["error"] = str(e)
        if readable:
            results = self._predictions(data, len(data))
            ok = [(i, blob, pred) for i, blob, (pred, err) in zip(readable, data, results) if pred is not None]
            for i, (pred, err) in zip(readable, results):
                if pred is None:
                    rows[i]["error"] = err
            vectors = self._embeddings([pred for _, _, pred in ok]) if self.cfg.embeddings and ok else None
            for n, (i, blob, pred) in enumerate(ok):
                rows[i].update(prediction_columns(pred, self.predictor.genres))
                if vectors is not None:
                    rows[i]["embedding"] = vectors[n].tolist()
                if self.cfg.analyze:
                    rows[i].update(self._analysis(blob))
        table = pa.Table.from_pylist(rows, schema=self.schema)
        return table

    def _analysis(self, blob: bytes) -> dict:
        from postergenre.look.atlas_build import AtlasConfig, _analysis_record

        return analysis_columns(_analysis_record(blob, AtlasConfig(text=self.cfg.text)))
