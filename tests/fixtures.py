"""Helpers the tests share (import them: ``from fixtures import make_poster``); pytest fixtures that
use them live in conftest.py. Real-poster tests read ../shared/data/posters and skip without it."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

__all__ = ["ROOT", "SHARED_POSTERS", "CHROMIUM", "browser_marks", "make_poster", "jpeg_bytes", "free_port",
           "streamlit_server", "full_page_shot"]

ROOT = Path(__file__).resolve().parent.parent
SHARED_POSTERS = ROOT.parent / "shared" / "data" / "posters"


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


FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf")


def bold_font(size: int) -> ImageFont.FreeTypeFont:
    """DejaVu Sans Bold at ``size`` px (text the OCR reads reliably); the test is skipped without it."""
    if not FONT.exists():
        pytest.skip(f"font {FONT} not installed (apt-get install fonts-dejavu-core)")
    return ImageFont.truetype(str(FONT), size)


def poster_with_words(words: list[str], seed: int = 0) -> Image.Image:
    """A 182x268 generated poster with ``words`` in large light letters, one per line, on a dark top."""
    font = bold_font(26)
    img = Image.new("RGB", (182, 268), (20, 20, 30))
    img.paste(make_poster(182, 120, seed), (0, 148))
    draw = ImageDraw.Draw(img)
    for k, w in enumerate(words):
        draw.text((12, 12 + 40 * k), w, font=font, fill=(250, 250, 240))
    return img


def jpeg_bytes(img: Image.Image, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", **kw)
    return buf.getvalue()


# --- real-browser tests: a `streamlit run` server on 127.0.0.1 and Debian's chromium -------------------
CHROMIUM = Path("/usr/bin/chromium")
browser_marks = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (scripts/test.sh installs it)"),
]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def streamlit_server(script: str, home: Path, env: dict | None = None, drop: tuple[str, ...] = ()):
    """Run ``streamlit run SCRIPT`` headless on a free 127.0.0.1 port; yield its URL once /_stcore/health
    answers ok; stop its whole process group afterwards."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import requests

    port = free_port()
    full_env = dict(os.environ, HOME=str(home), STREAMLIT_BROWSER_GATHER_USAGE_STATS="false",
                    STREAMLIT_SERVER_FILE_WATCHER_TYPE="none", PYTHONPATH=str(ROOT),
                    POSTERGENRE_CACHE=os.environ.get("POSTERGENRE_CACHE", str(Path.home() / ".cache" / "postergenre")),
                    **(env or {}))
    for k in drop:
        full_env.pop(k, None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).text == "ok":
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("streamlit did not answer /_stcore/health within 60 s")
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def full_page_shot(page, path: Path) -> None:
    """A screenshot of the whole page at ``path`` (also copied to $POSTERGENRE_SCREENSHOTS when set):
    Streamlit scrolls inside stMain, so the viewport grows to its height first."""
    height = page.evaluate("document.querySelector('[data-testid=stMain]').scrollHeight")
    page.set_viewport_size({"width": page.viewport_size["width"], "height": min(int(height) + 40, 6000)})
    page.wait_for_timeout(500)
    page.screenshot(path=str(path))
    if os.environ.get("POSTERGENRE_SCREENSHOTS"):
        out = Path(os.environ["POSTERGENRE_SCREENSHOTS"])
        out.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, out / path.name)
