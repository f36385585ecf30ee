"""Server memory under concurrent Grad-CAM: start `postergenre serve` on 127.0.0.1, warm it, then run
ROUNDS rounds of N concurrent /v1/explain on a small poster and print the server's RSS after each.
Target (issue 11): growth over the warm server <= 300 MB across two rounds of 16.

    python benchmarks/explain_memory.py [--concurrent 16] [--rounds 2] [--no-arena-limit]
"""
from __future__ import annotations

import argparse
import io
import os
import socket
import subprocess
import sys
import threading
import time

import httpx
import numpy as np
from PIL import Image


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--concurrent", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--no-arena-limit", action="store_true", help="MALLOC_ARENA_MAX=64 (glibc's usual default on 8 cores)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (450, 300, 3), dtype=np.uint8)).save(buf, "JPEG")
    files = {"file": ("p.jpg", buf.getvalue(), "image/jpeg")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, **({"MALLOC_ARENA_MAX": "64"} if args.no_arena_limit else {}))
    proc = subprocess.Popen([sys.executable, "-m", "postergenre", "serve", "--port", str(port), "--log-level", "warning",
                             "--timeout", "900"],  # Grad-CAM runs one at a time: the 16th waits for 15
                            env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        httpx.post(f"{url}/v1/explain", files=files, timeout=120).raise_for_status()
        warm = rss_mib(proc.pid)
        print(f"warm server RSS {warm:.0f} MiB")
        for r in range(args.rounds):
            t0 = time.monotonic()
            codes: list[int] = []
            threads = [threading.Thread(target=lambda: codes.append(
                httpx.post(f"{url}/v1/explain", files=files, timeout=300).status_code)) for _ in range(args.concurrent)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            now = rss_mib(proc.pid)
            print(f"round {r + 1}: {args.concurrent} explains in {time.monotonic() - t0:.1f} s, statuses "
                  f"{sorted(set(codes))}, RSS {now:.0f} MiB (+{now - warm:.0f} MiB over warm; target <= 300 MB)")
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
