"""The brief check in a real browser (`streamlit run app.py` + Debian's headless Chromium): set an intended
genre, read two posters and a non-poster in a row, at laptop and phone widths. Screenshots land in the
test's tmp dir (and in $POSTERGENRE_SCREENSHOTS when set, to look at them)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from fixtures import browser_marks, full_page_shot, streamlit_server

pytestmark = browser_marks


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, predictor):
    with streamlit_server("app.py", tmp_path_factory.mktemp("home"),
                          drop=("TMDB_API_TOKEN", "TMDB_API_KEY", "POSTERGENRE_DATA", "POSTERGENRE_INDEX")) as url:
        yield url


@pytest.fixture(scope="module")
def posters(real_posters, tmp_path_factory):
    """A Horror poster and a Comedy poster of the val split, and a non-poster (random pixels)."""
    import pandas as pd

    table = pd.read_csv(real_posters / "labels.csv")
    val = table[table["split"] == "val"]
    horror = val[val["genres"] == "Horror"]["file"].iloc[0]
    comedy = val[val["genres"] == "Comedy"]["file"].iloc[0]
    folder = tmp_path_factory.mktemp("check_posters")
    noise = folder / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (400, 300, 3), dtype=np.uint8)).save(noise)
    return [real_posters / horror, real_posters / comedy, noise]


def _verdict(page) -> str:
    heading = page.locator("[data-testid=stMain] h3").filter(has_text="Says ")
    return heading.first.inner_text() if heading.count() else ""


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_brief_check_two_posters_and_a_non_poster(app_url, browser, posters, predictor, tmp_path, width, height):
    from postergenre.compare.check import check_poster

    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url)
    picker = page.get_by_test_id("stMultiSelect").first
    picker.wait_for(timeout=60_000)
    picker.click()
    page.keyboard.type("Horror")
    page.keyboard.press("Enter")
    page.keyboard.press("Escape")
    upload = page.get_by_test_id("stFileUploader").locator('input[type="file"]')
    for i, path in enumerate(posters[:2]):
        upload.set_input_files(str(path))
        want = check_poster(predictor, path, "Horror", heatmaps=False).headline
        page.get_by_role("heading", name="Brief check").wait_for(timeout=120_000)
        page.locator("[data-testid=stMain] h3", has_text=want).wait_for(timeout=120_000)
        # .first: while the page reruns for a new poster, the last run's section can linger beside the new one
        page.get_by_role("heading", name="Where the model looked").first.wait_for(timeout=120_000)
        page.wait_for_timeout(1500)
        assert page.locator("[data-testid=stException]").count() == 0
        assert _verdict(page) == want                                  # this poster's, no leftover
        assert page.get_by_role("heading", name="Brief check").count() == 1
        full_page_shot(page, tmp_path / f"check_{i + 1}_{width}x{height}.png")
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
        page.set_viewport_size({"width": width, "height": height})
    upload.set_input_files(str(posters[2]))
    page.get_by_text("No verdict: the check only judges posters").wait_for(timeout=120_000)
    page.wait_for_timeout(1500)
    assert _verdict(page) == "" and page.locator("[data-testid=stException]").count() == 0
    assert page.get_by_text("Show the guesses anyway").count() == 1
    shot = tmp_path / f"check_nonposter_{width}x{height}.png"
    full_page_shot(page, shot)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
    assert np.asarray(Image.open(shot).convert("L"), dtype=np.float32).std() > 10
