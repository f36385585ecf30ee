"""Heatmaps as one labelled PNG sheet: the poster, then one tile per genre with "Genre · 87%" under it.
Used by `postergenre explain --out` and the app's heatmap download, so both save the same picture.

    sheet = heatmap_sheet(poster, explain(predictor, poster, ["Horror", "Thriller"]), alpha=0.6)
    sheet.save("heatmaps.png")
"""
from __future__ import annotations

import io
from typing import Sequence

from PIL import Image, ImageDraw, ImageFont

from postergenre.model.explain import Heatmap
from postergenre.sources.images import ImageSource, load_image

__all__ = ["heatmap_sheet", "heatmap_sheet_png"]

_PAD, _CAPTION = 12, 34   # px between tiles; caption band under each tile


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType
        return ImageFont.load_default()


def heatmap_sheet(image: ImageSource, heatmaps: Sequence[Heatmap], alpha: float = 0.6, colormap: str = "jet",
                  tile_height: int = 480, include_poster: bool = True) -> Image.Image:
    """The poster (when ``include_poster``) and each heatmap overlay side by side, every tile labelled
    under it with its genre and probability; tiles are scaled to ``tile_height`` px."""
    poster = load_image(image)
    scale = tile_height / poster.height
    size = (max(1, round(poster.width * scale)), tile_height)
    tiles = ([(poster, "Poster")] if include_poster else []) + [
        (h.overlay(poster, alpha, colormap), f"{h.genre} · {h.probability:.0%}") for h in heatmaps]
    sheet = Image.new("RGB", (_PAD + len(tiles) * (size[0] + _PAD), _PAD + tile_height + _CAPTION), "white")
    draw, font = ImageDraw.Draw(sheet), _font(max(12, min(20, size[0] // 12)))
    for i, (tile, label) in enumerate(tiles):
        x = _PAD + i * (size[0] + _PAD)
        sheet.paste(tile.convert("RGB").resize(size, Image.LANCZOS), (x, _PAD))
        text = label
        while draw.textlength(text, font=font) > size[0] and len(text) > 4:  # long genre names on thin posters
            text = text[:-2].rstrip() + "…" if not text.endswith("…") else text[:-2] + "…"
        width = draw.textlength(text, font=font)
        draw.text((x + (size[0] - width) / 2, _PAD + tile_height + 8), text, fill="#111", font=font)
    return sheet


def heatmap_sheet_png(image: ImageSource, heatmaps: Sequence[Heatmap], **kwargs) -> bytes:
    """``heatmap_sheet`` encoded as PNG bytes (for a download button or an API response)."""
    buf = io.BytesIO()
    heatmap_sheet(image, heatmaps, **kwargs).save(buf, "PNG", compress_level=6)  # optimize=True: ~5x slower
    return buf.getvalue()
