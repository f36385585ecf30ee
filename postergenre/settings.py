"""Every environment variable, default path and secrets lookup of postergenre, in one place.

Values are read when a function is called, not at import, so tests and ``postergenre serve`` (which
hands its options to uvicorn workers as environment variables) can set them. Imports nothing of ours.
``SETTINGS`` lists every variable with its meaning and default; the table in docs/configuration.md is
generated from it (``python -m postergenre.settings``) and a test keeps the two equal.

Secrets (TMDB_*, POSTERGENRE_DATA, POSTERGENRE_INDEX, POSTERGENRE_CATALOG) may also sit in ``.streamlit/secrets.toml``
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
           "secrets_files", "lookup", "TMDBCredentials", "tmdb_credentials", "Setting", "SETTINGS", "markdown_table",
           "CATALOG_ENV", "SPACE_VARIABLE", "catalog_roots", "on_space"]

WEIGHTS_ENV, ATLAS_ENV, CACHE_ENV = "POSTERGENRE_WEIGHTS", "POSTERGENRE_ATLAS", "POSTERGENRE_CACHE"
DEVICE_ENV, BACKEND_ENV, PRECISION_ENV = "POSTERGENRE_DEVICE", "POSTERGENRE_BACKEND", "POSTERGENRE_PRECISION"
THREADS_ENV, DATA_ENV, INDEX_ENV = "POSTERGENRE_THREADS", "POSTERGENRE_DATA", "POSTERGENRE_INDEX"
CATALOG_ENV = "POSTERGENRE_CATALOG"
SPACE_VARIABLE = "SPACE_ID"  # set by Hugging Face Spaces in a Space's container (not ours to set)
API_MAX_UPLOAD_MB_ENV, API_TIMEOUT_ENV = "POSTERGENRE_API_MAX_UPLOAD_MB", "POSTERGENRE_API_TIMEOUT"
API_CONCURRENCY_ENV, API_HEADER_TIMEOUT_ENV = "POSTERGENRE_API_CONCURRENCY", "POSTERGENRE_API_HEADER_TIMEOUT"
TOKEN_ENV, KEY_ENV, BASE_URL_ENV = "TMDB_API_TOKEN", "TMDB_API_KEY", "TMDB_API_BASE_URL"

@dataclass(frozen=True)
class Setting:
    name: str       # the environment variable
    meaning: str    # what it does (Markdown)
    default: str    # what applies when it is unset (Markdown)
    secrets: str    # where besides the environment it is read: "" or where .streamlit/secrets.toml counts


SETTINGS: tuple[Setting, ...] = (
    Setting(WEIGHTS_ENV, "weights folder to load (`head.npz` + `metadata.json`)",
            "the bundled `weights/` (installed: `postergenre/bundled/`)", ""),
    Setting(ATLAS_ENV, "Genre Atlas file the app and the API read", "`atlas.json` in the weights folder", ""),
    Setting(CACHE_ENV, "cache folder: ONNX graphs, dataset features, OCR text, atlas work, TMDB answers",
            "`$XDG_CACHE_HOME/postergenre`, else `~/.cache/postergenre`", ""),
    Setting(DEVICE_ENV, "`cpu`, `cuda` or `cuda:N` when no device is asked for", "CUDA when available, else CPU", ""),
    Setting(BACKEND_ENV, "`torch` runs the backbone in PyTorch on the CPU too", "ONNX Runtime on the CPU", ""),
    Setting(PRECISION_ENV, "backbone precision on the CPU: `fp32` or `int8`",
            "`int8` on a CPU with an int8 dot product (x86 VNNI or AMX, Arm dot product) when the weights' "
            "metadata measured it within tolerance (`int8.cpu_default`), else `fp32`; CUDA runs PyTorch fp16 autocast", ""),
    Setting(THREADS_ENV, "ONNX Runtime threads per model", "the CPU count, at most 4", ""),
    Setting(DATA_ENV, "a local dataset folder: the Atlas page shows the most typical posters of a genre, "
            "Predict offers a random poster", "none", "app"),
    Setting(INDEX_ENV, "a similar-poster index folder (`postergenre index`): adds `POST /v1/similar` and "
            "\"Similar posters\" on Predict", "none", "app"),
    Setting(CATALOG_ENV, "the tag outputs (`postergenre tag`) the app's Catalog page may open: folders, or folders "
            "holding them, separated by `:`; an index built from one (`postergenre index`) is found beside it",
            "none: the page says how to make a catalog (on a Space the page is hidden)", "app"),
    Setting(API_MAX_UPLOAD_MB_ENV, "REST API: largest request body in MiB (`serve --max-upload-mb`)", "15", ""),
    Setting(API_TIMEOUT_ENV, "REST API: seconds a request may take (`serve --timeout`)", "30", ""),
    Setting(API_CONCURRENCY_ENV, "REST API: model calls at once per worker (`serve --concurrency`)", "2", ""),
    Setting(API_HEADER_TIMEOUT_ENV, "REST API: seconds to receive a request's head (`serve --header-timeout`)", "10", ""),
    Setting(TOKEN_ENV, "TMDB \"API Read Access Token\" (sent in an `Authorization` header; preferred)", "none",
            "everywhere"),
    Setting(KEY_ENV, "TMDB v3 \"API Key\" (when there is no token)", "none", "everywhere"),
    Setting(BASE_URL_ENV, "another TMDB server (tests, mirrors)", "`https://api.themoviedb.org/3`", "everywhere"),
)


def markdown_table() -> str:
    """The configuration table of docs/configuration.md, from ``SETTINGS``."""
    where = {"": "no", "app": "yes, in the app", "everywhere": "yes"}
    rows = ["| variable | what it does | default | also in `.streamlit/secrets.toml` |", "|---|---|---|---|"]
    rows += [f"| `{s.name}` | {s.meaning} | {s.default} | {where[s.secrets]} |" for s in SETTINGS]
    return "\n".join(rows) + "\n"


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


def catalog_roots(environ: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None) -> list[Path]:
    """The folders named by $POSTERGENRE_CATALOG (else the secrets' entry), split on ``os.pathsep``."""
    value = lookup(CATALOG_ENV, environ, secrets)
    return [Path(v).expanduser() for v in (value or "").split(os.pathsep) if v.strip()]


def on_space(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a Hugging Face Space."""
    return env(SPACE_VARIABLE, environ) is not None


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


if __name__ == "__main__":  # python -m postergenre.settings > the table in docs/configuration.md
    print(markdown_table(), end="")
