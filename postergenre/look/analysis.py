"""One poster's look in numbers: ``analyze_poster(image) -> PosterAnalysis`` (palette + measures).

The poster is downscaled once (long side 256 px) and every measure of ``composition`` runs on that
copy, so the whole analysis takes well under 200 ms on a CPU (``benchmarks/analysis.py``).
``MEASURES`` describes each scalar measure (label, unit, words for lower/higher) for display and for
the Genre Atlas, which stores each measure's distribution per genre.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from postergenre.look import composition as C
from postergenre.look.palette import PaletteColour, PaletteConfig, extract_palette, rgb_to_lab
from postergenre.sources.images import ImageSource, load_image

__all__ = ["Measure", "MEASURES", "ANALYSIS_VERSION", "AnalysisConfig", "PosterAnalysis", "analyze_poster",
           "analysis_image"]

ANALYSIS_VERSION = 1  # bump when a measure's definition changes (invalidates atlas caches)


@dataclass(frozen=True)
class Measure:
    key: str
    label: str
    unit: str          # shown after the value ('' for plain numbers, '%' for shares shown in percent)
    lower: str         # comparative for a lower value: 'darker' in "darker than 85% of Horror posters"
    higher: str        # comparative for a higher value
    help: str          # one line for people
    fmt: str = ".2f"   # format spec of a value ('.0%' for shares, '.0f' for counts)

    def format(self, value: float | None) -> str:
        return "n/a" if value is None else format(value, self.fmt)


MEASURES: dict[str, Measure] = {m.key: m for m in (
    Measure("brightness", "Brightness", "L*", "darker", "brighter", "mean lightness L*, 0 black .. 100 white", ".1f"),
    Measure("contrast", "Contrast", "L*", "lower in contrast", "higher in contrast", "spread (std) of lightness L*", ".1f"),
    Measure("saturation", "Saturation", "", "less saturated", "more saturated", "mean HSV saturation, 0 grey .. 1 pure"),
    Measure("colourfulness", "Colourfulness", "", "less colourful", "more colourful",
            "Hasler & Süsstrunk: ~15 slightly, ~33 moderately, ~59 quite, ~109 extremely colourful", ".1f"),
    Measure("warm_share", "Warm colours", "%", "less warm", "warmer", "share of pixels in reds, oranges, yellows", ".0%"),
    Measure("cool_share", "Cool colours", "%", "less cool", "cooler", "share of pixels in greens, blues, violets", ".0%"),
    Measure("edge_density", "Visual complexity", "%", "simpler", "busier", "share of pixels on an edge", ".0%"),
    Measure("symmetry", "Left-right symmetry", "", "less symmetric", "more symmetric", "1 = mirror image"),
    Measure("thirds", "Rule of thirds", "%", "less on the thirds", "more on the thirds",
            "visual weight near the third lines (evenly spread = 56%)", ".0%"),
    Measure("balance", "Left-right balance", "", "less balanced", "more balanced", "1 = equal visual weight left and right"),
    Measure("weight_x", "Visual weight, across", "", "weighted further left", "weighted further right",
            "centre of visual weight, 0 left .. 1 right"),
    Measure("weight_y", "Visual weight, down", "", "weighted higher up", "weighted lower down",
            "centre of visual weight, 0 top .. 1 bottom"),
    Measure("face_count", "Faces", "", "fewer faces", "more faces", "frontal faces found", ".0f"),
    Measure("face_share", "Face area", "%", "less face area", "more face area", "share of the poster covered by faces", ".0%"),
    Measure("text_share", "Text coverage", "%", "less text", "more text", "share of the poster covered by text", ".0%"),
)}


@dataclass(frozen=True)
class AnalysisConfig:
    long_side: int = 256            # the poster is downscaled to this long side before measuring
    palette: PaletteConfig = PaletteConfig()
    text: bool = True               # detect text when the optional detector is installed


@dataclass
class PosterAnalysis:
    size: tuple[int, int]                       # the original poster's (width, height)
    palette: list[PaletteColour]                # largest share first
    measures: dict[str, float | None]           # keys of MEASURES; None = not available here
    hue_histogram: dict[str, float]             # hue family -> share of the coloured pixels
    dominant_hue: str                           # a HUE_NAMES entry or 'none'
    faces: list[C.Box] = field(default_factory=list)
    text_regions: list[C.Box] | None = None     # bounding boxes; None when no text detector is installed
    notes: list[str] = field(default_factory=list)

    @property
    def text_available(self) -> bool:
        return self.text_regions is not None

    def to_dict(self) -> dict[str, Any]:
        return {
            "size": list(self.size),
            "palette": [c.to_dict() for c in self.palette],
            "measures": {k: (None if v is None else round(float(v), 5)) for k, v in self.measures.items()},
            "hue_histogram": {k: round(v, 4) for k, v in self.hue_histogram.items()},
            "dominant_hue": self.dominant_hue,
            "faces": [b.to_dict() for b in self.faces],
            "text_regions": None if self.text_regions is None else [b.to_dict() for b in self.text_regions],
            "text_available": self.text_available,
            "notes": list(self.notes),
        }


def analysis_image(image: Image.Image, long_side: int = 256) -> np.ndarray:
    """The poster as H x W x 3 uint8 RGB with its long side at most ``long_side`` (never upscaled)."""
    scale = long_side / max(image.size)
    if scale < 1:
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def analyze_poster(image: ImageSource, *, k: int = 6, config: AnalysisConfig | None = None) -> PosterAnalysis:
    """Palette (k colours in CIELAB) and every colour/composition measure of one poster.

    ``image``: anything ``postergenre.sources.images.load_image`` accepts (path, bytes, file, PIL image, array).
    Raises ImageLoadError for unreadable input."""
    cfg = config or AnalysisConfig()
    if k != cfg.palette.k:
        cfg = AnalysisConfig(cfg.long_side, PaletteConfig(**{**vars(cfg.palette), "k": k}), cfg.text)
    poster = load_image(image)
    rgb = analysis_image(poster, cfg.long_side)
    lab = rgb_to_lab(rgb)
    h, w = rgb.shape[:2]

    hist = C.hue_histogram(rgb)
    warm, cool = C.warm_cool_shares(rgb)
    weight = C.visual_weight_map(lab)
    wx, wy = C.weight_centre(weight)
    faces = C.detect_faces(rgb)
    polygons = C.detect_text(poster, (h, w)) if cfg.text else None
    notes = []
    if polygons is None:
        notes.append("text coverage not measured: install the optional 'rapidocr' package for text detection")
    measures: dict[str, float | None] = {
        "brightness": C.brightness(lab), "contrast": C.contrast(lab), "saturation": C.saturation(rgb),
        "colourfulness": C.colourfulness(rgb), "warm_share": warm, "cool_share": cool,
        "edge_density": C.edge_density(rgb), "symmetry": C.symmetry(lab), "thirds": C.thirds_share(weight),
        "balance": C.balance(weight), "weight_x": wx, "weight_y": wy,
        "face_count": float(len(faces)), "face_share": C.face_share(faces, (h, w)),
        "text_share": None if polygons is None else C.text_share(polygons, (h, w)),
    }
    text_boxes = None if polygons is None else [_bounding_box(p, w, h) for p in polygons]
    return PosterAnalysis(
        size=poster.size, palette=extract_palette(rgb, cfg.palette, lab=lab), measures=measures,
        hue_histogram={name: float(v) for name, v in zip(C.HUE_NAMES, hist)}, dominant_hue=C.dominant_hue(hist),
        faces=faces, text_regions=text_boxes, notes=notes,
    )


def _bounding_box(polygon: np.ndarray, w: int, h: int) -> C.Box:
    x0, y0 = np.clip(polygon.min(axis=0), 0, [w, h])
    x1, y1 = np.clip(polygon.max(axis=0), 0, [w, h])
    return C.Box(float(x0 / w), float(y0 / h), float((x1 - x0) / w), float((y1 - y0) / h))
