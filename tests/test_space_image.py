"""The Hugging Face Space image, built with podman and used like a visitor would (minutes: opt-in).

Runs only with podman installed and POSTERGENRE_SPACE_IMAGE=1 (scripts/test.sh sets it when a change
touches the Dockerfile, the requirements or scripts/). `bash scripts/space_image.sh build` builds the
image from the unchanged Dockerfile (cached layers are reused); the container then serves the app on a
free port of 127.0.0.1, and headless Debian chromium on the host drives it: the examples, an upload
(genres, text, heatmaps), Compare, the Model card. The same image's API command answers /v1/predict.
Screenshots land in the test's tmp folder (and in $POSTERGENRE_SCREENSHOTS when set).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests

from fixtures import CHROMIUM, ROOT, free_port, full_page_shot, jpeg_bytes, make_poster

ASKED = os.environ.get("POSTERGENRE_SPACE_IMAGE", "").strip().lower() in ("1", "true", "yes")
PODMAN = shutil.which("podman")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not ASKED, reason="the Space image check takes minutes: set POSTERGENRE_SPACE_IMAGE=1 "
                                         "(scripts/test.sh does when the Dockerfile, requirements or scripts change)"),
    pytest.mark.skipif(ASKED and not PODMAN, reason="podman not installed (bash scripts/space_image.sh installs it as root)"),
    pytest.mark.skipif(ASKED and not CHROMIUM.exists(), reason="Debian chromium not installed (scripts/test.sh installs it)"),
    pytest.mark.timeout(3600),  # the first build downloads and installs torch in the export stage
]
SCRIPT = ["bash", str(ROOT / "scripts" / "space_image.sh")]
APP, API, TMDB_APP = "postergenre-space-test-app", "postergenre-space-test-api", "postergenre-space-test-tmdb"
# what podman itself adds to a running container: the mount points of /etc/hosts, /etc/hostname and
# /etc/resolv.conf (their folder shows as changed) and /run/.containerenv
ENGINE_OWN = {"/etc", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run", "/run/.containerenv"}
ERROR_TEXT = ("Traceback", "something unexpected went wrong", "Error:", "ModuleNotFoundError", "Permission denied")


def space(*args: str, timeout: float = 120, env: dict | None = None) -> str:
    done = subprocess.run([*SCRIPT, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT,
                          env={k: v for k, v in {**os.environ, **(env or {})}.items() if not k.startswith("TMDB_")
                               or (env and k in env)})
    assert done.returncode == 0, f"space_image.sh {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


def wait_for(url: str, ok, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            r = requests.get(url, timeout=2)
            if ok(r):
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    pytest.fail(f"{url} did not answer within {seconds:.0f} s")


@pytest.fixture(scope="module")
def image():
    if os.environ.get("SPACE_IMAGE_BUILT") != "1":  # space_image.sh check has just built it
        space("build", timeout=3000)


@pytest.fixture(scope="module")
def app_url(image):
    port = free_port()
    space("start", APP, str(port))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/_stcore/health", lambda r: r.text == "ok")
        yield url
    finally:
        space("stop", APP)


def assert_no_error_text(page) -> None:
    assert page.locator("[data-testid=stException]").count() == 0
    assert page.locator("[data-testid=stAlertContentError]").count() == 0
    body = page.inner_text("body")
    assert not [t for t in ERROR_TEXT if t in body], body[:2000]


def test_a_visitor_uses_the_app_in_the_container(app_url, browser, tmp_path):
    from app_components.examples import DRAWN

    # first visit on a phone: examples without a poster at hand (no TMDB key: the drawn ones)
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.goto(app_url)
    page.get_by_role("button", name=DRAWN[1].name).click(timeout=90_000)
    page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=90_000)
    page.get_by_role("heading", name="Where the model looked").wait_for(timeout=60_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 391  # no sideways scrolling
    assert_no_error_text(page)
    full_page_shot(page, tmp_path / "space_example_390x844.png")
    page.close()

    # an upload on a laptop: genres, the text read on the poster, heatmaps, colours
    poster = tmp_path / "hollow_house.jpg"
    DRAWN[0].draw().save(poster, "JPEG", quality=90)
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(app_url)
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(poster))
    page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=90_000)
    page.get_by_role("heading", name="Text on the poster").wait_for(timeout=60_000)
    page.get_by_text("HOUSE").first.wait_for(timeout=10_000)  # the title, read by OCR in the container
    page.locator("[data-testid=stImage] img").nth(4).wait_for(timeout=90_000)  # the poster, then it + 3 heatmaps
    page.get_by_role("heading", name="Colours and composition").wait_for(timeout=60_000)
    page.get_by_text("Heatmap opacity").wait_for(state="visible", timeout=30_000)
    assert "Horror" in page.inner_text("body")
    assert_no_error_text(page)
    full_page_shot(page, tmp_path / "space_predict_1280x800.png")

    # Compare two posters, then the Model card
    files = []
    for seed in (1, 2):
        path = tmp_path / f"draft{seed}.jpg"
        path.write_bytes(jpeg_bytes(make_poster(seed=seed)))
        files.append(str(path))
    page.goto(f"{app_url}/compare")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(files)
    page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=90_000)
    page.wait_for_timeout(2000)
    assert_no_error_text(page)
    full_page_shot(page, tmp_path / "space_compare_1280x800.png")
    page.goto(f"{app_url}/model")
    page.get_by_role("heading", name="Per genre").wait_for(timeout=60_000)
    page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=60_000)
    page.get_by_role("heading", name="Limitations").wait_for(timeout=30_000)
    assert_no_error_text(page)
    full_page_shot(page, tmp_path / "space_model_card_1280x800.png")


def test_with_the_tmdb_secret_the_examples_are_this_weeks_films(image, browser, tmp_path):
    """The Space secret path: TMDB_API_TOKEN reaches the container, whose examples are then the week's
    trending films (a fake TMDB on the host's 127.0.0.1 stands in for api.themoviedb.org)."""
    from fake_tmdb import TOKEN, FakeTMDB

    with FakeTMDB() as tmdb:
        port = free_port()
        space("start", TMDB_APP, str(port), env={"TMDB_API_TOKEN": TOKEN, "TMDB_API_BASE_URL": tmdb.base_url})
        try:
            url = f"http://127.0.0.1:{port}"
            wait_for(f"{url}/_stcore/health", lambda r: r.text == "ok")
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.get_by_text("this week's trending films on TMDB").wait_for(timeout=90_000)
            top = sorted((f for f in tmdb.films if f["poster_path"]), key=lambda f: (-f["popularity"], f["id"]))[0]
            page.get_by_role("button", name=top["title"], exact=True).click()
            page.get_by_text(f"{top['title']} ({top['release_date'][:4]}) · trending on TMDB").wait_for(timeout=90_000)
            # read: "Poster read", or the not-a-poster warning (the fake's shapes may not look like a poster)
            page.get_by_text(re.compile("Poster read|does not look like a movie poster")).first.wait_for(timeout=90_000)
            assert_no_error_text(page)
            assert TOKEN not in page.content()
            full_page_shot(page, tmp_path / "space_tmdb_examples_1280x800.png")
            assert "/3/trending/movie/week" in tmdb.paths() and f"/t/p/w500{top['poster_path']}" in tmdb.paths()
        finally:
            space("stop", TMDB_APP)


def test_runs_as_uid_1000_without_torch(app_url):
    assert space("exec", APP, "id", "-u").strip() == "1000"
    found = space("exec", APP, "python", "-c", "import importlib.util as u; "
                  "print([m for m in ('torch', 'torchvision', 'pytorch_grad_cam') if u.find_spec(m)])")
    assert found.strip() == "[]"
    assert space("exec", APP, "sh", "-c", "ls ~/.cache/postergenre/onnx").split()  # the exported graphs


def test_writes_nothing_outside_its_home(app_url):
    """After the visits above: every file the container changed or added is under /home/user."""
    changed = [line.split(None, 1)[1] for line in space("diff", APP).splitlines() if line.strip()]
    outside = [p for p in changed if p not in ENGINE_OWN and p not in ("/home", "/home/user") and not p.startswith("/home/user/")]
    assert not outside, outside


def test_the_api_command_of_the_same_image_answers_predict(image, tmp_path):
    port = free_port()
    space("start", API, str(port), "python", "-m", "postergenre", "serve", "--host", "127.0.0.1", "--port", str(port))
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(f"{url}/healthz", lambda r: r.status_code == 200)
        r = requests.post(f"{url}/v1/predict", files={"file": ("poster.jpg", jpeg_bytes(make_poster()), "image/jpeg")},
                          timeout=60)
        assert r.status_code == 200, r.text[:500]
        body = r.json()
        genres = [s["genre"] for s in body["genres"]]
        assert len(genres) >= 10 and all(0 <= s["probability"] <= 1 for s in body["genres"])
        bad = requests.post(f"{url}/v1/predict", files={"file": ("x.jpg", b"not an image", "image/jpeg")}, timeout=30)
        assert 400 <= bad.status_code < 500 and "Traceback" not in bad.text
    finally:
        space("stop", API)
