"""Exception types of the postergenre core. Everything the core raises on purpose is a PosterGenreError.

Each message says what was wrong *and* what to do about it, so the app and the API can show it as is.
"""
from __future__ import annotations

__all__ = [
    "PosterGenreError", "ImageLoadError", "FetchError", "WeightsError", "DatasetError",
    "UnknownGenreError", "TMDBError", "TMDBAuthError", "TMDBNotFoundError", "TMDBRateLimitError",
]


class PosterGenreError(Exception):
    """Base class of every error the postergenre core raises deliberately."""


class ImageLoadError(PosterGenreError, ValueError):
    """The input could not be read as a poster image (empty, truncated, not an image, too large...)."""


class FetchError(PosterGenreError):
    """An image URL could not be fetched safely (bad scheme, private address, too big, timeout...)."""


class WeightsError(PosterGenreError):
    """Model weights or their metadata are missing or inconsistent."""


class DatasetError(PosterGenreError):
    """A dataset folder does not follow the labels.csv format."""


class UnknownGenreError(PosterGenreError, KeyError):
    """A genre name that the model or TMDB does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class TMDBError(PosterGenreError):
    """TMDB could not answer (network, server error, malformed response, missing credentials...)."""


class TMDBAuthError(TMDBError):
    """TMDB rejected or was not given credentials (HTTP 401)."""


class TMDBNotFoundError(TMDBError):
    """TMDB has no such resource (HTTP 404)."""


class TMDBRateLimitError(TMDBError):
    """TMDB kept answering 429 after all retries."""
