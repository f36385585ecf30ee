"""The Catalog page at scale: a synthetic catalog of 1,000,000 rows, made from a real tag output's columns
and distributions and written in the same Parquet layout, then the page's first render, a filter change
and the server's memory, printed beside their targets.

    .venv/bin/python benchmarks/catalog_page.py                        # tags 48 real posters as the template
    .venv/bin/python benchmarks/catalog_page.py --template OUT --rows 1000000 --keep /tmp/big.parquet
    .venv/bin/python benchmarks/catalog_page.py --catalog /tmp/big.parquet   # measure an existing catalog
    .venv/bin/python benchmarks/catalog_page.py --catalog /tmp/big.parquet --engines   # DuckDB vs Polars vs pyarrow
                                                     # (--engines needs `pip install polars==2.1.0`)

The template is a real ``postergenre tag --analyze --embeddings`` output (without ``--template`` the script
tags 48 posters of ../shared/data/posters, val split, into a temporary folder first). Each synthetic row
is a template row drawn at random whose probabilities are moved in logit space, whose predicted genres
follow from the moved probabilities, whose measures get noise of 5% of the column's spread, whose year
moves by up to 5 years, and whose embedding is moved and re-normalised; error rows keep the template's
error rate. Part files hold ``--part-rows`` rows (default: what the local ``tag`` engine writes), so the
page meets the many-small-files layout a real run leaves.

The page is measured in a fresh process (``--measure``) with Streamlit's AppTest, which runs the page
script as the server does, so the memory figure is the peak RSS of a process that only holds the page.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGETS = {"first_render_s": 3.0, "filter_change_s": 1.0, "memory_mib": 1024.0}


# --- the synthetic catalog -------------------------------------------------------------------------------
def synthesize(template: str | Path, out: str | Path, rows: int, *, part_rows: int | None = None, seed: int = 0,
               embeddings: bool = True, progress: bool = True) -> Path:
    """Write ``rows`` synthetic rows shaped like the tag output ``template`` into the folder ``out``
    (Parquet part files with the template's schema and metadata). Returns ``out``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from postergenre.catalog.sources import part_files
    from postergenre.catalog.tag import TagConfig, read_output

    part_rows = part_rows or TagConfig().chunk
    template = Path(template)
    schema = pq.read_schema(part_files(template)[0])
    meta = json.loads(schema.metadata[b"postergenre"])
    genres = meta["genres"]
    t = read_output(template)
    err_mask = t.column("error").is_valid().to_numpy(zero_copy_only=False)
    ok = t.filter(pa.array(~err_mask))
    bad = t.filter(pa.array(err_mask))
    if ok.num_rows == 0:
        raise SystemExit(f"{template} has no readable rows to learn from")
    prob_cols = [c for c in schema.names if c.startswith("prob_")]
    measure_cols = [c for c in schema.names if c.startswith("m_")]
    P0 = np.column_stack([ok.column(c).to_numpy(zero_copy_only=False) for c in prob_cols])
    pred0 = ok.column("predicted").to_pylist()
    # each genre's cut: the lowest probability at which the template predicted it (0.5 when it never did)
    cuts = np.array([min((P0[i, j] for i in range(len(pred0)) if g in (pred0[i] or [])), default=0.5)
                     for j, g in enumerate(genres)])
    M0 = {c: ok.column(c).to_numpy(zero_copy_only=False).astype(float) for c in measure_cols}
    M0 = {c: v for c, v in M0.items() if not np.isnan(v).all()}  # a measure never taken (--no-text) stays null
    spread = {c: float(np.nanstd(v)) or 1.0 for c, v in M0.items()}
    years = np.array([int(y) if y and str(y).isdigit() else -1 for y in ok.column("year").to_pylist()])
    y_lo, y_hi = (years[years > 0].min(), years[years > 0].max()) if (years > 0).any() else (0, 0)
    E0 = (np.asarray(ok.column("embedding").combine_chunks().flatten().to_numpy(zero_copy_only=False), np.float32)
          .reshape(ok.num_rows, -1) if embeddings and "embedding" in schema.names else None)
    err_rate = len(bad) / t.num_rows if t.num_rows else 0.0

    rng = np.random.default_rng(seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    from tqdm.auto import tqdm

    done = 0
    with tqdm(total=rows, desc="synthesizing", unit="row", disable=not progress) as bar:
        for n, start in enumerate(range(0, rows, part_rows)):
            size = min(part_rows, rows - start)
            n_bad = int(rng.binomial(size, err_rate)) if len(bad) else 0
            pick = rng.integers(0, ok.num_rows, size - n_bad)
            part = ok.take(pa.array(pick))
            cols = {name: part.column(name) for name in part.column_names}
            cols["path"] = pa.array([f"{out}/posters/{start + i:07d}.jpg" for i in range(size - n_bad)])
            logits = np.log(P0[pick] / (1 - P0[pick] + 1e-9) + 1e-9) + rng.normal(0, 0.35, (len(pick), len(genres)))
            P = 1 / (1 + np.exp(-logits))
            for j, c in enumerate(prob_cols):
                cols[c] = pa.array(P[:, j])
            cols["predicted"] = _predicted(P, cuts, genres)
            for c in M0:
                v = M0[c][pick] + rng.normal(0, 0.05 * spread[c], len(pick))
                lo, hi = np.nanmin(M0[c]), np.nanmax(M0[c])
                cols[c] = pa.array(np.clip(v, min(lo, 0.0), hi + 0.05 * spread[c]), from_pandas=True)
            if y_hi:
                y = np.where(years[pick] > 0, np.clip(years[pick] + rng.integers(-5, 6, len(pick)), y_lo, y_hi), -1)
                cols["year"] = pa.array([str(v) if v > 0 else None for v in y])
            if E0 is not None:
                e = E0[pick] + rng.normal(0, 0.02, (len(pick), E0.shape[1])).astype(np.float32)
                e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
                cols["embedding"] = pa.FixedSizeListArray.from_arrays(pa.array(e.ravel()), E0.shape[1])
            good = pa.table([cols[name].cast(schema.field(name).type) if name in cols else
                             pa.nulls(len(pick), schema.field(name).type) for name in schema.names], schema=schema)
            if n_bad:
                broken = bad.take(pa.array(rng.integers(0, len(bad), n_bad))).select(schema.names)
                paths = pa.array([f"{out}/posters/{start + size - n_bad + i:07d}.jpg" for i in range(n_bad)])
                broken = broken.set_column(0, schema.field("path"), paths)
                good = pa.concat_tables([good, broken.cast(schema)])
            pq.write_table(good.replace_schema_metadata(schema.metadata), out / f"part-synthetic-{n:06d}.parquet")
            done += size
            bar.update(size)
    return out


def _predicted(P: np.ndarray, cuts: np.ndarray, genres: list[str]):
    """The list column of predicted genres: those over their cut, most probable first (at most 3)."""
    import pyarrow as pa

    order = np.argsort(-P, axis=1)[:, :3]
    take = np.take_along_axis(P >= cuts[None], order, axis=1)
    counts = take.sum(1)
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    values = pa.array(np.asarray(genres, dtype=object)[order[take]].tolist(), pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def tag_template(data: Path, dest: Path, n: int = 48) -> Path:
    """Tag ``n`` posters of the shared dataset's val split (with their labels and years) as the template."""
    import pandas as pd

    labels = pd.read_csv(data / "labels.csv", dtype=str)
    rows = labels[labels["split"] == "val"].sample(n, random_state=0)
    manifest = dest / "manifest.csv"
    dest.mkdir(parents=True, exist_ok=True)
    pd.DataFrame({"path": [str(data / f) for f in rows["file"]], "genres": rows["genres"].to_numpy(),
                  "year": rows["year"].to_numpy(), "split": rows["split"].to_numpy()}).to_csv(manifest, index=False)
    out = dest / "template.parquet"
    subprocess.run([sys.executable, "-m", "postergenre", "tag", str(manifest), "--out", str(out), "--analyze",
                    "--embeddings", "--quiet"], check=True, cwd=ROOT)
    return out


# --- which query engine: the same three page queries in DuckDB, Polars and pyarrow ---------------------
def compare_engines(catalog: Path, genre: str = "Horror", repeat: int = 3) -> dict[str, dict[str, float]]:
    """Seconds (best of ``repeat``, after one cold run) of three of the page's queries over the part files of
    ``catalog`` with each engine, and over the page's working copy (DuckDB's own file):
    ``mix`` (rows of a year and probability range, each genre's predicted count), ``trend`` (a measure's
    median by decade for a genre) and ``top`` (the 24 most probable rows of a genre with their paths)."""
    import duckdb
    try:
        import polars as pl
    except ImportError:
        raise SystemExit("--engines compares with Polars too: .venv/bin/pip install polars==2.1.0") from None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.dataset as pads

    from postergenre.catalog.rows import prob_column
    from postergenre.catalog.sources import part_files
    import pyarrow.parquet as pq

    files = [str(p) for p in part_files(Path(catalog))]
    genres = json.loads(pq.read_schema(files[0]).metadata[b"postergenre"])["genres"]
    pcol = prob_column(genre)

    con = duckdb.connect()
    con.execute("SET parquet_metadata_cache = true")
    con.read_parquet(files).create_view("cat")
    contains = ", ".join(f"sum(list_contains(predicted, '{g}')::INT)" for g in genres)
    duck = {
        "mix": lambda: con.sql(f"SELECT count(*), {contains} FROM cat WHERE error IS NULL AND TRY_CAST(year AS INT) "
                               f"BETWEEN 1980 AND 2000 AND {pcol} BETWEEN 0.2 AND 1").fetchall(),
        "trend": lambda: con.sql(f"SELECT (TRY_CAST(year AS INT) // 10) * 10 d, median(m_brightness) FROM cat WHERE "
                                 f"error IS NULL AND list_contains(predicted, '{genre}') GROUP BY d").fetchall(),
        "top": lambda: con.sql(f"SELECT path, {pcol} FROM cat WHERE error IS NULL ORDER BY {pcol} DESC LIMIT 24").fetchall(),
    }
    lf = pl.scan_parquet(files)
    year = pl.col("year").cast(pl.Int32, strict=False)
    polars = {
        "mix": lambda: lf.filter(pl.col("error").is_null() & year.is_between(1980, 2000) & pl.col(pcol).is_between(0.2, 1))
        .select([pl.len()] + [pl.col("predicted").list.contains(g).sum().alias(g) for g in genres]).collect(),
        "trend": lambda: lf.filter(pl.col("error").is_null() & pl.col("predicted").list.contains(genre))
        .group_by((year // 10) * 10).agg(pl.col("m_brightness").median()).collect(),
        "top": lambda: lf.filter(pl.col("error").is_null()).select(["path", pcol]).top_k(24, by=pcol).collect(),
    }
    dset = pads.dataset(files, format="parquet")

    def arrow_mix():
        t = dset.to_table(columns=["year", "predicted"], filter=pc.field("error").is_null()
                          & (pc.field(pcol) >= 0.2) & (pc.field(pcol) <= 1))
        y = pc.cast(t["year"], pa.int32(), safe=False)
        t = t.filter(pc.and_(pc.greater_equal(y, 1980), pc.less_equal(y, 2000)))
        return t.num_rows, pc.value_counts(pc.list_flatten(t["predicted"]))

    def arrow_trend():
        t = dset.to_table(columns=["year", "predicted", "m_brightness"], filter=pc.field("error").is_null())
        idx = pc.list_parent_indices(t["predicted"])
        hit = pc.unique(pc.filter(idx, pc.equal(pc.list_flatten(t["predicted"]), genre)))
        t = t.take(hit)
        d = pc.multiply(pc.divide(pc.cast(t["year"], pa.int32(), safe=False), 10), 10)
        return pa.table({"d": d, "m": t["m_brightness"]}).group_by("d").aggregate([("m", "approximate_median")])

    def arrow_top():
        t = dset.to_table(columns=["path", pcol], filter=pc.field("error").is_null())
        return t.take(pc.select_k_unstable(t, 24, [(pcol, "descending")]))

    from postergenre.catalog.explore import Catalog

    copy = Catalog(catalog)  # the page's working copy (built on first open)
    j = genres.index(genre)
    bits = ", ".join(f"sum((pm >> {i}) & 1)" for i in range(len(genres)))
    working = {
        "mix": lambda: copy.query(f"SELECT count(*), {bits} FROM cat WHERE error IS NULL AND year BETWEEN 1980 AND 2000 "
                                  f"AND {pcol} BETWEEN 0.2 AND 1"),
        "trend": lambda: copy.query(f"SELECT (year // 10) * 10 AS d, median(m_brightness) FROM cat WHERE error IS NULL "
                                    f"AND ((pm >> {j}) & 1) = 1 GROUP BY d"),
        "top": lambda: copy.query(f"SELECT path, {pcol} FROM cat WHERE error IS NULL ORDER BY {pcol} DESC LIMIT 24"),
    }
    engines = {"DuckDB": duck, "Polars": polars, "pyarrow": {"mix": arrow_mix, "trend": arrow_trend, "top": arrow_top},
               "DuckDB, the page's working copy": working}
    out: dict[str, dict[str, float]] = {}
    for name, queries in engines.items():
        out[name] = {}
        for q, fn in queries.items():
            t0 = time.perf_counter()
            fn()
            cold = time.perf_counter() - t0
            warm = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                fn()
                warm.append(time.perf_counter() - t0)
            out[name][q] = min(warm)
            out[name][q + " (cold)"] = cold
    return out


# --- the page, measured in a fresh process -----------------------------------------------------------------
TABS = ["Overview", "Labels vs model", "Trends", "Look-alikes", "Rows & export"]


def measure(catalog: Path) -> dict:
    """Run the Catalog page with AppTest over ``catalog`` (its working copy and map already built): the
    first render, each tab's first view, five filter changes on each tab, and the peak RSS."""
    import resource
    import statistics

    os.environ["POSTERGENRE_CATALOG"] = str(catalog)
    os.environ.pop("SPACE_ID", None)
    from streamlit.testing.v1 import AppTest

    from postergenre.catalog.explore import available_catalogs

    name = next(iter(available_catalogs([catalog])))
    k = f"{name}:"

    def timed(at) -> float:
        t0 = time.perf_counter()
        at.run()
        dt = time.perf_counter() - t0
        if at.exception or at.error:
            raise SystemExit(f"the page failed: {[e.value for e in at.exception]} {[e.value for e in at.error]}")
        return dt

    at = AppTest.from_file(str(ROOT / "app_pages" / "catalog.py"), default_timeout=600)
    first = timed(at)
    lo, hi = at.slider(key=k + "years").value if k + "years" in at.session_state else (None, None)
    changes = [("genre Horror", lambda: at.selectbox(key=k + "genre").select("Horror")),
               ("probability 50-100%", lambda: at.slider(key=k + "prob").set_range(50, 100)),
               ("genre from labels", lambda: at.segmented_control(key=k + "source").set_value("Labels")
                if k + "source" in at.session_state else None),
               ("years narrowed", lambda: at.slider(key=k + "years").set_range(lo + 10, hi - 5) if lo else None),
               ("all genres again", lambda: at.selectbox(key=k + "genre").select("All genres"))]
    result = {"first_render_s": first, "tabs": {}, "changes": {}}
    for tab in TABS:
        at.session_state["catalog_view"] = tab
        result["tabs"][tab] = timed(at)
        times = []
        for label, change in changes:
            change()
            times.append(timed(at))
        result["changes"][tab] = times
        at.slider(key=k + "prob").set_range(0, 100)   # back to no filter for the next tab
        if lo:
            at.slider(key=k + "years").set_range(lo, hi)
        if k + "source" in at.session_state:
            at.segmented_control(key=k + "source").set_value("Model")
        timed(at)
    flat = [t for ts in result["changes"].values() for t in ts]
    result["filter_change_s"] = max(flat)
    result["filter_change_median_s"] = statistics.median(flat)
    result["memory_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", help="measure this existing tag output instead of generating one")
    ap.add_argument("--template", help="a real tag output (--analyze --embeddings) to learn the columns from "
                    "(default: tag 48 posters of --data)")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "posters"))
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--part-rows", type=int, default=None, help="rows per part file (default: the local tag engine's)")
    ap.add_argument("--no-embeddings", action="store_true", help="leave the embedding column null (faster, no map)")
    ap.add_argument("--keep", help="write the synthetic catalog here and keep it (default: a temporary folder)")
    ap.add_argument("--engines", action="store_true", help="also time DuckDB, Polars and pyarrow over the part files")
    ap.add_argument("--measure", help=argparse.SUPPRESS)  # internal: the fresh process that runs the page
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure))))
        return 0

    from postergenre.catalog.explore import Catalog, Filters

    with tempfile.TemporaryDirectory() as tmp:
        catalog = Path(args.catalog) if args.catalog else Path(args.keep or Path(tmp) / "synthetic.parquet")
        if not args.catalog:
            template = Path(args.template) if args.template else tag_template(Path(args.data), Path(tmp) / "template")
            t0 = time.perf_counter()
            synthesize(template, catalog, args.rows, part_rows=args.part_rows, embeddings=not args.no_embeddings)
            print(f"synthetic catalog: {args.rows:,} rows from {template} in {time.perf_counter() - t0:.0f} s")
        from postergenre.catalog import explore_store
        from postergenre.catalog.sources import part_files

        parts = part_files(catalog)
        built = explore_store.store_file(catalog, explore_store.fingerprint(parts)).is_file()
        t0 = time.perf_counter()
        cat = Catalog(catalog)
        print(f"working copy ({'already built, opened' if built else 'built once per catalog state'}): "
              f"{time.perf_counter() - t0:.1f} s, {cat.stats['rows']:,} rows in {len(parts):,} part files")
        if cat.has_embeddings:
            t0 = time.perf_counter()
            cat.map_points(Filters(), 10)
            print(f"embedding map (built once): {time.perf_counter() - t0:.1f} s")
        if args.engines:
            print("\nquery engines over the part files (seconds, best of 3 after a cold run):")
            for engine, times in compare_engines(catalog).items():
                print(f"  {engine:32s} " + "  ".join(f"{q} {t:.3f}" for q, t in times.items()))
        proc = subprocess.run([sys.executable, __file__, "--measure", str(catalog)], capture_output=True, text=True,
                              cwd=ROOT, timeout=3600)
        if proc.returncode:
            print(proc.stderr[-3000:])
            return 1
        r = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"\nthe Catalog page ({cat.stats['rows']:,} rows; {os.cpu_count()} CPUs; AppTest in a fresh process)")
    print(f"{'figure':36s} {'measured':>10s} {'target':>8s}")
    for key, label, unit in (("first_render_s", "first render (Overview)", "s"),
                             ("filter_change_s", "filter change, slowest of 25", "s"),
                             ("memory_mib", "peak memory of the page's process", "MiB")):
        ok = "ok" if r[key] <= TARGETS[key] else "MISSED"
        print(f"{label:36s} {r[key]:10.2f} {TARGETS[key]:8.1f} {unit} {ok}")
    print(f"{'filter change, median':36s} {r['filter_change_median_s']:10.2f}")
    for tab in TABS:
        print(f"  {tab:16s} first view {r['tabs'][tab]:.2f} s; filter changes "
              + ", ".join(f"{t:.2f}" for t in r["changes"][tab]) + " s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
