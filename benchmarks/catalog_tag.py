"""Throughput of ``postergenre tag``: the local engine vs Ray Data with 1 and 2 actors, on N real posters.

Prints posters/s for each set-up, Ray's overhead over the local engine at equal cores, the memory
(peak RSS) of each model actor, the efficiency per added core, and the per-core rate the README's
sizing table is computed from (with and without --analyze). Ray's cluster start-up is timed apart.

    .venv/bin/python benchmarks/catalog_tag.py [--n 200] [--data ../shared/data/posters]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


TICKS = os.sysconf("SC_CLK_TCK")


def _actor_pids() -> set[int]:
    pids = set()
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if b"MapWorker" in (proc / "cmdline").read_bytes():
                pids.add(int(proc.name))
        except OSError:
            continue
    return pids


class PeakRSS:
    """Peak resident memory (VmHWM) and CPU seconds (user + system) of the model actor processes
    started during this run (an earlier run's actors may linger until Ray reaps them: they are not
    counted), read from /proc every 0.2 s."""

    def __init__(self):
        self.peak: dict[int, int] = {}
        self.cpu: dict[int, float] = {}  # pid -> CPU seconds used so far
        self._old = _actor_pids()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for pid in _actor_pids() - self._old:
                proc = Path("/proc") / str(pid)
                try:
                    status = (proc / "status").read_text()
                    fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue  # the actor ended meanwhile
                self.cpu[pid] = (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peak[pid] = max(self.peak.get(pid, 0), int(line.split()[1]) * 1024)
            self._stop.wait(0.2)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (/proc/stat: all but idle and iowait)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS


def run(paths, cfg, wcfg) -> float:
    from postergenre.catalog import tag

    out = Path(tempfile.mkdtemp(prefix="bench-tag-")) / "out.parquet"
    try:
        t0 = time.perf_counter()
        report = tag(paths, out, cfg, wcfg)
        wall = time.perf_counter() - t0
        assert report.tagged == len(paths) and report.errors == 0, report
        return len(paths) / wall
    finally:
        shutil.rmtree(out.parent, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data" / "posters"))
    ap.add_argument("--n", type=int, default=200, help="posters per run (default 200)")
    ap.add_argument("--skip-ray", action="store_true")
    args = ap.parse_args()

    from postergenre.catalog import TagConfig, WorkerConfig, resolve_source

    paths = resolve_source(args.data).paths[: args.n]
    q = dict(progress=False)
    rates: dict[str, float] = {}
    print(f"{len(paths)} posters per run; figures are end to end (model load + read + decode + predict + write)")
    # image alone (--no-text) unless said: OCR for the text channel costs more than the model itself
    for bs in (4, 16):
        rates[f"local, 1 thread, batch {bs}"] = run(paths, TagConfig(batch_size=bs, **q), WorkerConfig(threads=1, text=False))
    rates["local, 2 threads, batch 16"] = run(paths, TagConfig(batch_size=16, **q), WorkerConfig(threads=2, text=False))
    n_an = max(20, args.n // 4)
    rates["local, 1 thread, with text (OCR + text channel)"] = run(paths[:n_an], TagConfig(**q), WorkerConfig(threads=1))
    rates["local, 1 thread, --analyze (no text)"] = run(paths[:n_an], TagConfig(**q), WorkerConfig(threads=1, analyze=True, text=False))
    rates["local, 1 thread, --analyze (with text)"] = run(paths[:n_an], TagConfig(**q), WorkerConfig(threads=1, analyze=True))
    for name, r in rates.items():
        print(f"  {name:<44} {r:6.1f} posters/s", flush=True)
    if not args.skip_ray:
        import ray

        from postergenre.catalog.tag import ray_init

        t0 = time.perf_counter()
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        ray_init()
        print(f"  Ray local cluster start-up: {time.perf_counter() - t0:.1f} s (not counted below)")
        memory, cpu = {}, {}
        for name, conc, cpus in (("ray, 1 actor x 1 CPU", 1, 1.0), ("ray, 2 actors x 1 CPU", 2, 1.0),
                                 ("ray, 1 actor x 2 CPUs", 1, 2.0)):
            busy0 = busy_seconds()
            with PeakRSS() as rss:
                rates[name] = run(paths, TagConfig(engine="ray", concurrency=conc, num_cpus=cpus, batch_size=16, **q),
                                  WorkerConfig(text=False))
            busy = busy_seconds() - busy0
            memory[name] = max(rss.peak.values(), default=0) / 2**20
            cpu[name] = sum(rss.cpu.values())  # the actors were started for this run: all their CPU is its
            wall = len(paths) / rates[name]
            print(f"  {name:<44} {rates[name]:6.1f} posters/s, peak RSS per actor {memory[name]:.0f} MiB, "
                  f"{len(paths) / max(cpu[name], 1e-9):.1f} posters per actor CPU-second; machine busy "
                  f"{busy:.0f} of {wall * (os.cpu_count() or 1):.0f} core-s, of which model actors {cpu[name]:.0f}, "
                  f"everything else (Ray's driver, raylet, GCS, read/write tasks) {busy - cpu[name]:.0f}", flush=True)
        ray.shutdown()
        local1 = rates["local, 1 thread, batch 16"]
        one, two = rates["ray, 1 actor x 1 CPU"], rates["ray, 2 actors x 1 CPU"]
        print(f"  Ray overhead at 1 core: {100 * (1 - one / local1):+.0f}% (ray {one:.1f} vs local {local1:.1f} posters/s)")
        print(f"  efficiency of the 2nd core, wall clock (2 actors / 2 x 1 actor): {100 * two / (2 * one):.0f}% "
              "(only meaningful on an otherwise idle machine)")
        c1, c2 = cpu["ray, 1 actor x 1 CPU"], cpu["ray, 2 actors x 1 CPU"]
        if c1 and c2:  # contention-independent: does the same work cost the same CPU when split over 2 actors?
            print(f"  efficiency of the 2nd core, CPU (posters per actor CPU-second, 2 actors vs 1): {100 * c1 / c2:.0f}%")
    per_core = rates["local, 1 thread, batch 16"]
    an_core = rates["local, 1 thread, --analyze (no text)"]
    print(f"  per-core rate: {per_core:.1f} posters/s image alone; with text {rates['local, 1 thread, with text (OCR + text channel)']:.1f}; "
          f"with --analyze (no text) {an_core:.1f}; --analyze with text {rates['local, 1 thread, --analyze (with text)']:.1f}")
    for n in (1_000_000, 10_000_000):
        print(f"  {n:>10,} posters: {n / per_core / 3600:,.0f} core-hours "
              f"({n / an_core / 3600:,.0f} with --analyze, no text)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
