"""Every environment variable, default path and secrets lookup of postergenre, in one place.

Values are read when a function is called, not at import, so tests and ``postergenre serve`` (which
hands its options to uvicorn workers as environment variables) can set them. Imports nothing of ours.

| variable | meaning | default |
|---|---|---|
| POSTERGENRE_WEIGHTS | weights folder (head.npz + metadata.json) | the bundled ``weights/`` (installed: ``postergenre/bundled/``) |
| POSTERGENRE_ATLAS | Genre Atlas file | ``atlas.json`` in the weights folder |
| POSTERGENRE_CACHE | feature / ONNX / OCR / TMDB cache folder | $XDG_CACHE_HOME/postergenre, else ~/.cache/postergenre |
| POSTERGENRE_DEVICE | device when none is asked for | CUDA when available, else CPU |
| POSTERGENRE_BACKEND | ``torch`` forces PyTorch on CPU | ONNX Runtime on CPU |
| POSTERGENRE_PRECISION | backbone precision on CPU (``fp32`` / ``int8``) | fp32 |
| POSTERGENRE_THREADS | ONNX Runtime intra-op threads | min(CPUs, 4) |
| POSTERGENRE_DATA | dataset folder the app takes example posters from | none |
| POSTERGENRE_INDEX | similar-poster index folder (API and app) | none |
| POSTERGENRE_API_MAX_UPLOAD_MB / _TIMEOUT / _CONCURRENCY / _HEADER_TIMEOUT | REST API limits (api/config.py, api/server.py) | their defaults |
| TMDB_API_TOKEN / TMDB_API_KEY / TMDB_API_BASE_URL | TMDB credentials, another TMDB server | none |

Secrets (TMDB_*, POSTERGENRE_DATA, POSTERGENRE_INDEX) may also sit in ``.streamlit/secrets.toml``
(the project's, then ``~/.streamlit/secrets.toml``); the environment wins.
"""
from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["WEIGHTS_ENV", "ATLAS_ENV", "CACHE_ENV", "DEVICE_ENV", "BACKEND_ENV", "PRECISION_ENV", "THREADS_ENV",
           "DATA_ENV", "INDEX_ENV", "API_MAX_UPLOAD_MB_ENV", "API_TIMEOUT_ENV", "API_CONCURRENCY_ENV",
           "API_HEADER_TIMEOUT_ENV", "TOKEN_ENV", "KEY_ENV", "BASE_URL_ENV", "BUNDLED_WEIGHTS",
           "env", "weights_dir", "atlas_path", "cache_dir", "device", "backend", "precision", "threads",
           "secrets_files", "lookup", "TMDBCredentials", "tmdb_credentials"]

WEIGHTS_ENV, ATLAS_ENV, CACHE_ENV = "POSTERGENRE_WEIGHTS", "POSTERGENRE_ATLAS", "POSTERGENRE_CACHE"
DEVICE_ENV, BACKEND_ENV, PRECISION_ENV = "POSTERGENRE_DEVICE", "POSTERGENRE_BACKEND", "POSTERGENRE_PRECISION"
THREADS_ENV, DATA_ENV, INDEX_ENV = "POSTERGENRE_THREADS", "POSTERGENRE_DATA", "POSTERGENRE_INDEX"
API_MAX_UPLOAD_MB_ENV, API_TIMEOUT_ENV = "POSTERGENRE_API_MAX_UPLOAD_MB", "POSTERGENRE_API_TIMEOUT"
API_CONCURRENCY_ENV, API_HEADER_TIMEOUT_ENV = "POSTERGENRE_API_CONCURRENCY", "POSTERGENRE_API_HEADER_TIMEOUT"
TOKEN_ENV, KEY_ENV, BASE_URL_ENV = "TMDB_API_TOKEN", "TMDB_API_KEY", "TMDB_API_BASE_URL"

