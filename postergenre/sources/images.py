"""Safe image loading: whatever a user hands us becomes a fully decoded RGB ``PIL.Image`` or an
``ImageLoadError`` that says what was wrong and what to do.

``load_image`` accepts a path, raw bytes, an open binary file, a PIL image or a NumPy array.
Encoded input is limited to a few common formats (JPEG, PNG, WebP, AVIF, GIF, BMP, TIFF) so untrusted
uploads never reach Pillow's rarer decoders. Sizes are checked from the header *before* decoding
(image bombs), truncated files are errors (never half-decoded images), EXIF orientation is applied,
transparency is composited on white and 16-bit/float images are scaled by their actual range.

Work per image is bounded before decoding, so hostile files (tests/hostile_corpus.py) decode or fail
in about a second and a few hundred MiB: JPEGs with absurd scan counts, or more scans than their size
allows (progressive "scan bombs"), are refused, formats whose decoder is slow (RLE BMP) have a lower
pixel cap, 16-bit/float images are scaled through a lookup table or in float32 row blocks (never
full-size float64 copies), and ``draft=(w, h)`` lets large JPEGs be decoded straight at a reduced scale
(1/2, 1/4, 1/8) no smaller than ``(w, h)`` (the model's input size, for prediction).

A JPEG over the pixel limit (a print file: 8000x12000 key art) is not refused when it can be decoded at
a reduced scale within the same bounds: a sequential JPEG of one scan, which libjpeg decodes a row of
blocks at a time, straight at the smallest of 1/2, 1/4, 1/8 that fits the limit (the image's
``info["reduced_from"]`` keeps its full size). A progressive or multi-scan JPEG that large would hold all
its coefficients in memory, so it is still refused, with what to do.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import Any, BinaryIO, Union

import numpy as np
from PIL import Image, ImageOps

from postergenre.errors import ImageLoadError

__all__ = ["ImageSource", "SUPPORTED_FORMATS", "SUPPORTED_EXTENSIONS", "FORMAT_EXTENSIONS", "SUPPORTED_TEXT",
           "load_image", "image_info"]

ImageSource = Union[str, os.PathLike, bytes, bytearray, BinaryIO, Image.Image, np.ndarray]

# Pillow format names we decode (its JPEG opener also returns multi-picture "MPO" camera JPEGs). AVIF is
# what many sites now serve key art as (Pillow's wheels carry libavif; the first image of a sequence).
SUPPORTED_FORMATS = ("JPEG", "PNG", "WEBP", "AVIF", "GIF", "BMP", "TIFF")
# File-name endings of those formats, the one list the app's uploaders, the CLI's and the catalog's folder
# scans and the zip reader accept (JPEG's include .jfif, .jpe and .pjpeg/.pjp, which browsers save JPEGs as).
FORMAT_EXTENSIONS: dict[str, tuple[str, ...]] = {
    "JPEG": ("jpg", "jpeg", "jpe", "jfif", "pjpeg", "pjp"), "PNG": ("png",), "WEBP": ("webp",), "AVIF": ("avif",),
    "GIF": ("gif",), "BMP": ("bmp",), "TIFF": ("tif", "tiff")}
SUPPORTED_EXTENSIONS = tuple(ext for exts in FORMAT_EXTENSIONS.values() for ext in exts)
SUPPORTED_TEXT = "JPEG, PNG, WebP, AVIF, GIF, BMP or TIFF"   # those formats in words, for messages and labels
_ACCEPTED_TYPES = "a file path (str or pathlib.Path), bytes, an open binary file, a PIL.Image.Image or a NumPy array"
_WHITE = (255, 255, 255)
# Real progressive JPEGs have about 10 scans (libjpeg's default script: 10; mozjpeg: up to ~20). Each
# scan costs a pass over every block of the components it codes, so thousands of (empty) scans are a
# CPU bomb, and so are a few dozen on a 40 MP image. Both are bounded: the scan count, and the decoding
# work in megapixel-passes (each scan's components' pixels, chroma at its subsampled size, summed over
# scans). libjpeg's default script on a 40 MP colour photo is ~320 (4:2:0) to ~560 (4:4:4); the budget
# admits 15 full passes over a 40 MP image (about half a CPU-second; one on a slow, busy core) and up
# to MAX_JPEG_SCANS on images of 15 MP or less.
MAX_JPEG_SCANS = 40
MAX_JPEG_SCAN_MEGAPIXELS = 600
# Decoders that run in Python (Pillow's RLE BMP) are ~10x slower per pixel than libjpeg/zlib.
_SLOW_CODECS = {"bmp_rle": 8_000_000}
# Rows scaled per block when a 32-bit/float image is mapped onto 0..255 (bounds the float32 copy).
_SCALE_BLOCK_ROWS = 256

# Signatures of things people upload by mistake, to say *what* the input is when it is no image.
_KNOWN_NON_IMAGES = (
    (b"%PDF", "a PDF document; export the poster page as PNG or JPEG first"),
    (b"PK\x03\x04", "a ZIP archive (or an Office document); extract the poster image first"),
    (b"\x1f\x8b", "a gzip archive; extract the poster image first"),
    (b"8BPS", "a Photoshop (PSD) file; export it as PNG or JPEG first"),
    (b"\x00\x00\x01\x00", "an icon (ICO) file, which is not supported; save the poster as PNG or JPEG"),
    (b"\x89PNG", "a damaged PNG file; re-export or re-download it"),
    (b"\xff\xd8\xff", "a damaged JPEG file; re-export or re-download it"),
    (b"GIF8", "a damaged GIF file; re-export or re-download it"),
)


def load_image(src: ImageSource, *, max_bytes: int = 25 * 2**20, max_pixels: int = 40_000_000,
               max_aspect: float = 10.0, min_side: int = 16,
               draft: tuple[int, int] | None = None) -> Image.Image:
    """Read ``src`` into a new, fully decoded RGB image (first frame / first page, EXIF-upright).

    max_bytes: the largest encoded input accepted (25 MiB).
    max_pixels: the largest width*height accepted, checked from the header before decoding (40 MP).
    max_aspect: the largest long-side / short-side ratio accepted (posters are about 1.5).
    min_side: the smallest width or height accepted, in pixels.
    draft: (width, height) the caller needs at least; a JPEG over twice that may be decoded at
        1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling), never below it. None: full size.

    Raises ImageLoadError (a ValueError) saying what was wrong and what to do.
    The result never refers to the source: files are closed and PIL/NumPy inputs are copied.
    """
    limits = dict(max_pixels=max_pixels, max_aspect=max_aspect, min_side=min_side)
    if isinstance(src, Image.Image):
        _check_size(src.size, **limits)
        return _to_rgb(_decoded(src, "The image"))
    if isinstance(src, np.ndarray):
        image = _array_to_image(src)
        _check_size(image.size, **limits)
        return _to_rgb(image)
    data, what = _read_encoded(src, max_bytes)
    image = _open_encoded(data, what)
    try:
        full = image.size
        scale = _reduced_scale(image, data, _pixel_cap(max_pixels))
        if scale == 1:
            _check_size(full, **limits, hint=_too_large_hint(image))
        _check_work(image, data, what)  # at the full size: every block is entropy-decoded at any scale
        if draft and image.format in ("JPEG", "MPO"):
            scale = max(scale, _draft_scale(full, draft))
        if scale > 1:
            image.draft(image.mode, (max(1, full[0] // scale), max(1, full[1] // scale)))
            _check_size(image.size, **limits)
        decoded = _decoded(image, what)
        rgb = _to_rgb(decoded, owned=True)
    except BaseException:
        image.close()
        raise
    if rgb is not image:
        image.close()
    if full[0] * full[1] > _pixel_cap(max_pixels):
        rgb.info["reduced_from"] = full  # a print file read at 1/scale
    return rgb


def image_info(src: ImageSource, *, max_bytes: int = 25 * 2**20) -> dict[str, Any]:
    """Cheap facts about an image without decoding its pixels: format, mode, size (w, h), bytes.

    ``bytes`` is the encoded size, None for PIL images and arrays. Raises ImageLoadError like
    ``load_image`` for input that is not a supported image.
    """
    if isinstance(src, Image.Image):
        return {"format": src.format, "mode": src.mode, "size": src.size, "bytes": None}
    if isinstance(src, np.ndarray):
        image = _array_to_image(src)
        return {"format": None, "mode": image.mode, "size": image.size, "bytes": None}
    data, what = _read_encoded(src, max_bytes)
    with _open_encoded(data, what) as image:
        fmt = "JPEG" if image.format == "MPO" else image.format
        return {"format": fmt, "mode": image.mode, "size": image.size, "bytes": len(data)}


# --- reading the encoded bytes ---------------------------------------------------------------

def _read_encoded(src: Any, max_bytes: int) -> tuple[bytes, str]:
    """The encoded bytes of a path / bytes / file object, at most ``max_bytes``, and a description."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        data, what = bytes(src), "The uploaded data"
    elif isinstance(src, (str, os.PathLike)):
        data, what = _read_path(src, max_bytes)
    elif callable(getattr(src, "read", None)):
        data, what = _read_file_object(src, max_bytes)
    else:
        raise ImageLoadError(f"Cannot read an image from a {type(src).__name__}; pass {_ACCEPTED_TYPES}.")
    if not data:
        raise ImageLoadError(f"{what} is empty (0 bytes); choose a poster image file ({SUPPORTED_TEXT}).")
    if len(data) > max_bytes:
        raise ImageLoadError(f"{what} is larger than the {_mib(max_bytes)} limit; save the poster smaller "
                             f"(e.g. JPEG, 2000 px on the long side) and try again.")
    return data, what


