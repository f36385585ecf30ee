"""``tag(source, out)``: tag a catalog into a Parquet dataset (a folder of part files), locally or on Ray.

Both engines run the same ``TagWorker``. The local engine streams the inputs in chunks through one
worker in this process and writes one part file per chunk (written under a temporary name, then
renamed, so an interrupted run leaves only whole files). The Ray engine follows the Ray Data
batch-inference pattern: ``read_binary_files`` (or ``from_items`` + fetch for URLs) ->
``map_batches(TagWorker, compute=ActorPoolStrategy(size=N), num_cpus=..., batch_size=...)`` ->
``write_parquet``, streaming with bounded memory. A rerun reads the ``path`` column already written
and only tags the inputs that are missing (resume).
"""
from __future__ import annotations

import os
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from postergenre.catalog.sources import CatalogSource, is_uri, is_url, part_files, resolve_source
from postergenre.catalog.worker import TagWorker, WorkerConfig
from postergenre.errors import DatasetError

__all__ = ["TagConfig", "TagReport", "tag", "done_paths", "read_output"]


@dataclass(frozen=True)
class TagConfig:
    engine: str = "local"            # 'local' (this process) or 'ray'
    batch_size: int = 16             # posters per model call (measured: 16 beat 4, benchmarks/catalog_tag.py)
    chunk: int = 256                 # local engine: posters per part file
    concurrency: int | None = None   # ray: actors in the pool (each loads the model once); None = CPUs / num_cpus
    num_cpus: float = 1.0            # ray: CPUs per actor (= its ONNX Runtime threads); 1 measured best
    address: str | None = None       # ray: an existing cluster ('auto', 'ray://host:10001'); None = local
    progress: bool = True            # progress bar (local) / Ray Data's progress (ray)
    limit: int | None = None         # tag only the first N inputs still to do


@dataclass
class TagReport:
    out: str
    total: int          # inputs in the source
    skipped: int        # already in the output (resume)
    tagged: int         # written by this run
    errors: int         # of those, rows with an error
    seconds: float

    @property
    def rate(self) -> float:
        return self.tagged / self.seconds if self.seconds > 0 else 0.0


def done_paths(out: str | Path) -> set[str]:
    """Input keys already in the output. A part file that cannot be read (a write cut off by an
    interruption) is removed, so its inputs are tagged again."""
    import pyarrow.parquet as pq

    done: set[str] = set()
    for part in part_files(Path(out)):
        try:
            done.update(pq.read_table(part, columns=["path"]).column("path").to_pylist())
        except Exception:  # a torn part file: pyarrow raises several types
            part.unlink(missing_ok=True)
    return done


def read_output(out: str | Path, columns: list[str] | None = None):
    """The whole output as one pyarrow Table, rows sorted by path."""
    import pyarrow.parquet as pq

    parts = part_files(Path(out))
    if not parts:
        raise DatasetError(f"{out} holds no tag output (*.parquet); run `postergenre tag SOURCE --out {out}` first")
    import pyarrow as pa

    tables = [pq.read_table(p, columns=columns) for p in parts]
    table = pa.concat_tables(tables, promote_options="default")
    return table.sort_by("path")


def _check_compatible(out: Path, schema) -> None:
    import pyarrow.parquet as pq

    parts = part_files(out)
    if parts:
        old = pq.read_schema(parts[0])
        if old.names != schema.names:
            raise DatasetError(f"{out} was written with other options (columns differ); use the same options "
                               "(--analyze / --embeddings / weights) to resume, or another --out")


def tag(source: str | Path | list[str] | CatalogSource, out: str | Path, config: TagConfig = TagConfig(),
        worker: WorkerConfig = WorkerConfig()) -> TagReport:
    """Tag every input of ``source`` into the Parquet folder ``out`` (resuming if it exists)."""
    t0 = time.perf_counter()
    src = source if isinstance(source, CatalogSource) else resolve_source(source)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise DatasetError(f"{out} exists and is not a folder; the output is a folder of Parquet part files")
    done = done_paths(out)
    todo = [p for p in src.paths if p not in done]
    skipped = len(src) - len(todo)
    if config.limit is not None:
        todo = todo[: config.limit]
    out.mkdir(parents=True, exist_ok=True)
    if not todo:
        return TagReport(str(out), len(src), skipped, 0, 0, time.perf_counter() - t0)
    if config.engine == "local":
        errors = _tag_local(src, todo, out, config, worker)
    elif config.engine == "ray":
        errors = _tag_ray(src, todo, out, config, worker)
    else:
        raise DatasetError(f"unknown engine {config.engine!r}; use local or ray")
    return TagReport(str(out), len(src), skipped, len(todo), errors, time.perf_counter() - t0)


