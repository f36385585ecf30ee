"""Colour and composition measures of a poster, each a small function with its formula.

Every function takes the poster already downscaled (``analysis.analyze_poster`` does that: long side
256 px), as sRGB uint8 ``rgb`` (H x W x 3) and/or CIELAB float ``lab`` (L* 0..100), so the whole set
runs in well under 200 ms on a CPU. All are deterministic.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import cv2
import numpy as np
from postergenre.errors import WeightsError

__all__ = [
    "HUE_NAMES", "brightness", "contrast", "saturation", "colourfulness", "warm_cool_shares",
    "hue_histogram", "dominant_hue", "edge_density", "symmetry", "visual_weight_map", "weight_centre",
    "thirds_share", "balance", "Box", "detect_faces", "face_share", "detect_text", "text_available",
    "text_share",
]

# 12 hue families, 30° wide, centred on 0°, 30°, ... (red spans 345°..15°)
HUE_NAMES = ("red", "orange", "yellow", "chartreuse", "green", "spring green",
             "cyan", "azure", "blue", "violet", "magenta", "rose")
CHROMATIC_S, CHROMATIC_V = 0.25, 0.20   # a pixel has a hue when HSV S >= 0.25 and V >= 0.20
# The face cascade is a shared object that keeps per-call state; the app and the API call it from
# several threads, so each call holds this lock (a call takes ~20-50 ms).
_DETECTOR_LOCK = threading.Lock()


# --- tone ---------------------------------------------------------------------------------------------

def brightness(lab: np.ndarray) -> float:
    """Mean lightness: ``mean(L*)`` over all pixels, 0 (black) .. 100 (white)."""
    return float(lab[..., 0].mean())


def contrast(lab: np.ndarray) -> float:
    """RMS contrast: ``std(L*)`` over all pixels, 0 (flat) .. 50 (half black, half white)."""
    return float(lab[..., 0].std())


# --- colour -------------------------------------------------------------------------------------------

def _hsv(rgb: np.ndarray) -> np.ndarray:
    """HSV float: H in degrees 0..360, S and V in 0..1."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)


def saturation(rgb: np.ndarray) -> float:
    """Mean HSV saturation ``mean((max(R,G,B) - min(R,G,B)) / max(R,G,B))``, 0 (grey) .. 1 (pure hues)."""
    return float(_hsv(rgb)[..., 1].mean())


def colourfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk (2003): with ``rg = R - G`` and ``yb = (R + G) / 2 - B`` (0..255 values),
    ``M = sqrt(std(rg)² + std(yb)²) + 0.3 · sqrt(mean(rg)² + mean(yb)²)``.
    0 = greyscale; ~15 'slightly', ~33 'moderately', ~59 'quite', ~109 'extremely' colourful."""
    x = rgb.reshape(-1, 3).astype(np.float32)
    rg = x[:, 0] - x[:, 1]
    yb = 0.5 * (x[:, 0] + x[:, 1]) - x[:, 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def _chromatic_hues(rgb: np.ndarray) -> tuple[np.ndarray, int]:
    """Hues (degrees) of the pixels that have one (S >= 0.25, V >= 0.20), and the total pixel count."""
    hsv = _hsv(rgb).reshape(-1, 3)
    keep = (hsv[:, 1] >= CHROMATIC_S) & (hsv[:, 2] >= CHROMATIC_V)
    return hsv[keep, 0], len(hsv)


def warm_cool_shares(rgb: np.ndarray) -> tuple[float, float]:
    """(warm, cool) fractions of *all* pixels. Warm: chromatic pixels with hue in [330°, 360°) ∪ [0°, 90°)
    (rose, red, orange, yellow); cool: hue in [90°, 330°) (greens, cyans, blues, violets, magentas).
    Greys, blacks and whites are neither, so ``1 - warm - cool`` is the neutral share."""
    hues, n = _chromatic_hues(rgb)
    warm = int(((hues >= 330) | (hues < 90)).sum())
    return warm / n, (len(hues) - warm) / n


def hue_histogram(rgb: np.ndarray) -> np.ndarray:
    """Fractions of the chromatic pixels in each of the 12 hue families of ``HUE_NAMES``
    (bin ``floor(((H + 15) mod 360) / 30)``); sums to 1, or all zeros for a greyscale poster."""
    hues, _ = _chromatic_hues(rgb)
    if len(hues) == 0:
        return np.zeros(len(HUE_NAMES))
    bins = (((hues + 15.0) % 360.0) // 30.0).astype(int) % 12
    return np.bincount(bins, minlength=12) / len(hues)


def dominant_hue(hist: np.ndarray) -> str:
    """Name of the largest hue family, or 'none' when no pixel has a hue."""
    return HUE_NAMES[int(np.argmax(hist))] if np.sum(hist) > 0 else "none"


# --- structure ----------------------------------------------------------------------------------------

def edge_density(rgb: np.ndarray) -> float:
    """Visual complexity: share of pixels on a Canny edge (grey, 3x3 Gaussian blur, thresholds 50/150,
    L2 gradient), 0 (flat) .. ~0.3 (busy collage)."""
    grey = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (3, 3), 0)
    return float((cv2.Canny(grey, 50, 150, L2gradient=True) > 0).mean())


def symmetry(lab: np.ndarray) -> float:
    """Left-right mirror symmetry of lightness: ``1 - mean(|L*(x, y) - L*(W-1-x, y)|) / 100`` on a
    64-px-wide copy (so a shift of a pixel or two does not count). 1 = mirror image, 0 = black | white."""
    L = lab[..., 0]
    h, w = L.shape
    small = cv2.resize(L, (64, max(1, round(64 * h / w))), interpolation=cv2.INTER_AREA)
    return float(1.0 - np.abs(small - small[:, ::-1]).mean() / 100.0)


def visual_weight_map(lab: np.ndarray) -> np.ndarray:
    """Where the eye is pulled: local contrast, ``|∇L*|`` (3x3 Sobel) on a 128-px-wide copy, blurred
    (σ = 2 px) and scaled to sum 1. A flat image has no edges and gets a uniform map."""
    L = lab[..., 0]
    h, w = L.shape
    small = cv2.resize(L, (128, max(1, round(128 * h / w))), interpolation=cv2.INTER_AREA)
    gx, gy = cv2.Sobel(small, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(small, cv2.CV_32F, 0, 1, ksize=3)
    weight = cv2.GaussianBlur(np.hypot(gx, gy), (0, 0), 2.0).astype(np.float64)
    total = weight.sum()
    if total <= 1e-6 * weight.size:
        return np.full(weight.shape, 1.0 / weight.size)
    return weight / total


def weight_centre(weight: np.ndarray) -> tuple[float, float]:
    """Centre of mass of the visual weight, ``(Σ x·w, Σ y·w)`` with x, y pixel centres scaled to 0..1
    (0, 0 = top left; 0.5, 0.5 = the middle)."""
    h, w = weight.shape
    xs, ys = (np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / h
    return float(weight.sum(0) @ xs), float(weight.sum(1) @ ys)


def thirds_share(weight: np.ndarray) -> float:
    """Rule of thirds: share of the visual weight within ±1/12 of the width (height) of the vertical
    (horizontal) third lines. Evenly spread weight gives 5/9 ≈ 0.56; higher = content on the thirds."""
    h, w = weight.shape
    xs, ys = (np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / h
    near_x = (np.abs(xs - 1 / 3) <= 1 / 12) | (np.abs(xs - 2 / 3) <= 1 / 12)
    near_y = (np.abs(ys - 1 / 3) <= 1 / 12) | (np.abs(ys - 2 / 3) <= 1 / 12)
    return float(weight[near_y[:, None] | near_x[None, :]].sum())


def balance(weight: np.ndarray) -> float:
    """Left-right balance of the visual weight: ``1 - |w_left - w_right|`` (halves of a map summing to 1).
    1 = equal weight on both sides, 0 = everything on one side."""
    w = weight.shape[1]
    left, right = weight[:, : w // 2].sum(), weight[:, w - w // 2:].sum()
    return float(1.0 - abs(left - right) / max(left + right, 1e-12))


# --- faces and text -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Box:
    """A detected region, as fractions of the poster's width and height (x, y = top left)."""
    x: float
    y: float
    w: float
    h: float

    def to_dict(self) -> dict:
        return {k: round(v, 4) for k, v in vars(self).items()}


@functools.lru_cache(maxsize=1)
def _face_cascade() -> cv2.CascadeClassifier:
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    cascade = cv2.CascadeClassifier(path)
    if cascade.empty():
        raise WeightsError(f"OpenCV's face cascade {path} could not be loaded; reinstall opencv-python-headless<5")
    return cascade


