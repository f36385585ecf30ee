"""A plain install works: build the wheel, install it (no ``-e``) into a fresh venv outside the
checkout, and predict a poster there with the weights that came inside the package.

The fresh venv gets this environment's site-packages through a .pth file instead of downloading
torch & co. again, and nothing of the checkout: the installed copy of postergenre is the one imported.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from fixtures import ROOT, make_poster

PROBE = r"""
import json, sys
from pathlib import Path
import postergenre
from postergenre import settings
pkg = Path(postergenre.__file__).parent
p = postergenre.load(device="cpu")
pred = p.predict(sys.argv[1])
print(json.dumps({"package": str(pkg), "weights": str(settings.weights_dir()), "py_typed": (pkg / "py.typed").is_file(),
                  "int8_calibration": len(list(pkg.rglob("int8_calibration/*.json"))),
                  "atlas": settings.atlas_path().is_file(), "genres": len(pred.scores), "summary": pred.summary,
                  "top": pred.scores[0].genre, "text_channel": p.text_model is not None}))
"""


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kw)
    assert proc.returncode == 0, f"{' '.join(cmd)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_wheel_installs_into_a_clean_venv_and_predicts_with_its_bundled_weights(tmp_path):
    if not (ROOT / "weights" / "metadata.json").is_file():
        pytest.skip("no weights/ in this checkout")
    src = tmp_path / "src"  # build from a copy: setuptools writes build/ and *.egg-info next to the sources
    for name in ("postergenre", "weights"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    dist = tmp_path / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)])
    wheel = next(dist.glob("postergenre-*.whl"))

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    python = venv / "bin" / "python"
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]).stdout.strip())
    deps = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))  # torch & co., not reinstalled
    (purelib / "_postergenre_deps.pth").write_text("\n".join(deps) + "\n")
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)])

    run_dir = tmp_path / "elsewhere"  # not the checkout: nothing of it can be imported from the cwd
    run_dir.mkdir()
    make_poster().save(run_dir / "poster.jpg", quality=90)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "POSTERGENRE_WEIGHTS", "POSTERGENRE_ATLAS")}
    out = json.loads(_run([str(python), "-c", PROBE, "poster.jpg"], cwd=run_dir, env=env).stdout.strip().splitlines()[-1])

    assert Path(out["package"]).is_relative_to(venv), out
    assert Path(out["weights"]) == Path(out["package"]) / "bundled", out
    assert out["py_typed"] and out["int8_calibration"] >= 1 and out["atlas"], out
    assert out["genres"] == 17 and out["text_channel"] and out["summary"], out

    cli = _run([str(venv / "bin" / "postergenre"), "predict", "--json", "poster.jpg"], cwd=run_dir, env=env)
    assert json.loads(cli.stdout)["genres"][0]["genre"] == out["top"]
