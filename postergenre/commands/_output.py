"""Helpers the commands share for their inputs and outputs: an output path checked for writability
before any work, a folder scan that reports what it skipped, and file names safe to print."""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from postergenre.errors import PosterGenreError

__all__ = ["check_writable", "scan_images", "display_name"]


def check_writable(path: Path, what: str = "--out") -> Path:
    """``path`` made ready to write: missing parent folders created; PosterGenreError (before any
    work) when it is a folder or cannot be written (read-only place, /proc, no permission)."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise PosterGenreError(f"{what} {display_name(path)} is a folder; give a file name inside it.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PosterGenreError(f"{what}: cannot create the folder {display_name(path.parent)} "
                               f"({e.strerror or e}); choose a writable place.") from None
    existed = path.exists()
    try:  # really open it (permission bits say nothing for root, or for /proc and read-only mounts)
        open(path, "ab").close()
    except OSError as e:
        raise PosterGenreError(f"{what}: {display_name(path)} is not writable ({e.strerror or e}); "
                               "choose another file.") from None
    if not existed:
        path.unlink(missing_ok=True)
    return path


_SPECIAL = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def scan_images(folder: Path, suffixes: set[str]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """(image files under ``folder``, sorted; [(path, why skipped)]). Never opens an entry, so a FIFO
    cannot hang it; symlinks to folders are not followed (no loops); symlink loops, dangling links,
    FIFOs, devices and sockets are reported as skipped."""
    found: list[Path] = []
    skipped: list[tuple[Path, str]] = []
    for root, _dirs, files in os.walk(folder, followlinks=False):
        for name in files:
            path = Path(root) / name
            try:
                st = path.stat()
            except OSError as e:
                if path.is_symlink():
                    why = "a symlink loop" if e.errno == errno.ELOOP else "a dangling symlink"
                else:
                    why = f"unreadable ({e.strerror or e})"
                skipped.append((path, why))
                continue
            kind = next((text for test, text in _SPECIAL if test(st.st_mode)), None)
            if kind:
                skipped.append((path, kind))
            elif stat.S_ISREG(st.st_mode) and path.suffix.lower() in suffixes:
                found.append(path)
    return sorted(found), sorted(skipped)


def display_name(name: object) -> str:
    """A file name printable on any terminal: bytes that are not UTF-8 shown as U+FFFD."""
    return str(name).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
