"""Reading a poster's text from its pixels (RapidOCR's PP-OCR detector + recogniser, ONNX models
bundled in the ``rapidocr`` wheel), and a resumable on-disk cache of it for a dataset.

The settings were picked by measurement (issue 13): with the angle classifier off and the detector's
side limit at 320 px, the 182x268 thumbnails give the same text as at full size in ~0.3 s instead of
2.3 s. The dataset's ``ocr_text.jsonl`` (when present) was made with exactly these settings, so it seeds
the cache; a cache is keyed by the settings, so text from other settings is never mixed in.
"""
from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from postergenre import settings
from postergenre.sources.images import ImageSource, load_image

__all__ = ["OCRConfig", "read_text", "cache_text", "warm_up", "SEED_FILE"]

SEED_FILE = "ocr_text.jsonl"   # optional, in the dataset folder: {"file", "text", "scores"} per row
_ENGINES: dict[str, object] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True)
class OCRConfig:
    use_cls: bool = False          # text-angle classifier: off (posters' text is upright; 2x faster)
    limit_side_len: int = 320      # detector input side limit in px (measured: same text as full size)
    rapidocr_version: str = "3.10.0"  # the pinned package whose bundled models produced the text

    def key(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]


def _engine(cfg: OCRConfig):
    with _LOCK:
        if cfg.key() not in _ENGINES:
            import logging

            from rapidocr import RapidOCR

            logging.getLogger("RapidOCR").setLevel(logging.ERROR)  # "no text found" is an answer, not a warning
            _ENGINES[cfg.key()] = RapidOCR(params={"Global.use_cls": cfg.use_cls,
                                                   "Det.limit_side_len": cfg.limit_side_len,
                                                   "Global.log_level": "error"})
        return _ENGINES[cfg.key()]


def warm_up(cfg: OCRConfig | None = None) -> None:
    """Build the OCR engine now (importing rapidocr takes about 1.5 s), not at the first poster."""
    _engine(cfg or OCRConfig())


def read_text(image: ImageSource, cfg: OCRConfig | None = None) -> list[str]:
    """The recognised text lines of a poster, in reading order (empty list when none is found)."""
    cfg = cfg or OCRConfig()
    rgb = np.asarray(load_image(image).convert("RGB"))
    out = _engine(cfg)(np.ascontiguousarray(rgb[:, :, ::-1]))  # RapidOCR wants BGR arrays
    return [t for t in (out.txts or ()) if t.strip()]


def cache_text(ds, cfg: OCRConfig | None = None, cache_dir: str | Path | None = None, *,
               progress: bool = True, seed: bool = True, limit: int | None = None,
               files: list[str] | None = None) -> list[str]:
    """The text (lines joined by single spaces) of every row of ``ds``, in table order, read once and
    cached as JSON lines under ``<cache>/ocr/<key>/text.jsonl``; an interrupted run continues where it
    stopped. With ``seed`` the dataset's own ``ocr_text.jsonl`` fills the cache first when the default
    settings are used. ``limit`` stops after that many new posters (the rest stay to do). ``files``: only
    these rows of the table (``file`` values), in that order; the others are neither read nor returned."""
    from tqdm.auto import tqdm

    cfg = cfg or OCRConfig()
    folder = Path(cache_dir or settings.cache_dir()) / "ocr" / (ds.fingerprint()[:16] + "-" + cfg.key())
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "text.jsonl"
    files = list(ds.table["file"]) if files is None else list(files)
    known: dict[str, str] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
                known[row["file"]] = row["text"]
            except (ValueError, KeyError):
                continue  # a line cut off by an interrupt: that poster is read again
    seed_path = Path(ds.root) / SEED_FILE
    if seed and cfg == OCRConfig() and seed_path.exists() and len(known) < len(files):
        wanted = set(files) - set(known)
        with open(path, "a", encoding="utf-8") as out:
            for line in seed_path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                if row["file"] in wanted:
                    known[row["file"]] = row["text"]
                    out.write(json.dumps({"file": row["file"], "text": row["text"]}) + "\n")
    todo = [f for f in files if f not in known][:limit]
    bar = tqdm(total=len(files), initial=len(files) - len([f for f in files if f not in known]),
               desc="poster text (OCR)", unit="poster", disable=not progress)
    with open(path, "a", encoding="utf-8") as out:
        for f in todo:
            text = " ".join(read_text(Path(ds.root) / f, cfg))
            known[f] = text
            out.write(json.dumps({"file": f, "text": text}) + "\n")
            out.flush()
            bar.update(1)
    bar.close()
    return [known.get(f, "") for f in files]
