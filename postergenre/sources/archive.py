"""Many posters at once: a list of uploaded files in which a ZIP archive stands for the posters inside it.

    from postergenre.sources.archive import unpack_uploads
    found = unpack_uploads([("drafts.zip", zip_bytes), ("final.jpg", jpeg_bytes)], limit=50)
    found.posters   # [("teaser", b"..."), ("alt", b"..."), ("final", b"...")]: (name, encoded bytes)
    found.skipped   # [("drafts.zip/notes.txt", "not an image file"), ...]: what was left out, and why
    found.dropped   # posters beyond ``limit``, not read at all

Only the archive is handled here; each poster's bytes are decoded later by ``sources.images.load_image``
with its usual limits (size, pixels, scans...). The archive itself is bounded before anything is
decompressed: how many entries it may list (checked on the raw bytes, before Python builds its table
of contents), the bytes its image members may expand to in total, and how much one member may expand
(zip bombs). Members are read in memory, never written to disk, so no path in the archive matters but
its file name. Folders inside the archive are walked; archives inside it, encrypted members and
operating-system clutter (``__MACOSX/``, hidden files) are not opened.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Sequence

from postergenre.errors import ImageLoadError
from postergenre.sources.images import SUPPORTED_EXTENSIONS, SUPPORTED_TEXT

__all__ = ["ARCHIVE_EXTENSIONS", "MAX_ARCHIVE_ENTRIES", "MAX_ARCHIVE_BYTES", "MAX_EXPANSION", "Unpacked",
           "unpack_uploads", "is_archive"]

ARCHIVE_EXTENSIONS = ("zip",)
MAX_ARCHIVE_ENTRIES = 2_000            # entries an archive may list (files and folders)
MAX_ARCHIVE_BYTES = 256 * 2**20        # image bytes all archives of one call may expand to, together
MAX_EXPANSION = 50                     # one member's size / its compressed size; JPEG and PNG barely shrink
_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_CENTRAL_ENTRY = b"PK\x01\x02"         # one per entry of the archive's table of contents
_CLUTTER = ("__MACOSX/", ".DS_Store", "Thumbs.db", "desktop.ini")


@dataclass
class Unpacked:
    posters: list[tuple[str, bytes]] = field(default_factory=list)   # (name, encoded image bytes), in order
    skipped: list[tuple[str, str]] = field(default_factory=list)     # (file, why it was left out)
    dropped: int = 0                                                 # posters beyond the limit, not read


def is_archive(name: str, data: bytes) -> bool:
    """A ZIP archive, by its name or its first bytes."""
    return PurePosixPath(name).suffix.lower().lstrip(".") in ARCHIVE_EXTENSIONS or data[:4] in (
        _ZIP_MAGIC, _EMPTY_ZIP_MAGIC)


def unpack_uploads(files: Sequence[tuple[str, bytes]], limit: int) -> Unpacked:
    """``files`` as (file name, bytes) with each ZIP archive replaced by the images inside it, in order,
    named by their file names without the extension; at most ``limit`` posters (the rest are counted in
    ``dropped``). A file that is not an archive is kept as it is (``load_image`` judges it later)."""
    out, budget = Unpacked(), [MAX_ARCHIVE_BYTES]
    for name, data in files:
        if not is_archive(name, data):
            _keep(out, PurePosixPath(name).stem or name, data, limit)
            continue
        try:
            _unpack(out, name, data, limit, budget)
        except ImageLoadError as e:
            out.skipped.append((name, str(e)))
    return out


def _keep(out: Unpacked, name: str, data: bytes, limit: int) -> None:
    if len(out.posters) < limit:
        out.posters.append((name, data))
    else:
        out.dropped += 1


def _unpack(out: Unpacked, name: str, data: bytes, limit: int, budget: list[int]) -> None:
    listed = data.count(_CENTRAL_ENTRY)  # an upper bound of the entries, before zipfile reads them all
    if listed > MAX_ARCHIVE_ENTRIES:
        raise ImageLoadError(f"lists over {MAX_ARCHIVE_ENTRIES:,} entries; put at most a few dozen posters in "
                             "the archive")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError) as e:
        raise ImageLoadError(f"is not a readable ZIP archive ({e}); zip the posters again, or add them as "
                             "files") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and not _is_clutter(m.filename)]
        if not members:
            raise ImageLoadError("holds no files; zip the folder of posters, not an empty one")
        for member in members:
            where = f"{name}/{member.filename}"
            why = _refusal(member, budget[0])
            if why is None and len(out.posters) >= limit:
                out.dropped += 1
                continue
            if why is not None:
                out.skipped.append((where, why))
                continue
            try:
                with archive.open(member) as f:
                    content = f.read(member.file_size + 1)  # zipfile stops at the declared size, checks the CRC
            except (zipfile.BadZipFile, RuntimeError, ValueError, OSError, EOFError, NotImplementedError) as e:
                out.skipped.append((where, f"could not be extracted ({e}); zip the posters again"))
                continue
            budget[0] -= len(content)
            _keep(out, PurePosixPath(member.filename).stem or member.filename, content, limit)


def _is_clutter(path: str) -> bool:
    base = PurePosixPath(path).name
    return path.startswith(_CLUTTER[0]) or f"/{_CLUTTER[0]}" in path or base.startswith(".") or base in _CLUTTER[1:]


def _refusal(member: zipfile.ZipInfo, budget: int) -> str | None:
    """Why ``member`` is not read (None: it is read), from its table-of-contents entry alone."""
    suffix = PurePosixPath(member.filename).suffix.lower().lstrip(".")
    if suffix in ARCHIVE_EXTENSIONS:
        return "an archive inside the archive is not opened; unzip it and add its posters"
    if suffix not in SUPPORTED_EXTENSIONS:
        return f"not an image file (posters can be {SUPPORTED_TEXT})"
    if member.flag_bits & 0x1:
        return "is encrypted; zip the posters without a password"
    if member.file_size > MAX_EXPANSION * max(member.compress_size, 1) and member.file_size > 2**20:
        return (f"expands {member.file_size / max(member.compress_size, 1):,.0f} times over (a poster image hardly "
                "compresses), so it is not extracted; add the image itself")
    if member.file_size > budget:
        return (f"would take the archives past {MAX_ARCHIVE_BYTES // 2**20} MiB of images; compare fewer or "
                "smaller posters at a time")
    return None
