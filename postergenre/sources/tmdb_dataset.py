"""Build a training/evaluation dataset folder from TMDB: the N most popular films of each genre.

    postergenre dataset tmdb --out data/tmdb --per-genre 200 --since 1980

The folder gets ``images/<tmdb_id>.jpg`` and ``labels.csv`` in the format ``postergenre.sources.dataset`` reads
(file, genres as TMDB names joined by '|', split) plus tmdb_id, title, year and popularity. Films are
deduplicated across genres and labelled with *all* their TMDB genres; the split is a fixed hash of the
TMDB id (80/10/10), so a film never moves between splits when the set grows.

Resumable: which films each genre contributes is saved to ``tmdb_state.json`` page by page, and posters
are written atomically, so an interrupted build re-run with the same options asks TMDB only for what is
missing and never downloads a poster twice. Check TMDB's terms of use before training models on its data.
"""
from __future__ import annotations

import csv
import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from postergenre.errors import DatasetError, PosterGenreError
from postergenre.genres import TRAINED_GENRES, genre_by_name
from postergenre.sources.tmdb import Movie, TMDBClient

__all__ = ["TMDBDatasetConfig", "BuildReport", "build_tmdb_dataset", "split_for", "STATE_FILE", "LABEL_COLUMNS"]

STATE_FILE = "tmdb_state.json"
LABEL_COLUMNS = ("file", "genres", "split", "tmdb_id", "title", "year", "popularity")
_MAX_PAGE = 500  # TMDB serves pages 1..500


@dataclass
class TMDBDatasetConfig:
    per_genre: int = 200            # the N most popular films of each genre (before deduplication)
    since: int | None = None        # only films first released on/after 1 January of this year
    size: str = "w500"              # poster width to download (TMDB poster size name)
    genres: tuple[str, ...] = TRAINED_GENRES   # genres to draw films from (the 17 the model predicts)
    language: str = "en-US"         # titles' language
    max_requests: int = 40          # API requests allowed per `per_seconds` (client-side rate limit)
    per_seconds: float = 10.0

    def fixed(self) -> dict[str, Any]:
        """The options a resumed build must share with the first run (the rest may change)."""
        return {"since": self.since, "size": self.size, "language": self.language}


@dataclass
class BuildReport:
    out: Path
    films: int = 0                  # rows in labels.csv
    downloaded: int = 0             # posters fetched in this run
    reused: int = 0                 # posters already on disk from an earlier run
    failed: dict[int, str] = field(default_factory=dict)   # tmdb_id -> why its poster is missing
    per_genre: dict[str, int] = field(default_factory=dict)  # films picked for each genre
    requests: int = 0               # API requests sent in this run (cache hits excluded)

    def summary(self) -> str:
        short = [g for g, n in self.per_genre.items() if n == 0]
        text = (f"{self.out}/labels.csv: {self.films} films ({self.downloaded} posters downloaded, "
                f"{self.reused} already there), {self.requests} TMDB API requests")
        if self.failed:
            text += f"; {len(self.failed)} poster(s) failed (run again to retry)"
        if short:
            text += f"; no films found for {', '.join(short)}"
        return text


def split_for(tmdb_id: int) -> str:
    """train / val / test (80/10/10) from a hash of the TMDB id: stable across runs and machines."""
    bucket = int(hashlib.sha1(f"tmdb:{int(tmdb_id)}".encode()).hexdigest()[:8], 16) % 100
    return "train" if bucket < 80 else "val" if bucket < 90 else "test"


def build_tmdb_dataset(out: str | Path, cfg: TMDBDatasetConfig, client: TMDBClient, *, progress: bool = True,
                       on_poster: Callable[[int, int], None] | None = None) -> BuildReport:
    """Collect, download and label (see the module docstring). ``on_poster(done, total)`` is called after
    each poster; raising from it (or Ctrl-C) stops the build, and the next call resumes it."""
    if cfg.per_genre < 1:
        raise DatasetError(f"--per-genre must be at least 1, not {cfg.per_genre}")
    genre_ids = {name: genre_by_name(name) for name in cfg.genres}   # UnknownGenreError lists valid names
    out = Path(out).expanduser()
    (out / "images").mkdir(parents=True, exist_ok=True)
    state = _load_state(out, cfg)
    report = BuildReport(out=out)
    requests_before = client.stats["requests"]
    try:
        for genre in genre_ids.values():
            _collect(genre.name, genre.id, cfg, client, state, out)
        picked = _pick(state, cfg)
        report.per_genre = {g.name: min(len(state["genres"][g.name]["ids"]), cfg.per_genre) for g in genre_ids.values()}
        _download(picked, state, cfg, client, out, report, progress, on_poster)
    finally:
        report.requests = client.stats["requests"] - requests_before
        state["failed"] = {str(k): v for k, v in report.failed.items()}
        _write_atomic(out / STATE_FILE, json.dumps(state, indent=1))
    report.films = _write_labels(out, picked, state)
    return report