def _read_path(src: str | os.PathLike, max_bytes: int) -> tuple[bytes, str]:
    text = os.fspath(src)
    if isinstance(text, bytes):
        text = os.fsdecode(text)
    if not text.strip():
        raise ImageLoadError("The image path is empty; pass the path of a poster image file.")
    if text.strip().lower().startswith(("http://", "https://")):
        raise ImageLoadError(f"{text!r} is a web address, not a file; use postergenre.sources.fetch.fetch_image(url) "
                             "to download it safely, or save the image and pass the file.")
    path = Path(text).expanduser()
    if path.is_dir():
        raise ImageLoadError(f"{path} is a folder, not an image file; pass one image file inside it.")
    if not path.is_file():
        raise ImageLoadError(f"No image file at {path}; check the path (it must exist and be readable).")
    size = path.stat().st_size
    if size > max_bytes:
        raise ImageLoadError(f"{path.name} is {_mib(size)}, over the {_mib(max_bytes)} limit; save the poster "
                             "smaller (e.g. JPEG, 2000 px on the long side) and try again.")
    try:
        with open(path, "rb") as f:
            return f.read(max_bytes + 1), f"The file {path.name}"
    except OSError as e:
        raise ImageLoadError(f"{path} could not be read ({e.strerror or e}); check its permissions.") from e