_PACKAGE = Path(__file__).resolve().parent
# The bundled weights: ``weights/`` of a checkout, installed as the package data ``postergenre/bundled/``
# (pyproject maps the one folder onto the other), so a plain ``pip install .`` has the model.
BUNDLED_WEIGHTS = next((p for p in (_PACKAGE / "bundled", _PACKAGE.parent / "weights") if (p / "metadata.json").is_file()),
                       _PACKAGE.parent / "weights")


def env(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """The variable's value, stripped; None when unset or blank."""
    value = (os.environ if environ is None else environ).get(name)
    return (str(value).strip() or None) if value is not None else None


def weights_dir() -> Path:
    """$POSTERGENRE_WEIGHTS, else the bundled weights folder."""
    value = env(WEIGHTS_ENV)
    return Path(value).expanduser() if value else BUNDLED_WEIGHTS


def atlas_path() -> Path:
    """$POSTERGENRE_ATLAS, else ``atlas.json`` in :func:`weights_dir`."""
    value = env(ATLAS_ENV)
    return Path(value).expanduser() if value else weights_dir() / "atlas.json"


def cache_dir() -> Path:
    """$POSTERGENRE_CACHE, else $XDG_CACHE_HOME/postergenre, else ~/.cache/postergenre."""
    value = env(CACHE_ENV)
    if value:
        return Path(value).expanduser()
    return Path(env("XDG_CACHE_HOME") or Path.home() / ".cache") / "postergenre"


def device() -> str | None:
    """$POSTERGENRE_DEVICE ('cpu', 'cuda', 'cuda:N'), or None: pick automatically."""
    return env(DEVICE_ENV)


def backend() -> str | None:
    """$POSTERGENRE_BACKEND ('torch' forces PyTorch on CPU), or None."""
    return env(BACKEND_ENV)


def precision() -> str | None:
    """$POSTERGENRE_PRECISION ('fp32' or 'int8'), or None: the default."""
    return env(PRECISION_ENV)


def threads() -> int | None:
    """$POSTERGENRE_THREADS (ONNX Runtime intra-op threads), or None: pick from the CPU count."""
    value = env(THREADS_ENV)
    return int(value) if value else None


def secrets_files(prefixes: tuple[str, ...] = ("TMDB_", "POSTERGENRE_")) -> dict[str, Any]:
    """Our entries of Streamlit's secrets.toml files (the project's wins over ~/.streamlit's), so the CLI
    finds what the app finds."""
    found: dict[str, Any] = {}
    for path in (Path.home() / ".streamlit" / "secrets.toml", Path.cwd() / ".streamlit" / "secrets.toml"):
        try:
            found |= {k: v for k, v in tomllib.loads(path.read_text()).items() if k.startswith(prefixes)}
        except (OSError, ValueError):  # absent or not TOML: Streamlit would complain, we just skip it
            continue
    return found


def lookup(name: str, environ: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None) -> str | None:
    """``name`` from the environment, else from ``secrets`` (default: :func:`secrets_files`; the app
    passes st.secrets); stripped, None when neither has it."""
    value = env(name, environ)
    if value:
        return value
    secrets = secrets_files() if secrets is None else secrets
    found = (secrets or {}).get(name)
    return (str(found).strip() or None) if found else None


@dataclass(frozen=True)
class TMDBCredentials:
    token: str | None      # TMDB_API_TOKEN: the v4 "API Read Access Token" (sent as a Bearer header)
    key: str | None        # TMDB_API_KEY: the v3 "API Key" (sent as api_key=)
    base_url: str | None   # TMDB_API_BASE_URL: another server (tests, mirrors); None = api.themoviedb.org

    @property
    def present(self) -> bool:
        """True when a token or a key is set (the base URL alone does not authenticate)."""
        return bool(self.token or self.key)


def tmdb_credentials(environ: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None) -> TMDBCredentials:
    """TMDB credentials: each value from the environment, else from the secrets (see :func:`lookup`)."""
    secrets = secrets_files() if secrets is None else secrets
    return TMDBCredentials(*(lookup(n, environ, secrets) for n in (TOKEN_ENV, KEY_ENV, BASE_URL_ENV)))
