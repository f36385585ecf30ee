"""A real browser explores a catalog: `streamlit run app.py` with POSTERGENRE_CATALOG + Debian's headless
Chromium, at 1280x800 and 390x844. Screenshots land in the test's tmp dir (and in
$POSTERGENRE_SCREENSHOTS when set, to look at them)."""
from __future__ import annotations

import numpy as np
import pytest

from fixtures import browser_marks, full_page_shot, streamlit_server
from test_catalog_page import small_catalog

pytestmark = browser_marks


@pytest.fixture(scope="module")
def catalog_url(real_posters, predictor, tmp_path_factory):
    catalog = small_catalog(real_posters, tmp_path_factory.getbasetemp())
    with streamlit_server("app.py", tmp_path_factory.mktemp("home"), env={"POSTERGENRE_CATALOG": str(catalog.parent)},
                          drop=("POSTERGENRE_INDEX", "POSTERGENRE_DATA", "SPACE_ID", "TMDB_API_TOKEN", "TMDB_API_KEY")) as url:
        yield url


def _no_errors(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.get_by_text("could not be").count() == 0


def _tab(page, name: str, heading: str) -> None:
    page.get_by_role("tab", name=name).click()
    page.get_by_role("heading", name=heading).wait_for(timeout=60_000)
    page.wait_for_timeout(800)  # the rerun's last elements


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_catalog_page_in_a_browser(catalog_url, browser, tmp_path, width, height):
    from PIL import Image

    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{catalog_url}/catalog")
    page.get_by_role("heading", name="Genre mix").wait_for(timeout=90_000)
    page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    _no_errors(page)
    page.screenshot(path=str(tmp_path / f"catalog_{width}x{height}_viewport.png"))
    full_page_shot(page, tmp_path / f"catalog_overview_{width}.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
    matching = page.get_by_test_id("stMetric").nth(1).inner_text()

    # a visitor narrows the catalog, then walks through every view with the filter on
    page.set_viewport_size({"width": width, "height": height})
    page.get_by_test_id("stSelectbox").filter(has_text="Genre").first.click()
    page.get_by_role("option", name="Drama", exact=True).click()
    # (while the page reruns its metrics may be briefly absent: wait, do not fail, until the new count shows)
    page.wait_for_function("(before) => (document.querySelectorAll('[data-testid=stMetric]')[1]?.innerText ?? before)"
                           " !== before", arg=matching, timeout=60_000)
    views = [("Labels vs model", "Posters that most contradict their labels", "[data-testid=stImage] img"),
             ("Trends", "Palettes by decade", "[data-testid=stPlotlyChart] .js-plotly-plot"),
             ("Look-alikes", "Map of the catalog", "[data-testid=stVegaLiteChart] .marks"),
             ("Rows & export", "Download the matching rows", "[data-testid=stDownloadButton]")]
    for tab, heading, drawn in views:
        page.set_viewport_size({"width": width, "height": height})
        _tab(page, tab, heading)
        page.locator(drawn).first.wait_for(timeout=60_000)
        shot = tmp_path / f"catalog_{tab.split()[0].lower()}_{width}.png"
        full_page_shot(page, shot)
        _no_errors(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert np.asarray(Image.open(shot).convert("L"), dtype=np.float32).std() > 10   # a drawn page


def test_map_tooltip_shows_the_poster(catalog_url, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1280, "height": 1400})
    page.goto(f"{catalog_url}/catalog")
    page.get_by_role("heading", name="Genre mix").wait_for(timeout=90_000)
    _tab(page, "Look-alikes", "Map of the catalog")
    chart = page.locator("[data-testid=stVegaLiteChart] .marks").first
    chart.wait_for(timeout=60_000)
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    tooltip = page.locator("#vg-tooltip-element img")
    for fx in np.linspace(0.02, 0.98, 40):       # sweep the map until the pointer is over a dot
        for fy in np.linspace(0.02, 0.98, 30):
            page.mouse.move(box["x"] + fx * box["width"], box["y"] + fy * box["height"])
            if tooltip.count() and tooltip.first.is_visible():
                break
        else:
            continue
        break
    assert tooltip.count() and tooltip.first.get_attribute("src").startswith("data:image/jpeg;base64,")
    page.screenshot(path=str(tmp_path / "catalog_map_tooltip.png"))
