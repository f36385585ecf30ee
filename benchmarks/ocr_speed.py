"""What each OCR speed lever pays, and what the text loses for it, on val posters.

    .venv/bin/python benchmarks/ocr_speed.py [--posters DIR] [--n 300] [--wall 40] [--rows 0,1,...]

Rows go from the reading the dataset's ``ocr_text.jsonl`` was made with (RapidOCR's own engine) to
the shipped default (``OCRConfig()``), one lever at a time:
  0  RapidOCR 3.10's engine as the text channel used it (its ONNX Runtime sessions: all cores, spinning)
  1  this package's pipeline with the same settings (``SEED_CONFIG``): its sessions (graph optimisation
     ALL, no spinning, one intra-op thread here), crops and recogniser batches as RapidOCR's
  2+ each setting of ``OCRConfig`` that differs from the seed, added one at a time: the int8 detector,
     one line per recogniser call at its own width, skipping short lines, the Latin-only output layer,
     the int8 recogniser (calibrated for that layer), the detector's input size.
Per row: detector and recogniser CPU ms per poster (this process's CPU time with one-thread sessions,
the lines recognised side by side on the line pool: a core's work, whatever else runs on the machine), wall ms p50 with the serving threads (first ``--wall``
posters), lines recognised; the share of today's words it keeps (and of its words that are today's),
posters whose text is identical; val macro-AP of the shipped text model alone and fused with the
image model on the same posters (the text model was trained on today's text: a retrained one
recovers what a changed reading costs it). The trivial baseline: the image model alone.
Then: OCR with 1 vs 2 intra-op threads, and OCR beside the backbone (concurrently, one core each)
vs one after the other.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def levers() -> list[tuple[str, dict]]:
    """(label, OCRConfig fields) per row after the seed: the default's differences, added one at a time."""
    from postergenre.model.ocr import SEED_CONFIG, OCRConfig

    default, out, fields, added = OCRConfig(), [], {}, []
    order = ["det_precision", "rec_batch", "rec_min_width", "min_line_height", "rec_charset", "rec_precision", "det_side"]
    for name in order + [k for k in asdict(default) if k not in order]:
        if getattr(default, name) == getattr(SEED_CONFIG, name):
            continue
        fields[name] = getattr(default, name)
        added.append(f"{name}={fields[name]}")
        if name != "rec_batch":  # one line per call goes with its own width (the next setting)
            out.append(("+ " + ", ".join(added), dict(fields)))
            added = []
    return out


def words(a: str, b: str) -> tuple[int, int, int]:
    ca, cb = collections.Counter(a.split()), collections.Counter(b.split())
    return sum((ca & cb).values()), sum(cb.values()), sum(ca.values())


