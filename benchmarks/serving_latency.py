"""Serving speed and memory of the bundled model, fp32 and int8 backbones in the same run, as ratios.

    .venv/bin/python benchmarks/serving_latency.py [--posters DIR] [--seconds 4] [--rss-posters 100]

Per precision (ONNX Runtime on CPU):
- one poster, image alone (decode + resize + 2 forwards: poster and mirror + head), p50 and p90,
  beside the bare forward of those 2 views; decode + resize + uint8->float (the normalisation is in
  the graph) as a share of the forward; and the same with the poster's text read (OCR);
- batch throughput (image alone, flip-TTA), posters/s per batch size;
- warm: a prediction + 3 heatmaps (the Predict page's work: explain reuses the prediction's text);
- fresh process -> first prediction + 3 heatmaps (interpreter start included), and `postergenre
  explain POSTER` per call (a whole CLI process), medians of 3;
- serving RSS of a process where torch cannot be imported, after N predictions + 3 heatmaps each;
fresh-process and RSS figures both image alone (the workload the targets were set for, before the
text channel) and with the poster's text read (the default since).
Then int8 / fp32 ratios. Targets (issue 12, this 2-core CPU): fresh -> 3 heatmaps <= 3 s; warm
prediction + 3 heatmaps <= 0.15 s; explain CLI <= 2 s; int8 throughput >= 2x fp32 (aim 150/s);
int8 single-poster p50 <= 12 ms; serving RSS <= 450 MB. The machine's load average is printed
first and last: figures from a shared machine are slower than a quiet one's.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from latency import timed  # noqa: E402  (the timing loop of benchmarks/latency.py)

PRECISIONS = ("fp32", "int8")
NO_TORCH = textwrap.dedent('''
    import sys
    class _NoTorch:  # torch, torchvision and pytorch-grad-cam are "not installed" in this process
        def find_spec(self, name, path=None, target=None):
            if name.partition(".")[0] in {"torch", "torchvision", "pytorch_grad_cam"}:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, _NoTorch())
''')
SERVING = textwrap.dedent('''
    import sys, postergenre
    from postergenre.model.explain import explain
    files, n, text = sys.argv[1:-2], int(sys.argv[-2]), sys.argv[-1] == "text"
    p = postergenre.load(device="cpu")
    p.use_text = p.use_text and text
    for i in range(n):
        pred = p.predict(files[i % len(files)])
        explain(p, files[i % len(files)], top_k=3, prediction=pred)
    status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
    print("torch imported" if "torch" in sys.modules else "no torch", int(status["VmRSS"].split()[0]) // 1024,
          int(status["VmHWM"].split()[0]) // 1024)
''')


def p50(xs: list[float]) -> float:
    return float(np.percentile(xs, 50))


def poster_files(folder: Path, n: int) -> list[Path]:
    files = sorted((folder / "images").glob("*.jpg"))[::97][:n] if (folder / "images").is_dir() else []
    if files:
        return files
    sys.path.insert(0, str(ROOT / "tests"))
    from fixtures import make_poster

    tmp = Path(tempfile.mkdtemp())
    for i in range(n):
        make_poster(seed=i).save(tmp / f"p{i}.jpg", quality=90)
    return sorted(tmp.glob("*.jpg"))


def wall(cmd: list[str], env: dict, runs: int = 3) -> float | None:
    """Median wall time (s) of a fresh process running ``cmd``; None (and why) if it fails."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        if r.returncode:
            print("   failed:", " ".join(cmd[:4]), r.stderr[-400:])
            return None
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def measure(precision: str, files: list[Path], args, no_torch_dir: Path) -> dict:
    import postergenre
    from postergenre.model.backbone import to_nchw
    from postergenre.model.explain import explain

    p = postergenre.load(device="cpu", precision=precision)
    fig: dict[str, float | None] = {}
    data = [f.read_bytes() for f in files]
    k = iter(range(10**9))
    p.use_text = False
    arr = p.preprocess(data[0])
    batch = to_nchw([arr], flip=p.tta_flip)
    one, bare = [], []
    for _ in range(4):  # interleaved, so machine noise hits both alike
        one += timed(lambda: p.predict(data[next(k) % len(data)]), args.seconds / 8)
        bare += timed(lambda: p._extractor(batch), args.seconds / 8)
    prep = timed(lambda: to_nchw([p.preprocess(data[next(k) % len(data)])], flip=p.tta_flip), args.seconds / 4)
    fig.update(p50_ms=p50(one), p90_ms=float(np.percentile(one, 90)), forward_ms=p50(bare), prep_ms=p50(prep))
    for bs in (8, 16, 32):
        imgs = [data[i % len(data)] for i in range(bs)]
        ms = timed(lambda: p.predict_batch(imgs, batch_size=bs), args.seconds / 3, 3)
        fig[f"throughput_b{bs}"] = bs / (statistics.median(ms) / 1000)
    fig["warm_3_heatmaps_image_ms"] = p50(timed(
        lambda: (lambda f: explain(p, f, top_k=3, prediction=p.predict(f)))(data[next(k) % len(data)]), args.seconds, 5))
    p.use_text = p.text_model is not None
    if p.use_text:
        fig["p50_text_ms"] = p50(timed(lambda: p.predict(data[next(k) % len(data)]), args.seconds, 5))
        fig["warm_3_heatmaps_ms"] = p50(timed(
            lambda: (lambda f: explain(p, f, top_k=3, prediction=p.predict(f)))(data[next(k) % len(data)]),
            args.seconds, 5))
    env = {**os.environ, "POSTERGENRE_PRECISION": precision, "POSTERGENRE_DEVICE": "cpu",
           "PYTHONPATH": os.pathsep.join([str(no_torch_dir), str(ROOT)])}
    poster = str(files[0])
    fresh = ("import sys, postergenre; from postergenre.model.explain import explain; p = postergenre.load(); "
             "p.use_text = p.use_text and sys.argv[2] == 'text'; explain(p, sys.argv[1], prediction=p.predict(sys.argv[1]), "
             "top_k=3)")
    fig["fresh_3_heatmaps_image_s"] = wall([sys.executable, "-c", fresh, poster, "image"], env)
    fig["fresh_3_heatmaps_s"] = wall([sys.executable, "-c", fresh, poster, "text"], env)
    out = Path(tempfile.mkdtemp()) / "heat.png"
    fig["explain_cli_s"] = wall([sys.executable, "-m", "postergenre", "explain", poster, "--out", str(out)], env)
    for mode, suffix in (("image", "_image") , ("text", "")) if args.rss_posters else ():
        r = subprocess.run([sys.executable, "-c", SERVING, *map(str, files), str(args.rss_posters), mode], cwd=ROOT,
                           env=env, capture_output=True, text=True)
        words = r.stdout.split()
        if r.returncode or len(words) < 4:
            print("   serving RSS run failed:", r.stderr[-400:])
        else:
            fig.update({f"rss{suffix}_mb": float(words[-2]), f"peak_rss{suffix}_mb": float(words[-1]),
                        "torch_free": float(words[0] == "no")})
    return fig


