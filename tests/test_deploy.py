"""The Hugging Face Space set-up, as far as it can be checked without a Docker engine: README front
matter, the Dockerfile's user/port/command, .dockerignore, and the command the image runs."""
from __future__ import annotations

import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from fixtures import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.startswith("---\n"), "README.md must start with the Space's YAML front matter"
    return yaml.safe_load(text.split("---\n", 2)[1])


def instructions(name: str) -> list[str]:
    """Arguments of every ``name`` instruction, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    return [line.split(None, 1)[1].strip() for line in joined.splitlines() if line.upper().startswith(name + " ")]


def cmd_args() -> list[str]:
    (cmd,) = instructions("CMD")
    return shlex.split(cmd)


def dockerfile_env() -> dict[str, str]:
    env = {}
    for block in instructions("ENV"):
        env.update(dict(part.split("=", 1) for part in shlex.split(block)))
    return env


def test_front_matter_describes_a_docker_space():
    meta = front_matter()
    assert meta["sdk"] == "docker" and meta["license"] == "mit"
    assert {"title", "emoji", "colorFrom", "colorTo", "app_port", "short_description"} <= set(meta)
    assert len(meta["short_description"]) <= 60  # the Hub's limit


def test_dockerfile_serves_the_app_on_the_front_matter_port():
    port = front_matter()["app_port"]
    assert instructions("EXPOSE") == [str(port)]
    args = cmd_args()
    assert args[:3] == ["streamlit", "run", "app.py"]
    given = args[args.index("--server.port") + 1]
    assert given == str(port) or (given == "$PORT" and dockerfile_env()["PORT"] == str(port))
    assert args[args.index("--server.address") + 1] == "0.0.0.0"


def test_dockerfile_runs_as_uid_1000_with_pinned_requirements():
    assert instructions("FROM")[0].startswith("python:3.11-slim")
    assert any("useradd" in r and "-u 1000" in r for r in instructions("RUN"))
    users = instructions("USER")
    assert users and users[-1] in ("user", "1000")
    assert DOCKERFILE.index("USER") < DOCKERFILE.index("pip install")  # installs as the user too
    assert any("-r requirements.txt" in r for r in instructions("RUN"))
    assert any("postergenre.load(" in r for r in instructions("RUN"))  # ONNX export at build time
    assert "TMDB_API_TOKEN" in DOCKERFILE and "TMDB_API_TOKEN=" not in "".join(instructions("ENV"))


def test_dockerignore_keeps_local_state_out():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv/", ".git/", ".streamlit/secrets.toml"} <= ignored
    for src in instructions("COPY"):
        if "--from=" in src:
            continue  # copied from an earlier stage, not from the build context
        paths = [p for p in shlex.split(src) if not p.startswith("--")][:-1]
        assert all(p == "." or (ROOT / p).exists() for p in paths), src


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_image_command_starts_the_app_from_the_venv():
    """The Dockerfile's CMD, run from this venv on 127.0.0.1, answers Streamlit's health check."""
    if not (ROOT / "app.py").is_file():
        pytest.fail("app.py is missing: the image's command has nothing to run")
    port = _free_port()
    args = [sys.executable, "-m"] + cmd_args()
    args = [str(port) if a == "$PORT" else "127.0.0.1" if a == "0.0.0.0" else a for a in args]
    env = {**os.environ, "PORT": str(port)}
    env.pop("TMDB_API_TOKEN", None)  # the app must start without the secret too
    proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline, answer = time.monotonic() + 30, None
        while time.monotonic() < deadline and proc.poll() is None and answer is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    answer = (r.status, r.read().decode())
            except OSError:
                time.sleep(0.5)
        assert answer == (200, "ok"), proc.stderr.read().decode()[-2000:] if proc.poll() is not None else answer
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert r.status == 200
    finally:
        proc.terminate()
        proc.wait(10)


def stages() -> list[tuple[str, str]]:
    """(FROM arguments, the stage's instructions as text with continuation lines joined) per stage."""
    joined = re.sub(r"\\\n\s*", " ", DOCKERFILE)
    lines = [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    out: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            out.append((line.split(None, 1)[1].strip(), []))
        elif out:
            out[-1][1].append(line)
    return [(frm, "\n".join(body)) for frm, body in out]


def _serving_set():
    import importlib.util

    spec = importlib.util.spec_from_file_location("serving_set", ROOT / "scripts" / "serving_set.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dockerfile_is_multi_stage_and_the_final_stage_holds_no_torch():
    """The export stage installs everything and exports the fp32 + int8 graphs; the final stage (and
    the stages it is built on) install only requirements-space.txt (the app and the API: no torch, no
    catalog engines), copy the graphs from the export stage and never name torch."""
    named = {frm.split()[-1]: (frm.split()[0], body) for frm, body in stages() if re.search(r"\sAS\s", frm, re.I)}
    assert len(stages()) >= 2 and "export" in named, "the Dockerfile must be multi-stage with an export stage"
    assert "-r requirements.txt" in named["export"][1] and "export-onnx" in named["export"][1]
    final_from, final = stages()[-1]
    chain, parent = [final], final_from.split()[0]
    while parent in named:  # the final stage and the stages it is built on
        parent, body = named[parent]
        chain.append(body)
    assert parent.startswith("python:3.11-slim") and named.get(final_from.split()[0]) is not named["export"]
    served = "\n".join(chain)
    installs = [line for line in served.splitlines() if "pip install" in line]
    assert installs and all("-r requirements-space.txt" in line for line in installs), installs
    assert "torch" not in " ".join(installs) and "requirements.txt" not in served.replace("requirements-space.txt", "")
    copies = [line for line in final.splitlines() if line.upper().startswith("COPY ") and "--from=export" in line]
    assert copies and all(".cache/postergenre/onnx" in line for line in copies), copies


@pytest.mark.parametrize("name", ["requirements-space.txt", "requirements-serve.txt"])
def test_the_serving_requirements_pull_in_no_torch(name):
    """requirements-space.txt (the Space's image) and requirements-serve.txt (it, plus the catalog engines):
    every pin is requirements.txt's own, and neither file nor anything it pulls in (the closure, from this
    venv's package metadata) is torch or another training-only package; Ray and LanceDB only in the latter."""
    serving = _serving_set()
    serve = serving.requirements(ROOT / name)
    full = {r.name: str(r) for r in serving.requirements(ROOT / "requirements.txt")}
    assert all(str(r) == full.get(r.name) for r in serve), [str(r) for r in serve if str(r) != full.get(r.name)]
    assert not serving.training_only(r.name.lower() for r in serve)
    dists, missing = serving.closure(serve)
    assert not missing, f"not installed in this venv, so the closure cannot be checked: {missing}"
    assert {"onnxruntime", "streamlit", "fastapi", "rapidocr", "duckdb"} <= set(dists)
    assert ({"ray", "lancedb"} <= set(dists)) == (name == "requirements-serve.txt"), name
    assert serving.training_only(dists) == [], serving.training_only(dists)
    # the check can fail: the full set does pull torch in
    assert "torch" in serving.training_only(serving.closure(serving.requirements(ROOT / "requirements.txt"))[0])
