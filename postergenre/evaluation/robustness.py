"""The robustness battery: real posters re-rendered the way uploads differ from the training thumbnails.

Each transformation takes a poster (a 182x268 IMDb thumbnail of the dataset) and returns the image a
user might upload instead: upscaled to 500x750 or to print size with a sharp resampler, re-encoded as
JPEG at several qualities, as WebP or PNG, framed in white or black, letterboxed, slightly cropped,
or with a "coming soon" strip. ``run_battery`` predicts every version and reports, per
transformation, the share flagged as "not a poster", the top genre's agreement with the untouched
poster's, and macro-AP / ECE against the labels; ``benchmarks/robustness.py`` prints it for ``val``.
"""
from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

__all__ = ["TRANSFORMS", "BatteryRow", "run_battery", "format_battery", "FLAG_TARGET", "AGREEMENT_TARGET"]

FLAG_TARGET = 0.02        # at most this share of real posters flagged, per transformation
AGREEMENT_TARGET = 0.90   # at least this share keep the untouched poster's top genre


def _encode(img: Image.Image, fmt: str, **kw) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _sharp_resize(img: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Lanczos upscale plus an unsharp mask: the crisp edges of a modern digital poster."""
    return img.resize(size, Image.LANCZOS).filter(ImageFilter.UnsharpMask(radius=2, percent=120, threshold=2))


def _frame(img: Image.Image, colour: tuple[int, int, int], share: float = 0.06) -> Image.Image:
    pad = round(share * img.width)
    out = Image.new("RGB", (img.width + 2 * pad, img.height + 2 * pad), colour)
    out.paste(img, (pad, pad))
    return out


def _letterbox(img: Image.Image) -> Image.Image:
    """The poster centred on a black 1:1 canvas (a poster shown in a square social-media post)."""
    side = max(img.size)
    out = Image.new("RGB", (side, side), (0, 0, 0))
    out.paste(img, ((side - img.width) // 2, (side - img.height) // 2))
    return out


def _crop(img: Image.Image, share: float = 0.05) -> Image.Image:
    dx, dy = round(share * img.width / 2), round(share * img.height / 2)
    return img.crop((dx, dy, img.width - dx, img.height - dy))


def _strip(img: Image.Image, text: str = "COMING SOON") -> Image.Image:
    """A dark band with white capitals across the bottom eighth (a release banner)."""
    out = img.copy()
    h = max(12, img.height // 8)
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, img.height - h, img.width, img.height), fill=(20, 20, 20))
    try:
        font = ImageFont.load_default(size=max(8, int(h * 0.55)))
    except TypeError:  # Pillow < 10.1: the bitmap font has one size
        font = ImageFont.load_default()
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((img.width - (box[2] - box[0])) / 2, img.height - h + (h - (box[3] - box[1])) / 2 - box[1]), text,
              fill=(245, 245, 245), font=font)
    return out


def _on_a_wall(img: Image.Image) -> Image.Image:
    """A phone photo of the poster on a wall: a sharp 500x750 print, turned 2 degrees, filling 80% of a
    beige wall's height (uneven light), slightly soft, saved as a camera JPEG."""
    rng = np.random.default_rng(0)
    poster = _sharp_resize(img, (500, 750)).convert("RGBA").rotate(2, resample=Image.BICUBIC, expand=True)
    h, w = 940, 720
    light = np.linspace(1.05, 0.8, w)[None, :, None] * np.linspace(1.0, 0.9, h)[:, None, None]
    wall = np.clip(np.array([214, 204, 186]) * light + rng.normal(0, 4, (h, w, 3)), 0, 255).astype(np.uint8)
    out = Image.fromarray(wall)
    out.paste(poster, ((w - poster.width) // 2 + 14, (h - poster.height) // 2 - 10), poster)
    return _encode(out.filter(ImageFilter.GaussianBlur(0.8)), "JPEG", quality=85)


TRANSFORMS: dict[str, Callable[[Image.Image], Image.Image]] = {
    "original": lambda im: im,
    "500x750 sharp": lambda im: _encode(_sharp_resize(im, (500, 750)), "JPEG", quality=92),
    "print 1800x2700 sharp": lambda im: _encode(_sharp_resize(im, (1800, 2700)), "JPEG", quality=92),
    "JPEG q60": lambda im: _encode(im, "JPEG", quality=60),
    "JPEG q95": lambda im: _encode(im, "JPEG", quality=95),
    "WebP q80": lambda im: _encode(im, "WEBP", quality=80),
    "PNG 500x750": lambda im: _encode(im.resize((500, 750), Image.BICUBIC), "PNG"),
    "white frame": lambda im: _frame(im, (255, 255, 255)),
    "black frame": lambda im: _frame(im, (0, 0, 0)),
    "letterboxed 1:1": _letterbox,
    "cropped 5%": _crop,
    "coming-soon strip": _strip,
    "AVIF 500x750 sharp": lambda im: _encode(_sharp_resize(im, (500, 750)), "AVIF", quality=50, speed=8),
    "photo of it on a wall": _on_a_wall,
}


@dataclass
class BatteryRow:
    transform: str
    n: int
    flagged: float          # share flagged "not a poster"
    agreement: float        # share whose top genre is the untouched poster's
    macro_ap: float
    ece: float
    genres_per_poster: float

    @property
    def meets_targets(self) -> bool:
        return self.flagged <= FLAG_TARGET and self.agreement >= AGREEMENT_TARGET


def run_battery(predictor, images: Sequence[Image.Image], y: np.ndarray, *, text: bool = False,
                transforms: Sequence[str] | None = None, progress: bool = True) -> list[BatteryRow]:
    """Predict every poster under every transformation (``text``: read the text too). ``y``: N x G labels
    in ``predictor.genres`` order."""
    from tqdm.auto import tqdm

    from postergenre.evaluation.metrics import expected_calibration_error, multilabel_report

    names = list(transforms or TRANSFORMS)
    if "original" not in names:
        names.insert(0, "original")
    results: dict[str, list] = {}
    bar = tqdm(total=len(names) * len(images), desc="robustness battery", unit="image", disable=not progress)
    for name in names:
        preds = []
        for im in images:
            preds.append(predictor.predict(TRANSFORMS[name](im), text=text))
            bar.update(1)
        results[name] = preds
    bar.close()
    top0 = [p.scores[0].genre for p in results["original"]]
    rows = []
    for name in names:
        preds = results[name]
        probs = np.array([[p.probabilities[g] for g in predictor.genres] for p in preds])
        chosen = np.array([[g in p.predicted for g in predictor.genres] for p in preds])
        report = multilabel_report(y, probs, 0.5, list(predictor.genres), pred=chosen)
        rows.append(BatteryRow(name, len(preds), float(np.mean([p.looks_like_poster is False for p in preds])),
                               float(np.mean([p.scores[0].genre == t for p, t in zip(preds, top0)])),
                               float(report["macro_ap"]), float(expected_calibration_error(y, probs)),
                               float(chosen.sum(1).mean())))
    return rows


def format_battery(rows: list[BatteryRow]) -> str:
    lines = [f"{'transformation':24}{'n':>5}{'flagged':>9}{'top agrees':>12}{'macro-AP':>10}{'ECE':>8}{'genres':>8}",
             f"{'(targets)':24}{'':>5}{'<= ' + format(FLAG_TARGET, '.0%'):>9}{'>= ' + format(AGREEMENT_TARGET, '.0%'):>12}"]
    for r in rows:
        mark = "" if r.meets_targets else "   <- misses a target"
        lines.append(f"{r.transform:24}{r.n:>5}{r.flagged:>9.1%}{r.agreement:>12.1%}{r.macro_ap:>10.3f}{r.ece:>8.3f}"
                     f"{r.genres_per_poster:>8.2f}{mark}")
    return "\n".join(lines)