def macro_ap(y: np.ndarray, scores: np.ndarray) -> float:
    from sklearn.metrics import average_precision_score

    cols = [g for g in range(y.shape[1]) if y[:, g].any()]
    return float(np.mean([average_precision_score(y[:, g], scores[:, g]) for g in cols]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--posters", type=Path, default=ROOT.parent / "shared" / "data" / "posters")
    ap.add_argument("--n", type=int, default=300, help="val posters (the first n of labels.csv's val rows)")
    ap.add_argument("--wall", type=int, default=40, help="posters timed by the wall clock per row")
    ap.add_argument("--rows", default=None, help="comma-separated row numbers to run (default: all)")
    args = ap.parse_args()

    import postergenre
    from postergenre.model import ocr
    from postergenre.sources.dataset import load_dataset

    ds = load_dataset(args.posters)
    val = ds.subset("val").head(args.n)
    files = [ds.root / f for f in val["file"]]
    seed_text = dict(zip(val["file"], ocr.cache_text(ds, ocr.SEED_CONFIG, progress=False, files=list(val["file"]))))
    today = [seed_text[f] for f in val["file"]]
    p = postergenre.load(device="cpu")
    genres = p.genres
    y = np.array([[g in row for g in genres] for row in val["genres"]], dtype=float)
    image = np.concatenate([p.image_logits(p.encode([p.preprocess(f) for f in files[i:i + 16]])[0], len(files[i:i + 16]))
                            for i in range(0, len(files), 16)])
    load0 = os.getloadavg()
    from serving_latency import cpu_name

    print(f"{cpu_name()}; load average {load0[0]:.1f}; {len(files)} val posters; text model {p.name}")
    print(f"image model alone: val macro-AP {macro_ap(y, image):.4f} (the trivial baseline for what the text adds)")
    rows = [("RapidOCR 3.10 engine (as before)", None), ("own pipeline, seed settings", {})] + levers()
    wanted = set(range(len(rows))) if args.rows is None else {int(r) for r in args.rows.split(",")}
    head = (f"{'#':>2} {'settings':60} {'det':>6} {'rec':>6} {'CPU':>6} {'wall':>6} {'lines':>5} {'kept':>5} {'prec':>5} "
            f"{'same':>5} {'fusedAP':>7} {'textAP':>7}")
    print("\nCPU ms per poster (one thread), wall ms p50 (serving threads), words vs today's text, val macro-AP\n" + head)
    for i, (label, fields) in enumerate(rows):
        if i not in wanted:
            continue
        det_ms, rec_ms, wall_ms, texts, lines = [], [], [], [], []
        if fields is None:  # RapidOCR's own engine: wall and process CPU (all its threads, spinning included)
            from rapidocr import RapidOCR

            engine = RapidOCR(params={"Global.use_cls": False, "Det.limit_side_len": 320, "Global.log_level": "error"})
            for f in files[:args.wall]:
                bgr = ocr.poster_pixels(f)
                t, c = time.perf_counter(), time.process_time()
                out = engine(bgr)
                wall_ms.append(time.perf_counter() - t)
                det_ms.append(time.process_time() - c)
                texts.append(" ".join(t for t in (out.txts or ()) if t.strip()))
            rec_ms = [0.0]
            ref = today[:args.wall]
        else:
            cfg = replace(ocr.SEED_CONFIG, **fields)
            one, serving = ocr.ocr_engine(cfg, threads=1), ocr.ocr_engine(cfg)
            for k, f in enumerate(files):
                bgr = ocr.poster_pixels(f)
                t0 = time.process_time()  # the process's CPU: the recogniser's lines run on the line pool's threads
                regions = one.detect(bgr)
                t1 = time.process_time()
                got = one.recognise(bgr, regions)
                t2 = time.process_time()
                det_ms.append(t1 - t0)
                rec_ms.append(t2 - t1)
                texts.append(" ".join(t for t, _ in got))
                lines.append(len(got))
                if k < args.wall:
                    t = time.perf_counter()
                    serving.recognise(bgr, serving.detect(bgr))
                    wall_ms.append(time.perf_counter() - t)
            ref = today
        common, n_today, n_new = map(sum, zip(*(words(a, b) for a, b in zip(texts, ref))))
        same = np.mean([a == b for a, b in zip(texts, ref)])
        fused = text_ap = float("nan")
        if fields is not None and p.text_model is not None:
            fused = macro_ap(y, p.text_model.fuse(image, texts))
            text_ap = macro_ap(y, p.text_model.logits(texts))
        det, rec = 1000 * np.mean(det_ms), 1000 * np.mean(rec_ms)
        print(f"{i:>2} {label[:60]:60} {det:6.1f} {'-' if fields is None else f'{rec:.1f}':>6} {det + rec:6.1f} "
              f"{1000 * np.median(wall_ms):6.1f} {np.mean(lines) if lines else float('nan'):5.1f} "
              f"{common / max(n_today, 1):5.3f} {common / max(n_new, 1):5.3f} {same:5.3f} {fused:7.4f} {text_ap:7.4f}",
              flush=True)
    if p.text_model is not None:
        print(f"{'':>2} {'today’s text (ocr_text.jsonl)':60} {'':>41}{macro_ap(y, p.text_model.fuse(image, today)):7.4f} "
              f"{macro_ap(y, p.text_model.logits(today)):7.4f}")
    extras(p, files[:args.wall])
    load1 = os.getloadavg()
    print(f"load average at the end {load1[0]:.1f}")


def extras(p, files: list[Path]) -> None:
    """Threads for the detector, and OCR beside the backbone vs after it, with the default settings."""
    from postergenre.model import ocr

    cfg = ocr.OCRConfig()
    bgrs = [ocr.poster_pixels(f) for f in files]
    print("\nwall ms p50 per poster, default settings:")
    for threads in (1, 2):
        engine = ocr.ocr_engine(cfg, threads=threads)
        ts = []
        for bgr in bgrs:
            t = time.perf_counter()
            engine.recognise(bgr, engine.detect(bgr))
            ts.append(time.perf_counter() - t)
        print(f"  OCR with {threads} intra-op thread(s): {1000 * np.median(ts):.1f}")
    engine = ocr.ocr_engine(cfg, threads=1)
    data = [f.read_bytes() for f in files]

    def image(d):
        return p.image_logits(p.encode([p.preprocess(d)])[0], 1)

    def read(bgr):
        return engine.recognise(bgr, engine.detect(bgr))

    seq, par = [], []
    with ThreadPoolExecutor(1) as pool:
        for d, bgr in zip(data, bgrs):
            t = time.perf_counter()
            read(bgr), image(d)
            seq.append(time.perf_counter() - t)
            t = time.perf_counter()
            fut = pool.submit(read, bgr)
            image(d)
            fut.result()
            par.append(time.perf_counter() - t)
    print(f"  OCR (1 thread) then the image model: {1000 * np.median(seq):.1f}; OCR on a second thread beside the "
          f"image model: {1000 * np.median(par):.1f}")


if __name__ == "__main__":
    main()
