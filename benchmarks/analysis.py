"""Per-poster analysis time on CPU (target: whole analysis <= 200 ms per poster).

    .venv/bin/python benchmarks/analysis.py [--data ../shared/data/posters] [-n 50]

Times ``analyze_poster`` on real posters (or generated ones when the dataset is absent) and each
stage on one poster, and prints median / p90 / max in milliseconds.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def posters(data: Path, n: int) -> list:
    images = sorted((data / "images").glob("*.jpg"))[:n] if (data / "images").is_dir() else []
    if images:
        return images
    from fixtures import make_poster

    print(f"(no posters in {data}: timing {n} generated ones)")
    return [make_poster(seed=i) for i in range(n)]


def ms(seconds: list[float]) -> str:
    s = sorted(x * 1000 for x in seconds)
    return f"median {statistics.median(s):6.1f} ms   p90 {s[int(0.9 * (len(s) - 1))]:6.1f} ms   max {s[-1]:6.1f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data" / "posters")
    ap.add_argument("-n", type=int, default=50, help="posters to time (default 50)")
    args = ap.parse_args()

    from postergenre.look import composition as C
    from postergenre.look.analysis import analysis_image, analyze_poster
    from postergenre.sources.images import load_image
    from postergenre.look.palette import extract_palette, rgb_to_lab

    items = posters(args.data, args.n)
    analyze_poster(items[0])  # warm-up: loads the face cascade and the text detector
    times = []
    for item in items:
        t = time.perf_counter()
        analyze_poster(item)
        times.append(time.perf_counter() - t)
    print(f"analyze_poster over {len(items)} posters (text detector: {'on' if C.text_available() else 'off'}):")
    print(f"  {ms(times)}   -> {'OK' if statistics.median(times) <= 0.2 else 'OVER'} the 200 ms target")

    rgb = analysis_image(load_image(items[0]))
    lab = rgb_to_lab(rgb)
    weight = C.visual_weight_map(lab)
    stages = {
        "load + downscale": lambda: analysis_image(load_image(items[0])),
        "CIELAB": lambda: rgb_to_lab(rgb),
        "palette (k-means)": lambda: extract_palette(rgb, lab=lab),
        "colour measures": lambda: (C.saturation(rgb), C.colourfulness(rgb), C.warm_cool_shares(rgb),
                                    C.hue_histogram(rgb)),
        "structure measures": lambda: (C.edge_density(rgb), C.symmetry(lab), C.visual_weight_map(lab),
                                       C.thirds_share(weight), C.balance(weight)),
        "faces (Haar)": lambda: C.detect_faces(rgb),
        "text (PP-OCR det)": lambda: C.detect_text(rgb),
    }
    print(f"stages on one poster ({rgb.shape[1]}x{rgb.shape[0]} analysis copy):")
    for name, fn in stages.items():
        runs = []
        for _ in range(10):
            t = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t)
        print(f"  {name:<20} {np.median(runs) * 1000:6.1f} ms")

    # the closer look for text (composition.CLOSER_SIDE): only a large image on which the first look found
    # little text pays it; a screenshot of a page of small text is the case it is for
    from test_composition import text_page

    page = text_page()
    closer = []
    for _ in range(5):
        t = time.perf_counter()
        covered = C.text_share(C.detect_text(page), (page.height, page.width))
        closer.append(time.perf_counter() - t)
    print(f"text coverage of a {page.width}x{page.height} screenshot of text (first look + closer look): "
          f"{np.median(closer) * 1000:.1f} ms, {covered:.0%} covered")


if __name__ == "__main__":
    main()
