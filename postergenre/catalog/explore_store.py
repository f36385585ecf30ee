"""What exploring a catalog keeps beside it, built once per tag output: a DuckDB file with the columns the
Catalog page queries, and the 2-D map of the embeddings.

Why a copy: a catalog tagged locally is a folder of 256-row Parquet parts (3,907 files for a million
posters), and every engine measured (DuckDB, Polars, pyarrow; ``benchmarks/catalog_page.py --engines``)
needs 1.4-5 s per query over that many files on 2 cores: over the page's 1 s. One pass copies the
columns the page reads (not the embeddings or the OCR text) into DuckDB's own columnar file, with each
poster's genre sets as bit masks; queries over it take tens of milliseconds, and DuckDB reads it through
its buffer manager, so memory stays bounded. The copy is keyed by the part files' names, sizes and times:
a resumed ``tag`` run makes a new one. It lives in ``CATALOG/.explore/``, or under the cache folder
(``POSTERGENRE_CACHE``) when the catalog folder is read-only.

The map is a PCA (scikit-learn) of a sample of the embeddings, fitted once and kept as ``map-*.parquet``
beside the copy; embeddings are read from the part files of the sampled rows only.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from postergenre.catalog.rows import prob_column
from postergenre.errors import DatasetError

__all__ = ["fingerprint", "store_folder", "store_file", "build_store", "MAP_SAMPLE", "build_map", "read_embedding", "thumbnail"]

STORE_VERSION = 2    # bump when the copy's columns change
MAP_SAMPLE = 20_000  # embeddings the 2-D map is fitted on and drawn from
FILES_PER_STEP = 200  # part files copied per step of the progress bar


def fingerprint(parts: list[Path]) -> str:
    """A key of the tag output's current state: its part files' names, sizes and modification times."""
    stat = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in parts]
    return hashlib.sha1(json.dumps([STORE_VERSION, stat]).encode()).hexdigest()[:16]


def store_folder(catalog: Path) -> Path:
    """``CATALOG/.explore`` when it can be written, else a folder under the cache folder."""
    beside = catalog / ".explore"
    try:
        beside.mkdir(exist_ok=True)
        probe = beside / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
        return beside
    except OSError:
        from postergenre import settings

        key = hashlib.sha1(str(catalog.resolve()).encode()).hexdigest()[:16]
        folder = settings.cache_dir() / "catalog-explore" / key
        folder.mkdir(parents=True, exist_ok=True)
        return folder


def store_file(catalog: Path, key: str) -> Path:
    """The working copy of ``catalog`` in the state ``key`` (:func:`fingerprint`); it may not exist yet."""
    return store_folder(catalog) / f"catalog-{key}.duckdb"


def _mask(column: str, genres: list[str]) -> str:
    """SQL: the genres of a list column as a bit mask (bit j = genres[j])."""
    lit = lambda g: "'" + g.replace("'", "''") + "'"  # noqa: E731
    return " + ".join(f"(coalesce(list_contains({column}, {lit(g)}), false)::BIGINT << {j})"
                      for j, g in enumerate(genres))


def _select(columns: list[str], genres: list[str], measures: list[str]) -> str:
    """The copy's columns from a part file's (absent optional ones become NULL), plus per row: the genre
    sets as bit masks (``pm`` predicted, ``lm`` labelled, -1 without labels), the top probability and its
    genre (``top_p``, ``top_g``: index into the genres) and the top probability among the labelled
    genres (``label_p``, ``label_g``), which the disagreement view ranks by."""
    def have(name: str, sql: str, null_type: str) -> str:
        return f"{sql} AS {name}" if name in columns else f"NULL::{null_type} AS {name}"

    probs = [prob_column(g) for g in genres]
    inner = ["path", "error", "filename AS file", "file_row_number::INTEGER AS row",
             have("labels", "labels", "VARCHAR[]"), "predicted",
             have("year", "TRY_CAST(year AS INTEGER)", "INTEGER"), have("split", "split", "VARCHAR"),
             have("looks_like_poster", "looks_like_poster", "BOOLEAN"),
             have("poster_score", "poster_score::FLOAT", "FLOAT"), have("summary", "summary", "VARCHAR"),
             f"{_mask('predicted', genres)} AS pm",
             "CASE WHEN labels IS NULL THEN -1 ELSE " + _mask("labels", genres) + " END AS lm"
             if "labels" in columns else "-1::BIGINT AS lm"]
    inner += [f"{c}::FLOAT AS {c}" for c in probs]
    inner += [f"m_{k}::FLOAT AS m_{k}" for k in measures]
    inner.append(have("palette", "palette", "DOUBLE[][]"))
    labelled = [f"CASE WHEN lm >= 0 AND ((lm >> {j}) & 1) = 1 THEN {c} END" for j, c in enumerate(probs)]
    middle = f"*, greatest({', '.join(probs)}) AS top_p, greatest({', '.join(labelled)}) AS label_p"
    argmax = lambda value, only: ("CASE " + " ".join(  # noqa: E731 - index of the genre whose probability is value
        f"WHEN {c} = {value}{only(j)} THEN {j}" for j, c in enumerate(probs)) + " END")
    outer = (f"*, {argmax('top_p', lambda j: '')}::TINYINT AS top_g, "
             f"{argmax('label_p', lambda j: f' AND ((lm >> {j}) & 1) = 1')}::TINYINT AS label_g")
    return f"SELECT {outer} FROM (SELECT {middle} FROM (SELECT {', '.join(inner)} FROM source))"


def build_store(parts: list[Path], dest: Path, columns: list[str], genres: list[str], measures: list[str],
                progress: Callable[[float], None] | None = None) -> Path:
    """Copy the page's columns of ``parts`` into the DuckDB file ``dest`` (written under a temporary name,
    then renamed, so an interrupted build leaves nothing half-made)."""
    import duckdb

    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)
    con = duckdb.connect(str(tmp), config={"memory_limit": "512MB", "preserve_insertion_order": "false"})
    try:
        con.execute("SET enable_progress_bar = false")
        select = _select(columns, genres, measures)
        for i in range(0, len(parts), FILES_PER_STEP):
            files = [str(p) for p in parts[i:i + FILES_PER_STEP]]
            source = con.read_parquet(files, filename=True, file_row_number=True)
            sql = select
            con.execute(f"CREATE TABLE cat AS {sql}" if i == 0 else f"INSERT INTO cat {sql}")
            if progress:
                progress(min(1.0, (i + len(files)) / len(parts)))
        con.execute("CHECKPOINT")
    except Exception:
        con.close()
        tmp.unlink(missing_ok=True)
        raise
    con.close()
    tmp.rename(dest)
    return dest


def read_embedding(file: str, row: int) -> np.ndarray | None:
    """The embedding of row ``row`` of the part file ``file`` (reads that row's row group only)."""
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(file)
    start = 0
    for g in range(pf.metadata.num_row_groups):
        n = pf.metadata.row_group(g).num_rows
        if row < start + n:
            value = pf.read_row_group(g, columns=["embedding"]).column(0)[row - start].as_py()
            return None if value is None else np.asarray(value, dtype=np.float32)
        start += n
    return None


def build_map(parts: list[Path], dest: Path, sample: int = MAP_SAMPLE, seed: int = 0) -> Path:
    """Fit a 2-D PCA on up to ``sample`` embeddings (whole row groups of part files in a seeded random
    order, at most ``sample // 20`` rows from each, so a large catalog is read in small part) and write
    every sampled row's ``path, x, y`` to ``dest``."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(seed)
    per_group = max(1, sample // 20)
    paths, vectors, got = [], [], 0
    for i in rng.permutation(len(parts)):
        pf = pq.ParquetFile(parts[i])
        for g in rng.permutation(pf.metadata.num_row_groups):
            t = pf.read_row_group(int(g), columns=["path", "embedding"])
            t = t.filter(pc.is_valid(t.column("embedding")))
            if t.num_rows > per_group:
                t = t.take(pa.array(np.sort(rng.choice(t.num_rows, per_group, replace=False))))
            if t.num_rows:
                paths += t.column("path").to_pylist()
                emb = t.column("embedding").combine_chunks()
                vectors.append(np.asarray(emb.flatten().to_numpy(zero_copy_only=False), np.float32)
                               .reshape(t.num_rows, -1))
                got += t.num_rows
            if got >= sample:
                break
        if got >= sample:
            break
    if got < 3:
        raise DatasetError("fewer than 3 posters with embeddings; tag the catalog with --embeddings")
    xy = PCA(n_components=2, random_state=seed).fit_transform(np.concatenate(vectors)[:sample])
    table = pa.table({"path": paths[:sample], "x": xy[:, 0].astype(np.float32), "y": xy[:, 1].astype(np.float32)})
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    tmp.rename(dest)
    return dest


def thumbnail(key: str, width: int = 160) -> bytes | None:
    """A small JPEG of the poster ``key`` (a catalog row's path: file, URI or URL), or None when it cannot
    be read. Decoded by the safe loader (size, pixel and time limits)."""
    import io

    from postergenre.catalog.worker import read_bytes
    from postergenre.errors import PosterGenreError
    from postergenre.sources.images import load_image

    try:
        image = load_image(read_bytes(key))
    except PosterGenreError:
        return None
    image.thumbnail((width, int(width * 1.5)))
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=82)
    return buf.getvalue()
