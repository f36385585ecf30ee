"""Dataset folders: ``labels.csv`` (columns ``file``, ``genres``, optional ``split``) next to the images.

``file`` is the image path relative to the folder, ``genres`` TMDB names separated by ``|``, ``split``
one of train/val/test (a folder without a ``split`` column is all test). Other columns are metadata.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from postergenre.errors import DatasetError
from postergenre.genres import TMDB_GENRES, parse_genres

__all__ = ["PosterDataset", "load_dataset", "SPLITS"]

SPLITS = ("train", "val", "test")


@dataclass
class PosterDataset:
    root: Path
    table: pd.DataFrame           # one row per poster; columns file, genres, split + metadata
    genres: list[str]             # the TMDB genres that occur in this dataset, TMDB order
    unknown_genres: list[str]     # names in labels.csv that are not TMDB genres (ignored)

    def __len__(self) -> int:
        return len(self.table)

    def paths(self, split: str | None = None) -> list[Path]:
        t = self.subset(split)
        return [self.root / f for f in t["file"]]

    def subset(self, split: str | None) -> pd.DataFrame:
        if split is None:
            return self.table
        if split not in SPLITS:
            raise DatasetError(f"unknown split {split!r}; use one of {', '.join(SPLITS)}")
        return self.table[self.table["split"] == split]

    def targets(self, genres: list[str], split: str | None = None) -> np.ndarray:
        """N x len(genres) 0/1 matrix for the rows of ``split`` (columns in the order given)."""
        t = self.subset(split)
        index = {g: j for j, g in enumerate(genres)}
        y = np.zeros((len(t), len(genres)), dtype=np.float32)
        for i, names in enumerate(t["genre_list"]):
            for g in names:
                if g in index:
                    y[i, index[g]] = 1.0
        return y

    def fingerprint(self) -> str:
        """Stable id of the file list (for feature caches)."""
        h = hashlib.sha1()
        h.update(str(self.root.resolve()).encode())
        for f in self.table["file"]:
            h.update(f.encode() + b"\0")
        return h.hexdigest()[:16]


def load_dataset(root: str | Path, *, check_files: bool = True) -> PosterDataset:
    """Read a dataset folder; DatasetError says what is missing or malformed."""
    root = Path(root).expanduser()
    csv = root / "labels.csv"
    if not csv.is_file():
        raise DatasetError(
            f"{csv} not found: a dataset folder needs labels.csv with columns file, genres[, split] "
            "(build one with `postergenre dataset tmdb --out DIR`)"
        )
    try:
        table = pd.read_csv(csv, dtype=str, keep_default_na=False)
    except Exception as e:  # pandas raises many types for broken CSV
        raise DatasetError(f"{csv} could not be read as CSV: {e}") from None
    missing = [c for c in ("file", "genres") if c not in table.columns]
    if missing:
        raise DatasetError(f"{csv} lacks column(s) {', '.join(missing)}; found: {', '.join(table.columns)}")
    if "split" not in table.columns:
        table["split"] = "test"
    bad = sorted(set(table["split"]) - set(SPLITS))
    if bad:
        raise DatasetError(f"{csv}: unknown split value(s) {bad}; use train, val or test")
    parsed = [parse_genres(g) for g in table["genres"]]
    table["genre_list"] = [p[0] for p in parsed]
    unknown = sorted({u for p in parsed for u in p[1]})
    if check_files:
        absent = [f for f in table["file"] if not (root / f).is_file()]
        if absent:
            raise DatasetError(
                f"{len(absent)} image(s) listed in {csv} are missing, e.g. {absent[0]!r}; "
                "fix the paths (relative to the folder) or remove those rows"
            )
    present = {g for names in table["genre_list"] for g in names}
    genres = [g.name for g in TMDB_GENRES if g.name in present]
    return PosterDataset(root=root, table=table.reset_index(drop=True), genres=genres, unknown_genres=unknown)
