"""The Compare page's HTML export read on a phone (issue 26, item 9): opened in Debian's headless Chromium at
390x844, the page never scrolls sideways, with four real posters under long names, the measures table
against a genre's range, the heatmaps, and the table of a whole batch with an unreadable file. Screenshots
land in the test's tmp dir (and in $POSTERGENRE_SCREENSHOTS when set, to look at them)."""
from __future__ import annotations

import os
import shutil

import pytest

from fixtures import SHARED_POSTERS, browser_marks

pytestmark = browser_marks

LONG_NAMES = ["Teaser – version with the tagline at the bottom", "Final key art (festival cut)",
              "Alternative_international_one_sheet_v3_FINAL", "Character poster"]


@pytest.fixture(scope="module")
def batch(predictor):
    from postergenre.compare.batch import read_posters
    from postergenre.errors import WeightsError
    from postergenre.look.atlas import load_atlas

    images = sorted((SHARED_POSTERS / "images").glob("*.jpg"))[10:16] if (SHARED_POSTERS / "images").is_dir() else []
    if len(images) < 6:
        pytest.skip(f"real posters not found at {SHARED_POSTERS} (CI has them; clone next to shared/)")
    try:
        atlas = load_atlas()
    except WeightsError:
        atlas = None  # the measures table without ranges is narrower: the test is then easier, not void
    data = [p.read_bytes() for p in images]
    names = LONG_NAMES + [p.stem for p in images[4:]] + ["notes"]
    return read_posters(predictor, data + [b"meeting notes, not a poster"], names, atlas=atlas)


def _open_at_phone_width(browser, html: str, tmp_path, name: str, width: int = 390) -> dict:
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    page = browser.new_page(viewport={"width": width, "height": 844 if width < 600 else 800})
    page.goto(path.as_uri())
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)
    page.wait_for_timeout(500)
    sizes = page.evaluate("""() => ({scroll: document.documentElement.scrollWidth,
        client: document.documentElement.clientWidth,
        widest: Math.max(...[...document.body.querySelectorAll('*')].map(e => e.getBoundingClientRect().right))})""")
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
    if os.environ.get("POSTERGENRE_SCREENSHOTS"):
        shutil.copy(tmp_path / f"{name}.png", os.environ["POSTERGENRE_SCREENSHOTS"])
    page.close()
    return sizes


def test_the_comparison_report_does_not_scroll_sideways_on_a_phone(browser, batch, tmp_path):
    from postergenre.compare.report import to_html_report

    comparison = batch.comparison([0, 1, 2, 3])
    genre = comparison.default_genre() if batch.atlas is not None else None
    html = to_html_report(comparison, genre, [p.image for p in comparison.posters], "Drama")
    sizes = _open_at_phone_width(browser, html, tmp_path, "compare-report-390")
    assert sizes["scroll"] <= sizes["client"] == 390, sizes
    assert sizes["widest"] <= 390 + 1, sizes


def test_the_batch_report_lists_every_poster_and_the_unreadable_one_on_a_phone(browser, batch, tmp_path):
    from postergenre.compare.report import to_html_report

    html = to_html_report(batch.comparison([0, 1]), batch=batch)
    assert f"All {len(batch.posters)} posters read" in html and "meeting notes" not in html.split("Not read")[0]
    assert "notes" in html.split("Not read (1)")[1] and "text, not an image" in html
    sizes = _open_at_phone_width(browser, html, tmp_path, "batch-report-390")
    assert sizes["scroll"] <= sizes["client"] == 390, sizes
    assert sizes["widest"] <= 390 + 1, sizes
    sizes = _open_at_phone_width(browser, html, tmp_path, "batch-report-1280", width=1280)   # a long name breaks
    assert sizes["scroll"] <= sizes["client"] == 1280, sizes
