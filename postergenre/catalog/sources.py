"""What a catalog command reads: a folder (recursive), a dataset folder (``labels.csv``), or a CSV/Parquet
manifest with a column of paths or http(s) URLs (a folder of Parquet parts, such as a tag output, is one);
``resolve_source`` turns any of them into one list of input keys (absolute local paths, URIs such as
``s3://bucket/a.jpg``, or URLs) plus optional labels.

Every key is a plain string, and the same string is the ``path`` column of the tag output, which is how
a rerun recognises inputs that are already done. Object-store folders (``s3://``, ``gs://``...) are listed
with pyarrow's filesystems, so whatever pyarrow reads works here (tested on local paths only).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from postergenre.errors import DatasetError
from postergenre.sources.images import SUPPORTED_EXTENSIONS

__all__ = ["CatalogSource", "resolve_source", "part_files", "is_url", "is_uri", "PATH_COLUMNS"]

PATH_COLUMNS = ("path", "file", "url", "image", "poster")  # manifest columns tried in this order
_SUFFIXES = {f".{e}" for e in SUPPORTED_EXTENSIONS}


@dataclass
class CatalogSource:
    """The inputs of a catalog run, in a stable order."""

    paths: list[str]                                         # one key per input
    labels: dict[str, list[str]] = field(default_factory=dict)  # key -> known genres (dataset / manifest)
    meta: dict[str, dict[str, str]] = field(default_factory=dict)  # key -> year / split when known
    kind: str = "folder"                                     # folder | dataset | manifest | list

    def __len__(self) -> int:
        return len(self.paths)


def is_url(text: str) -> bool:
    return text.startswith(("http://", "https://"))


def is_uri(text: str) -> bool:
    """An object-store / filesystem URI that pyarrow opens (``s3://...``), not an http(s) URL."""
    return "://" in text and not is_url(text) and not text.startswith("file://")


def resolve_source(source: str | Path | list[str], column: str | None = None) -> CatalogSource:
    """The inputs named by ``source`` (see the module docstring); DatasetError says what is wrong."""
    if isinstance(source, list):
        return CatalogSource([_key(str(s)) for s in source], kind="list")
    text = str(source)
    if is_url(text):
        return CatalogSource([text], kind="list")
    if is_uri(text):
        return CatalogSource(_list_uri(text), kind="folder")
    path = Path(text).expanduser()
    if path.is_dir():
        if (path / "labels.csv").is_file():
            return _dataset(path)
        found = sorted(str(f.resolve()) for f in path.rglob("*") if f.suffix.lower() in _SUFFIXES and f.is_file())
        if not found and part_files(path):  # a folder of Parquet parts (a tag output): its paths
            return _manifest(path, column)
        if not found:
            raise DatasetError(f"no images ({', '.join(sorted(_SUFFIXES))}) found in folder {path}")
        return CatalogSource(found, kind="folder")
    if path.is_file() and path.suffix.lower() in (".csv", ".parquet", ".pq"):
        return _manifest(path, column)
    if path.is_file() and path.suffix.lower() in _SUFFIXES:
        return CatalogSource([str(path.resolve())], kind="list")
    raise DatasetError(f"{text}: not a folder, a dataset folder, a .csv/.parquet manifest or an image; "
                       "give one of those (or an s3:// folder with --engine ray)")


def part_files(folder: Path) -> list[Path]:
    """The Parquet part files of a tag output folder, sorted ([] if it is no folder)."""
    return sorted(p for p in folder.glob("*.parquet") if p.is_file()) if folder.is_dir() else []


def _key(text: str) -> str:
    return text if (is_url(text) or is_uri(text)) else str(Path(text.removeprefix("file://")).expanduser().resolve())


def _dataset(root: Path) -> CatalogSource:
    from postergenre.sources.dataset import load_dataset

    ds = load_dataset(root, check_files=False)  # a missing file becomes an error row, not a refusal
    keys = [str((root / f).resolve()) for f in ds.table["file"]]
    labels = dict(zip(keys, (list(g) for g in ds.table["genre_list"])))
    cols = [c for c in ("year", "split") if c in ds.table.columns]
    meta = {k: {c: str(v) for c, v in zip(cols, vals)} for k, *vals in zip(keys, *(ds.table[c] for c in cols))}
    return CatalogSource(keys, labels, meta, kind="dataset")


def _manifest(path: Path, column: str | None) -> CatalogSource:
    import pandas as pd

    try:
        table = (pd.read_parquet(path) if path.suffix.lower() != ".csv"
                 else pd.read_csv(path, dtype=str, keep_default_na=False))
    except Exception as e:  # pandas/pyarrow raise many types for broken files
        raise DatasetError(f"{path} could not be read as a manifest: {e}") from None
    names = [column] if column else [c for c in PATH_COLUMNS if c in table.columns]
    if not names or names[0] not in table.columns:
        raise DatasetError(f"{path} has no column {column or ' / '.join(PATH_COLUMNS)} with the poster paths or "
                           f"URLs (found: {', '.join(map(str, table.columns))}); name it with --column")
    keys = []
    for value in table[names[0]].astype(str):
        value = value.strip()
        local = not (is_url(value) or is_uri(value)) and not Path(value).is_absolute()
        keys.append(_key(str(path.parent / value) if local else value))
    labels: dict[str, list[str]] = {}
    if "genres" in table.columns:
        from postergenre.genres import parse_genres

        labels = {k: parse_genres(str(g))[0] for k, g in zip(keys, table["genres"])}
    cols = [c for c in ("year", "split") if c in table.columns]
    meta = {k: {c: str(v) for c, v in zip(cols, vals)} for k, *vals in zip(keys, *(table[c] for c in cols))}
    return CatalogSource(list(dict.fromkeys(keys)), labels, meta, kind="manifest")


def _list_uri(uri: str) -> list[str]:
    """Image files under an object-store folder (or the URI itself when it is a file)."""
    import pyarrow.fs as pafs

    try:
        fs, root = pafs.FileSystem.from_uri(uri)
        info = fs.get_file_info(root)
        if info.type == pafs.FileType.File:
            return [uri]
        entries = fs.get_file_info(pafs.FileSelector(root, recursive=True))
    except Exception as e:  # credentials, unknown scheme, network: pyarrow's own message says which
        raise DatasetError(f"could not list {uri}: {e}") from None
    scheme = uri.split("://", 1)[0]
    found = sorted(f"{scheme}://{e.path}" for e in entries
                   if e.type == pafs.FileType.File and Path(e.path).suffix.lower() in _SUFFIXES)
    if not found:
        raise DatasetError(f"no images found under {uri}")
    return found
