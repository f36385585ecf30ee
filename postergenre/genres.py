"""TMDB's movie genre list (API v3 ``/genre/movie/list``) and which genres the model is trained on.

The training data (MovieLens labels mapped to TMDB names) has 17 of TMDB's 19 genres: no History and
no TV Movie. ``TRAINED_GENRES`` is the model's output order unless the weights' metadata says otherwise.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from postergenre.errors import UnknownGenreError

__all__ = ["Genre", "TMDB_GENRES", "TRAINED_GENRES", "genre_by_id", "genre_by_name", "normalise_genre", "parse_genres",
           "compare_genres"]


@dataclass(frozen=True)
class Genre:
    id: int         # TMDB genre id
    name: str       # TMDB English name
    trained: bool   # does the shipped model predict it?


TMDB_GENRES: tuple[Genre, ...] = (
    Genre(28, "Action", True),
    Genre(12, "Adventure", True),
    Genre(16, "Animation", True),
    Genre(35, "Comedy", True),
    Genre(80, "Crime", True),
    Genre(99, "Documentary", True),
    Genre(18, "Drama", True),
    Genre(10751, "Family", True),
    Genre(14, "Fantasy", True),
    Genre(36, "History", False),
    Genre(27, "Horror", True),
    Genre(10402, "Music", True),
    Genre(9648, "Mystery", True),
    Genre(10749, "Romance", True),
    Genre(878, "Science Fiction", True),
    Genre(10770, "TV Movie", False),
    Genre(53, "Thriller", True),
    Genre(10752, "War", True),
    Genre(37, "Western", True),
)

TRAINED_GENRES: tuple[str, ...] = tuple(g.name for g in TMDB_GENRES if g.trained)

_BY_ID = {g.id: g for g in TMDB_GENRES}
_BY_KEY = {g.name.casefold(): g for g in TMDB_GENRES}
# Common spellings from other sources (MovieLens, IMDb) mapped onto TMDB names.
_ALIASES = {
    "sci-fi": "Science Fiction", "scifi": "Science Fiction", "science-fiction": "Science Fiction",
    "children": "Family", "children's": "Family", "kids": "Family", "musical": "Music",
    "tv movie": "TV Movie", "tv-movie": "TV Movie", "historical": "History",
}


def genre_by_id(genre_id: int) -> Genre:
    """The TMDB genre with this id; UnknownGenreError lists the known ids otherwise."""
    try:
        return _BY_ID[int(genre_id)]
    except (KeyError, TypeError, ValueError):
        known = ", ".join(f"{g.id} {g.name}" for g in TMDB_GENRES)
        raise UnknownGenreError(f"unknown TMDB genre id {genre_id!r}; known ids: {known}") from None


def normalise_genre(name: str) -> str | None:
    """The TMDB spelling of a genre name (case-insensitive, common aliases), or None if unknown."""
    key = str(name).strip().casefold()
    if key in _ALIASES:
        return _ALIASES[key]
    g = _BY_KEY.get(key)
    return g.name if g else None


def genre_by_name(name: str) -> Genre:
    """The TMDB genre with this name or alias; UnknownGenreError lists the valid names otherwise."""
    canonical = normalise_genre(name)
    if canonical is None:
        known = ", ".join(g.name for g in TMDB_GENRES)
        raise UnknownGenreError(f"unknown genre {name!r}; available: {known}")
    return _BY_KEY[canonical.casefold()]


def parse_genres(field: str, sep: str = "|") -> tuple[list[str], list[str]]:
    """Split a ``labels.csv`` genre field into (TMDB names, unknown names). Empty parts are ignored."""
    known, unknown = [], []
    for part in str(field or "").split(sep):
        part = part.strip()
        if not part:
            continue
        canonical = normalise_genre(part)
        (known if canonical else unknown).append(canonical or part)
    return list(dict.fromkeys(known)), unknown


def compare_genres(predicted: Iterable[str], tmdb_genres: Iterable[str], trained: Iterable[str]) -> dict[str, list[str]]:
    """The model's genres against TMDB's for one film.

    hits: predicted and on TMDB; misses: on TMDB, trainable, not predicted; extras: predicted, not on TMDB;
    untrained: on TMDB but the model cannot predict them (e.g. History), so neither hit nor miss.
    """
    def names(items: Iterable[str]) -> list[str]:
        return list(dict.fromkeys(normalise_genre(g) or str(g) for g in items))

    predicted, tmdb, trained_set = names(predicted), names(tmdb_genres), set(names(trained))
    return {"hits": [g for g in predicted if g in tmdb],
            "misses": [g for g in tmdb if g in trained_set and g not in predicted],
            "extras": [g for g in predicted if g not in tmdb],
            "untrained": [g for g in tmdb if g not in trained_set]}
