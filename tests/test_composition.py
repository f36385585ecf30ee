"""Composition measures against synthetic images whose answers are known, and analyze_poster's API."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from fixtures import jpeg_bytes, make_poster
from postergenre.errors import ImageLoadError
from postergenre.look import composition as C
from postergenre.look.analysis import MEASURES, analyze_poster
from postergenre.look.palette import rgb_to_lab


def solid(rgb, h=256, w=174) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (h, w, 3)).copy()


def test_pure_red():
    img = solid((255, 0, 0))
    lab = rgb_to_lab(img)
    assert C.brightness(lab) == pytest.approx(53.24, abs=0.1)
    assert C.contrast(lab) == pytest.approx(0.0, abs=1e-3)
    assert C.saturation(img) == pytest.approx(1.0)
    assert C.warm_cool_shares(img) == pytest.approx((1.0, 0.0))
    assert C.dominant_hue(C.hue_histogram(img)) == "red"
    # rg = 255, yb = 127.5 everywhere: no spread, so M = 0.3 * sqrt(255² + 127.5²)
    assert C.colourfulness(img) == pytest.approx(0.3 * np.hypot(255, 127.5), rel=1e-4)


def test_blue_is_cool_and_grey_has_no_hue():
    blue = solid((30, 60, 220))
    assert C.warm_cool_shares(blue) == pytest.approx((0.0, 1.0))
    assert C.dominant_hue(C.hue_histogram(blue)) == "blue"
    grey = solid((128, 128, 128))
    assert C.warm_cool_shares(grey) == (0.0, 0.0)
    assert C.hue_histogram(grey).sum() == 0 and C.dominant_hue(C.hue_histogram(grey)) == "none"
    assert C.saturation(grey) == 0.0 and C.colourfulness(grey) == pytest.approx(0.0)


def test_black_white_split_left_right():
    img = np.zeros((256, 174, 3), np.uint8)
    img[:, 87:] = 255
    lab = rgb_to_lab(img)
    assert C.brightness(lab) == pytest.approx(50.0, abs=0.1)
    assert C.contrast(lab) == pytest.approx(50.0, abs=0.1)
    assert C.symmetry(lab) < 0.05                      # each side mirrors onto its opposite
    top_bottom = np.zeros_like(img)
    top_bottom[128:] = 255
    assert C.symmetry(rgb_to_lab(top_bottom)) == pytest.approx(1.0, abs=1e-3)


def test_mirrored_pattern_is_symmetric_and_random_is_not():
    rng = np.random.default_rng(0)
    half = np.repeat(np.repeat(rng.integers(0, 256, (32, 11, 3), dtype=np.uint8), 8, 0), 8, 1)
    mirrored = np.concatenate([half, half[:, ::-1]], axis=1)
    assert C.symmetry(rgb_to_lab(mirrored)) > 0.97
    noise = np.repeat(np.repeat(rng.integers(0, 256, (32, 22, 3), dtype=np.uint8), 8, 0), 8, 1)
    assert C.symmetry(rgb_to_lab(noise)) < 0.85


def stripes_on_right() -> np.ndarray:
    img = np.full((256, 174, 3), 100, np.uint8)
    img[:, 120:][:, (np.arange(54) // 3) % 2 == 0] = 255   # 3-px vertical stripes in the right third
    return img


def test_visual_weight_sits_where_the_edges_are():
    img = stripes_on_right()
    weight = C.visual_weight_map(rgb_to_lab(img))
    assert weight.sum() == pytest.approx(1.0)
    x, y = C.weight_centre(weight)
    assert x > 0.7 and y == pytest.approx(0.5, abs=0.02)
    assert C.balance(weight) < 0.2
    x_flipped, _ = C.weight_centre(C.visual_weight_map(rgb_to_lab(img[:, ::-1])))
    assert x_flipped < 0.3
    assert C.edge_density(img) > 0.1


def test_flat_image_has_centred_even_weight_and_no_edges():
    lab = rgb_to_lab(solid((40, 90, 160)))
    weight = C.visual_weight_map(lab)
    assert C.weight_centre(weight) == pytest.approx((0.5, 0.5), abs=1e-6)
    assert C.thirds_share(weight) == pytest.approx(5 / 9, abs=0.03)  # bands cover 5/9 of the area
    assert C.balance(weight) == pytest.approx(1.0)
    assert C.edge_density(solid((40, 90, 160))) == 0.0


def test_thirds_share_is_high_for_content_on_a_third_line():
    img = np.full((258, 174, 3), 90, np.uint8)
    img[:, 56:60] = 255    # a bright bar on the left third line (x = 58)
    assert C.thirds_share(C.visual_weight_map(rgb_to_lab(img))) > 0.9


def face_card(face: int = 120) -> np.ndarray:
    """A drawn face: skin ellipse, eyes with pupils, brows, nose, mouth, hair, on a dark backdrop."""
    size = 256
    im = Image.new("RGB", (size, int(size * 1.4)), (40, 40, 60))
    d = ImageDraw.Draw(im)
    cx, cy, w, h = size // 2, int(size * 0.6), face, int(face * 1.3)
    d.ellipse([cx - w // 2, cy - h // 2, cx + w // 2, cy + h // 2], fill=(225, 180, 150))
    ey, ex, er = cy - h * 0.12, w * 0.2, w * 0.07
    for sx in (-1, 1):
        d.ellipse([cx + sx * ex - er * 1.6, ey - er, cx + sx * ex + er * 1.6, ey + er], fill=(255, 255, 255))
        d.ellipse([cx + sx * ex - er * 0.8, ey - er * 0.8, cx + sx * ex + er * 0.8, ey + er * 0.8], fill=(30, 20, 20))
        d.line([cx + sx * ex - er * 2, ey - er * 2.2, cx + sx * ex + er * 2, ey - er * 2.4], fill=(60, 40, 30),
               width=max(2, int(er * 0.7)))
    d.polygon([(cx, ey + er), (cx - er * 1.2, cy + h * 0.12), (cx + er * 1.2, cy + h * 0.12)], fill=(200, 150, 120))
    d.ellipse([cx - w * 0.18, cy + h * 0.2, cx + w * 0.18, cy + h * 0.28], fill=(150, 60, 60))
    d.ellipse([cx - w * 0.55, cy - h * 0.65, cx + w * 0.55, cy - h * 0.25], fill=(60, 40, 20))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(1.5)))


@pytest.mark.parametrize("face", [90, 130])
def test_face_card_is_found_where_it_was_drawn(face):
    img = face_card(face)
    h, w = img.shape[:2]
    boxes = C.detect_faces(img)
    assert len(boxes) == 1
    b = boxes[0]
    assert abs(b.x + b.w / 2 - 0.5) < 0.05 and abs(b.y + b.h / 2 - 0.6 * 256 / h) < 0.08
    assert 0.5 * face / w < b.w < 1.5 * face / w
    assert C.face_share(boxes, (h, w)) == pytest.approx(b.w * b.h, rel=0.1)


def test_no_faces_on_blank_or_plain_poster():
    assert C.detect_faces(solid((200, 200, 200))) == []
    assert C.face_share([], (256, 174)) == 0.0


def text_card() -> np.ndarray:
    im = Image.new("RGB", (180, 256), (250, 250, 245))
    d = ImageDraw.Draw(im)
    d.text((12, 20), "THE LAST", font=ImageFont.load_default(size=22), fill=(20, 20, 20))
    d.text((12, 50), "SUMMER", font=ImageFont.load_default(size=22), fill=(20, 20, 20))
    return np.asarray(im)


@pytest.mark.skipif(not C.text_available(), reason="optional text detector (rapidocr) not installed")
def test_text_coverage_finds_printed_title_and_nothing_on_blank():
    img = text_card()
    polys = C.detect_text(img)
    assert len(polys) >= 1
    share = C.text_share(polys, img.shape[:2])
    assert 0.03 < share < 0.3
    ys = np.concatenate([p[:, 1] for p in polys])
    assert ys.max() < 110  # the text is in the top part of the card
    assert C.text_share(C.detect_text(solid((128, 128, 128))), (256, 174)) == 0.0


def text_page(width: int = 1280, height: int = 800, font: int = 11) -> Image.Image:
    """A screenshot of a page of small text (lines of 11 px letters, as a browser shows them)."""
    im = Image.new("RGB", (width, height), (255, 255, 255))
    d = ImageDraw.Draw(im)
    words = "the quick brown fox jumps over a lazy dog while pages of ordinary text scroll by".split()
    rng = np.random.default_rng(0)
    for y in range(10, height - font, int(font * 1.2)):
        d.text((10, y), " ".join(rng.choice(words, 60)), font=ImageFont.load_default(size=font), fill=(20, 20, 20))
    return im


@pytest.mark.skipif(not C.text_available(), reason="optional text detector (rapidocr) not installed")
def test_text_coverage_of_a_screenshot_of_text_is_measured_where_the_letters_can_be_seen():
    """At a poster thumbnail's scale the letters of a screenshot shrink to ~4 px and the detector saw no
    text at all (0%): the closer look finds the page of text."""
    page = text_page()
    a = analyze_poster(page)
    assert a.measures["text_share"] > 0.3
    assert C.text_share(C.detect_text(np.asarray(page)), (800, 1280)) > 0.3


@pytest.mark.skipif(not C.text_available(), reason="optional text detector (rapidocr) not installed")
def test_a_large_poster_keeps_the_first_look(monkeypatch):
    """A poster's coverage stays comparable with the atlas's (measured on thumbnails): a 4x copy of a
    poster with a title is not looked at again, and a small image never is."""
    card = Image.fromarray(text_card())
    calls = []
    real = C._closer_look
    monkeypatch.setattr(C, "_closer_look", lambda *a: calls.append(1) or real(*a))
    small = C.text_share(C.detect_text(card), (256, 174))
    big = card.resize((card.width * 4, card.height * 4), Image.Resampling.BICUBIC)
    assert C.text_share(C.detect_text(big, (256, 174)), (256, 174)) == pytest.approx(small, abs=0.05)
    C.detect_text(text_page(width=300, height=200))  # small: the first look is all there is
    assert len(calls) <= 1


def test_analyze_poster_returns_every_measure_and_json():
    poster = make_poster(seed=1)
    a = analyze_poster(jpeg_bytes(poster, quality=92), k=5)
    assert a.size == poster.size
    assert set(a.measures) == set(MEASURES)
    assert 1 <= len(a.palette) <= 5
    assert sum(a.hue_histogram.values()) == pytest.approx(1.0)
    d = json.loads(json.dumps(a.to_dict()))
    assert d["text_available"] == C.text_available()
    assert (d["measures"]["text_share"] is None) == (not C.text_available())
    for key, value in d["measures"].items():
        assert value is None or np.isfinite(value), key


def test_analyze_poster_is_deterministic_and_rejects_garbage():
    poster = make_poster(seed=2)
    assert analyze_poster(poster).to_dict() == analyze_poster(poster).to_dict()
    with pytest.raises(ImageLoadError):
        analyze_poster(b"this is not an image")


def test_large_poster_is_measured_on_a_small_copy():
    big = Image.fromarray(stripes_on_right()).resize((1740, 2560), Image.Resampling.NEAREST)
    a = analyze_poster(big)
    assert a.size == (1740, 2560)
    assert a.measures["weight_x"] > 0.7


def test_analyze_command_json_and_errors(tmp_path, capsys):
    from postergenre.cli import main

    path = tmp_path / "poster.png"
    Image.fromarray(solid((255, 0, 0))).save(path)
    assert main(["analyze", str(path), "--json", "-k", "3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["palette"][0]["hex"] == "#FF0000" and out["dominant_hue"] == "red"
    assert out["measures"]["warm_share"] == pytest.approx(1.0)
    assert main(["analyze", str(tmp_path / "missing.jpg")]) == 2
    assert "missing.jpg" in capsys.readouterr().err
