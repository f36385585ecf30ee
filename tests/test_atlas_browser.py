"""A real browser looks at the Atlas page: headless Chromium (Debian's) against `streamlit run`."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import requests

from conftest import ROOT
from test_atlas_page import synthetic_atlas_file

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed (scripts/test.sh installs it)"),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def atlas_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("atlas_browser")
    port = free_port()
    env = dict(os.environ, POSTERGENRE_ATLAS=synthetic_atlas_file(tmp / "atlas.json"), PYTHONPATH=str(ROOT))
    env.pop("POSTERGENRE_DATA", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "pages" / "atlas.py"), "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if requests.get(f"{url}/_stcore/health", timeout=1).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.5)
        else:
            pytest.fail("streamlit did not start within 60 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.mark.parametrize("width", [1100, 390])   # desktop and phone
def test_atlas_page_screenshot(atlas_server, tmp_path, width):
    from PIL import Image
    from playwright.sync_api import sync_playwright

    shot = tmp_path / f"atlas_{width}.png"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": width, "height": 2400})
        page.goto(atlas_server)
        page.get_by_text("Typical palette").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
        assert page.get_by_text("What sets it apart").is_visible()
        assert page.locator(".js-plotly-plot").count() >= 4
        page.screenshot(path=str(shot))
        # nothing wider than the phone screen: no horizontal scrolling
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        browser.close()
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.std() > 10   # a drawn page, not a blank one
