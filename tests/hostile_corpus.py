"""A generated corpus of hostile images (issue 11): bombs in each format, 16-bit/float giants,
progressive-JPEG scan bombs, RLE BMPs, frame bombs, EXIF abuse, polyglots, truncations.

``CASES[name]()`` builds one case's bytes (generated, nothing binary in the repo; most are a few KB to
a few hundred KB). Every case must decode or raise ImageLoadError within the limits below, measured
in a subprocess per case by ``measure`` (tests/test_hostile_images.py, benchmarks/hostile_images.py).
Cases in MUST_FAIL must raise. Add new cases here; the test picks them up.

Run one case: ``python tests/hostile_corpus.py FILE`` prints JSON {outcome, cpu_s, wall_s, rss_mib}.
"""
from __future__ import annotations

import io
import json
import os
import resource
import struct
import sys
import time
import zlib
from typing import Callable

import numpy as np
from PIL import Image

CASES: dict[str, Callable[[], bytes]] = {}


def case(fn: Callable[[], bytes]) -> Callable[[], bytes]:
    CASES[fn.__name__] = fn
    return fn


def _save(image: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _png_raw(width: int, height: int, bit_depth: int, colour: int, row: bytes, extra: bytes = b"") -> bytes:
    """A PNG whose every row is ``row`` (after filter byte 0), compressed in a streaming way."""
    comp = zlib.compressobj(9)
    line = b"\x00" + row
    parts, chunk = [], line * max(1, (1 << 20) // len(line))
    rows_per_chunk = len(chunk) // len(line)
    done = 0
    while done < height:
        n = min(rows_per_chunk, height - done)
        parts.append(comp.compress(chunk[: n * len(line)]))
        done += n
    parts.append(comp.flush())
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + extra + _png_chunk(b"IDAT", b"".join(parts))
            + _png_chunk(b"IEND", b""))


# --- pixel bombs in each format ---------------------------------------------------------------------

@case
def png_bomb_100mp() -> bytes:
    return _png_raw(10_000, 10_000, 8, 0, bytes(10_000))


@case
def png_bomb_2gp() -> bytes:  # over twice Pillow's own cap: DecompressionBombError
    return _png_raw(50_000, 40_000, 1, 0, bytes(50_000 // 8))[:4096]


@case
def png_rgba_39mp() -> bytes:  # just under the cap, with alpha: composited on white
    return _png_raw(6300, 6300, 8, 6, bytes(6300 * 4))


@case
def png_palette_39mp_trns() -> bytes:
    plte = _png_chunk(b"PLTE", bytes(range(256)) * 3) + _png_chunk(b"tRNS", b"\x00" * 16)
    return _png_raw(6300, 6300, 8, 3, bytes(6300), extra=plte)


@case
def png_16bit_grey_39mp() -> bytes:
    return _png_raw(6300, 6300, 16, 0, bytes(range(256)) * (6300 * 2 // 256) + bytes(6300 * 2 % 256))


@case
def png_16bit_rgba_39mp() -> bytes:
    return _png_raw(6300, 6300, 16, 6, b"\x12\x34" * (6300 * 4))


@case
def png_huge_ztxt() -> bytes:  # a text-chunk zip bomb
    text = _png_chunk(b"zTXt", b"k\x00\x00" + zlib.compress(b"a" * (64 << 20), 9))
    return _png_raw(64, 64, 8, 0, bytes(64), extra=text)


@case
def png_huge_iccp() -> bytes:
    icc = _png_chunk(b"iCCP", b"p\x00\x00" + zlib.compress(b"\x00" * (64 << 20), 9))
    return _png_raw(64, 64, 8, 2, bytes(64 * 3), extra=icc)


@case
def gif_bomb_39mp() -> bytes:
    return _save(Image.new("P", (6300, 6300), 3), "GIF")


@case
def gif_logical_screen_huge() -> bytes:  # a small frame on a 65535x65535 canvas
    data = bytearray(_save(Image.new("P", (64, 64), 1), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


@case
def gif_frame_bomb() -> bytes:  # 5000 frames
    frames = [Image.new("P", (64, 64), i % 256) for i in range(5000)]
    return _save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=10)


@case
def gif_frame_offscreen() -> bytes:  # a frame placed far outside the logical screen
    data = bytearray(_save(Image.new("P", (64, 64), 1), "GIF"))
    i = data.index(b"\x2c")  # image descriptor
    data[i + 1:i + 5] = struct.pack("<HH", 60000, 60000)
    return bytes(data)


@case
def webp_lossless_39mp() -> bytes:
    return _save(Image.new("RGB", (6300, 6300), (10, 20, 30)), "WEBP", lossless=True, method=0)


@case
def webp_animated_frames() -> bytes:
    frames = [Image.new("RGB", (256, 256), (i, 0, 0)) for i in range(300)]
    return _save(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=10, method=0, quality=10)


@case
def apng_frame_bomb() -> bytes:
    frames = [Image.new("RGB", (512, 512), (i % 256, 0, 0)) for i in range(400)]
    return _save(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=10)


@case
def tiff_bomb_100mp() -> bytes:
    return _save(Image.new("L", (10_000, 10_000)), "TIFF", compression="tiff_deflate")


@case
def tiff_16bit_39mp() -> bytes:
    a = np.full((6300, 6300), 4000, np.uint16)
    a[:, ::700] = 60000
    return _save(Image.fromarray(a), "TIFF", compression="tiff_deflate")


@case
def tiff_float_39mp() -> bytes:
    a = np.full((6300, 6300), 0.25, np.float32)
    a[::500, ::500] = 1e6
    a[0, 0] = np.nan
    a[0, 1] = np.inf
    return _save(Image.fromarray(a, "F"), "TIFF", compression="tiff_deflate")


@case
def tiff_int32_39mp() -> bytes:
    a = np.full((6300, 6300), -2**30, np.int32)
    a[::300, :] = 2**30
    return _save(Image.fromarray(a, "I"), "TIFF", compression="tiff_deflate")


@case
def tiff_many_pages() -> bytes:
    pages = [Image.new("L", (32, 32), i % 256) for i in range(2000)]
    return _save(pages[0], "TIFF", save_all=True, append_images=pages[1:])


@case
def tiff_cmyk_39mp() -> bytes:
    return _save(Image.new("CMYK", (6300, 6300), (0, 50, 100, 0)), "TIFF", compression="tiff_deflate")


@case
def tiff_header_lies() -> bytes:  # declares 40000x40000 with almost no data
    data = bytearray(_save(Image.new("L", (64, 64)), "TIFF"))
    return bytes(data).replace(struct.pack("<HHIH", 256, 3, 1, 64), struct.pack("<HHIH", 256, 3, 1, 40000), 1)


@case
def bmp_rle8_39mp() -> bytes:
    return _bmp_rle(6300, 6300, 8)


@case
def bmp_rle4_39mp() -> bytes:
    return _bmp_rle(6300, 6300, 4)


@case
def bmp_plain_39mp_topdown() -> bytes:
    data = bytearray(_save(Image.new("RGB", (6300, 6300), (1, 2, 3)), "BMP"))
    data[22:26] = struct.pack("<i", -6300)  # top-down
    return bytes(data)


@case
def bmp_header_lies() -> bytes:
    data = bytearray(_save(Image.new("RGB", (64, 64)), "BMP"))
    data[18:26] = struct.pack("<ii", 6000, 6000)
    return bytes(data)


def _bmp_rle(width: int, height: int, bits: int) -> bytes:
    """An RLE-compressed BMP of a solid colour: per row runs of 255 pixels, then end-of-line."""
    row = bytearray()
    left = width
    while left:
        n = min(254 if bits == 4 else 255, left)
        row += bytes([n, 0x11 if bits == 4 else 1])
        left -= n
    row += b"\x00\x00"
    pixels = bytes(row) * height + b"\x00\x01"
    colours = 1 << bits
    palette = b"".join(bytes([i, i, i, 0]) for i in range(colours))
    offset = 14 + 40 + len(palette)
    header = b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, bits, 1 if bits == 8 else 2, len(pixels), 2835, 2835,
                       colours, 0)
    return header + info + palette + pixels


# --- JPEG ----------------------------------------------------------------------------------------

def _scan_bomb(scans: int, size: tuple[int, int] = (6000, 6600), colour: tuple[int, int, int] | None = None) -> bytes:
    """A progressive JPEG (grey; or ``colour`` at 4:4:4) followed by ``scans`` copies of its last (AC
    refinement) scan, the costliest kind to decode."""
    image = Image.new("L", size, 128) if colour is None else Image.new("RGB", size, colour)
    data = _save(image, "JPEG", progressive=True, quality=90, subsampling=0)
    last = data.rindex(b"\xff\xda")
    scan = data[last:-2]  # SOS + its entropy data, up to EOI
    return data[:-2] + scan * scans + b"\xff\xd9"


@case
def jpeg_scan_bomb_1000() -> bytes:
    return _scan_bomb(1000)


@case
def jpeg_scan_bomb_20000() -> bytes:
    return _scan_bomb(20000)


@case
def jpeg_scans_at_the_limit() -> bytes:  # 15 scans on 40 MP, just under the scan-work budget: decoded
    return _scan_bomb(9)


@case
def jpeg_scans_over_the_work_budget() -> bytes:  # 40 scans (the count limit) on 40 MP: refused by work
    return _scan_bomb(34)


@case
def jpeg_444_progressive_at_the_limit() -> bytes:  # 4:4:4 colour 39.7 MP, 10 + 1 scans: just under the budget
    return _scan_bomb(1, (6300, 6300), colour=(9, 80, 200))


@case
def jpeg_scan_bomb_small_image() -> bytes:  # many scans on a small image: cheap, but still absurd
    return _scan_bomb(5000, (600, 900))


@case
def jpeg_baseline_39mp() -> bytes:
    return _save(Image.new("RGB", (6300, 6300), (200, 30, 40)), "JPEG", quality=50)


@case
def jpeg_progressive_39mp() -> bytes:
    return _save(Image.new("RGB", (6300, 6300), (200, 30, 40)), "JPEG", quality=50, progressive=True)


@case
def jpeg_cmyk_39mp() -> bytes:
    return _save(Image.new("CMYK", (6300, 6300), (0, 50, 100, 0)), "JPEG", quality=50)


@case
def jpeg_exif_rotate_39mp() -> bytes:  # EXIF orientation 8 on a big image: the transpose copies it
    exif = Image.Exif()
    exif[0x0112] = 8
    return _save(Image.new("RGB", (6000, 6600), (5, 5, 5)), "JPEG", quality=50, exif=exif)


@case
def jpeg_exif_garbage() -> bytes:
    payload = b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + b"\xff\xff" + b"\x12\x01\x03\x00\xff\xff\xff\xff" * 2000
    return _jpeg_with_segment(0xE1, payload[:65000])


@case
def jpeg_exif_orientation_bad_value() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 77
    return _save(Image.new("RGB", (300, 450), (5, 5, 5)), "JPEG", exif=exif)


@case
def jpeg_exif_ifd_loop() -> bytes:  # IFD0's next-IFD offset points at itself
    ifd = struct.pack("<H", 1) + struct.pack("<HHII", 0x0112, 3, 1, 6) + struct.pack("<I", 8)
    return _jpeg_with_segment(0xE1, b"Exif\x00\x00II*\x00\x08\x00\x00\x00" + ifd)


@case
def jpeg_many_app_segments() -> bytes:  # 2000 APP2 ICC chunks
    base = _save(Image.new("RGB", (300, 450)), "JPEG")
    seg = b"\xff\xe2" + struct.pack(">H", 65000) + b"ICC_PROFILE\x00\x01\x01" + bytes(65000 - 16)
    return base[:2] + seg * 300 + base[2:]


@case
def jpeg_header_lies() -> bytes:  # SOF says 6000x6000, data is for 64x64
    data = bytearray(_save(Image.new("RGB", (64, 64)), "JPEG"))
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", 6000, 6000)
    return bytes(data)


@case
def jpeg_huge_declared() -> bytes:  # 65000x65000 in the header
    data = bytearray(_save(Image.new("RGB", (64, 64)), "JPEG"))
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", 65000, 65000)
    return bytes(data)


@case
def jpeg_print_96mp_baseline() -> bytes:  # 8000x12000 key art over the 40 MP limit: read at 1/2 scale
    return _save(Image.new("RGB", (8000, 12000), (200, 30, 40)), "JPEG", quality=50)


@case
def jpeg_print_170mp_grey() -> bytes:  # just under Pillow's hard limit (179 MP): read at 1/4 scale
    return _save(Image.new("L", (10000, 17000), 90), "JPEG", quality=50)


@case
def jpeg_print_96mp_progressive() -> bytes:  # over the limit and progressive: no reduced decode, refused
    return _save(Image.new("L", (8000, 12000), 90), "JPEG", quality=50, progressive=True)


@case
def jpeg_print_96mp_header_lies() -> bytes:  # SOF says 8000x12000, data is for 64x64 (padded grey, as above)
    data = bytearray(_save(Image.new("RGB", (64, 64)), "JPEG"))
    i = data.index(b"\xff\xc0")
    data[i + 5:i + 9] = struct.pack(">HH", 12000, 8000)
    return bytes(data)


def _jpeg_with_segment(marker: int, payload: bytes) -> bytes:
    base = _save(Image.new("RGB", (300, 450), (9, 9, 9)), "JPEG")
    return base[:2] + bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload + base[2:]


# --- polyglots and truncations ------------------------------------------------------------------

@case
def polyglot_jpeg_zip() -> bytes:
    return _save(Image.new("RGB", (300, 450), (1, 2, 3)), "JPEG") + b"PK\x03\x04" + bytes(1000)


@case
def polyglot_gif_html() -> bytes:
    return _save(Image.new("P", (300, 450)), "GIF") + b"<html><script>alert(1)</script></html>"


@case
def polyglot_html_png() -> bytes:
    return b"<html>" + _save(Image.new("RGB", (300, 450)), "PNG")


@case
def polyglot_pdf_jpeg() -> bytes:
    return b"%PDF-1.4\n" + _save(Image.new("RGB", (300, 450)), "JPEG")


@case
def avif_key_art_24mp() -> bytes:  # a large modern web format: decoded (libavif/dav1d) within the bounds
    return _save(_noise((400, 600)).resize((4000, 6000)), "AVIF", speed=10, quality=40)


@case
def avif_header_claims_81mp() -> bytes:  # ispe says 9000x9000, the AV1 data is 64x96: refused from the header
    data = bytearray(_save(Image.new("RGB", (64, 96), (9, 9, 9)), "AVIF", speed=10))
    at = data.find(b"ispe")
    data[at + 8:at + 16] = struct.pack(">II", 9000, 9000)
    return bytes(data)


def _noise(size=(600, 900)) -> Image.Image:
    return Image.fromarray(np.random.default_rng(0).integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


for _fmt, _kw in (("JPEG", {}), ("PNG", {}), ("WEBP", {}), ("AVIF", {"speed": 10}), ("GIF", {}), ("BMP", {}), ("TIFF", {})):
    for _frac in (0.5, 0.99):
        def _truncated(fmt=_fmt, kw=_kw, frac=_frac) -> bytes:
            data = _save(_noise().convert("P") if fmt == "GIF" else _noise(), fmt, **kw)
            return data[: int(len(data) * frac)]
        CASES[f"truncated_{_fmt.lower()}_{int(_frac * 100)}"] = _truncated

# cases that must be refused (never decode)
MUST_FAIL = {"png_bomb_100mp", "avif_header_claims_81mp", "png_bomb_2gp", "tiff_bomb_100mp", "jpeg_huge_declared", "gif_logical_screen_huge",
             "jpeg_scan_bomb_1000", "jpeg_scan_bomb_20000", "jpeg_scans_over_the_work_budget",
             "jpeg_scan_bomb_small_image", "polyglot_html_png", "polyglot_pdf_jpeg", "bmp_header_lies",
             "jpeg_print_96mp_progressive",
             *(n for n in CASES if n.startswith("truncated_"))}

CPU_LIMIT_S = 2.0        # decode CPU time per case (user + system)
RSS_LIMIT_MIB = 700      # peak resident memory above the process's baseline


def _peak_rss() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))


def measure(path: str) -> dict:
    """Decode one file with load_image in this process: outcome, CPU and wall seconds, peak RSS
    growth (MiB) over the baseline after imports. Meant for a fresh process per case."""
    from postergenre.errors import ImageLoadError
    from postergenre.sources.images import load_image

    with open(path, "rb") as f:
        data = f.read()
    base = _peak_rss()
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    try:
        image = load_image(data)
        outcome = f"ok {image.width}x{image.height}"
    except ImageLoadError as e:
        outcome = f"ImageLoadError: {e}"
    wall, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    return {"outcome": outcome, "wall_s": round(wall, 3),
            "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 3),
            "rss_mib": round((_peak_rss() - base) / 2**20, 1)}


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1])))