def _labels_for(src: CatalogSource, keys: list[str]) -> tuple[dict, dict]:
    return ({k: src.labels[k] for k in keys if k in src.labels}, {k: src.meta[k] for k in keys if k in src.meta})


def _tag_local(src: CatalogSource, todo: list[str], out: Path, config: TagConfig, wcfg: WorkerConfig) -> int:
    import pyarrow as pa
    from tqdm.auto import tqdm

    labels, meta = _labels_for(src, todo)
    worker = TagWorker(wcfg, labels, meta)
    _check_compatible(out, worker.schema)
    run, errors = uuid.uuid4().hex[:8], 0
    with tqdm(total=len(todo), desc="tagging", unit="poster", disable=not config.progress) as bar:
        for n, start in enumerate(range(0, len(todo), config.chunk)):
            keys = todo[start : start + config.chunk]
            tables = []
            for b in range(0, len(keys), config.batch_size):
                batch = keys[b : b + config.batch_size]
                tables.append(worker({"path": batch}))
                bar.update(len(batch))
            table = pa.concat_tables(tables)
            errors += _errors(table)
            _write_part(table, out, f"part-{run}-{n:05d}.parquet")
    return errors


def ray_init(address: str | None = None, num_cpus: int | None = None, quiet: bool = True) -> None:
    """Connect to ``address`` or start a local cluster (no dashboard), unless Ray is already up."""
    import logging

    try:
        import ray
    except ImportError:  # the Space's install (requirements-space.txt) has no catalog engines
        raise DatasetError("the Ray engine needs Ray Data, which this install leaves out: `pip install -r "
                           "requirements-serve.txt`, or tag with the local engine (--engine local)") from None

    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": not quiet}
        if address:
            ray.init(address=address, log_to_driver=not quiet)
        else:
            ray.init(num_cpus=num_cpus, **kwargs)
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = not quiet
    logging.getLogger("ray.data").setLevel(logging.WARNING if quiet else logging.INFO)


def _tag_ray(src: CatalogSource, todo: list[str], out: Path, config: TagConfig, wcfg: WorkerConfig) -> int:
    import pyarrow.parquet as pq

    ray_init(config.address, quiet=not config.progress)  # says what to install when Ray is missing
    import ray
    labels, meta = _labels_for(src, todo)
    threads = max(1, int(config.num_cpus))
    wcfg = replace(wcfg, threads=wcfg.threads or threads)
    probe = TagWorker(wcfg, labels, meta)  # the schema, checked before any work; writes missing-file rows
    _check_compatible(out, probe.schema)
    run = uuid.uuid4().hex[:8]
    missing = [k for k in todo if not is_url(k) and not is_uri(k) and not os.path.isfile(k)]
    if missing:  # error rows written here: read_binary_files would fail the whole job on them
        _write_part(probe({"path": missing}), out, f"part-{run}-missing.parquet")
        todo = [k for k in todo if k not in set(missing)]
    del probe
    if not todo:
        return len(missing)
    # reads and writes are I/O: they must not wait for the CPUs the model actors hold
    io = {"num_cpus": 0}
    if any(is_url(k) for k in todo):
        ds = ray.data.from_items([{"path": k} for k in todo])
    else:
        ds = ray.data.read_binary_files(todo, include_paths=True, num_cpus=0)
    actors = config.concurrency or max(1, int(ray.cluster_resources().get("CPU", 1) // config.num_cpus))
    tagged = ds.map_batches(
        TagWorker, fn_constructor_args=(wcfg, labels, meta), compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=config.num_cpus, batch_size=config.batch_size, batch_format="pyarrow")
    before = set(part_files(out))
    tagged.write_parquet(str(out.resolve()), ray_remote_args=io)
    written = set(part_files(out)) - before
    return sum(_errors(pq.read_table(p, columns=["error"])) for p in written)


def _errors(table) -> int:
    return table.num_rows - table.column("error").null_count


def _write_part(table, out: Path, name: str) -> None:
    import pyarrow.parquet as pq

    tmp = out / f".{name}.tmp"
    pq.write_table(table, tmp)
    tmp.rename(out / name)


def summary_line(report: TagReport) -> str:
    """One line for the command line: what was written, skipped and how fast."""
    return (f"wrote {report.out}: {report.tagged} tagged ({report.errors} unreadable), {report.skipped} already "
            f"there, {report.rate:.1f} posters/s")
