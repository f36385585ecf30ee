"""Shared pytest fixtures (helpers to import are in fixtures.py). Real-poster tests read ../shared/data/posters and skip with a reason without it.

A model that does not load skips the tests that need it with the reason, except under CI (``CI=true``,
which ``scripts/test.sh`` sets for the whole suite, so ``.ci/run`` sees it): there it fails them, so a
broken install cannot pass green.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from fixtures import CHROMIUM, SHARED_POSTERS, make_poster


@pytest.fixture(scope="session")
def real_posters() -> Path:
    if not (SHARED_POSTERS / "labels.csv").is_file():
        pytest.skip(f"real posters not found at {SHARED_POSTERS} (CI has them; clone next to shared/)")
    return SHARED_POSTERS


def under_ci() -> bool:
    """True when the environment says CI (``CI=true``, as CI services and ``scripts/test.sh`` set it)."""
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def load_model(**options):
    """``postergenre.load(device="cpu", **options)``; when the weights cannot be loaded, skip with the
    reason, or under CI fail (the suite must not pass without the model it ships)."""
    import postergenre
    from postergenre.errors import WeightsError

    try:
        return postergenre.load(device="cpu", **options)
    except WeightsError as e:
        if under_ci():
            pytest.fail(f"the model did not load under CI=true (a broken install must not pass): {e}", pytrace=False)
        pytest.skip(f"model weights unavailable: {e}")


@pytest.fixture(scope="session")
def predictor():
    return load_model()


@pytest.fixture(scope="session")
def fp32_predictor():
    """The fp32 backbone (the reference for int8, and what the PyTorch twin computes)."""
    return load_model(precision="fp32")


@pytest.fixture(scope="session")
def atlas():
    """The installed Genre Atlas; skips with the reason when there is none."""
    from postergenre.errors import WeightsError
    from postergenre.look.atlas import load_atlas

    try:
        return load_atlas()
    except WeightsError as e:
        pytest.skip(f"no genre atlas: {e}")


@pytest.fixture(scope="session")
def sample_poster_path(tmp_path_factory) -> Path:
    """One real poster if ../shared is present, else a generated one."""
    if (SHARED_POSTERS / "images").is_dir():
        first = sorted((SHARED_POSTERS / "images").glob("*.jpg"))[:1]
        if first:
            return first[0]
    path = tmp_path_factory.mktemp("poster") / "poster.jpg"
    make_poster().save(path, quality=90)
    return path


@pytest.fixture(scope="session")
def sample_poster_bytes(sample_poster_path) -> bytes:
    return Path(sample_poster_path).read_bytes()


@pytest.fixture()
def browser(tmp_path):
    import os

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"],
                              env={**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"),
                                   "XDG_CACHE_HOME": str(tmp_path / ".cache")})
        yield b
        b.close()


@pytest.fixture
def page_env(monkeypatch, predictor):
    """An AppTest of a page that reads posters: the repo root importable (pages import app_components),
    no TMDB key from the environment, the predictor's weights."""
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent))
    for name in ("TMDB_API_TOKEN", "TMDB_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    if predictor.weights_dir is not None:
        monkeypatch.setenv("POSTERGENRE_WEIGHTS", str(predictor.weights_dir))
