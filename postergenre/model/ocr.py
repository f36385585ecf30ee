"""Reading a poster's text from its pixels: PP-OCR's text detector (DBNet) and recogniser (SVTR + CTC),
the ONNX models bundled in the ``rapidocr`` wheel, run by ONNX Runtime sessions of our own, plus a
resumable on-disk cache of the text of a dataset.

``OCRConfig`` is the one place for every setting of the reading; the weights record it (metadata
"text"."ocr") and the predictor reads it from there, so the text a model was trained on and the text
it reads at serving time come from the same settings, and a cache of read text is keyed by all of
them. The pipeline follows RapidOCR's (``SEED_CONFIG`` reproduces RapidOCR 3.10 with the angle
classifier off and ``Det.limit_side_len`` 320 exactly; ``tests/test_ocr.py`` checks it word for word)
without importing it (importing rapidocr costs ~1.5 s and its engine wraps sessions we tune):
the detector sees the poster with its short side scaled to ``det_side``; the regions it finds are
cut out (perspective crop), scaled to the recogniser's 48 px height, and recognised in batches;
a line whose mean character confidence is under ``text_score`` is dropped.

``read_poster_text(image) -> TextReading(lines, regions, size)`` is the entry: the text channel reads
``lines``, the composition's text coverage reads ``regions``; the last readings are kept by pixel
digest, so a poster predicted and then analysed (the Predict page, ``tag --analyze``) is detected once.
``read_in_background`` reads on the OCR's own thread (the predictor runs the backbone meanwhile), and a
poster's lines are recognised side by side on a small thread pool: neither changes the text.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import threading
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from postergenre import settings
from postergenre.errors import WeightsError
from postergenre.sources.images import ImageSource, load_image

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

__all__ = ["OCRConfig", "SEED_CONFIG", "TextReading", "read_poster_text", "read_in_background", "read_text",
           "cache_text", "warm_up", "serving_config", "ocr_engine", "Engine", "poster_pixels", "export_graphs",
           "SEED_FILE"]

SEED_FILE = "ocr_text.jsonl"   # optional, in the dataset folder: {"file", "text", "scores"} per row
RAPIDOCR_VERSION = "3.10.0"    # the pinned wheel whose bundled models (and pipeline) this follows


@dataclass(frozen=True)
class OCRConfig:
    """Every setting that shapes the text read from a poster (all recorded in the weights' metadata,
    all in the cache key). Session settings that do not change the text (threads, spinning) are not here."""
    det_model: str = "PP-OCRv6_det_small.onnx"  # in rapidocr's models/ folder
    rec_model: str = "PP-OCRv6_rec_small.onnx"
    det_side: int = 256            # the detector sees the poster with its short side at this (px, /32);
                                   # 256: 26 ms against 40 at 320 (benchmarks/ocr_speed.py)
    det_thresh: float = 0.3        # DB: pixel probability -> text mask
    det_box_thresh: float = 0.5    # DB: a region's mean probability to keep it
    det_unclip: float = 1.6        # DB: how far a region is grown back out
    rec_height: int = 48           # the recogniser's input height (fixed by the model)
    rec_charset: str = "latin"     # the recogniser's output classes: 'all' (its 18,710), or 'latin' (Latin
                                   # letters, digits, punctuation: 99% of poster text; the output layer shrinks 40x)
    rec_min_width: int = 48        # a call's input is padded to at least this width (PaddleOCR: 320)
    rec_batch: int = 1             # lines per call (sorted by width ratio, padded to the widest); 0: all
    min_line_height: float = 0.02  # skip lines lower than this share of the poster's height (5 of 268 px: smaller
                                   # than the detector at 256 px resolves; 4.5% lost 0.009 val macro-AP)
    text_score: float = 0.5        # lines with a lower mean character confidence are dropped
    det_precision: str = "int8"    # 'fp32', or 'int8': the statically quantized graph (QDQ, quantize.py;
    rec_precision: str = "int8"    #  7-bit weights on CPUs without an int8 dot product)
    rapidocr_version: str = RAPIDOCR_VERSION

    def key(self) -> str:
        """Digest of every setting and of the graphs they run here (int8 is 7-bit on CPUs without an
        int8 dot product, which reads slightly different text)."""
        from postergenre.model.runtime import graph_precision

        graphs = [graph_precision(self.det_precision), graph_precision(self.rec_precision)]
        return hashlib.sha1(json.dumps({**asdict(self), "graphs": graphs}, sort_keys=True).encode()).hexdigest()[:12]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict | None) -> "OCRConfig":
        """The config recorded in weights' metadata; the form before this module ran its own pipeline
        (RapidOCR's ``use_cls``/``limit_side_len``) maps to the same reading."""
        if not d:
            return cls()
        if "limit_side_len" in d:
            if d.get("use_cls"):
                raise WeightsError("these weights were trained on text read with RapidOCR's angle classifier, "
                                   "which this version does not run; retrain the text channel: `postergenre train-text`")
            return SEED_CONFIG if d["limit_side_len"] == SEED_CONFIG.det_side else \
                cls(**{**asdict(SEED_CONFIG), "det_side": int(d["limit_side_len"])})
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise WeightsError(f"unknown OCR settings {sorted(unknown)} in the weights' metadata; "
                               f"available = {sorted(known)} (newer weights than this package? upgrade postergenre)")
        return cls(**d)


# the settings the dataset's ocr_text.jsonl was made with (RapidOCR 3.10, angle classifier off, side 320)
SEED_CONFIG = OCRConfig(det_side=320, rec_charset="all", rec_min_width=320, rec_batch=6, min_line_height=0.0,
                        det_precision="fp32", rec_precision="fp32")


@dataclass
class TextReading:
    """What the OCR found on one poster: the recognised ``lines`` in reading order (None: detection
    only), and every detected text region (4 x 2 float32 corner points in the image's pixels,
    recognised or not)."""
    lines: list[str] | None
    regions: list[np.ndarray] = field(default_factory=list)
    size: tuple[int, int] = (0, 0)  # the image's (width, height)
    scores: list[float] | None = None  # per line, the recogniser's mean character confidence (0-1)


@functools.lru_cache(maxsize=1)
def serving_config() -> OCRConfig:
    """The OCR settings of the bundled weights (their metadata "text"."ocr": how the text their text
    channel was trained on was read), so code without a predictor at hand (the composition's text
    coverage) reads posters as the predictor does and shares its detection; ``OCRConfig()`` without one."""
    from postergenre.model.weights import META_FILE

    try:
        meta = json.loads((settings.weights_dir() / META_FILE).read_text())
    except (OSError, ValueError):
        return OCRConfig()
    return OCRConfig.from_dict((meta.get("text") or {}).get("ocr")) if meta.get("text") else OCRConfig()


# ----------------------------------------------------------------------------------------------------
# the engine: two ONNX Runtime sessions and PP-OCR's pre/post-processing


def _model_dir() -> Path:
    try:
        import rapidocr
    except ImportError:
        raise WeightsError("reading poster text needs the rapidocr package (its bundled OCR models): "
                           "`pip install -r requirements-serve.txt`, or turn the text channel off") from None
    return Path(rapidocr.__file__).resolve().parent / "models"


def _session(path: Path, threads: int | None):
    from postergenre.model.runtime import ort_session  # the project's one set of session options

    if not path.is_file():
        raise WeightsError(f"OCR model {path.name} not found in {path.parent}; reinstall rapidocr=={RAPIDOCR_VERSION}")
    return ort_session(path, threads)


def _in_charset(ch: str, charset: str) -> bool:
    if charset == "latin":  # Basic Latin .. Latin Extended-B, general punctuation, currency signs
        return ord(ch) < 0x250 or 0x2000 <= ord(ch) <= 0x206F or 0x20A0 <= ord(ch) <= 0x20CF
    raise WeightsError(f"unknown OCR charset {charset!r}; use 'all' or 'latin'")


def _recogniser(path: Path, charset: str) -> Path:
    """The recogniser graph whose output layer keeps only ``charset``'s classes (besides CTC's blank and
    the space), made once into the cache from the bundled one; 'all': the bundled graph itself."""
    if charset == "all":
        return path
    digest = hashlib.sha1(f"{path.name}:{path.stat().st_size}:{RAPIDOCR_VERSION}".encode()).hexdigest()[:12]
    out = Path(settings.cache_dir()) / "onnx" / f"ocr-{digest}" / f"{path.stem}-{charset}.onnx"
    if out.is_file():
        return out
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    meta = {p.key: p for p in model.metadata_props}
    chars = meta["character"].value.splitlines()
    kept = [c for c in chars if _in_charset(c, charset)]
    cols = np.array([0] + [i + 1 for i, c in enumerate(chars) if _in_charset(c, charset)] + [len(chars) + 1])
    producer = {o: n for n in model.graph.node for o in n.output}

    def feeding(name: str):  # the node that computes ``name``, through Identity nodes
        node = producer[name]
        return feeding(node.input[0]) if node.op_type == "Identity" else node

    softmax = model.graph.node[-1]                 # the tail: MatMul(W) -> Add(b) -> Softmax
    add = feeding(softmax.input[0])
    matmul = feeding(add.input[0])
    inits = {t.name: t for t in model.graph.initializer}
    for name in (matmul.input[1], next(i for i in add.input if i in inits)):
        w = numpy_helper.to_array(inits[name])
        inits[name].CopyFrom(numpy_helper.from_array(np.ascontiguousarray(w[..., cols]), name))
    model.graph.output[0].type.tensor_type.shape.dim[2].dim_value = len(cols)
    del model.graph.value_info[:]                  # shapes recorded for the full output layer
    meta["character"].value = "\n".join(kept)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.tmp")
    onnx.save(model, str(tmp))
    os.replace(tmp, out)  # atomic: concurrent processes never read a half-written file
    return out


class Engine:
    """Two ONNX Runtime sessions (detector, recogniser) and PP-OCR's pre/post-processing, for one config."""

    def __init__(self, cfg: OCRConfig, threads: int | None = None):
        self.cfg = cfg
        folder = _model_dir()
        det, rec = folder / cfg.det_model, _recogniser(folder / cfg.rec_model, cfg.rec_charset)
        self.det_path, self.rec_path = det, rec  # the fp32 graphs (int8 calibration runs them)
        for precision in (cfg.det_precision, cfg.rec_precision):
            if precision not in ("fp32", "int8"):
                raise WeightsError(f"unknown OCR precision {precision!r}; use 'fp32' or 'int8'")
        if "int8" in (cfg.det_precision, cfg.rec_precision):
            from postergenre.model.quantize import ocr_int8_graph

            det = ocr_int8_graph(det) if cfg.det_precision == "int8" else det
            rec = ocr_int8_graph(rec) if cfg.rec_precision == "int8" else rec
        # one intra-op thread unless POSTERGENRE_THREADS says otherwise: the OCR's small convolutions gain
        # nothing from a second thread on a 2-core CPU (benchmarks/ocr_speed.py: 88 ms with 1, 98 with 2)
        threads = threads or settings.threads() or 1
        self.det, self.rec = _session(det, threads), _session(rec, threads)
        chars = self.rec.get_modelmeta().custom_metadata_map["character"].splitlines()
        self.chars = np.array(["", *chars, " "], dtype=object)  # CTC blank first, space last (as PP-OCR)

    # --- detection ---------------------------------------------------------------------------------
    def det_input(self, bgr: np.ndarray) -> np.ndarray:
        """1 x 3 x H x W: the poster with its short side at ``det_side`` (each side a multiple of 32)."""
        import cv2

        h, w = bgr.shape[:2]
        ratio = self.cfg.det_side / min(h, w)
        rh, rw = (max(32, int(round(int(s * ratio) / 32) * 32)) for s in (h, w))
        return _DET_LEVELS[cv2.resize(bgr, (rw, rh)).transpose(2, 0, 1)][None]

    def detect(self, bgr: np.ndarray) -> list[np.ndarray]:
        prob = self.det.run(None, {"x": self.det_input(bgr)})[0][0, 0]
        return _sorted_regions(_db_regions(prob, bgr.shape[1], bgr.shape[0], self.cfg))

    # --- recognition -------------------------------------------------------------------------------
    def crops(self, bgr: np.ndarray, regions: list[np.ndarray]) -> list[np.ndarray]:
        """The regions cut out, less those lower than ``min_line_height`` of the poster's height."""
        crops = [_crop(bgr, r) for r in regions]
        return [c for c in crops if c.shape[0] >= self.cfg.min_line_height * bgr.shape[0]]

    def rec_batches(self, crops: list[np.ndarray]):
        """(crop indices, N x 3 x 48 x W input) per recogniser call: crops sorted by width ratio (as
        PP-OCR: similar widths share a call), ``rec_batch`` a call, padded to the widest, at least
        ``rec_min_width``."""
        cfg = self.cfg
        ratios = np.array([c.shape[1] / c.shape[0] for c in crops])
        order = np.argsort(ratios, kind="quicksort")
        step = cfg.rec_batch or len(crops)
        for start in range(0, len(crops), step):
            idx = order[start:start + step]
            width = int(cfg.rec_height * max(cfg.rec_min_width / cfg.rec_height, *ratios[idx]))
            batch = np.zeros((len(idx), 3, cfg.rec_height, width), dtype=np.float32)
            for k, i in enumerate(idx):
                batch[k] = _rec_input(crops[i], cfg.rec_height, width)
            yield idx, batch

    def recognise(self, bgr: np.ndarray, regions: list[np.ndarray]) -> list[tuple[str, float]]:
        """(line, mean character confidence) of the kept lines, in reading order. The recogniser's calls
        run concurrently on the line pool (each call is independent, so the text is the same as one
        after the other: ONNX Runtime releases the GIL, and a session may run from several threads)."""
        crops = self.crops(bgr, regions)
        texts: list[tuple[str, float]] = [("", 0.0)] * len(crops)

        def run(idx_batch):
            idx, batch = idx_batch
            return idx, self.rec.run(None, {"x": batch})[0]

        batches = list(self.rec_batches(crops))[::-1] if crops else []  # widest first: the threads end together
        for idx, probs in (_line_pool().map(run, batches) if len(batches) > 1 else map(run, batches)):
            for k, i in enumerate(idx):
                texts[i] = self._ctc(probs[k])
        return [(t, s) for t, s in texts if t.strip() and s >= self.cfg.text_score]

    def _ctc(self, probs: np.ndarray) -> tuple[str, float]:
        """Greedy CTC: the best class per step, repeats merged, blanks dropped; the line's score is the
        mean of the kept steps' probabilities (each rounded to 5 places, as PP-OCR does)."""
        best, conf = probs.argmax(axis=1), probs.max(axis=1)
        keep = np.ones(len(best), dtype=bool)
        keep[1:] = best[1:] != best[:-1]
        keep &= best != 0
        if not keep.any():
            return "", 0.0
        score = float(np.mean([round(c, 5) for c in conf[keep].tolist()]).round(5))
        return "".join(self.chars[best[keep]]), score


def _db_regions(prob: np.ndarray, width: int, height: int, cfg: OCRConfig) -> list[np.ndarray]:
    """DBNet post-processing (PP-OCR's DBPostProcess, 'fast' score, 2x2 dilation): the probability map
    -> text regions as 4 x 2 corner points (clockwise from top-left) in the image's pixels."""
    import cv2
    import pyclipper

    ph, pw = prob.shape
    mask = cv2.dilate((prob > cfg.det_thresh).astype(np.uint8), np.ones((2, 2)))
    contours, _ = cv2.findContours((mask * 255).astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours[:1000]:
        points, short = _mini_box(contour)
        if short < 3 or _box_score(prob, points) < cfg.det_box_thresh:
            continue
        p = points.astype(np.float64)  # the grow distance: area / perimeter of the box, as shapely gives them
        area = abs(float(p[:, 0] @ np.roll(p[:, 1], 1) - p[:, 1] @ np.roll(p[:, 0], 1))) / 2
        perimeter = float(np.sum(np.linalg.norm(p - np.roll(p, 1, axis=0), axis=1)))
        offset = pyclipper.PyclipperOffset()
        offset.AddPath(points, pyclipper.JT_ROUND, pyclipper.ET_CLOSEDPOLYGON)
        grown = np.array(offset.Execute(area * cfg.det_unclip / perimeter)).reshape((-1, 1, 2))
        box, short = _mini_box(grown)
        if short < 5:
            continue
        box[:, 0] = np.clip(np.round(box[:, 0] / pw * width), 0, width)
        box[:, 1] = np.clip(np.round(box[:, 1] / ph * height), 0, height)
        box = _clockwise(box.astype(np.int32).astype(np.float32))
        box[:, 0] = np.clip(box[:, 0], 0, width - 1).astype(np.int32)
        box[:, 1] = np.clip(box[:, 1], 0, height - 1).astype(np.int32)
        if int(np.linalg.norm(box[0] - box[1])) > 3 and int(np.linalg.norm(box[0] - box[3])) > 3:
            out.append(box)
    return out


def _mini_box(contour: np.ndarray) -> tuple[np.ndarray, float]:
    import cv2

    rect = cv2.minAreaRect(contour)
    p = sorted(list(cv2.boxPoints(rect)), key=lambda q: q[0])
    a, d = (0, 1) if p[1][1] > p[0][1] else (1, 0)
    b, c = (2, 3) if p[3][1] > p[2][1] else (3, 2)
    return np.array([p[a], p[b], p[c], p[d]]), min(rect[1])


def _box_score(prob: np.ndarray, box: np.ndarray) -> float:
    import cv2

    h, w = prob.shape
    x0, x1 = (np.clip(f(box[:, 0]).astype(np.int32), 0, w - 1) for f in (lambda v: np.floor(v.min()), lambda v: np.ceil(v.max())))
    y0, y1 = (np.clip(f(box[:, 1]).astype(np.int32), 0, h - 1) for f in (lambda v: np.floor(v.min()), lambda v: np.ceil(v.max())))
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), dtype=np.uint8)
    cv2.fillPoly(mask, (box - [x0, y0]).reshape(1, -1, 2).astype(np.int32), 1)
    return cv2.mean(prob[y0:y1 + 1, x0:x1 + 1], mask)[0]


