"""A varied set of images that are not movie posters, built from what ships in packages and on the
machine, for measuring the "is this a poster?" check. Deterministic (seeded).

Categories: noise, flat colours, gradients, patterns, rendered documents, charts, screenshots and
diagrams (PNG documentation images found on the machine), presentation slides, and photographs
(scikit-learn, scikit-image and matplotlib sample images) whole and as crops in poster shape (2:3).
``titled_photos`` makes the other side from the same photographs: posters (a crop with a film title).

    python -m postergenre.training.nonposters OUT_DIR   # writes OUT_DIR/<category>/<name>.png and prints counts
"""
from __future__ import annotations

import glob
import sys
import textwrap
from pathlib import Path
from typing import Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu"
WORDS = ("the of and to in is that for it as was with be by on not he this are or his from at which but "
         "have an they you were her all she there would their we him been has when who will more no if out "
         "so said what up its about into than them can only other new some could time these two may then do "
         "first any my now such like our over man me even most made after also did many before must through "
         "report results table figure method data analysis section value system model quarterly revenue").split()


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _size(rng: np.random.Generator) -> tuple[int, int]:
    """A random (width, height): poster-shaped, square, landscape or portrait."""
    w = int(rng.integers(180, 900))
    aspect = rng.choice([1.5, 1.0, 0.75, 0.5625, 1.414, 1.33])
    return w, int(w * aspect)


def noise(n: int, seed: int = 0) -> Iterator[tuple[str, Image.Image]]:
    rng = _rng(seed)
    for i in range(n):
        w, h = _size(rng)
        kind = i % 5
        if kind == 0:
            a = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        elif kind == 1:
            a = np.clip(rng.normal(128, rng.uniform(10, 80), (h, w, 3)), 0, 255).astype(np.uint8)
        elif kind == 2:
            a = np.repeat(rng.integers(0, 256, (h, w, 1), dtype=np.uint8), 3, axis=2)
        elif kind == 3:  # salt and pepper on a flat colour
            a = np.full((h, w, 3), rng.integers(0, 256, 3), dtype=np.uint8)
            m = rng.random((h, w)) < rng.uniform(0.02, 0.3)
            a[m] = rng.choice([0, 255], size=(int(m.sum()), 1))
        else:  # smooth (low-frequency) colour noise
            small = rng.integers(0, 256, (int(rng.integers(3, 12)), int(rng.integers(3, 12)), 3), dtype=np.uint8)
            a = np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC))
        yield f"noise_{i:03d}", Image.fromarray(a)


def flat(n: int, seed: int = 1) -> Iterator[tuple[str, Image.Image]]:
    rng = _rng(seed)
    for i in range(n):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        if i % 6 == 0:
            colour = (0, 0, 0) if i % 12 == 0 else (255, 255, 255)
        yield f"flat_{i:03d}", Image.new("RGB", _size(rng), colour)


def gradients(n: int, seed: int = 2) -> Iterator[tuple[str, Image.Image]]:
    rng = _rng(seed)
    for i in range(n):
        w, h = _size(rng)
        c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        if i % 3 == 0:
            t = yy / h
        elif i % 3 == 1:
            ang = rng.uniform(0, np.pi)
            t = (np.cos(ang) * xx / w + np.sin(ang) * yy / h)
            t = (t - t.min()) / (np.ptp(t) + 1e-6)
        else:
            cx, cy = rng.uniform(0, w), rng.uniform(0, h)
            t = np.hypot(xx - cx, yy - cy)
            t = t / t.max()
        a = (c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]).astype(np.uint8)
        yield f"gradient_{i:03d}", Image.fromarray(a)