# --- state ------------------------------------------------------------------------------------------

def _load_state(out: Path, cfg: TMDBDatasetConfig) -> dict[str, Any]:
    path = out / STATE_FILE
    if not path.is_file():
        return {"version": 1, "config": cfg.fixed(), "genres": {}, "films": {}, "failed": {}}
    try:
        state = json.loads(path.read_text())
        state["genres"], state["films"]  # noqa: B018 (must exist)
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise DatasetError(f"{path} is damaged ({type(e).__name__}); delete it to start the build over "
                           "(posters already downloaded are kept and reused).") from None
    if state.get("config") != cfg.fixed():
        was = ", ".join(f"{k}={v}" for k, v in state.get("config", {}).items())
        raise DatasetError(f"{out} was started with {was}; re-run with the same --since/--size (other options "
                           f"may change), or build into a new --out folder.")
    return state


def _collect(name: str, genre_id: int, cfg: TMDBDatasetConfig, client: TMDBClient, state: dict, out: Path) -> None:
    """Page through /discover/movie (most popular first) until the genre has ``per_genre`` films with posters."""
    entry = state["genres"].setdefault(name, {"ids": [], "page": 0, "exhausted": False})
    since = f"{cfg.since}-01-01" if cfg.since else None
    while len(entry["ids"]) < cfg.per_genre and not entry["exhausted"]:
        page = entry["page"] + 1
        result = client.discover(with_genres=genre_id, page=page, primary_release_date_gte=since,
                                 language=cfg.language)
        for movie in result.with_posters:                 # a film without a poster is no training example
            if movie.id not in entry["ids"]:
                entry["ids"].append(movie.id)
                state["films"][str(movie.id)] = _film_record(movie)
        entry["page"] = page
        entry["exhausted"] = page >= min(result.total_pages, _MAX_PAGE) or not result.results
        _write_atomic(out / STATE_FILE, json.dumps(state, indent=1))   # resume from the next page


def _film_record(movie: Movie) -> dict[str, Any]:
    return {"title": movie.title, "year": movie.year, "genres": list(movie.genres),
            "poster_path": movie.poster_path, "popularity": movie.popularity}


def _pick(state: dict, cfg: TMDBDatasetConfig) -> list[int]:
    """Each genre's first ``per_genre`` films, deduplicated, in a stable order."""
    picked: dict[int, None] = {}
    for name in cfg.genres:
        for movie_id in state["genres"].get(genre_by_name(name).name, {}).get("ids", [])[: cfg.per_genre]:
            picked[int(movie_id)] = None
    return list(picked)


# --- posters and labels -----------------------------------------------------------------------------

def _image_name(movie_id: int, poster_path: str) -> str:
    suffix = Path(poster_path).suffix.lower()
    return f"images/{movie_id}{suffix if suffix in ('.jpg', '.jpeg', '.png', '.webp') else '.jpg'}"


def _download(picked: list[int], state: dict, cfg: TMDBDatasetConfig, client: TMDBClient, out: Path,
              report: BuildReport, progress: bool, on_poster: Callable[[int, int], None] | None) -> None:
    from tqdm.auto import tqdm

    with tqdm(total=len(picked), desc="TMDB posters", unit="poster", disable=not progress) as bar:
        for done, movie_id in enumerate(picked, 1):
            film = state["films"][str(movie_id)]
            target = out / _image_name(movie_id, film["poster_path"])
            if target.is_file() and target.stat().st_size > 0:
                report.reused += 1
            else:
                try:
                    _write_atomic(target, client.download_poster(film["poster_path"], cfg.size))
                    report.downloaded += 1
                except PosterGenreError as e:   # one bad poster must not stop a long build
                    report.failed[movie_id] = str(e)
            bar.update(1)
            if on_poster is not None:
                on_poster(done, len(picked))


def _write_labels(out: Path, picked: list[int], state: dict) -> int:
    rows = []
    for movie_id in sorted(picked):
        film = state["films"][str(movie_id)]
        file = _image_name(movie_id, film["poster_path"])
        if not (out / file).is_file() or not film["genres"]:
            continue
        rows.append({"file": file, "genres": "|".join(film["genres"]), "split": split_for(movie_id),
                     "tmdb_id": movie_id, "title": film["title"], "year": film["year"] or "",
                     "popularity": film["popularity"]})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=LABEL_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    _write_atomic(out / "labels.csv", buf.getvalue())
    return len(rows)


def _write_atomic(path: Path, data: str | bytes) -> None:
    """Write to a temporary file beside ``path``, then rename: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data.encode() if isinstance(data, str) else data)
    tmp.replace(path)
