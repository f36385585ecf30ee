"""The packages a requirements file installs (its transitive closure, read from the installed
distributions' metadata of this venv, markers and extras evaluated) and their size on disk.

    .venv/bin/python scripts/serving_set.py [requirements-space.txt] [requirements-serve.txt] [requirements.txt]

For each file: how many distributions, their disk use (what `du` counts of every file in their
RECORD, the site-packages folders and the scripts), the largest ones, and whether the closure holds
torch or another training-only package. tests/test_deploy.py uses ``closure`` to check that the
serving set is free of torch; the README's image size comes from this script.
"""
from __future__ import annotations

import importlib.metadata as md
import os
import sys
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
# training/export-only: torch and what only torch needs (CUDA libraries, its compiler)
TRAINING_ONLY = ("torch", "torchvision", "grad-cam", "triton", "efficientnet-lite-pytorch", "nvidia-")


def requirements(path: Path) -> list[Requirement]:
    """The requirement lines of a pip requirements file, with those of the files it includes (``-r``);
    comments and other options left out."""
    out = []
    for line in Path(path).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line.startswith(("-r ", "--requirement ")):
            out += requirements(Path(path).parent / line.split(None, 1)[1].strip())
        elif line and not line.startswith("-"):
            out.append(Requirement(line))
    return out


def closure(roots: list[Requirement]) -> tuple[dict[str, set[str]], list[str]]:
    """({distribution name: extras asked for} of everything ``roots`` pull in, [names not installed])."""
    seen: dict[str, set[str]] = {}
    missing: list[str] = []
    todo = [(r, set(r.extras)) for r in roots]
    while todo:
        req, extras = todo.pop()
        name = canonicalize_name(req.name)
        try:
            dist = md.distribution(req.name)
        except md.PackageNotFoundError:
            missing.append(name)
            continue
        if name in seen and extras <= seen[name]:
            continue
        seen[name] = seen.get(name, set()) | extras
        for spec in dist.requires or []:
            sub = Requirement(spec)
            envs = [{"extra": e} for e in (seen[name] or {""})]
            if sub.marker is None or any(sub.marker.evaluate(env) for env in envs):
                todo.append((sub, set(sub.extras)))
    return seen, sorted(set(missing))


def disk_bytes(name: str) -> int:
    """Disk use (allocated blocks, as du counts) of every file the distribution installed."""
    total = 0
    for f in md.distribution(name).files or []:
        try:
            total += os.stat(f.locate()).st_blocks * 512
        except OSError:
            pass
    return total


def training_only(names) -> list[str]:
    return sorted(n for n in names if n.startswith(TRAINING_ONLY[-1]) or n in TRAINING_ONLY[:-1])


def main(argv: list[str]) -> int:
    files = [Path(a) for a in argv] or [ROOT / f"requirements{s}.txt" for s in ("-space", "-serve", "")]
    for path in files:
        dists, missing = closure(requirements(path))
        sizes = {n: disk_bytes(n) for n in dists}
        total = sum(sizes.values())
        print(f"{path.name}: {len(dists)} distributions, {total / 2**20:,.0f} MiB installed"
              + (f" (not installed here, not counted: {', '.join(missing)})" if missing else ""))
        print("  largest: " + ", ".join(f"{n} {b / 2**20:.0f}" for n, b in sorted(sizes.items(), key=lambda kv: -kv[1])[:8]))
        bad = training_only(dists)
        print(f"  training-only packages: {', '.join(bad) if bad else 'none'}"
              + (f" ({sum(sizes[n] for n in bad) / 2**20:,.0f} MiB)" if bad else ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
