"""Prediction speed of the bundled model: single-poster latency, batch throughput, load time.

    .venv/bin/python benchmarks/latency.py [--device cpu|cuda] [--posters DIR] [--seconds 5]

Prints, for one poster (decode + resize + backbone forward(s) + head + flip-TTA merge, image alone):
p50/p90 latency beside the bare backbone forward(s) measured in the same run, and the share of the
time that is not the network's own forward passes; with the text channel, the latency with OCR beside
the image alone (interleaved rounds), the OCR share and their ratio (issue 13's target: <= 2x); throughput in posters/s per batch size; and the
time from a fresh `python -c "import postergenre; load(); predict()"` to its first prediction.
Targets (CPU, 2 cores): p50 <= 50 ms; overhead <= 30% of the forward; load <= 3 s.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def timed(fn, seconds: float, min_runs: int = 20) -> list[float]:
    fn()  # warm-up
    out, t_end = [], time.perf_counter() + seconds
    while time.perf_counter() < t_end or len(out) < min_runs:
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def pct(xs: list[float], q: float) -> float:
    return float(np.percentile(xs, q))


def poster_files(folder: Path | None, n: int) -> list[bytes]:
    if folder and folder.is_dir():
        files = sorted((folder / "images").glob("*.jpg") if (folder / "images").is_dir() else folder.glob("*.jpg"))[:n]
        if files:
            return [f.read_bytes() for f in files]
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures import jpeg_bytes, make_poster

    return [jpeg_bytes(make_poster(seed=i), quality=90) for i in range(n)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--posters", type=Path, default=ROOT.parent / "shared" / "data" / "posters")
    ap.add_argument("--seconds", type=float, default=5.0, help="measuring time per figure")
    ap.add_argument("--batch-sizes", default="1,2,4,8,16,32")
    args = ap.parse_args()

    import postergenre

    predictor = postergenre.load(device=args.device)
    data = poster_files(args.posters, 64)
    print(f"model {predictor.name} on {predictor.device} ({predictor.backend}); input {predictor.preprocessing.input_size} "
          f"flip-TTA {predictor.tta_flip}; {os.cpu_count()} CPUs; {len(data)} distinct posters")

    i = iter(range(10**9))
    one = lambda: predictor.predict(data[next(i) % len(data)], text=False)  # the image model first; OCR below
    text_on = predictor.has_text
    arr = predictor.preprocess(data[0])
    forward = lambda: predictor.encode([arr])
    # interleave the two measurements in short rounds so machine noise hits both alike
    full, bare = [], []
    for _ in range(5):
        full += timed(one, args.seconds / 5, 10)
        bare += timed(forward, args.seconds / 5, 10)
    p50, bare50 = pct(full, 50), pct(bare, 50)
    views = 2 if predictor.tta_flip else 1
    print(f"\nsingle poster: p50 {p50:.1f} ms  p90 {pct(full, 90):.1f} ms   (target p50 <= 50 ms)")
    print(f"bare backbone forward ({views} view{'s' if views > 1 else ''} in one batch): p50 {bare50:.1f} ms")
    print(f"everything else (decode, resize, head, TTA merge): {p50 - bare50:.1f} ms = "
          f"{(p50 - bare50) / bare50:.0%} of the forward   (target <= 30%)")

    text50 = None
    if predictor.text_model is not None and text_on:  # the OCR text channel (issue 13): its share of a prediction
        from postergenre.model.ocr import read_text

        with_text = lambda: predictor.predict(data[next(i) % len(data)], text=True)
        k = iter(range(10**9))
        texted, alone, ocr = [], [], []
        for _ in range(5):  # interleaved, as above: the same machine noise for all three
            texted += timed(with_text, args.seconds / 5, 3)
            alone += timed(one, args.seconds / 5, 3)
            ocr += timed(lambda: read_text(data[next(k) % len(data)]), args.seconds / 5, 3)
        text50, alone50, ocr50 = pct(texted, 50), pct(alone, 50), pct(ocr, 50)
        ratio = text50 / alone50
        print(f"\nwith the poster's text (default; OCR as the weights record it): p50 {text50:.1f} ms "
              f"p90 {pct(texted, 90):.1f} ms; image alone (--no-text) p50 {alone50:.1f} ms in the same rounds")
        print(f"OCR alone: p50 {ocr50:.1f} ms = {ocr50 / text50:.0%} of a prediction with text; with text / image "
              f"alone = {ratio:.1f}x   (target <= 2x: {'met' if ratio <= 2 else 'NOT met'})")

    print("\nbatch throughput (decode + preprocess + forward + head, all included):")
    best = (0.0, 0)
    for bs in [int(b) for b in args.batch_sizes.split(",")]:
        imgs = [data[k % len(data)] for k in range(bs)]
        ms = timed(lambda: predictor.predict_batch(imgs, batch_size=bs), args.seconds / 2, 3)
        rate = bs / (statistics.median(ms) / 1000)
        best = max(best, (rate, bs))
        print(f"  batch {bs:>3}: {rate:7.1f} posters/s   ({statistics.median(ms):.1f} ms per batch)")
    print(f"fastest: {best[0]:.1f} posters/s at batch {best[1]} (predictor default batch {predictor.batch_size})")

    sample = args.posters / "images" / "tt0035423.jpg"
    if not sample.exists():
        import tempfile

        sample = Path(tempfile.mkdtemp()) / "poster.jpg"
        sample.write_bytes(data[0])
    code = ("import time; t=time.perf_counter(); import postergenre; p=postergenre.load(device=%r); "
            "p.predict(%r); print(time.perf_counter()-t)") % (args.device, str(sample))
    loads = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        if out.returncode:
            print("load run failed:", out.stderr[-500:])
            break
        loads.append(float(out.stdout.strip().splitlines()[-1]))
    if loads:
        print(f"\nmodel load, import to first prediction (fresh process, warm disk cache): "
              f"median {statistics.median(loads):.2f} s of {['%.2f' % x for x in loads]}   (target <= 3 s)")
    print(json.dumps({"p50_ms": round(p50, 2), "bare_forward_p50_ms": round(bare50, 2),
                      "overhead_ratio": round((p50 - bare50) / bare50, 3), "best_throughput": round(best[0], 1),
                      "best_batch": best[1], "load_s": round(statistics.median(loads), 2) if loads else None,
                      "p50_with_text_ms": None if text50 is None else round(text50, 2)}))


if __name__ == "__main__":
    main()
