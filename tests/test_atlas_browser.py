"""A real browser looks at the Atlas page: headless Chromium (Debian's) against `streamlit run`."""
from __future__ import annotations

import numpy as np
import pytest

from fixtures import ROOT, browser_marks, streamlit_server
from test_atlas_page import synthetic_atlas_file

pytestmark = browser_marks


@pytest.fixture(scope="module")
def atlas_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("atlas_browser")
    with streamlit_server(str(ROOT / "app_pages" / "atlas.py"), tmp, env={"POSTERGENRE_ATLAS": synthetic_atlas_file(tmp / "atlas.json")},
                          drop=("POSTERGENRE_DATA",)) as url:
        yield url


@pytest.mark.parametrize("width", [1100, 390])   # desktop and phone
def test_atlas_page_screenshot(atlas_server, browser, tmp_path, width):
    from PIL import Image

    shot = tmp_path / f"atlas_{width}.png"
    page = browser.new_page(viewport={"width": width, "height": 2400})
    page.goto(atlas_server)
    page.get_by_text("Typical palette").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert page.get_by_text("What sets it apart").is_visible()
    assert page.locator(".js-plotly-plot").count() >= 4
    page.screenshot(path=str(shot))
    # nothing wider than the phone screen: no horizontal scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    pixels = np.asarray(Image.open(shot).convert("L"), dtype=np.float32)
    assert pixels.std() > 10   # a drawn page, not a blank one