def _read_file_object(src: BinaryIO, max_bytes: int) -> tuple[bytes, str]:
    """At most ``max_bytes + 1`` bytes from an open file (or an upload object with .read and .name)."""
    name = getattr(src, "name", None)
    what = f"The file {Path(name).name}" if isinstance(name, str) and name else "The file object"
    try:
        data = src.read(max_bytes + 1)  # the caller owns the file and closes it
    except (OSError, ValueError) as e:  # closed file, unreadable stream, undecodable text
        raise ImageLoadError(f"{what} could not be read ({e}); pass an open binary file, bytes or a path.") from e
    if isinstance(data, str):
        raise ImageLoadError(f"{what} is opened in text mode; open it with open(path, 'rb') or pass the path itself.")
    return bytes(data or b""), what


def _open_encoded(data: bytes, what: str) -> Image.Image:
    """Open (header only) bytes of a supported format. Pillow's own bomb check raises over twice its
    MAX_IMAGE_PIXELS; between once and twice it only warns (silenced here: ``_check_size`` decides,
    refusing or, for a large baseline JPEG, decoding at a reduced scale)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(data), formats=SUPPORTED_FORMATS)
    except Image.DecompressionBombError as e:
        raise ImageLoadError(f"{what} declares too many pixels to decode safely ({e}); "
                             "resize the poster (e.g. 2000 px on the long side) and try again.") from e
    except Image.UnidentifiedImageError as e:
        raise ImageLoadError(f"{what} is {_describe_non_image(data)}.") from e
    except Exception as e:  # a header that crashes a decoder is a corrupt file, not our bug
        raise _damaged(what, e, header=True) from e


def _damaged(what: str, e: Exception, header: bool = False) -> ImageLoadError:
    """The message for a file whose header or pixels fail to decode. Data that ends inside the pixels is
    a file cut off; inside the header it is as often garbage after a valid signature."""
    reason = "is a damaged image file"
    if "truncated" in str(e).lower():
        reason = "is damaged or cut off (truncated)" if header else "is cut off (truncated)"
    return ImageLoadError(f"{what} {reason} and cannot be decoded ({e}); re-download or re-export the "
                          "poster and try again.")


def _describe_non_image(data: bytes) -> str:
    head = data[:512]
    for magic, text in _KNOWN_NON_IMAGES:
        if head.startswith(magic):
            return text
    if head[4:8] == b"ftyp":  # ISO media: AVIF opens above, so this is HEIC, a video, or a damaged AVIF
        if head[8:12] in (b"avif", b"avis"):
            return "a damaged AVIF file; re-export or re-download it"
        return "a HEIC image or a video, which is not supported; save the poster as JPEG, PNG or AVIF"
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<!doctype html", b"<html", b"<head", b"<body")) or b"<html" in stripped:
        return ("a web page (HTML), not an image; if you copied a link, use the image's own address "
                "(right-click the poster, 'Copy image address')")
    if stripped.startswith(b"<svg") or (stripped.startswith(b"<?xml") and b"<svg" in stripped):
        return "an SVG drawing, which is not supported; export the poster as PNG or JPEG"
    if _looks_like_text(head):
        return f"text, not an image; choose a poster image file ({SUPPORTED_TEXT})"
    return f"not an image in a supported format; use {SUPPORTED_TEXT}"


def _looks_like_text(head: bytes) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return all(c >= 32 or c in b"\t\r\n" for c in head)


# --- checks and decoding ------------------------------------------------------------------------

def _pixel_cap(max_pixels: int) -> int:
    """``max_pixels``, capped by Pillow's MAX_IMAGE_PIXELS (read, never changed)."""
    return min(max_pixels, Image.MAX_IMAGE_PIXELS) if Image.MAX_IMAGE_PIXELS else max_pixels


