"""Palette extraction against images whose colours are known."""
from __future__ import annotations

import numpy as np
import pytest

from fixtures import make_poster
from postergenre.look.palette import PaletteConfig, colour_name, extract_palette, lab_to_rgb, rgb_to_lab


def solid(rgb, h=120, w=80) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, dtype=np.uint8), (h, w, 3)).copy()


def test_pure_red_is_one_colour_share_one():
    palette = extract_palette(solid((255, 0, 0)))
    assert len(palette) == 1
    (c,) = palette
    assert c.hex == "#FF0000" and c.rgb == (255, 0, 0)
    assert c.share == pytest.approx(1.0)
    assert c.name == "red"
    assert c.lab[0] == pytest.approx(53.24, abs=0.1)  # L* of sRGB red


def test_shares_of_three_blocks():
    img = np.zeros((100, 100, 3), np.uint8)
    img[:50] = (0, 0, 255)          # 50% blue
    img[50:80] = (255, 255, 255)    # 30% white
    img[80:] = (0, 128, 0)          # 20% green
    palette = extract_palette(img)
    assert [c.hex for c in palette] == ["#0000FF", "#FFFFFF", "#008000"]
    assert [c.share for c in palette] == pytest.approx([0.5, 0.3, 0.2], abs=1e-9)
    assert [c.name for c in palette] == ["blue", "white", "green"]


def test_k_bounds_and_shares_sum_to_one_on_a_busy_poster():
    img = np.asarray(make_poster(seed=3))
    for k in (1, 3, 6, 9):
        palette = extract_palette(img, PaletteConfig(k=k))
        assert 1 <= len(palette) <= k
        assert sum(c.share for c in palette) == pytest.approx(1.0)
        shares = [c.share for c in palette]
        assert shares == sorted(shares, reverse=True)
    assert len(extract_palette(img, PaletteConfig(k=6))) >= 4  # a colourful poster keeps most clusters


def test_palette_is_deterministic():
    img = np.asarray(make_poster(seed=7))
    assert extract_palette(img) == extract_palette(img)


def test_colour_names_and_lab_round_trip():
    assert colour_name(rgb_to_lab(np.array([0, 0, 0], np.uint8))) == "black"
    assert colour_name(rgb_to_lab(np.array([255, 255, 255], np.uint8))) == "white"
    assert colour_name(rgb_to_lab(np.array([250, 235, 20], np.uint8))) == "yellow"
    colours = np.array([[255, 0, 0], [12, 200, 33], [90, 90, 200], [0, 0, 0]], np.uint8)
    assert np.array_equal(lab_to_rgb(rgb_to_lab(colours)), colours)