def patterns(n: int, seed: int = 3) -> Iterator[tuple[str, Image.Image]]:
    rng = _rng(seed)
    for i in range(n):
        w, h = _size(rng)
        yy, xx = np.mgrid[0:h, 0:w]
        k = int(rng.integers(4, 60))
        kind = i % 4
        if kind == 0:
            m = ((xx // k + yy // k) % 2).astype(bool)
        elif kind == 1:
            m = ((xx // k) % 2).astype(bool)
        elif kind == 2:
            m = (np.sin(xx / k) * np.cos(yy / k) > 0)
        else:
            m = ((np.hypot(xx - w / 2, yy - h / 2) // k) % 2).astype(bool)
        c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        a = np.where(m[..., None], c0, c1).astype(np.uint8)
        yield f"pattern_{i:03d}", Image.fromarray(a)


def _font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(f"{FONT_DIR}/{name}", size)
    except OSError:
        return ImageFont.load_default(size)


def documents(n: int, seed: int = 4) -> Iterator[tuple[str, Image.Image]]:
    rng = _rng(seed)
    fonts = ["DejaVuSerif.ttf", "DejaVuSans.ttf", "DejaVuSansMono.ttf", "DejaVuSerifCondensed.ttf"]
    for i in range(n):
        w = int(rng.integers(400, 900))
        h = int(w * rng.choice([1.414, 1.294, 0.75]))
        bg = (255, 255, 255) if i % 4 else tuple(int(c) for c in rng.integers(200, 256, 3))
        im = Image.new("RGB", (w, h), bg)
        d = ImageDraw.Draw(im)
        size = int(rng.integers(10, 22))
        font, head = _font(fonts[i % len(fonts)], size), _font("DejaVuSans-Bold.ttf", int(size * 1.6))
        y = int(h * 0.06)
        d.text((int(w * 0.08), y), " ".join(rng.choice(WORDS, 4)).title(), fill=(20, 20, 20), font=head)
        y += int(size * 3)
        chars = max(20, int(w * 0.84 / (size * 0.55)))
        while y < h * 0.92:
            para = " ".join(rng.choice(WORDS, int(rng.integers(30, 90))))
            for line in textwrap.wrap(para, chars):
                if y > h * 0.92:
                    break
                d.text((int(w * 0.08), y), line, fill=(30, 30, 30), font=font)
                y += int(size * 1.4)
            y += size
        yield f"document_{i:03d}", im


def charts(n: int, seed: int = 5) -> Iterator[tuple[str, Image.Image]]:
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rng = _rng(seed)
    styles = ["default", "ggplot", "seaborn-v0_8", "dark_background", "bmh", "fivethirtyeight"]
    for i in range(n):
        with plt.style.context(styles[i % len(styles)]):
            fig, ax = plt.subplots(figsize=(rng.uniform(3, 8), rng.uniform(3, 8)), dpi=80)
            kind = i % 5
            x = np.arange(int(rng.integers(5, 40)))
            if kind == 0:
                for _ in range(int(rng.integers(1, 4))):
                    ax.plot(x, np.cumsum(rng.normal(size=len(x))))
            elif kind == 1:
                ax.bar(x[:12], rng.uniform(1, 10, len(x[:12])))
            elif kind == 2:
                ax.scatter(rng.normal(size=200), rng.normal(size=200), c=rng.random(200), s=10)
            elif kind == 3:
                k = int(rng.integers(3, 7))
                ax.pie(rng.uniform(1, 5, k), labels=list("ABCDEFG")[:k])
            else:
                ax.imshow(rng.random((12, 12)), cmap=["viridis", "magma", "coolwarm"][i % 3])
            ax.set_title(" ".join(rng.choice(WORDS, 3)))
            buf = io.BytesIO()
            fig.savefig(buf, format="png")
            plt.close(fig)
        yield f"chart_{i:03d}", Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def screenshots(n: int, seed: int = 6, part: int = 0) -> Iterator[tuple[str, Image.Image]]:
    """PNG screenshots and diagrams from documentation installed on the machine (if any); ``part`` 0
    takes the even files of a fixed shuffle, 1 the odd ones (disjoint fit / evaluation sets)."""
    rng = _rng(seed)
    pats = ["/root/.rustup/toolchains/*/share/doc/rust/html/**/*.png", "/usr/share/doc/**/*.png",
            f"{sys.prefix}/lib/python3*/site-packages/**/*.png"]
    files: list[str] = []
    for p in pats:
        files += glob.glob(p, recursive=True)
    seen, uniq = set(), []
    for f in sorted(files):
        key = Path(f).name
        if key not in seen and Path(f).stat().st_size > 8000:
            seen.add(key)
            uniq.append(f)
    rng.shuffle(uniq)
    uniq = uniq[part::2]
    count = 0
    for f in uniq:
        try:
            im = Image.open(f).convert("RGB")
        except OSError:
            continue
        if min(im.size) < 64 or max(im.size) > 4 * min(im.size):  # strips are refused before the model
            continue
        yield f"screenshot_{count:03d}", im
        count += 1
        if count >= n:
            break


def slides(n: int, seed: int = 8) -> Iterator[tuple[str, Image.Image]]:
    """Presentation slides: a large title and a few bullet points on a plain, dark or gradient
    background (16:9 or 4:3): text as big as a film title, in a layout no poster has."""
    rng = _rng(seed)
    for i in range(n):
        w = int(rng.integers(480, 1280))
        h = int(w * (9 / 16 if i % 3 else 3 / 4))
        dark = i % 4 == 1
        bg = (int(rng.integers(10, 60)),) * 3 if dark else tuple(int(c) for c in rng.integers(215, 256, 3))
        im = Image.new("RGB", (w, h), bg)
        if i % 4 == 2:  # a corporate gradient band on the left
            a = np.asarray(im).copy()
            a[:, : w // 12] = np.linspace(40, 200, h, dtype=np.uint8)[:, None, None]
            im = Image.fromarray(a)
        d = ImageDraw.Draw(im)
        ink = (235, 235, 235) if dark else (25, 25, 40)
        title = _font("DejaVuSans-Bold.ttf", int(h * rng.uniform(0.07, 0.11)))
        body = _font("DejaVuSans.ttf", int(h * rng.uniform(0.035, 0.05)))
        d.text((int(w * 0.08), int(h * 0.08)), " ".join(rng.choice(WORDS, int(rng.integers(2, 5)))).title(),
               fill=ink, font=title)
        y = h * 0.32
        for _ in range(int(rng.integers(3, 7))):
            d.text((int(w * 0.1), int(y)), "\u2022 " + " ".join(rng.choice(WORDS, int(rng.integers(3, 8)))),
                   fill=ink, font=body)
            y += h * 0.1
        yield f"slide_{i:03d}", im


TITLE_WORDS = ("night dark last return shadow blood love city edge kingdom storm silent house road summer "
               "heart wild final dream fire ghost secret game lost river moon star war girl man the of").split()


def titled_photos(part: int = 0, seed: int = 9, per_photo: int = 6) -> Iterator[tuple[str, Image.Image]]:
    """*Posters* made from the same sample photographs as ``photos(part)``: a 2:3 crop with a film
    title set large (6-15% of the height) at the top or bottom, sometimes a tagline, a release line
    or a credits block: the photo-style key art of recent films, which the text read on it tells
    apart from the bare photograph. The poster check is fitted with these on the poster side."""
    rng = _rng(seed + 100 * part)
    fonts = ["DejaVuSans-Bold.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansCondensed-Bold.ttf", "DejaVuSerif.ttf"]
    for name, a in _sample_photos()[part::2]:
        h0, w0 = a.shape[:2]
        for k in range(per_photo):
            ch = int(h0 * rng.uniform(0.6, 1.0))
            cw = min(w0, int(ch * 2 / 3))
            ch = int(cw * 1.5)
            y0, x0 = int(rng.integers(0, h0 - ch + 1)), int(rng.integers(0, w0 - cw + 1))
            im = Image.fromarray(a[y0:y0 + ch, x0:x0 + cw]).resize((500, 750), Image.LANCZOS)
            d = ImageDraw.Draw(im)
            words = rng.choice(TITLE_WORDS, int(rng.integers(1, 4)))
            title = " ".join(words).upper() if k % 2 == 0 else " ".join(words).title()
            size = int(750 * rng.uniform(0.06, 0.15))
            font = _font(fonts[k % len(fonts)], size)
            while d.textlength(title, font=font) > 460 and size > 24:
                size = int(size * 0.9)
                font = _font(fonts[k % len(fonts)], size)
            light = float(np.asarray(im)[..., :].mean()) < 110
            ink = (245, 245, 245) if light or k % 3 == 0 else (15, 15, 15)
            ty = int(750 * (rng.uniform(0.05, 0.2) if k % 2 else rng.uniform(0.62, 0.78)))
            d.text(((500 - d.textlength(title, font=font)) / 2, ty), title, fill=ink, font=font,
                   stroke_width=1 if k % 3 == 0 else 0, stroke_fill=(0, 0, 0))
            if k % 3 != 2:  # a tagline
                tag = _font("DejaVuSans.ttf", int(rng.integers(14, 24)))
                line = " ".join(rng.choice(WORDS, int(rng.integers(3, 7)))).capitalize()
                d.text(((500 - d.textlength(line, font=tag)) / 2, ty - 40 if k % 2 == 0 else ty + size + 16),
                       line, fill=ink, font=tag)
            if k % 2 == 0:  # a credits block and a release line at the foot
                small = _font("DejaVuSansCondensed.ttf", int(rng.integers(8, 12)))
                for r in range(3):
                    credits = " ".join(rng.choice(WORDS, 14)).upper()
                    d.text(((500 - d.textlength(credits, font=small)) / 2, 690 + r * 13), credits, fill=ink, font=small)
            if k % 3 == 1:
                rel = _font("DejaVuSans-Bold.ttf", 20)
                text = f"IN CINEMAS {rng.choice(['MAY', 'JUNE', 'JULY', 'OCTOBER'])} {int(rng.integers(1, 29))}"
                d.text(((500 - d.textlength(text, font=rel)) / 2, 650), text, fill=ink, font=rel)
            yield f"titled_{name}_{k}", im


def _sample_photos() -> list[tuple[str, np.ndarray]]:
    out = []
    try:
        from sklearn.datasets import load_sample_images

        for name, a in zip(("china", "flower"), load_sample_images().images):
            out.append((name, a))
    except Exception:  # noqa: BLE001 - an optional source
        pass
    try:
        import skimage.data as skd

        for name in ("astronaut", "camera", "cat", "chelsea", "coffee", "rocket", "brick", "grass", "gravel",
                     "horse", "moon", "coins", "page", "text", "clock", "colorwheel", "logo", "hubble_deep_field",
                     "immunohistochemistry", "retina", "motorcycle_left"):  # those in the wheel (no download)
            try:
                a = getattr(skd, name)() if name != "motorcycle_left" else skd.stereo_motorcycle()[0]
            except Exception:  # noqa: BLE001 - some need a download: skipped offline
                continue
            a = np.asarray(a).astype(np.float32) if np.asarray(a).dtype == bool else np.asarray(a)
            if a.dtype != np.uint8:
                a = (255 * (a - a.min()) / (np.ptp(a) + 1e-9)).astype(np.uint8)
            if a.ndim == 2:
                a = np.repeat(a[..., None], 3, axis=2)
            out.append((name, a[..., :3]))
    except ImportError:
        pass
    try:
        import matplotlib.cbook as cbook

        with cbook.get_sample_data("grace_hopper.jpg") as fh:
            out.append(("grace_hopper", np.asarray(Image.open(fh).convert("RGB"))))
    except Exception:  # noqa: BLE001
        pass
    return out


def photos(crops_per_photo: int = 5, seed: int = 7, part: int = 0) -> Iterator[tuple[str, Image.Image]]:
    """Every other sample photograph (``part`` 0: the even ones, 1: the odd ones) whole, plus random
    crops in poster shape (2:3, 35-100% of the height)."""
    rng = _rng(seed)
    for name, a in _sample_photos()[part::2]:
        yield f"photo_{name}", Image.fromarray(a)
        h, w = a.shape[:2]
        for k in range(crops_per_photo):
            ch = int(h * rng.uniform(0.35, 1.0))
            cw = min(w, int(ch * 2 / 3))
            ch = int(cw * 1.5) if cw < ch * 2 / 3 else ch
            y0, x0 = int(rng.integers(0, h - ch + 1)), int(rng.integers(0, w - cw + 1))
            crop = Image.fromarray(a[y0:y0 + ch, x0:x0 + cw])
            if k % 2:
                crop = crop.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.5)))
            yield f"photocrop_{name}_{k}", crop


def categories(part: int = 0) -> dict[str, Iterator[tuple[str, Image.Image]]]:
    """The generators of every category; ``part`` 0 is the set the check is fitted on, 1 a disjoint
    evaluation set (other seeds, the other half of the screenshots and photographs)."""
    o = 100 * part
    return {"noise": noise(50, 0 + o), "flat": flat(30, 1 + o), "gradient": gradients(40, 2 + o),
            "pattern": patterns(30, 3 + o), "document": documents(40, 4 + o), "chart": charts(40, 5 + o),
            "screenshot": screenshots(60, 6, part), "photo": photos(5, 7 + o, part), "slide": slides(30, 8 + o)}


def build(out: str | Path, part: int = 0) -> dict[str, int]:
    """Write every category's images under ``out``/<category>/ as PNG; returns the counts."""
    out = Path(out)
    counts = {}
    for cat, gen in categories(part).items():
        (out / cat).mkdir(parents=True, exist_ok=True)
        n = 0
        for name, im in gen:
            if min(im.size) < 64 or max(im.size) > 4 * min(im.size):
                continue  # the image loader refuses strips before the model sees them
            im.convert("RGB").save(out / cat / f"{name}.png")
            n += 1
        counts[cat] = n
    return counts


if __name__ == "__main__":
    print(build(sys.argv[1] if len(sys.argv) > 1 else "nonposters", int(sys.argv[2]) if len(sys.argv) > 2 else 0))
