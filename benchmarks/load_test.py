"""Load test of the REST API: latency and throughput at 1, 4 and 16 concurrent clients, failed
requests, and the server's memory over a few thousand requests.

    .venv/bin/python benchmarks/load_test.py [--requests 2600] [--levels 1,4,16] [--max-seconds 300]

Starts `postergenre serve` on a free 127.0.0.1 port (nothing else is contacted), warms it up, then
for each concurrency level sends its share of POST /v1/predict uploads (real posters from
../shared/data/posters when present, else generated ones) from that many client threads, each with
its own connection. Prints p50/p95/p99 latency, throughput and failures per level, and the server
process's RSS at the start, the end and its peak (sampled every 0.2 s). Bounded: at most --requests
requests (default 2600, split 1:4:8 over the levels) and --max-seconds in all.
Targets: zero failed requests; RSS flat under load (the last level's end within 20 MiB or 5% of its
midpoint: more concurrent clients legitimately hold more buffers, but requests must not leak).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from latency import poster_files  # noqa: E402  (same poster source as the latency benchmark)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    """Resident memory of a process from /proc (Linux), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class RSSSampler(threading.Thread):
    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.every, self.samples, self._stop_event = pid, every, [], threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.samples.append((time.monotonic(), rss_mib(self.pid)))
            except OSError:
                return
            self._stop_event.wait(self.every)

    def stop(self) -> None:
        self._stop_event.set()
        self.join(2)


def start_server(port: int, weights: str | None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "postergenre", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--log-level", "warning"] + (["--weights", weights] if weights else [])
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    proc.terminate()
    sys.exit("server did not become healthy within 90 s")


def run_level(url: str, posters: list[bytes], clients: int, total: int, stop_at: float) -> dict:
    """``total`` requests from ``clients`` threads (each its own connection); stops early at ``stop_at``."""
    latencies: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()
    counter = iter(range(total))

    def client() -> None:
        with httpx.Client(timeout=60) as http:
            while time.monotonic() < stop_at:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                t = time.perf_counter()
                try:
                    r = http.post(url, files={"file": (f"p{i}.jpg", posters[i % len(posters)], "image/jpeg")})
                    ok = r.status_code == 200 and len(r.json()["genres"]) > 0
                    problem = None if ok else f"HTTP {r.status_code}: {r.text[:200]}"
                except (httpx.HTTPError, ValueError, KeyError) as e:
                    problem = f"{type(e).__name__}: {e}"
                dt = (time.perf_counter() - t) * 1000
                with lock:
                    (failures.append(problem) if problem else latencies.append(dt))

    t0, started = time.perf_counter(), time.monotonic()
    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    done = len(latencies) + len(failures)
    p = (lambda q: float(np.percentile(latencies, q)) if latencies else float("nan"))
    return {"clients": clients, "requests": done, "failed": len(failures), "seconds": round(wall, 2),
            "throughput_rps": round(done / wall, 2), "p50_ms": round(p(50), 1), "p95_ms": round(p(95), 1),
            "p99_ms": round(p(99), 1), "first_failures": failures[:3], "span": (started, time.monotonic())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2600, help="requests in all, split 1:4:8 over the levels")
    ap.add_argument("--levels", default="1,4,16", help="concurrent clients per level")
    ap.add_argument("--max-seconds", type=float, default=300, help="time budget for all levels")
    ap.add_argument("--weights", default=None, help="weights folder (default: the bundled one)")
    ap.add_argument("--posters", type=Path, default=ROOT.parent / "shared" / "data" / "posters")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON here")
    args = ap.parse_args()
    levels = [int(x) for x in args.levels.split(",")]
    shares = [min(c, 8) for c in levels]  # 1:4:8
    counts = [max(1, args.requests * s // sum(shares)) for s in shares]
    posters = poster_files(args.posters, 32)

    port = free_port()
    url = f"http://127.0.0.1:{port}/v1/predict"
    server = start_server(port, args.weights)
    try:
        run_level(url, posters, 2, 40, time.monotonic() + 60)  # warm-up: lazy imports, allocator pools
        sampler = RSSSampler(server.pid)
        rss_start = rss_mib(server.pid)
        sampler.start()
        deadline = time.monotonic() + args.max_seconds
        results = []
        print(f"server pid {server.pid} on 127.0.0.1:{port}; {os.cpu_count()} CPUs; {len(posters)} distinct posters")
        print(f"{'clients':>7} {'requests':>8} {'failed':>6} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for clients, n in zip(levels, counts):
            r = run_level(url, posters, clients, n, deadline)
            r["rss_after_mib"] = round(rss_mib(server.pid), 1)
            results.append(r)
            print(f"{r['clients']:>7} {r['requests']:>8} {r['failed']:>6} {r['throughput_rps']:>7.1f} "
                  f"{r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f}")
            for f in r["first_failures"]:
                print(f"        failure: {f}")
        sampler.stop()
        rss_end = rss_mib(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    peak = max([v for _, v in sampler.samples] + [rss_start, rss_end])
    total, failed = sum(r["requests"] for r in results), sum(r["failed"] for r in results)
    # Flat = no growth with the request count once the busiest level has warmed up its threads: compare
    # the RSS halfway through the last level with its end (more clients legitimately hold more buffers).
    t_start, t_end = results[-1].pop("span")
    mid = next((v for t, v in sampler.samples if t >= (t_start + t_end) / 2), rss_end)
    flat = rss_end - mid <= max(20.0, 0.05 * mid)
    print(f"total {total} requests, {failed} failed")
    print(f"server RSS: start {rss_start:.0f} MiB, end {rss_end:.0f} MiB, peak {peak:.0f} MiB; after each level: "
          + ", ".join(f"{r['rss_after_mib']:.0f}" for r in results))
    print(f"last level ({results[-1]['clients']} clients): {mid:.0f} MiB halfway, {rss_end:.0f} MiB at the end "
          f"({rss_end - mid:+.0f} MiB): {'flat' if flat else 'GROWING'}")
    for r in results[:-1]:
        r.pop("span", None)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"levels": results, "rss_mib": {"start": rss_start, "end": rss_end,
                                         "peak": peak}, "failed": failed, "total": total}, indent=1))
    sys.exit(0 if failed == 0 and flat else 1)


if __name__ == "__main__":
    main()