def _clockwise(pts: np.ndarray) -> np.ndarray:
    xs = pts[np.argsort(pts[:, 0]), :]
    tl, bl = xs[:2][np.argsort(xs[:2, 1])]
    tr, br = xs[2:][np.argsort(xs[2:, 1])]
    return np.array([tl, tr, br, bl], dtype=np.float32)


def _sorted_regions(regions: list[np.ndarray]) -> list[np.ndarray]:
    """Reading order: top to bottom; regions whose tops are within 10 px form a line, read left to right."""
    if not regions:
        return []
    boxes = np.array(regions)
    y_order = np.argsort(boxes[:, 0, 1], kind="stable")
    boxes = boxes[y_order]
    lines = np.concatenate([[0], np.cumsum(np.diff(boxes[:, 0, 1]) >= 10)])
    return list(boxes[np.lexsort((boxes[:, 0, 0], lines))])


def _crop(bgr: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The region cut out upright (perspective warp, bicubic); tall crops are turned a quarter."""
    import cv2

    w = int(max(np.linalg.norm(box[0] - box[1]), np.linalg.norm(box[2] - box[3])))
    h = int(max(np.linalg.norm(box[0] - box[3]), np.linalg.norm(box[1] - box[2])))
    m = cv2.getPerspectiveTransform(box.astype(np.float32), np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32))
    crop = cv2.warpPerspective(bgr, m, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    return np.rot90(crop) if crop.shape[0] / crop.shape[1] >= 1.5 else crop


def _rec_input(crop: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    w = min(width, int(math.ceil(height * (crop.shape[1] / float(crop.shape[0])))))
    out = np.zeros((3, height, width), dtype=np.float32)
    out[:, :, :w] = _REC_LEVELS[cv2.resize(crop, (w, height)).transpose(2, 0, 1)]
    return out


# uint8 -> the float each network reads, as one table lookup: the same float32 values as PP-OCR's
# arithmetic (detector: float32 * (1/255) - 0.5 in float64, / 0.5; recogniser: float32 / 255 - 0.5, / 0.5)
_LEVELS = np.arange(256, dtype=np.float32)
_DET_LEVELS = ((_LEVELS * (1 / 255.0) - np.array(0.5)) / np.array(0.5)).astype(np.float32)
_REC_LEVELS = ((_LEVELS / 255 - np.float32(0.5)) / np.float32(0.5)).astype(np.float32)


# ----------------------------------------------------------------------------------------------------
# reading, shared between the text channel and the composition


_ENGINES: dict[str, Engine] = {}
_READINGS: OrderedDict[tuple[str, str], TextReading] = OrderedDict()  # (config key, pixel digest) -> reading
_KEEP = 64                     # readings kept: a catalog batch's posters are predicted, then analysed
_LOCK = threading.Lock()
_POOLS: dict[str, "ThreadPoolExecutor"] = {}
os.register_at_fork(after_in_child=_POOLS.clear)  # a forked child has none of its parent's threads


def _pool(name: str, workers: int) -> "ThreadPoolExecutor":
    from concurrent.futures import ThreadPoolExecutor

    with _LOCK:
        if name not in _POOLS:
            _POOLS[name] = ThreadPoolExecutor(workers, thread_name_prefix=f"postergenre-{name}")
        return _POOLS[name]


def _workers() -> int:
    """Threads per OCR pool: one per core (POSTERGENRE_THREADS), at most 4."""
    return max(1, min(4, settings.threads() or os.cpu_count() or 1))


def _line_pool() -> "ThreadPoolExecutor":
    """Threads that recognise a poster's lines side by side."""
    return _pool("ocr-lines", _workers())


def read_in_background(image: ImageSource, cfg: OCRConfig | None = None) -> "Future[TextReading]":
    """``read_poster_text`` started on the OCR's own thread, so the caller runs the image model on the
    other core meanwhile (the predictor starts the reading, encodes the image, then waits for it): a
    poster with its text then costs about the OCR's time, not the sum of both."""
    return _pool("ocr", _workers()).submit(read_poster_text, image, cfg)  # several: concurrent requests


def ocr_engine(cfg: OCRConfig | None = None, threads: int | None = None) -> Engine:
    """The OCR engine for ``cfg``, shared by everyone in this process; with ``threads``, a new one with
    that many intra-op threads per session (benchmarks)."""
    cfg = cfg or OCRConfig()
    if threads is not None:
        return Engine(cfg, threads)
    with _LOCK:
        if cfg.key() not in _ENGINES:
            _ENGINES[cfg.key()] = Engine(cfg)
        return _ENGINES[cfg.key()]


def export_graphs(cfg: OCRConfig | None = None) -> list[Path]:
    """Make every graph ``cfg`` reads with into the cache now (the Latin-only recogniser, the int8 graphs
    for both kinds of CPU), so a copied cache (the Docker image) serves without making them."""
    cfg = cfg or OCRConfig()
    folder = _model_dir()
    graphs = {"det": folder / cfg.det_model, "rec": _recogniser(folder / cfg.rec_model, cfg.rec_charset)}
    out = list(graphs.values())
    for part, precision in (("det", cfg.det_precision), ("rec", cfg.rec_precision)):
        if precision == "int8":
            from postergenre.model.quantize import ocr_int8_graph

            out += [ocr_int8_graph(graphs[part], reduce_range=r) for r in (False, True)]
    return out


def warm_up(cfg: OCRConfig | None = None) -> None:
    """Open the OCR sessions now, not at the first poster."""
    ocr_engine(cfg)


def poster_pixels(image: ImageSource) -> np.ndarray:
    """The poster as a contiguous H x W x 3 uint8 BGR array (PP-OCR's channel order)."""
    rgb = np.asarray(load_image(image).convert("RGB"))
    return np.ascontiguousarray(rgb[:, :, ::-1])


def _remembered(key: tuple[str, str]) -> TextReading | None:
    with _LOCK:
        if key in _READINGS:
            _READINGS.move_to_end(key)
            return _READINGS[key]
    return None


def _remember(key: tuple[str, str], reading: TextReading) -> None:
    with _LOCK:
        _READINGS[key] = reading
        while len(_READINGS) > _KEEP:
            _READINGS.popitem(last=False)


def _read(image: ImageSource, cfg: OCRConfig, recognise: bool) -> TextReading:
    bgr = poster_pixels(image)
    key = (cfg.key(), hashlib.blake2b(bgr.tobytes(), digest_size=16, person=str(bgr.shape).encode()[:16]).hexdigest())
    known = _remembered(key)
    if known is not None and (known.lines is not None or not recognise):
        return known
    engine = ocr_engine(cfg)
    regions = known.regions if known is not None else engine.detect(bgr)
    scored = engine.recognise(bgr, regions) if recognise else None
    reading = TextReading(None if scored is None else [t for t, _ in scored], regions, (bgr.shape[1], bgr.shape[0]),
                          None if scored is None else [s for _, s in scored])
    _remember(key, reading)
    return reading


def read_poster_text(image: ImageSource, cfg: OCRConfig | None = None, *, recognise: bool = True) -> TextReading:
    """The poster's text lines (reading order; empty when none is found) and its text regions.
    ``recognise=False``: the regions alone (``lines`` None), e.g. for the text coverage; the detection
    of a poster whose text was just read (same pixels) is reused, not run again."""
    return _read(image, cfg or OCRConfig(), recognise)


def read_text(image: ImageSource, cfg: OCRConfig | None = None) -> list[str]:
    """The recognised text lines of a poster, in reading order (empty list when none is found)."""
    return read_poster_text(image, cfg).lines


# ----------------------------------------------------------------------------------------------------
# the dataset's text, read once


def cache_text(ds, cfg: OCRConfig | None = None, cache_dir: str | Path | None = None, *,
               progress: bool = True, seed: bool = True, limit: int | None = None,
               files: list[str] | None = None) -> list[str]:
    """The text (lines joined by single spaces) of every row of ``ds``, in table order, read once and
    cached as JSON lines under ``<cache>/ocr/<key>/text.jsonl``; an interrupted run continues where it
    stopped. With ``seed`` the dataset's own ``ocr_text.jsonl`` fills the cache first when ``cfg`` is
    the settings it was made with (``SEED_CONFIG``). ``limit`` stops after that many new posters (the
    rest stay to do). ``files``: only these rows of the table (``file`` values), in that order; the
    others are neither read nor returned."""
    from tqdm.auto import tqdm

    cfg = cfg or OCRConfig()
    folder = Path(cache_dir or settings.cache_dir()) / "ocr" / (ds.fingerprint()[:16] + "-" + cfg.key())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "text.jsonl"
    files = list(ds.table["file"]) if files is None else list(files)
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                known[row["file"]] = row["text"]
            except (ValueError, KeyError):
                continue  # a line cut off by an interrupt: that poster is read again
    seed_path = Path(ds.root) / SEED_FILE
    if seed and cfg == SEED_CONFIG and seed_path.exists() and len(known) < len(files):
        wanted = set(files) - set(known)
        with open(path, "a", encoding="utf-8") as out:
            for line in seed_path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                if row["file"] in wanted:
                    known[row["file"]] = row["text"]
                    out.write(json.dumps({"file": row["file"], "text": row["text"]}) + "\n")
    todo = [f for f in files if f not in known][:limit]
    bar = tqdm(total=len(files), initial=len(files) - len([f for f in files if f not in known]),
               desc="poster text (OCR)", unit="poster", disable=not progress)
    with open(path, "a", encoding="utf-8") as out:
        for f in todo:
            text = " ".join(read_text(Path(ds.root) / f, cfg))
            known[f] = text
            out.write(json.dumps({"file": f, "text": text}) + "\n")
            out.flush()
            bar.update(1)
    bar.close()
    return [known.get(f, "") for f in files]
