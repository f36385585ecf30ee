"""The hostile-image corpus (tests/hostile_corpus.py), each case decoded in a fresh process: prints
outcome, CPU and wall seconds and peak RSS above baseline per case, then the worst per class.
Limits (issue 11): every case <= 2 s and <= 700 MiB, or ImageLoadError.

    python benchmarks/hostile_images.py [NAME-SUBSTRING ...]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
import hostile_corpus as corpus  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("only", nargs="*", metavar="NAME-SUBSTRING", help="run only the cases whose name contains one")
    only = ap.parse_args().only
    worst: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, build in corpus.CASES.items():
            if only and not any(o in name for o in only):
                continue
            path = Path(tmp) / name
            path.write_bytes(build())
            out = subprocess.run([sys.executable, corpus.__file__, str(path)], capture_output=True, text=True,
                                 timeout=300, env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
            r = json.loads(out.stdout) if out.returncode == 0 else {"outcome": f"CRASH {out.stderr[-200:]}",
                                                                    "cpu_s": 0, "wall_s": 0, "rss_mib": 0}
            print(f"{name:34} {path.stat().st_size / 1024:8.0f} KB  cpu {r['cpu_s']:5.2f} s  wall {r['wall_s']:5.2f} s  "
                  f"+{r['rss_mib']:6.0f} MiB  {r['outcome'][:70]}", flush=True)
            w = worst.setdefault(name.split("_")[0], [0.0, 0.0])
            w[0], w[1] = max(w[0], r["cpu_s"]), max(w[1], r["rss_mib"])
    print("\nworst per class (CPU s, MiB above baseline):")
    for cls, (cpu, rss) in sorted(worst.items()):
        print(f"  {cls:10} {cpu:5.2f} s  {rss:6.0f} MiB")


if __name__ == "__main__":
    main()
