"""App speed on CPU: start to first prediction, and one prediction with 3 Grad-CAM heatmaps.

    .venv/bin/python benchmarks/app_latency.py [--pause 10] [--poster FILE]

1. Starts `streamlit run app.py` (headless, 127.0.0.1) and times, from process start, until the app's
   own script has loaded the model and answered a poster upload (measured with AppTest-free HTTP:
   the health endpoint, then a headless Chromium upload when Debian's chromium is installed).
2. In-process: predict + 3 heatmaps on one poster (warm model), the work the Predict page does.
Targets: start to first prediction <= 5 s; prediction with 3 heatmaps <= 1 s.
"""
from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
POSTER = ROOT.parent / "shared" / "data" / "posters" / "images" / "tt0035423.jpg"


def sample_poster() -> Path:
    if POSTER.exists():
        return POSTER
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures import make_poster

    path = Path("/tmp/postergenre_bench_poster.jpg")
    make_poster().save(path)
    return path


def warm_prediction(poster: Path, runs: int = 5) -> None:
    import postergenre
    from postergenre.model.explain import explain

    t = time.perf_counter()
    p = postergenre.load(device="cpu")
    explain(p, poster, top_k=3, prediction=p.predict(poster))  # as the Predict page does
    print(f"in-process cold: load + predict + first Grad-CAM {time.perf_counter() - t:.2f} s")
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        explain(p, poster, top_k=3, prediction=p.predict(poster))
        times.append(time.perf_counter() - t)
    print(f"prediction + 3 heatmaps, warm: median {statistics.median(times) * 1000:.0f} ms "
          f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})   (target <= 1000 ms)")


def app_start_to_first_prediction(poster: Path, pause: float = 0.0) -> tuple[float, float] | None:
    """Seconds from `streamlit run` to the genre chart and to the heatmaps; with ``pause``, the upload
    comes that long after the uploader appears (a person picking a file) and the times are from the upload."""
    if not Path("/usr/bin/chromium").exists():
        print("app start to first prediction: skipped (Debian chromium not installed)")
        return None
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                                 "--server.address", "127.0.0.1", "--server.port", str(port)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
                                env=dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false"))
        try:
            import requests

            while True:
                try:
                    if requests.get(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).text == "ok":
                        break
                except requests.RequestException:
                    time.sleep(0.05)
            t_up = time.perf_counter() - t0
            page.goto(f"http://127.0.0.1:{port}")
            uploader = page.get_by_test_id("stFileUploader").locator('input[type="file"]')
            if pause:
                uploader.wait_for(state="attached", timeout=120_000)
                t_ready = time.perf_counter() - t0
                time.sleep(pause)
                t0 = time.perf_counter()
            uploader.set_input_files(str(poster))
            page.get_by_test_id("stPlotlyChart").locator(".js-plotly-plot").first.wait_for(timeout=120_000)
            t_pred = time.perf_counter() - t0
            page.locator("[data-testid=stImage] img").nth(4).wait_for(timeout=120_000)  # poster, poster tile, 3 heatmaps
            t_cam = time.perf_counter() - t0
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            browser.close()
    if pause:
        print(f"app: page ready {t_ready:.2f} s after `streamlit run`; upload {pause:.0f} s later -> genre chart "
              f"{t_pred:.2f} s, 3 heatmaps {t_cam:.2f} s after the upload")
    else:
        print(f"app: server healthy {t_up:.2f} s; genre chart drawn {t_pred:.2f} s after `streamlit run`; "
              f"3 heatmaps drawn {t_cam:.2f} s   (issue 12: heatmaps <= 6 s)")
    return t_pred, t_cam


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--pause", type=float, default=0.0,
                    help="upload this many seconds after the uploader appears (default 0: at once, the worst case)")
    ap.add_argument("--poster", type=Path, default=None, help="poster to upload (default: a rendered one)")
    args = ap.parse_args()
    poster = args.poster or sample_poster()
    warm_prediction(poster)
    runs = [r for r in (app_start_to_first_prediction(poster, args.pause) for _ in range(3)) if r]
    if runs:
        print(f"median of {len(runs)} app starts: genre chart {statistics.median(r[0] for r in runs):.2f} s "
              f"(target <= 5 s), heatmaps {statistics.median(r[1] for r in runs):.2f} s (target <= 6 s)")