def _reduced_scale(image: Image.Image, data: bytes, max_pixels: int) -> int:
    """1 when the image fits ``max_pixels``, or cannot be decoded at a reduced scale within the bounds;
    else (a sequential JPEG of one scan: libjpeg keeps a row of blocks, never the whole coefficient
    image) the smallest DCT scale, 2, 4 or 8, at which it fits."""
    width, height = image.size
    if width * height <= max_pixels or image.format not in ("JPEG", "MPO"):
        return 1
    if image.info.get("progressive") or image.info.get("progression") or _count_jpeg_scans(data) != 1:
        return 1
    return next((s for s in (2, 4, 8) if -(-width // s) * -(-height // s) <= max_pixels), 1)


def _draft_scale(size: tuple[int, int], draft: tuple[int, int]) -> int:
    """The DCT scale (1, 2, 4, 8) Pillow's ``draft`` picks for ``size``: the largest no smaller than ``draft``."""
    ratio = min(size[0] // max(1, int(draft[0])), size[1] // max(1, int(draft[1])))
    return next((s for s in (8, 4, 2) if ratio >= s), 1)


def _too_large_hint(image: Image.Image) -> str:
    """What to do with an image over the pixel limit, by its kind (a JPEG this large is progressive or has
    several scans: no reduced decode within the bounds)."""
    kind = "baseline, not progressive" if image.format in ("JPEG", "MPO") else "baseline"
    return (f"resize it (e.g. 2000 px on the long side), or save it as an ordinary ({kind}) JPEG, which is read "
            "at a reduced scale")


def _check_size(size: tuple[int, int], *, max_pixels: int, max_aspect: float, min_side: int,
                hint: str = "resize it (e.g. 2000 px on the long side)") -> None:
    """Refuse bombs, strips and specks, from the header alone. Pillow's MAX_IMAGE_PIXELS (read, never
    changed) also caps max_pixels, so its decompression-bomb *warning* is an error here too, without
    touching the process-wide warning filters (which is not thread-safe)."""
    max_pixels = _pixel_cap(max_pixels)
    width, height = size
    if width * height > max_pixels:
        raise ImageLoadError(f"The image is {width}x{height} = {width * height / 1e6:.1f} megapixels, over the "
                             f"{max_pixels / 1e6:g} MP limit; {hint}.")
    if min(width, height) > 0 and max(width, height) / min(width, height) > max_aspect:
        raise ImageLoadError(f"The image is {width}x{height}, a {max(width, height) / min(width, height):.0f}:1 "
                             f"strip, not a poster (limit {max_aspect:g}:1); crop it to the poster itself.")
    if min(width, height) < min_side:
        raise ImageLoadError(f"The image is only {width}x{height} pixels; use a poster at least "
                             f"{min_side} px on each side (a few hundred is best).")


def _check_work(image: Image.Image, data: bytes, what: str) -> None:
    """Refuse inputs whose decoding costs far more than their pixel count says, before decoding."""
    if image.format in ("JPEG", "MPO"):
        scans = _count_jpeg_scans(data)
        if scans > MAX_JPEG_SCANS:
            raise ImageLoadError(f"{what} is a JPEG with {scans} scans (real ones have about 10, at most "
                                 f"{MAX_JPEG_SCANS} are decoded); re-save it as an ordinary JPEG and try again.")
        work = _jpeg_scan_megapixels(data, image)
        if work > MAX_JPEG_SCAN_MEGAPIXELS:
            raise ImageLoadError(f"{what} is a {image.width}x{image.height} JPEG with {scans} scans, which would take "
                                 f"{work:.0f} megapixel-passes to decode (at most {MAX_JPEG_SCAN_MEGAPIXELS} are "
                                 "decoded); re-save it as an ordinary (baseline) JPEG, or smaller, and try again.")
    codec = image.tile[0][0] if getattr(image, "tile", None) else None
    cap = _SLOW_CODECS.get(codec or "")
    if cap and image.width * image.height > cap:
        raise ImageLoadError(f"{what} is a run-length compressed {image.format} of {image.width}x{image.height} "
                             f"pixels, over the {cap / 1e6:g} MP limit for this slow format; save the poster as "
                             "PNG or JPEG (or smaller) and try again.")


def _count_jpeg_scans(data: bytes) -> int:
    """Start-of-scan markers of the JPEG's main image (0: none found)."""
    first = _first_scan(data)
    return 0 if first < 0 else 1 + data.count(b"\xff\xda", first + 2)


def _first_scan(data: bytes) -> int:
    """Offset of the main image's first start-of-scan marker, -1 if none. Header segments (APPn: EXIF
    thumbnails...) are skipped by their lengths; in entropy-coded data 0xFF is always byte-stuffed,
    so every FF DA after the first scan starts another scan."""
    pos, n = 2, len(data)
    while pos + 4 <= n:
        if data[pos] != 0xFF:
            return -1  # not a marker where one must be: Pillow will find the damage
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker == 0xDA:
            return pos
        if marker in (0x01, *range(0xD0, 0xD8)):
            pos += 2
            continue
        pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    return -1


def _jpeg_scan_megapixels(data: bytes, image: Image.Image) -> float:
    """Decoding work of a JPEG's scans, in megapixels: for each scan (at most MAX_JPEG_SCANS, already
    checked), the pixels of the components it codes, chroma at its subsampled size. Sampling factors
    come from Pillow's parsed frame header (``image.layer``: id, h, v, table); a component a scan
    names that the frame lacks counts as full size."""
    layer = getattr(image, "layer", None) or []
    h_max = max((h for _, h, _, _ in layer), default=1) or 1
    v_max = max((v for _, _, v, _ in layer), default=1) or 1
    share = {cid: (h or 1) * (v or 1) / (h_max * v_max) for cid, h, v, _ in layer}
    megapixels, pos = image.width * image.height / 1e6, _first_scan(data)
    work = 0.0
    while pos >= 0 and pos + 5 <= len(data):
        count = data[pos + 4]
        ids = data[pos + 5:pos + 5 + 2 * count:2]
        work += megapixels * sum(share.get(cid, 1.0) for cid in ids) if ids else megapixels
        pos = data.find(b"\xff\xda", pos + 2)
    return work


def _decoded(image: Image.Image, what: str) -> Image.Image:
    """Decode pixels now (first frame), so a truncated or corrupt file fails here, loudly."""
    try:
        image.load()  # ImageFile.LOAD_TRUNCATED_IMAGES stays False: truncation raises OSError
    except Exception as e:
        raise _damaged(what, e) from e
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # malformed EXIF: keep the pixels as stored
        upright = image
    return upright if upright is not None else image


def _to_rgb(image: Image.Image, owned: bool = False) -> Image.Image:
    """An RGB image: alpha composited on white, high-bit-depth scaled by its range, CMYK via ICC.
    A new image, unless ``owned`` (we decoded it ourselves) and it is RGB already."""
    mode = image.mode
    if mode == "RGB":
        return image if owned else image.copy()
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _scale_to_8bit(image).convert("RGB")
    if mode == "P":
        has_alpha = "transparency" in image.info or image.palette is not None and image.palette.mode == "RGBA"
        return _on_white(image.convert("RGBA")) if has_alpha else image.convert("RGB")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        return _on_white(image.convert("RGBA"))
    if mode in ("L", "1") and "transparency" in image.info:
        return _on_white(image.convert("RGBA"))
    if mode == "CMYK" and image.info.get("icc_profile"):
        converted = _cmyk_with_profile(image)
        if converted is not None:
            return converted
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as e:
        raise ImageLoadError(f"The image uses the {mode} colour mode, which cannot be converted to RGB; "
                             "save the poster as an ordinary RGB JPEG or PNG.") from e


def _on_white(rgba: Image.Image) -> Image.Image:
    background = Image.new("RGB", rgba.size, _WHITE)
    background.paste(rgba, mask=rgba.getchannel("A"))
    return background


def _scale_to_8bit(image: Image.Image) -> Image.Image:
    """Stretch a 16/32-bit or float greyscale image's actual value range onto 0..255.

    Memory stays near the image's own size: 16-bit values go through a 65,536-entry lookup table,
    32-bit and float ones are scaled in float32 blocks of rows (non-finite values become 0)."""
    values = np.asarray(image)
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        low, high = int(values.min()), int(values.max())
        levels = np.arange(int(np.iinfo(values.dtype).max) + 1, dtype=np.float32)
        lut = np.zeros_like(levels) if high == low else (levels - low) * np.float32(255.0 / (high - low))
        return Image.fromarray(lut.round().clip(0, 255).astype(np.uint8)[values], "L")
    low, high = _finite_range(values)
    out = np.zeros(values.shape, np.uint8)
    if high is None or high <= low:
        return Image.fromarray(out, "L")
    factor = 255.0 / (high - low)
    for start in range(0, values.shape[0], _SCALE_BLOCK_ROWS):
        block = values[start:start + _SCALE_BLOCK_ROWS].astype(np.float64 if values.dtype.itemsize > 4 else np.float32)
        block = (block - low) * factor
        block[~np.isfinite(block)] = 0.0
        out[start:start + _SCALE_BLOCK_ROWS] = block.round().clip(0, 255).astype(np.uint8)
    return Image.fromarray(out, "L")


def _finite_range(values: np.ndarray) -> tuple[float | None, float | None]:
    """(min, max) of the finite values, block by block; (None, None) when there are none."""
    if values.dtype.kind in "iu":
        return float(values.min()), float(values.max())
    low = high = None
    for start in range(0, values.shape[0], _SCALE_BLOCK_ROWS):
        block = values[start:start + _SCALE_BLOCK_ROWS]
        finite = block[np.isfinite(block)]
        if finite.size:
            lo, hi = float(finite.min()), float(finite.max())
            low, high = (lo, hi) if low is None else (min(low, lo), max(high, hi))
    return low, high


def _cmyk_with_profile(image: Image.Image) -> Image.Image | None:
    """Convert CMYK through its embedded ICC profile to sRGB; None if colour management fails."""
    try:
        from PIL import ImageCms

        source = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        return ImageCms.profileToProfile(image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:  # missing littlecms, broken profile: fall back to Pillow's plain conversion
        return None


def _array_to_image(array: np.ndarray) -> Image.Image:
    """HxW, HxWx1, HxWx3 or HxWx4 arrays of uint8 (0..255), bool, or floats in 0..1."""
    shape = array.shape
    if array.ndim == 3 and shape[0] in (1, 3, 4) and shape[2] not in (1, 3, 4):
        raise ImageLoadError(f"The array has shape {shape}, channels first; pass HxWxC, e.g. "
                             "array.transpose(1, 2, 0).")
    if array.ndim == 3 and shape[2] == 1:
        array = array[:, :, 0]
    if not (array.ndim == 2 or (array.ndim == 3 and array.shape[2] in (3, 4))):
        raise ImageLoadError(f"The array has shape {shape}; pass HxW (grey), HxWx3 (RGB) or HxWx4 (RGBA).")
    if array.size == 0:
        raise ImageLoadError(f"The array has shape {shape} and holds no pixels; pass a real image.")
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif np.issubdtype(array.dtype, np.floating):
        if not np.isfinite(array).all() or array.min() < 0 or array.max() > 1:
            raise ImageLoadError("Float arrays must hold finite values in 0..1; scale yours "
                                 "(e.g. array / 255) or pass uint8 values 0..255.")
        array = (array * 255.0).round().astype(np.uint8)
    elif np.issubdtype(array.dtype, np.integer):
        if array.min() < 0 or array.max() > 255:
            raise ImageLoadError(f"Integer arrays must hold values 0..255 (got {array.min()}..{array.max()}); "
                                 "convert to uint8 first.")
        array = array.astype(np.uint8)
    else:
        raise ImageLoadError(f"Arrays of dtype {array.dtype} are not images; pass uint8 (0..255) or floats in 0..1.")
    return Image.fromarray(np.ascontiguousarray(array))  # uint8 HxW -> L, HxWx3 -> RGB, HxWx4 -> RGBA


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB" if n < 2**30 else f"{n / 2**30:.1f} GiB"
