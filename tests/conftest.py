"""Shared fixtures. Real-poster tests read ../shared/data/posters and skip with a reason without it."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
SHARED_POSTERS = ROOT.parent / "shared" / "data" / "posters"


@pytest.fixture(scope="session")
def real_posters() -> Path:
    if not (SHARED_POSTERS / "labels.csv").is_file():
        pytest.skip(f"real posters not found at {SHARED_POSTERS} (CI has them; clone next to shared/)")
    return SHARED_POSTERS


@pytest.fixture(scope="session")
def predictor():
    import postergenre
    from postergenre.errors import WeightsError

    try:
        return postergenre.load(device="cpu")
    except WeightsError as e:
        pytest.skip(f"model weights unavailable: {e}")


def make_poster(width: int = 182, height: int = 268, seed: int = 0) -> Image.Image:
    """A synthetic poster-like RGB image (gradient + shapes), deterministic for a seed."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x / width * 255, y / height * 255, np.full_like(x, 80.0)], axis=-1)
    base += rng.normal(0, 10, base.shape)
    for _ in range(5):
        cx, cy, r = rng.integers(0, width), rng.integers(0, height), rng.integers(10, 50)
        mask = (x - cx) ** 2 + (y - cy) ** 2 < r**2
        base[mask] = rng.integers(0, 256, 3)
    return Image.fromarray(np.clip(base, 0, 255).astype(np.uint8), "RGB")


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


def jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()
