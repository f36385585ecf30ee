"""postergenre: read a movie poster -> ranked genres, Grad-CAM explanations, colour and composition.

    import postergenre
    predictor = postergenre.load()              # bundled weights, CUDA when available else CPU
    result = predictor.predict("poster.jpg")    # path, bytes, PIL image or array
    print(result.summary)                       # e.g. "Horror · Thriller"

Importing the package is cheap: heavy modules (torch, onnxruntime) load on first use.
"""
from __future__ import annotations

from postergenre.errors import PosterGenreError
from postergenre.genres import TMDB_GENRES, TRAINED_GENRES

__all__ = ["load", "available_models", "Predictor", "Prediction", "GenreScore", "PosterGenreError",
           "TMDB_GENRES", "TRAINED_GENRES", "__version__"]
__version__ = "0.1.0"  # the one version string: pyproject.toml, the CLI's --version and the API read it


def __getattr__(name: str):  # lazy: `import postergenre` must not pull in numpy-heavy modules for --help
    if name in ("load", "available_models", "Predictor", "Prediction", "GenreScore"):
        from postergenre.model import predictor as model

        return getattr(model, name)
    raise AttributeError(f"module 'postergenre' has no attribute {name!r}")
