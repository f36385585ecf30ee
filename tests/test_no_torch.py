"""Serving never imports torch on CPU: the CLI (predict, explain, analyze), the API and the app's
Predict page run in a subprocess where torch, torchvision and pytorch-grad-cam cannot be imported, nor
Ray and LanceDB (the Space's image installs requirements-space.txt, without the catalog engines)."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BLOCKER = textwrap.dedent('''
    import sys

    class _NoTorch:  # a meta-path finder that answers "not installed" for the training-only packages
        blocked = {"torch", "torchvision", "pytorch_grad_cam", "ray", "lancedb"}  # the Space's install has none

        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in self.blocked:
                raise ModuleNotFoundError(f"No module named {name!r} (blocked by test_no_torch)", name=name)
            return None

    sys.meta_path.insert(0, _NoTorch())
''')

SCENARIO = textwrap.dedent('''
    import io, sys
    poster, out = sys.argv[1], sys.argv[2]
    from postergenre.cli import main
    assert main(["predict", poster]) == 0
    assert main(["explain", poster, "--top", "3", "--out", out]) == 0
    assert main(["analyze", poster]) == 0

    import fastapi.testclient
    from postergenre.api import create_app
    data = open(poster, "rb").read()
    with fastapi.testclient.TestClient(create_app()) as client:
        for path in ("/v1/predict", "/v1/explain", "/v1/analyze"):
            r = client.post(path, files={"file": ("p.jpg", data, "image/jpeg")})
            assert r.status_code == 200, (path, r.status_code, r.text[:300])

    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file("app.py", default_timeout=240).run()
    at.file_uploader(key="poster").upload("poster.jpg", data, "image/jpeg").run()
    assert not at.exception and not at.error, (at.exception, at.error)
    heatmaps = [i.caption for e in at.get("image") for i in e.proto.imgs]
    assert len(heatmaps) == 5, heatmaps  # the poster, then the poster beside 3 heatmaps
    print("TORCH LOADED" if "torch" in sys.modules else "NO TORCH")
''')


def _run(tmp_path: Path, code: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    (tmp_path / "sitecustomize.py").write_text(BLOCKER)
    full_env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(ROOT)]),
                "POSTERGENRE_DEVICE": "cpu", **env}
    full_env.pop("TMDB_API_TOKEN", None)
    full_env.pop("TMDB_API_KEY", None)
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=600)


def test_serving_runs_without_torch(predictor, sample_poster_path, tmp_path):
    if predictor.backend != "onnxruntime":
        pytest.skip("the torch-free path is the CPU / ONNX Runtime one")
    # predictor: the ONNX graph is in the cache (exported with torch in this process if needed)
    r = _run(tmp_path, SCENARIO, str(sample_poster_path), str(tmp_path / "heat.png"))
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.strip().endswith("NO TORCH"), r.stdout[-2000:]
    assert (tmp_path / "heat.png").is_file()


def test_first_load_without_torch_or_graph_says_how(sample_poster_path, tmp_path):
    code = "import sys; from postergenre.cli import main; sys.exit(main(['predict', sys.argv[1]]))"
    r = _run(tmp_path, code, str(sample_poster_path), POSTERGENRE_CACHE=str(tmp_path / "empty-cache"))
    assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr[-2000:]
    message = r.stderr + r.stdout
    assert "no ONNX graph" in message and "postergenre export-onnx" in message
    assert "requirements.txt" in message and str(tmp_path / "empty-cache") in message
    assert "-fp32-" in message and "-int8" in message and "Docker" in message  # which files, and the image


def test_load_and_explain_cli_import_neither_scikit_learn_nor_pandas(sample_poster_path, tmp_path):
    """The serving start-up stays light: load() and `postergenre explain --no-text` (image alone) import neither
    scikit-learn (with SciPy's stats: ~2 s, ~185 MiB) nor pandas; the text model imports them on first text."""
    code = textwrap.dedent('''
        import sys, postergenre
        from postergenre.cli import main
        p = postergenre.load(device="cpu")
        assert main(["explain", sys.argv[1], "--no-text", "--out", sys.argv[2]]) == 0
        heavy = [m for m in ("sklearn", "pandas", "scipy.stats") if m in sys.modules]
        assert not heavy, heavy
    ''')
    r = subprocess.run([sys.executable, "-c", code, str(sample_poster_path), str(tmp_path / "h.png")], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_without_the_catalog_engines_tag_and_index_say_what_to_install(tmp_path):
    """The Space's install has no Ray or LanceDB: `tag --engine ray` and `index` say what to install (and
    the local engine), instead of a traceback; the local tag still works."""
    code = textwrap.dedent('''
        import sys
        from postergenre.cli import main
        folder, out = sys.argv[1], sys.argv[2]
        assert main(["tag", folder, "--out", out + "/ray.parquet", "--engine", "ray", "--no-text", "--quiet"]) != 0
        assert main(["index", folder, "--out", out + "/index", "--no-text", "--quiet"]) != 0
        assert main(["tag", folder, "--out", out + "/local.parquet", "--no-text", "--quiet"]) == 0
        assert "ray" not in sys.modules and "lancedb" not in sys.modules
    ''')
    from fixtures import make_poster

    folder = tmp_path / "posters"
    folder.mkdir()
    for i in range(3):
        make_poster(seed=i).save(folder / f"draft-{i}.jpg", quality=85)
    r = _run(tmp_path, code, str(folder), str(tmp_path))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr[-3000:]
    said = r.stderr + r.stdout
    assert "needs Ray Data" in said and "--engine local" in said and "needs LanceDB" in said, said[-2000:]
    assert said.count("pip install -r requirements-serve.txt") == 2, said[-2000:]