def detect_faces(rgb: np.ndarray) -> list[Box]:
    """Frontal faces by OpenCV's bundled Haar cascade (Viola & Jones) on the equalised grey poster:
    scale step 1.1, 5 neighbours, faces at least 1/12 of the short side."""
    h, w = rgb.shape[:2]
    grey = cv2.equalizeHist(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    side = max(16, min(h, w) // 12)
    cascade = _face_cascade()
    with _DETECTOR_LOCK:
        found = cascade.detectMultiScale(grey, scaleFactor=1.1, minNeighbors=5, minSize=(side, side))
    return [Box(x / w, y / h, bw / w, bh / h) for x, y, bw, bh in np.asarray(found).reshape(-1, 4)]


def _union_share(shape: tuple[int, int], polygons: list[np.ndarray]) -> float:
    mask = np.zeros(shape, dtype=np.uint8)
    if polygons:
        cv2.fillPoly(mask, [np.round(p).astype(np.int32) for p in polygons], 1)
    return float(mask.mean())


def face_share(boxes: list[Box], shape: tuple[int, int] = (256, 256)) -> float:
    """Share of the poster's area covered by the union of the face boxes."""
    h, w = shape
    polys = [np.array([[b.x * w, b.y * h], [(b.x + b.w) * w, b.y * h], [(b.x + b.w) * w, (b.y + b.h) * h],
                       [b.x * w, (b.y + b.h) * h]]) for b in boxes]
    return _union_share(shape, polys)


def text_available() -> bool:
    """Whether text detection can run here (the ``rapidocr`` package, whose OCR models it uses, is installed)."""
    import importlib.util

    return importlib.util.find_spec("rapidocr") is not None


# A second, closer look for text too small for the detector's first look. The first look sees the image
# with its short side at the OCR's ``det_side`` (256-320 px: a poster thumbnail's scale, which suits
# posters and is shared with the text channel); on a large image of small text (a screenshot, a page)
# the letters shrink to a few pixels there and go unseen. So a large image on which the first look found
# little text is looked at again in overlapping strips, its short side seen at CLOSER_SIDE px (text of
# 10-12 px in a screenshot then keeps the ~8 px the detector needs), and the closer look's regions are
# used when it finds a page of text the first missed. Posters keep the first look (their coverage stays
# comparable with the Genre Atlas, measured on thumbnails).
CLOSER_SIDE = 768     # px: the image's short side as the closer look sees it (never upscaled)
CLOSER_MIN = 2.0      # a closer look only where it sees at least twice as fine as the first
LITTLE_TEXT = 0.10    # the first look found less than this share (30% of real posters have less)
CLOSER_GAIN = 3.0     # the closer look is used when it finds at least this many times as much text...
CLOSER_MARGIN = 0.10  # ...and at least 10 points more


def detect_text(image, shape: tuple[int, int] | None = None) -> list[np.ndarray] | None:
    """Text regions of a poster as 4-point polygons, or None when no text detector is installed.

    ``image``: the poster as the text channel reads it (any image ``load_image`` accepts; the full-size
    poster, not the analysis copy): its regions come from the OCR's detector with the bundled model's
    settings (``postergenre.model.ocr.read_poster_text``), which reuses the detection of a poster whose
    text was just read, so a poster predicted and analysed is detected once. A large image on which
    that look found little text gets a closer look (``CLOSER_SIDE``, above). ``shape``: (height, width) of
    the image whose pixels the polygons are given in (the analysis copy); default the poster's own.
    DBNet now and then outlines a whole framed poster as one 'text' region; regions spanning more than
    60% of both the width and the height are dropped, since no line of text does that."""
    if not text_available():
        return None
    from postergenre.model.ocr import read_poster_text, serving_config

    cfg = serving_config()
    reading = read_poster_text(image, cfg, recognise=False)
    shape = shape if shape is not None else reading.size[::-1]
    first = _regions_in(reading.regions, reading.size, shape)
    if min(min(reading.size), CLOSER_SIDE) < CLOSER_MIN * cfg.det_side:
        return first
    seen = text_share(first, shape)
    if seen >= LITTLE_TEXT:
        return first
    closer = _regions_in(_closer_look(image, cfg), reading.size, shape)
    found = text_share(closer, shape)
    return closer if found >= max(CLOSER_GAIN * seen, seen + CLOSER_MARGIN) else first


def _regions_in(regions: list[np.ndarray], size: tuple[int, int], shape: tuple[int, int]) -> list[np.ndarray]:
    """Regions found on an image of ``size`` (width, height), in the pixels of ``shape`` (height, width),
    less the outlines of whole posters."""
    (w0, h0), (h, w) = size, shape
    scale = np.array([w / w0, h / h0], dtype=np.float32)
    boxes = [r * scale for r in regions]
    return [b for b in boxes if not (np.ptp(b[:, 0]) > 0.6 * w and np.ptp(b[:, 1]) > 0.6 * h)]


def _closer_look(image, cfg) -> list[np.ndarray]:
    """Text regions (in the image's pixels) found in overlapping full-width strips, seen by the OCR's
    detector as if the image's short side were ``CLOSER_SIDE`` px (at most its own)."""
    from postergenre.model.ocr import ocr_engine, poster_pixels

    bgr = poster_pixels(image)
    h, w = bgr.shape[:2]
    scale = min(1.0, CLOSER_SIDE / min(h, w))             # of the image's pixels, as the detector sees them
    strip = max(32, int(cfg.det_side / scale))            # a strip's height: its short side -> det_side
    step = max(1, strip * 3 // 4)                         # a quarter overlaps, so no line is cut in two only
    engine, out = ocr_engine(cfg), []
    for top in range(0, h, step):
        top = min(top, max(0, h - strip))
        for region in engine.detect(np.ascontiguousarray(bgr[top:top + strip])):
            out.append(region + np.array([0, top], dtype=np.float32))
        if top + strip >= h:
            break
    return out


def text_share(polygons: list[np.ndarray], shape: tuple[int, int]) -> float:
    """Text coverage: share of the poster's area inside the union of the detected text regions."""
    return _union_share(shape, polygons)
