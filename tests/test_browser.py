"""A real browser drives the app: `streamlit run app.py` on 127.0.0.1 + Debian's headless Chromium.

Screenshots land in the test's tmp dir (and in $POSTERGENRE_SCREENSHOTS when set, to look at them).
"""
from __future__ import annotations


import numpy as np
import pytest

from fixtures import browser_marks, full_page_shot, streamlit_server

pytestmark = browser_marks


@pytest.fixture(scope="module")
def app_url(tmp_path_factory, predictor):
    with streamlit_server("app.py", tmp_path_factory.mktemp("home"),
                          drop=("TMDB_API_TOKEN", "TMDB_API_KEY", "POSTERGENRE_DATA")) as url:
        yield url


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_upload_shows_chart_and_heatmaps(app_url, browser, sample_poster_path, tmp_path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url)
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(sample_poster_path))
    page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=90_000)
    page.get_by_role("heading", name="Where the model looked").wait_for(timeout=60_000)
    page.locator("[data-testid=stImage] img").nth(4).wait_for(timeout=90_000)  # poster, then poster + 3 heatmaps
    page.get_by_text("Heatmap opacity").wait_for(state="visible", timeout=30_000)  # a rerun may still be drawing
    assert page.locator("[data-testid=stException]").count() == 0
    shot = tmp_path / f"predict_{width}x{height}.png"
    page.wait_for_timeout(1000)
    page.screenshot(path=str(tmp_path / f"predict_{width}x{height}_viewport.png"))
    full_page_shot(page, shot)
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1  # no sideways scrolling
    from PIL import Image

    assert np.asarray(Image.open(shot).convert("L"), dtype=np.float32).std() > 10


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
def test_model_card_page(app_url, browser, tmp_path, width, height):
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{app_url}/model")
    page.get_by_role("heading", name="Per genre").wait_for(timeout=60_000)
    page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    assert page.get_by_test_id("stMetric").count() == 4
    page.wait_for_timeout(1000)
    # the measures table fits its box (it was 11 columns, clipped at 1280 px)
    scroll, box = page.get_by_test_id("stDataFrame").first.locator(".dvn-scroller").evaluate(
        "s => [s.scrollWidth, s.clientWidth]")
    assert scroll <= box + 1, (scroll, box)
    full_page_shot(page, tmp_path / f"model_card_{width}x{height}.png")
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width + 1


def test_compare_on_a_phone_two_posters_a_row_no_sideways_scroll(app_url, browser, tmp_path):
    from fixtures import jpeg_bytes, make_poster

    files = []
    for seed in (1, 2, 3):
        path = tmp_path / f"poster{seed}.jpg"
        path.write_bytes(jpeg_bytes(make_poster(seed=seed)))
        files.append(str(path))
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(f"{app_url}/compare")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(files)
    page.get_by_role("heading", name="Export").wait_for(timeout=180_000)
    page.wait_for_timeout(1000)
    assert page.locator("[data-testid=stException]").count() == 0
    tops = page.locator("[data-testid=stImage] img").evaluate_all(
        "els => els.slice(0, 3).map(e => Math.round(e.getBoundingClientRect().top))")
    assert tops[0] == tops[1] and tops[2] > tops[0]            # two side by side, the third below
    full_page_shot(page, tmp_path / "compare_390x844.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 391   # no sideways scrolling


def test_noise_image_gets_the_not_a_poster_warning(app_url, browser, predictor, tmp_path):
    if predictor.poster_check is None:
        pytest.skip("weights without a poster check")
    from PIL import Image

    noise = tmp_path / "noise.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (450, 300, 3), dtype=np.uint8)).save(noise)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(app_url)
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(noise))
    alert = page.get_by_test_id("stAlert").filter(has_text="does not look like a movie poster")
    alert.wait_for(timeout=90_000)
    assert alert.is_visible()
    assert page.locator("[data-testid=stException]").count() == 0
    full_page_shot(page, tmp_path / "predict_noise_warning.png")


def test_a_broken_file_after_a_poster_says_why_where_one_looks(app_url, browser, sample_poster_path, tmp_path):
    """A phone visitor uploads a poster, then a file that is not an image: the reason and what to do are
    shown open on the page (not folded inside the status box), and no exception."""
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not an image at all")
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(app_url)
    upload = page.get_by_test_id("stFileUploader").locator('input[type="file"]')
    upload.set_input_files(str(sample_poster_path))
    page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=90_000)
    upload.set_input_files(str(broken))
    reason = page.get_by_test_id("stAlert").filter(has_text="not an image")
    reason.wait_for(timeout=90_000)
    assert reason.is_visible() and "choose a poster image file" in reason.inner_text()
    assert page.locator("[data-testid=stException]").count() == 0
    full_page_shot(page, tmp_path / "predict_broken_after_poster.png")


@pytest.mark.parametrize("width,height", [(1280, 800), (390, 844)])
@pytest.mark.parametrize("kind", ["text", "huge"])
def test_an_unreadable_file_says_why_in_view_without_a_click(app_url, browser, tmp_path, kind, width, height):
    """A first upload that cannot be read, at both widths: a text file named .jpg, or a 96 MP PNG (a
    print file; big JPEGs are now decoded at a reduced scale, PNGs are not). The reason and what to do
    are in view, without a click or a scroll."""
    from PIL import Image

    path = tmp_path / ("notes.jpg" if kind == "text" else "print.png")
    if kind == "text":
        path.write_text("These are my notes about the film, not an image.\n" * 20)
        says, then = "is text, not an image", "choose a poster image file"
    else:
        Image.new("L", (8000, 12000), 40).save(path)     # small on disk, 96 MP declared
        says, then = "96.0 megapixels", "resize it"
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(app_url)
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(path))
    reason = page.get_by_test_id("stAlert").filter(has_text=says)
    reason.wait_for(timeout=90_000)
    page.wait_for_timeout(1000)
    box = reason.bounding_box()
    assert reason.is_visible() and then in reason.inner_text()
    assert 0 <= box["y"] and box["y"] + box["height"] <= height, box   # in view as the page stands
    assert page.locator("[data-testid=stException]").count() == 0
    page.screenshot(path=str(tmp_path / f"unreadable_{kind}_{width}x{height}.png"))


def test_a_first_visitor_opening_a_page_link_gets_the_apps_navigation(browser, predictor, tmp_path):
    """The first session after the server starts opens /compare directly (a shared link, a restarted
    hosted demo): the entry's st.navigation routes it, never Streamlit's own pages-folder navigation
    (which listed 'app' and file names, and skipped the sidebar)."""
    with streamlit_server("app.py", tmp_path / "home", drop=("TMDB_API_TOKEN", "TMDB_API_KEY")) as url:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(f"{url}/compare")
        page.get_by_role("heading", name="Compare posters").wait_for(timeout=60_000)
        page.get_by_text("Running on").wait_for(timeout=60_000)  # the entry's sidebar ran
        links = [t.strip() for t in page.get_by_test_id("stSidebarNav").locator("a").all_inner_texts()]
        assert [t.splitlines()[-1] for t in links] == ["Predict", "Compare", "Genre Atlas", "Catalog", "Model card"], links
        assert page.locator("[data-testid=stException]").count() == 0
