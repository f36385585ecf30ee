"""Explore a tag output: the queries behind the app's Catalog page, run by DuckDB over the Parquet folder.

    from postergenre.catalog.explore import Catalog, Filters
    cat = Catalog("catalog.parquet")
    f = Filters(genre="Horror", years=(1980, 1999))
    cat.mix(f)                 # genre mix, labelled mix, co-occurrence, precision/recall (one GROUP BY)
    cat.average_precision(f)   # per genre AP of the probabilities against the labels
    cat.contradictions(f)      # posters whose labels the model most disagrees with
    cat.trend(f, "brightness") # genre shares and a measure's quartiles by year or decade
    cat.rows(f, limit=24)      # the visible rows only (thumbnails are read for these)

Every view reads only the columns it names (DuckDB pushes the projection and the filters into the
Parquet scan) and aggregates in DuckDB, so a million-row catalog never sits in memory as a table; what
comes back to Python is a few hundred numbers, or the rows on screen. ``docs/catalog.md`` has the
measurement that chose DuckDB over Polars and pyarrow. Which folders a server may open is decided by
``available_catalogs`` (``POSTERGENRE_CATALOG``), never by a visitor's text.
"""
from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from postergenre.catalog.rows import prob_column
from postergenre.catalog.sources import part_files
from postergenre.errors import DatasetError

__all__ = ["Filters", "Catalog", "available_catalogs", "resolve_catalog", "find_index", "tag_command",
           "AP_BINS", "AP_EXACT_ROWS", "EXPORT_MAX_ROWS"]

AP_BINS = (1_000_000, 1_000)  # AP ranks probabilities in 1e-6 steps, in 1e-3 steps above AP_EXACT_ROWS rows
AP_EXACT_ROWS = 200_000      # (ties within a step count as one threshold, as tied scores do)
EXPORT_MAX_ROWS = 200_000   # the most rows one download holds (it is built in the server's memory)
THUMBNAILS_KEPT = 4096     # thumbnails kept in memory per catalog (about 5 KB each)
MEMORY_LIMIT = "256MB"      # DuckDB's own limit: its buffer pool caches no more (the copy is read from disk again)


def tag_command(posters: str = "POSTERS", out: str = "catalog.parquet") -> str:
    """The command that makes a catalog every view of the page can use."""
    return f"postergenre tag {posters} --out {out} --analyze --embeddings"


@dataclass(frozen=True)
class Filters:
    """What every view follows. ``None`` (or the full range) means no filter on that field."""

    genre: str | None = None                      # one genre...
    source: str = "predicted"                     # ...as the model predicts it ('predicted') or as labelled ('labels')
    years: tuple[int, int] | None = None          # inclusive; rows without a year drop out when set
    prob: tuple[float, float] | None = None       # the genre's probability (no genre: the top probability)
    flagged: bool | None = None                   # True: only posters the poster check flagged; False: only the others
    measure: str | None = None                    # a measure key (``brightness``) ...
    measure_range: tuple[float, float] | None = None  # ...and its inclusive range