ROWS = [  # (key, label, unit, int8/fp32 ratio wanted: 'speed-up' for times, 'x' for rates)
    ("p50_ms", "one poster, image alone, p50", "ms", "time"),
    ("p90_ms", "one poster, image alone, p90", "ms", "time"),
    ("forward_ms", "bare forward of its 2 views, p50", "ms", "time"),
    ("prep_ms", "decode + resize + uint8->float, p50", "ms", "time"),
    ("p50_text_ms", "one poster with OCR text, p50", "ms", "time"),
    ("throughput_b8", "throughput, batch 8", "posters/s", "rate"),
    ("throughput_b16", "throughput, batch 16", "posters/s", "rate"),
    ("throughput_b32", "throughput, batch 32", "posters/s", "rate"),
    ("warm_3_heatmaps_image_ms", "warm prediction + 3 heatmaps, image alone", "ms", "time"),
    ("warm_3_heatmaps_ms", "warm prediction + 3 heatmaps, with OCR", "ms", "time"),
    ("fresh_3_heatmaps_image_s", "fresh process -> prediction + 3 heatmaps, image alone", "s", "time"),
    ("fresh_3_heatmaps_s", "fresh process -> prediction + 3 heatmaps, with OCR", "s", "time"),
    ("explain_cli_s", "`postergenre explain` per call", "s", "time"),
    ("rss_image_mb", "serving RSS, no torch, image alone", "MiB", "time"),
    ("peak_rss_image_mb", "serving peak RSS (VmHWM), image alone", "MiB", "time"),
    ("rss_mb", "serving RSS, no torch, with OCR", "MiB", "time"),
    ("peak_rss_mb", "serving peak RSS (VmHWM), with OCR", "MiB", "time"),
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posters", type=Path, default=ROOT.parent / "shared" / "data" / "posters")
    ap.add_argument("--seconds", type=float, default=4.0, help="measuring time per figure")
    ap.add_argument("--rss-posters", type=int, default=100, help="predictions + heatmaps in the RSS run (0: skip)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    files = poster_files(args.posters, 32)
    no_torch = Path(tempfile.mkdtemp())
    (no_torch / "sitecustomize.py").write_text(NO_TORCH)
    load0 = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load0[0]:.1f} / {load0[1]:.1f} (1 / 5 min); {len(files)} posters")
    figs = {}
    for precision in PRECISIONS:
        print(f"measuring {precision}...", flush=True)
        figs[precision] = measure(precision, files, args, no_torch)
    f32, f8 = figs["fp32"], figs["int8"]
    print(f"\n{'':60}{'fp32':>10}{'int8':>10}{'int8 vs fp32':>16}")
    for key, label, unit, kind in ROWS:
        a, b = f32.get(key), f8.get(key)
        if a is None or b is None:
            continue
        ratio = f"{b / a:.2f}x" if kind == "rate" else f"{a / b:.2f}x faster" if unit != "MiB" else f"{b / a:.2f}x"
        print(f"{label + ' (' + unit + ')':60}{a:10.1f}{b:10.1f}{ratio:>16}")
    for name, fig in figs.items():
        print(f"{name}: preprocessing = {fig['prep_ms'] / fig['forward_ms']:.0%} of the forward; "
              f"best throughput {max(v for k, v in fig.items() if k.startswith('throughput')):.1f} posters/s"
              + (f"; serving process {'without' if fig.get('torch_free') else 'WITH'} torch" if "rss_mb" in fig else ""))
    try:
        import torch  # noqa: F401  (only to learn whether a CUDA GPU is here)

        cuda = torch.cuda.is_available()
    except ImportError:
        cuda = False
    print("CUDA figures: " + ("run with POSTERGENRE_DEVICE=cuda (fp16 autocast)" if cuda else "no CUDA GPU here, none measured"))
    load1 = os.getloadavg()
    print(f"load average at the end {load1[0]:.1f} / {load1[1]:.1f}")
    if args.json:
        args.json.write_text(json.dumps({"figures": figs, "load_average": [load0, load1]}, indent=1))


if __name__ == "__main__":
    main()
