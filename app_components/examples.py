"""One-click example posters for a first visit, when the visitor has no poster file at hand.

    poster_in = poster_upload() or example_posters()     # the Predict page's Upload tab

With TMDB credentials configured (a deployment secret, or the visitor's own token for this session), the
examples are this week's trending films on TMDB (their w185 thumbnails; the picked one is downloaded at
w500, as the TMDB search does). Without credentials, or when TMDB cannot be reached, they are a few
posters of made-up films that this module draws with PIL: made by the project, labelled as such, never
real posters or posters from the dataset.
"""
from __future__ import annotations

import io
import random
from dataclasses import dataclass
from typing import Callable

import streamlit as st
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from app_components.inputs import PosterInput
from postergenre.errors import PosterGenreError

__all__ = ["example_posters", "forget_example", "DRAWN", "drawn_poster"]

THUMB_WIDTH = 92   # px: six in a row on a laptop, three on a phone
TRENDING_COUNT = 6
SIZE = (400, 600)  # drawn posters: 2:3, like a one-sheet
DRAWN_LABEL = "made-up film, poster drawn by postergenre"


# --- posters of made-up films, drawn with PIL (deterministic: the same picture on every run) -----------

def _font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)  # Pillow's bundled FreeType font: no system fonts needed


def _gradient(top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    w, h = SIZE
    column = Image.new("RGB", (1, h))
    column.putdata([tuple(round(a + (b - a) * y / (h - 1)) for a, b in zip(top, bottom)) for y in range(h)])
    return column.resize(SIZE)


def _title(draw: ImageDraw.ImageDraw, lines: list[tuple[str, int]], y: int, fill, stroke=None) -> None:
    """Centred text lines (text, size) from height ``y`` down."""
    for text, size in lines:
        font = _font(size)
        width = draw.textlength(text, font=font)
        draw.text(((SIZE[0] - width) / 2, y), text, font=font, fill=fill,
                  stroke_width=2 if stroke else 0, stroke_fill=stroke)
        y += int(size * 1.25)


def _horror() -> Image.Image:
    img = _gradient((8, 8, 14), (70, 6, 10))
    d = ImageDraw.Draw(img)
    d.ellipse((250, 150, 350, 250), fill=(225, 225, 205))
    d.polygon([(110, 330), (200, 240), (290, 330), (290, 520), (110, 520)], fill=(5, 5, 8))  # the house
    d.rectangle((150, 360, 180, 400), fill=(250, 200, 60))                                   # one lit window
    d.rectangle((185, 450, 215, 520), fill=(120, 10, 14))                                   # an open door
    rng = random.Random(1)
    for x in (*range(-20, 100, 38), *range(300, 420, 38)):  # bare trees
        top = 300 + rng.randrange(80)
        d.polygon([(x, 600), (x + 14, top), (x + 28, 600)], fill=(5, 5, 8))
        for _ in range(3):
            y = rng.randrange(top, 520)
            d.line([(x + 14, y), (x + 14 + rng.choice((-30, 30)), y - 35)], fill=(5, 5, 8), width=4)
    d.rectangle((0, 520, 400, 600), fill=(5, 5, 8))
    _title(d, [("THE HOLLOW", 52), ("HOUSE", 52)], 22, (200, 20, 24), stroke=(0, 0, 0))
    _title(d, [("SOME DOORS SHOULD STAY SHUT", 17)], 540, (190, 190, 190))
    return img


def _comedy() -> Image.Image:
    img = Image.new("RGB", SIZE, (255, 214, 10))
    d = ImageDraw.Draw(img)
    for cx, cy, r, skin in ((135, 330, 85, (241, 194, 150)), (270, 345, 80, (160, 110, 75))):
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=skin, outline=(30, 30, 30), width=4)
        for ex in (cx - r // 3, cx + r // 3):  # wide eyes
            d.ellipse((ex - 14, cy - 30, ex + 14, cy - 2), fill="white", outline=(30, 30, 30), width=3)
            d.ellipse((ex - 5, cy - 20, ex + 5, cy - 10), fill=(30, 30, 30))
        d.chord((cx - 45, cy - 10, cx + 45, cy + 55), 0, 180, fill=(150, 20, 40), outline=(30, 30, 30), width=3)
    _title(d, [("MY NEIGHBOUR", 46), ("THE LLAMA", 46)], 40, (230, 30, 60), stroke=(255, 255, 255))
    _title(d, [("A FAMILY COMEDY", 22)], 470, (30, 30, 30))
    _title(d, [("THIS SUMMER", 20)], 550, (30, 30, 30))
    return img


def _scifi() -> Image.Image:
    img = _gradient((2, 4, 20), (10, 30, 70))
    d = ImageDraw.Draw(img)
    rng = random.Random(3)
    for _ in range(220):
        x, y, r = rng.randrange(400), rng.randrange(600), rng.choice((1, 1, 1, 2))
        d.ellipse((x - r, y - r, x + r, y + r), fill=(255, 255, 255))
    d.ellipse((70, 230, 330, 490), fill=(40, 110, 170))
    d.ellipse((110, 260, 250, 360), fill=(70, 150, 200))
    d.arc((20, 320, 380, 400), 160, 380, fill=(200, 220, 255), width=6)
    d.polygon([(300, 170), (318, 130), (336, 170), (318, 160)], fill=(230, 230, 240))  # a ship
    _title(d, [("BEYOND THE", 34), ("OUTER RIM", 50)], 40, (120, 230, 255))
    _title(d, [("SPACE IS NOT EMPTY", 20)], 545, (200, 220, 255))
    return img.filter(ImageFilter.SMOOTH)


def _romance() -> Image.Image:
    img = _gradient((255, 200, 190), (240, 120, 150))
    d = ImageDraw.Draw(img)
    d.ellipse((100, 420, 300, 620), fill=(255, 230, 180))  # a low sun
    for x, lean in ((150, 12), (250, -12)):  # two figures leaning together
        d.ellipse((x - 24 + lean, 300, x + 24 + lean, 348), fill=(90, 40, 60))
        d.polygon([(x - 40, 600), (x + lean - 22, 350), (x + lean + 22, 350), (x + 40, 600)], fill=(90, 40, 60))
    for hx, hy, s in ((200, 210, 26), (160, 160, 12), (245, 150, 10)):  # hearts
        d.ellipse((hx - s, hy - s, hx, hy), fill=(220, 30, 80))
        d.ellipse((hx, hy - s, hx + s, hy), fill=(220, 30, 80))
        d.polygon([(hx - s, hy - s // 2), (hx + s, hy - s // 2), (hx, hy + s)], fill=(220, 30, 80))
    _title(d, [("LETTERS FROM", 40), ("LISBON", 56)], 30, (255, 255, 255), stroke=(150, 40, 80))
    _title(d, [("A LOVE STORY", 22)], 555, (255, 255, 255))
    return img


@dataclass(frozen=True)
class Drawn:
    name: str                          # the made-up title, shown under the thumbnail
    draw: Callable[[], Image.Image]


DRAWN = (Drawn("The Hollow House", _horror), Drawn("My Neighbour the Llama", _comedy),
         Drawn("Beyond the Outer Rim", _scifi), Drawn("Letters from Lisbon", _romance))


@st.cache_data(show_spinner=False, max_entries=len(DRAWN))
def drawn_poster(index: int) -> bytes:
    """The JPEG bytes of ``DRAWN[index]``'s poster (drawn once per process)."""
    buf = io.BytesIO()
    DRAWN[index].draw().save(buf, "JPEG", quality=90)
    return buf.getvalue()


# --- the picker ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Example:
    id: str          # "tmdb:<movie id>" or "drawn:<index>"
    title: str
    thumb: object    # an image URL or bytes for st.image
    fetch: Callable[[], bytes]
    name: str        # the poster's caption once picked


def _trending() -> tuple[list[_Example], str | None]:
    """This week's trending films on TMDB (with posters), or ([], why) when TMDB is not configured or
    cannot be reached."""
    from app_components.tmdb_view import film_poster, film_thumbnail, tmdb_available, trending_films

    if not tmdb_available():
        return [], None
    try:
        films = trending_films(TRENDING_COUNT)
        return [_Example(f"tmdb:{m.id}", m.title, film_thumbnail(m), lambda m=m: film_poster(m),
                         f"{m.title} ({m.year}) · trending on TMDB" if m.year else f"{m.title} · trending on TMDB")
                for m in films], None
    except PosterGenreError as e:
        return [], f"TMDB's trending films could not be loaded ({e}), so here are drawn examples instead."


def _drawn() -> list[_Example]:
    return [_Example(f"drawn:{i}", d.name, drawn_poster(i), lambda i=i: drawn_poster(i), f"{d.name} ({DRAWN_LABEL})")
            for i, d in enumerate(DRAWN)]


def forget_example(key: str = "example") -> None:
    """Drop the picked example (``example_posters(key)`` returns None until another is picked)."""
    st.session_state.pop(f"{key}_picked", None)


def example_posters(key: str = "example") -> PosterInput | None:
    """A row of example posters with a button each; the picked one's poster (it stays picked until
    another is), or None before a pick."""
    examples, problem = _trending()
    heading = "No poster at hand? Try one of this week's trending films on TMDB:"
    if not examples:
        examples = _drawn()
        heading = ("No poster at hand? Try one of these posters of made-up films, drawn by postergenre "
                   "(not real films):")
    picked_key = f"{key}_picked"
    st.markdown(f"**{heading}**")
    if problem:
        st.caption(problem)
    with st.container(horizontal=True, gap="small"):
        for ex in examples:
            with st.container(width=THUMB_WIDTH + 8, gap="small"):
                st.image(ex.thumb, width=THUMB_WIDTH)
                chosen = st.session_state.get(picked_key) == ex.id
                st.button(ex.title, key=f"{key}_{ex.id}", type="primary" if chosen else "secondary", width="stretch",
                          on_click=st.session_state.__setitem__, args=(picked_key, ex.id),
                          help=f"Read the poster of {ex.title}")
    if examples[0].id.startswith("tmdb:"):
        from app_components.tmdb_view import tmdb_attribution

        tmdb_attribution()
    ex = next((e for e in examples if e.id == st.session_state.get(picked_key)), None)
    if ex is None:
        return None
    try:
        with st.spinner(f"Getting the poster of {ex.title}…"):
            return PosterInput(ex.fetch(), ex.name)
    except PosterGenreError as e:
        st.error(f"Could not get the poster of {ex.title}: {e}")
        return None