def _lit(text: str) -> str:
    """A SQL string literal."""
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class Catalog:
    """An opened tag output folder (its working copy is built on first open; ``progress(fraction)`` hears
    how far). Thread-safe: every query runs on its own DuckDB cursor."""

    def __init__(self, path: str | Path, *, progress: Callable[[float], None] | None = None,
                 threads: int | None = None):
        import duckdb
        import pyarrow.parquet as pq

        from postergenre.catalog import explore_store as store
        from postergenre.look.analysis import MEASURES

        self.path = Path(path)
        self.parts = part_files(self.path)
        if not self.parts:
            raise DatasetError(f"{self.path} holds no tag output (*.parquet); make one with `{tag_command()}`")
        schema = pq.read_schema(self.parts[0])
        self.columns = list(schema.names)
        self.info = json.loads((schema.metadata or {}).get(b"postergenre", b"{}"))
        self.genres = list(self.info.get("genres") or [])
        if not self.genres or any(prob_column(g) not in self.columns for g in self.genres):
            raise DatasetError(f"{self.path} is not a `postergenre tag` output (no genre probabilities); "
                               f"make one with `{tag_command()}`")
        self.measures = [k for k in MEASURES if f"m_{k}" in self.columns]
        self.has_embeddings = "embedding" in self.columns
        self.has_check = "looks_like_poster" in self.columns
        self.fingerprint = store.fingerprint(self.parts)
        db = store.store_file(self.path, self.fingerprint)
        self.folder = db.parent
        built = not db.is_file()
        if built:
            for old in self.folder.glob("catalog-*.duckdb"):  # an earlier state of the catalog
                old.unlink(missing_ok=True)
            store.build_store(self.parts, db, self.columns, self.genres, self.measures, progress)
        config: dict[str, Any] = {"memory_limit": MEMORY_LIMIT, "access_mode": "READ_ONLY"}
        if threads:
            config["threads"] = threads
        self._db = duckdb.connect(str(db), config=config)
        self._db.execute("SET enable_progress_bar = false")
        self._map = self.folder / f"map-{self.fingerprint}.parquet"
        self._lock = threading.Lock()
        self._thumbs: OrderedDict[tuple[str, int], bytes | None] = OrderedDict()
        self.stats = self._stats()
        if built and "palette" in self.columns:
            self._colour_centres()  # fitted once with the copy, so the first Trends view does not wait

    def __repr__(self) -> str:
        return f"Catalog({str(self.path)!r}, rows={self.stats['rows']})"

    # --- plumbing -------------------------------------------------------------------------------------
    def query(self, sql: str, params: list | None = None):
        """A pyarrow Table of ``sql`` over the working copy ``cat`` (one cursor per call)."""
        with self._lock:
            cur = self._db.cursor()
        try:
            return cur.sql(sql, params=params or None).to_arrow_table()
        finally:
            cur.close()

    def _stats(self) -> dict[str, Any]:
        ranges = "".join(f", min(m_{k}), max(m_{k})" for k in self.measures)
        v = list(self.query(f"SELECT count(*), count(error), count(*) FILTER (WHERE lm >= 0 AND error IS NULL), "
                            f"min(year), max(year), count(*) FILTER (WHERE looks_like_poster = false){ranges} "
                            f"FROM cat").to_pylist()[0].values())
        stats = {"rows": v[0], "failed": v[1], "labelled": v[2], "years": (v[3], v[4]) if v[3] is not None else None,
                 "flagged": v[5], "measures": {}}
        for i, k in enumerate(self.measures):
            if v[6 + 2 * i] is not None:
                stats["measures"][k] = (float(v[6 + 2 * i]), float(v[7 + 2 * i]))
        return stats

    @property
    def has_labels(self) -> bool:
        return self.stats["labelled"] > 0

    @property
    def has_years(self) -> bool:
        return self.stats["years"] is not None

    def _check_genre(self, genre: str) -> str:
        if genre not in self.genres:
            raise DatasetError(f"unknown genre {genre!r}; available = {', '.join(self.genres)}")
        return genre

    def _genre_expr(self, genre: str, source: str = "predicted") -> str:
        j = self.genres.index(self._check_genre(genre))
        if source == "predicted":
            return f"((pm >> {j}) & 1) = 1"
        if source == "labels":
            return f"(lm >= 0 AND ((lm >> {j}) & 1) = 1)"
        raise DatasetError(f"genres come from 'predicted' or 'labels', not {source!r}")

    def top_prob_expr(self) -> str:
        return "top_p"

    def where(self, f: Filters, *, genre: bool = True) -> str:
        """The SQL condition of ``f`` on readable rows (``genre=False`` leaves out the genre and its
        probability range: the global trend beside a genre's)."""
        return " AND ".join(["error IS NULL"] + self._base_conds(f) + (self._genre_conds(f) if genre else []))

    def _genre_conds(self, f: Filters) -> list[str]:
        conds = [self._genre_expr(f.genre, f.source)] if f.genre else []
        if f.prob and (f.prob[0] > 0 or f.prob[1] < 1):
            col = prob_column(self._check_genre(f.genre)) if f.genre else self.top_prob_expr()
            conds.append(f"{col} BETWEEN {float(f.prob[0])} AND {float(f.prob[1])}")
        return conds

    def _base_conds(self, f: Filters) -> list[str]:
        conds = []
        if f.years:
            conds.append(f"year BETWEEN {int(f.years[0])} AND {int(f.years[1])}")
        if f.flagged is not None:
            conds.append("looks_like_poster = false" if f.flagged else "coalesce(looks_like_poster, true)")
        if f.measure and f.measure_range:
            if f.measure not in self.measures:
                raise DatasetError(f"unknown measure {f.measure!r}; available = {', '.join(self.measures)}")
            lo, hi = (float(x) for x in f.measure_range)
            conds.append(f"m_{f.measure} BETWEEN {lo} AND {hi}")
        return conds

    # --- views ----------------------------------------------------------------------------------------
    def count(self, f: Filters) -> dict[str, int]:
        """Readable rows that pass ``f``, and how many of them the poster check flagged."""
        row = self.query(f"SELECT count(*) n, count(*) FILTER (WHERE looks_like_poster = false) flagged "
                         f"FROM cat WHERE {self.where(f)}").to_pylist()[0]
        return {"rows": int(row["n"]), "flagged": int(row["flagged"])}

    def errors(self, limit: int = 20) -> list[dict[str, Any]]:
        """The failed rows' errors, most frequent first, with a count and one example path each."""
        return self.query(f"SELECT error, count(*) AS rows, min(path) AS example FROM cat WHERE error IS NOT NULL "
                          f"GROUP BY error ORDER BY rows DESC, error LIMIT {int(limit)}").to_pylist()

    def mix(self, f: Filters) -> dict[str, Any]:
        """From one GROUP BY over (predicted set, labelled set): each genre's predicted and labelled count,
        the predicted co-occurrence matrix, and, on labelled rows, precision/recall per genre and the
        labelled-vs-predicted matrix."""
        t = self.query(f"SELECT pm, lm, count(*) AS n FROM cat WHERE {self.where(f)} GROUP BY ALL")
        pm, lm = t.column("pm").to_numpy(), t.column("lm").to_numpy()
        w = t.column("n").to_numpy().astype(np.int64)
        bits = np.arange(len(self.genres))
        P = ((pm[:, None] >> bits) & 1).astype(np.int64)
        labelled = lm >= 0
        L = ((np.where(labelled, lm, 0)[:, None] >> bits) & 1).astype(np.int64)
        wl = w * labelled
        tp = (P * L * wl[:, None]).sum(0)
        pred_on_labelled = (P * wl[:, None]).sum(0)
        lab_count = (L * wl[:, None]).sum(0)
        with np.errstate(invalid="ignore", divide="ignore"):
            precision = np.where(pred_on_labelled > 0, tp / np.maximum(pred_on_labelled, 1), np.nan)
            recall = np.where(lab_count > 0, tp / np.maximum(lab_count, 1), np.nan)
        return {"genres": list(self.genres), "rows": int(w.sum()), "labelled_rows": int(wl.sum()),
                "predicted": (P * w[:, None]).sum(0), "labelled": lab_count,
                "no_genre": int(w[pm == 0].sum()),
                "cooccurrence": P.T @ (P * w[:, None]), "label_vs_predicted": L.T @ (P * wl[:, None]),
                "precision": precision, "recall": recall, "true_positives": tp}

    def average_precision(self, f: Filters) -> dict[str, float | None]:
        """Per genre, the AP of its probability against the labels, over labelled rows that pass ``f``
        (probabilities ranked in ``AP_BINS`` steps, counted in DuckDB); None for a genre none of those
        rows is labelled with."""
        w = f"{self.where(f)} AND lm >= 0"
        labelled = self.query(f"SELECT count(*) FROM cat WHERE {w}").column(0)[0].as_py()
        bins = AP_BINS[0] if labelled <= AP_EXACT_ROWS else AP_BINS[1]
        t = self.query(" UNION ALL ".join(  # a scan per genre: measured faster than one UNPIVOT or GROUPING SETS
            f"SELECT {j} AS g, floor({prob_column(g)} * {bins})::INTEGER AS b, count(*) AS n, "
            f"sum((lm >> {j}) & 1) AS pos FROM cat WHERE {w} GROUP BY ALL" for j, g in enumerate(self.genres)))
        cols = {k: t.column(k).to_numpy(zero_copy_only=False) for k in ("g", "b", "n", "pos")}
        out: dict[str, float | None] = {}
        for j, g in enumerate(self.genres):
            m = cols["g"] == j
            order = np.argsort(-cols["b"][m])
            n, pos = cols["n"][m][order].astype(float), cols["pos"][m][order].astype(float)
            total = pos.sum()
            out[g] = None if total == 0 else float((pos * np.cumsum(pos) / np.cumsum(n)).sum() / total)
        return out

    def contradictions(self, f: Filters, limit: int = 24) -> list[dict[str, Any]]:
        """Labelled posters whose most probable genre is not one of their labels, ranked by how far it
        outweighs their most probable labelled genre ("labelled Comedy 4%, reads as Horror 81%"):
        path, labels, predicted, year, reads_as, reads_p, label_best, label_p."""
        names = "[" + ", ".join(_lit(g) for g in self.genres) + "]"
        return self.query(f"SELECT path, labels, predicted, year, {names}[top_g + 1] AS reads_as, top_p AS reads_p, "
                          f"{names}[label_g + 1] AS label_best, label_p FROM cat WHERE {self.where(f)} AND lm > 0 "
                          f"AND label_p IS NOT NULL AND ((lm >> top_g) & 1) = 0 "
                          f"ORDER BY top_p - label_p DESC, path LIMIT {int(limit)}").to_pylist()

    def period_expr(self, by: str) -> str:
        if by not in ("year", "decade"):
            raise DatasetError(f"trends go by 'year' or 'decade', not {by!r}")
        return "year" if by == "year" else "(year // 10) * 10"

    def trend(self, f: Filters, measure: str | None = None, by: str = "decade") -> dict[str, Any]:
        """By period: rows passing ``f`` without its genre (``rows``) and with it (``selected``), each
        genre's share of the former, and with ``measure`` its quartiles for both (the genre's trend and the
        global one beside it)."""
        period = self.period_expr(by)
        src = f.source if f.genre else "predicted"
        sel = " AND ".join(self._genre_conds(f)) or "true"
        bit = (lambda j: f"(pm >> {j}) & 1") if src == "predicted" else (lambda j: f"CASE WHEN lm >= 0 THEN (lm >> {j}) & 1 END")
        shares = ", ".join(f"avg({bit(j)}) AS {_ident(g)}" for j, g in enumerate(self.genres))
        q = ""
        if measure:
            if measure not in self.measures:
                raise DatasetError(f"unknown measure {measure!r}; available = {', '.join(self.measures)}")
            q = (f", quantile_cont(m_{measure}, [0.25, 0.5, 0.75]) FILTER (WHERE {sel}) AS q_sel, "
                 f"quantile_cont(m_{measure}, [0.25, 0.5, 0.75]) AS q_all")
        t = self.query(f"SELECT {period} AS period, count(*) AS rows, count(*) FILTER (WHERE {sel}) AS selected, "
                       f"{shares}{q} FROM cat WHERE {self.where(f, genre=False)} AND {period} IS NOT NULL "
                       f"GROUP BY ALL ORDER BY period").to_pylist()
        return {"by": by, "measure": measure, "source": src, "periods": t}

    def _sample_sql(self, columns: str, where: str, group: str, per_group: int, expected: int) -> str:
        """Up to ``per_group`` rows per ``group`` value, picked by a hash of the path (the same rows each
        time); rows are thinned before the window so a large catalog is not ranked whole."""
        keep = min(1.0, 4 * per_group / max(expected, 1))
        return (f"SELECT {columns} FROM (SELECT *, row_number() OVER (PARTITION BY {group} ORDER BY hash(rowid)) AS k "
                f"FROM cat WHERE {where} AND hash(rowid) % 1000000 < {int(keep * 1_000_000)}) WHERE k <= {int(per_group)}")

    def _colour_centres(self) -> np.ndarray:
        """The catalog's colour clusters (fitted once on a sample of its palettes, kept beside the copy)."""
        from postergenre.look._atlas_palette import fit_colour_clusters

        path = self.folder / f"colours-{self.fingerprint}.npy"
        if path.is_file():
            return np.load(path)
        t = self.query(self._sample_sql("palette", "error IS NULL AND palette IS NOT NULL", "1", 4000,
                                        self.stats["rows"]))
        centres = fit_colour_clusters(t.column("palette").to_pylist(), k=32)
        for old in self.folder.glob("colours-*.npy"):
            old.unlink(missing_ok=True)
        np.save(path, centres)
        return centres

    def palettes(self, f: Filters, per_period: int = 300, colours: int = 6) -> dict[int, dict]:
        """The most frequent colours of the rows passing ``f``, by decade, from at most ``per_period``
        posters per decade, their palettes grouped into the catalog's colour clusters (the Genre Atlas's
        method: a red and a blue poster count as red and blue, never as purple).
        {decade: {"posters": n, "palette": [...], "palette_neutrals": [...], "palette_distinctive": [...]}}."""
        if "palette" not in self.columns or not self.has_years:
            return {}
        from postergenre.look._atlas_palette import genre_colours, poster_colour_shares

        centres = self._colour_centres()
        spans = (self.stats["years"][1] - self.stats["years"][0]) // 10 + 1
        t = self.query(self._sample_sql("decade, palette", f"{self.where(f)} AND palette IS NOT NULL AND year IS NOT NULL",
                                        "decade", per_period, self.count(f)["rows"] // spans)
                       .replace("SELECT *,", "SELECT *, (year // 10) * 10 AS decade,", 1)
                       .replace("PARTITION BY decade", "PARTITION BY (year // 10) * 10", 1))
        if t.num_rows == 0 or not len(centres):
            return {}
        decades = np.asarray(t.column("decade").to_pylist())
        found, shares = poster_colour_shares(t.column("palette").to_pylist(), centres)[:2]  # colours, shares
        out = {}
        for d in sorted(set(decades.tolist())):
            mask = decades == d
            out[int(d)] = {"posters": int(mask.sum()), **genre_colours(shares, mask, found, n=colours)}
        return out

    def rows(self, f: Filters, order: str = "probability", limit: int = 24, offset: int = 0,
             columns: tuple[str, ...] = ("path", "predicted", "labels", "summary", "year", "looks_like_poster",
                                         "poster_score")) -> list[dict[str, Any]]:
        """One page of the rows passing ``f`` (only these rows' columns are read beyond the filters').
        ``order``: 'probability' (the genre's, or the top one, highest first), 'year' or 'path'."""
        prob = prob_column(self._check_genre(f.genre)) if f.genre else self.top_prob_expr()
        by = {"probability": f"{prob} DESC, path", "year": "year, path", "path": "path"}.get(order)
        if by is None:
            raise DatasetError(f"order rows by 'probability', 'year' or 'path', not {order!r}")
        cols = ", ".join(c for c in columns if c in self.columns)
        return self.query(f"SELECT {cols}, {prob} AS probability FROM cat WHERE {self.where(f)} "
                          f"ORDER BY {by} LIMIT {int(limit)} OFFSET {int(offset)}").to_pylist()

    EXPORT_SKIP = ("file", "row", "pm", "lm", "error", "top_p", "top_g", "label_p", "label_g")  # the working copy's own bookkeeping

    def export(self, f: Filters, fmt: str = "csv") -> bytes:
        """The rows passing ``f``: path, labels, predictions, year, split, the poster check, every genre's
        probability and every measure; CSV joins lists with '|', Parquet adds the palettes. Refuses more
        than ``EXPORT_MAX_ROWS`` rows (a download is built in the server's memory)."""
        import tempfile

        n = self.count(f)["rows"]
        if n > EXPORT_MAX_ROWS:
            raise DatasetError(f"{n:,} rows pass the filters; a download holds at most {EXPORT_MAX_ROWS:,}. Narrow "
                               f"the filters, or read the Parquet folder {self.path.name} with DuckDB or Polars")
        schema = self.query("SELECT * FROM cat LIMIT 0").schema
        names = [c for c in schema.names if c not in self.EXPORT_SKIP]
        floats = {c for c in names if str(schema.field(c).type) == "float"}  # stored as float32: 6 decimals
        names = [f"round({c}::DOUBLE, 6) AS {c}" if c in floats else c for c in names]
        if fmt == "csv":
            cols = [f"array_to_string({c}, '|') AS {c}" if c in ("labels", "predicted") else c
                    for c in names if c != "palette"]
        elif fmt == "parquet":
            cols = names
        else:
            raise DatasetError(f"export as 'csv' or 'parquet', not {fmt!r}")
        with tempfile.TemporaryDirectory() as tmp:
            dest = Path(tmp) / f"rows.{fmt}"
            with self._lock:
                cur = self._db.cursor()
            try:
                cur.execute(f"COPY (SELECT {', '.join(cols)} FROM cat WHERE {self.where(f)} ORDER BY path) "
                            f"TO {_lit(str(dest))} (FORMAT {fmt.upper()})")
            finally:
                cur.close()
            return dest.read_bytes()

    def embedding_of(self, path: str) -> np.ndarray | None:
        """The stored embedding of the catalog row ``path`` (None without one)."""
        from postergenre.catalog.explore_store import read_embedding

        if not self.has_embeddings:
            return None
        t = self.query("SELECT file, row FROM cat WHERE path = ? AND error IS NULL LIMIT 1", [path]).to_pylist()
        return read_embedding(t[0]["file"], t[0]["row"]) if t else None

    def map_points(self, f: Filters, limit: int = 2000) -> list[dict[str, Any]]:
        """Up to ``limit`` points of the 2-D embedding map that pass ``f`` (the map is fitted once, on a
        sample, and kept beside the working copy): path, x, y, predicted, labels, probability."""
        from postergenre.catalog import explore_store as store

        if not self.has_embeddings:
            raise DatasetError(f"{self.path.name} has no embeddings; tag it again with --embeddings "
                               f"(`{tag_command()}`)")
        if not self._map.is_file():
            for old in self.folder.glob("map-*.parquet"):
                old.unlink(missing_ok=True)
            store.build_map(self.parts, self._map)
        prob = prob_column(self._check_genre(f.genre)) if f.genre else self.top_prob_expr()
        return self.query(f"SELECT m.path, m.x, m.y, c.predicted, c.labels, {prob} AS probability "
                          f"FROM read_parquet({_lit(str(self._map))}) m JOIN cat c ON c.path = m.path "
                          f"WHERE {self.where(f)} ORDER BY hash(m.path) LIMIT {int(limit)}").to_pylist()

    def thumbnails(self, paths: list[str], width: int = 160) -> dict[str, bytes | None]:
        """Small JPEGs of those ``paths`` that are rows of this catalog (others are never read), None for
        a row whose file cannot be read. The last ``THUMBNAILS_KEPT`` are kept in memory."""
        from postergenre.catalog.explore_store import thumbnail

        with self._lock:
            todo = [p for p in dict.fromkeys(paths) if (p, width) not in self._thumbs]
        known = self.known_paths(todo)
        made = {p: thumbnail(p, width) if p in known else None for p in todo}
        with self._lock:
            self._thumbs.update({(p, width): jpeg for p, jpeg in made.items()})
            out = {}
            for p in paths:
                out[p] = self._thumbs.get((p, width), made.get(p))
                if (p, width) in self._thumbs:
                    self._thumbs.move_to_end((p, width))
            while len(self._thumbs) > THUMBNAILS_KEPT:
                self._thumbs.popitem(last=False)
        return out

    def known_paths(self, paths: list[str]) -> set[str]:
        """Which of ``paths`` are rows of this catalog (the page reads thumbnails of those only)."""
        if not paths:
            return set()
        t = self.query("SELECT DISTINCT path FROM cat WHERE path IN (SELECT unnest(?::VARCHAR[]))", [list(paths)])
        return set(t.column(0).to_pylist())

    def search_paths(self, text: str, limit: int = 50) -> list[str]:
        """Catalog paths whose file name contains ``text`` (case-insensitive), for picking a poster."""
        return self.query("SELECT path FROM cat WHERE error IS NULL AND contains(lower(path), lower(?)) "
                          "ORDER BY path LIMIT ?", [text, int(limit)]).column(0).to_pylist()


# --- which catalogs a server may open -------------------------------------------------------------------
def available_catalogs(roots: list[str | Path]) -> dict[str, Path]:
    """{name: folder} of the tag outputs the configured ``roots`` allow: a root that is itself a tag output,
    and every tag output folder directly inside a root. Names are what a visitor picks from."""
    found: dict[str, Path] = {}
    for root in roots:
        root = Path(root).expanduser()
        if part_files(root):
            candidates = [(root.name, root)]
        elif root.is_dir():
            candidates = [(f"{root.name}/{p.name}", p) for p in sorted(root.iterdir()) if p.is_dir() and part_files(p)]
        else:
            candidates = []
        for name, folder in candidates:
            key, n = name, 2
            while key in found:
                key, n = f"{name} ({n})", n + 1
            found[key] = folder.resolve()
    return found


def resolve_catalog(name: str, roots: list[str | Path]) -> Path:
    """The folder of the catalog called ``name`` among ``available_catalogs(roots)``; DatasetError for
    anything else (a path typed by a visitor is never opened)."""
    found = available_catalogs(roots)
    if name not in found:
        raise DatasetError(f"{name!r} is not one of this server's catalogs; available = "
                           f"{', '.join(found) or 'none (set POSTERGENRE_CATALOG)'}")
    return found[name]


def find_index(catalog: Path, candidates: list[str | Path]) -> Path | None:
    """The similar-poster index (``postergenre index``) built from ``catalog``, among ``candidates``
    (index folders, or folders holding them); None when none was."""
    target = Path(catalog).resolve()
    for c in candidates:
        c = Path(c).expanduser()
        folders = [c] if (c / "index.json").is_file() else ([p for p in sorted(c.iterdir()) if (p / "index.json").is_file()]
                                                            if c.is_dir() else [])
        for folder in folders:
            try:
                tagged = Path(json.loads((folder / "index.json").read_text()).get("tagged", ""))
            except (OSError, ValueError):
                continue
            if tagged.resolve() == target:
                return folder.resolve()
    return None
