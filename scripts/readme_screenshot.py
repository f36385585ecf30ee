"""Remake the README's screenshot: the Predict page at 1280x800 after reading a made-up poster.

    .venv/bin/python scripts/readme_screenshot.py            # writes docs/images/predict.png

Uses the browser tests' tooling (tests/fixtures.py: a headless `streamlit run` on 127.0.0.1, Debian's
/usr/bin/chromium through Playwright). The poster is the app's first drawn example (a made-up film,
``app_components/examples.py``), so no real artwork enters the repo.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "predict.png")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from app_components.examples import DRAWN, drawn_poster
    from fixtures import CHROMIUM, streamlit_server

    with tempfile.TemporaryDirectory() as tmp:
        poster = Path(tmp) / (DRAWN[0].name.lower().replace(" ", "-") + ".jpg")
        poster.write_bytes(drawn_poster(0))
        with streamlit_server("app.py", Path(tmp), drop=("TMDB_API_TOKEN", "TMDB_API_KEY", "POSTERGENRE_DATA")) as url, \
                sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"],
                                        env={**os.environ, "HOME": tmp})
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(str(poster))
            page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=120_000)
            page.get_by_role("heading", name="Where the model looked").wait_for(timeout=90_000)
            page.get_by_text("Heatmap opacity").wait_for(state="visible", timeout=90_000)
            page.wait_for_timeout(1500)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(args.out))
            browser.close()
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
