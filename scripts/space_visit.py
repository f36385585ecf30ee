"""A visitor's first prediction in a running app, timed: headless Debian chromium opens URL, uploads a
poster and waits for the genre chart, then for the heatmaps. Used by scripts/space_image.sh.

    .venv/bin/python scripts/space_visit.py http://127.0.0.1:8501 [--poster FILE]

Prints one line: seconds from the start (the server just answered its health check) to the chart,
and from the upload to the chart and to the heatmaps. The default poster is one of the app's drawn
examples (a made-up film), so no dataset is needed.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"


def drawn_example(folder: Path) -> Path:
    sys.path.insert(0, str(ROOT))
    from streamlit.logger import set_log_level

    set_log_level("error")  # no "no runtime found" warnings: the drawing is used outside an app here
    from app_components.examples import DRAWN

    path = folder / "example.jpg"
    DRAWN[0].draw().save(path, "JPEG", quality=90)
    return path


def first_prediction(url: str, poster: Path, timeout_s: float = 120) -> tuple[float, float, float]:
    """(page opened + upload -> chart, upload -> chart, upload -> 3 heatmaps) in seconds."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as home, sync_playwright() as pw:
        t0 = time.perf_counter()
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"],
                                     env={"HOME": home, "XDG_CONFIG_HOME": home, "XDG_CACHE_HOME": home})
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            uploader = page.get_by_test_id("stFileUploader").locator('input[type="file"]')
            uploader.wait_for(state="attached", timeout=timeout_s * 1000)
            t_up = time.perf_counter()
            uploader.set_input_files(str(poster))
            page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=timeout_s * 1000)
            t_chart = time.perf_counter()
            page.locator("[data-testid=stImage] img").nth(4).wait_for(timeout=timeout_s * 1000)  # poster + 3 maps
            t_maps = time.perf_counter()
        finally:
            browser.close()
    return t_chart - t0, t_chart - t_up, t_maps - t_up


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("url")
    ap.add_argument("--poster", type=Path, default=None, help="poster to upload (default: a drawn example)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        poster = args.poster or drawn_example(Path(tmp))
        total, chart, maps = first_prediction(args.url, poster)
    print(f"{total:.1f} s from healthy to the genre chart (browser start + page + upload); "
          f"upload to chart {chart:.1f} s, to 3 heatmaps {maps:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
