"""postergenre predict POSTER [POSTER ...] [--json] [--out results.csv] [--quiet]"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports the model only when a command runs (fast --help)
    from postergenre.model.predictor import Prediction, Predictor

from postergenre.commands._options import add_precision_argument


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("predict", help="ranked genres for one or more posters (files, folders or URLs)",
                       description="Every genre ranked by calibrated probability; the headline (marked *) is the "
                                   "top 1-3 genres picked by a rule tuned on val, in plain words. Each result says "
                                   "whether the image looks like a movie poster (looks_like_poster, poster_score). "
                                   "A folder or many files get a progress bar. "
                                   "A bad argument is reported and the others are still predicted; the exit "
                                   "status is 1 when any failed.")
    p.add_argument("posters", nargs="+", metavar="POSTER", help="image file, folder of images, or http(s) URL")
    p.add_argument("--json", action="store_true", help="print JSON (one object per poster: looks_like_poster, poster_score, "
                                                         "every genre) instead of text")
    p.add_argument("--out", type=Path,
                   help="write a CSV (file, predicted, summary, looks_like_poster, poster_score, error, one "
                        "probability column per genre); rows are "
                        "written as they are computed, missing parent folders are created, and an existing file "
                        "is resumed (posters already predicted in it are skipped; its failed rows are tried "
                        "again and replaced, so each poster has one row)")
    p.add_argument("--top", type=int, default=5, help="genres shown per poster in text output (default 5; JSON has all)")
    p.add_argument("--quiet", action="store_true",
                   help="no progress bar; with --out only the totals, else one line per poster")
    p.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: CUDA when available)")
    add_precision_argument(p)
    p.add_argument("--weights", default=None, help="weights folder (default: the bundled weights/)")
    p.add_argument("--no-text", action="store_true", help="skip reading the poster's text (OCR): image alone, faster")
    p.add_argument("--batch-size", type=int, default=None, help="posters per forward pass (default: the fastest measured)")
    p.set_defaults(func=run)


def expand_inputs(items: list[str]) -> tuple[list[str | Path], list[tuple[str, str]], list[tuple[Path, str]]]:
    """(inputs, failed, skipped): files as given, folders expanded to their image files (sorted,
    recursive), URLs kept; ``failed`` = (argument, reason) for arguments that name nothing usable;
    ``skipped`` = (path, why) for special entries found in folders (FIFOs, devices, broken links)."""
    from postergenre.sources.images import SUPPORTED_EXTENSIONS
    from postergenre.commands._output import scan_images

    suffixes = {f".{ext}" for ext in SUPPORTED_EXTENSIONS}
    out: list[str | Path] = []
    failed: list[tuple[str, str]] = []
    skipped: list[tuple[Path, str]] = []
    for item in items:
        if item.startswith(("http://", "https://")):
            out.append(item)
            continue
        path = Path(item)
        if path.is_dir():
            found, passed_over = scan_images(path, suffixes)
            skipped.extend(passed_over)
            if found:
                out.extend(found)
            else:
                failed.append((item, f"no images ({', '.join(sorted(suffixes))}) found in folder {path}"))
        elif path.exists() or path.is_symlink():
            out.append(path)  # load_image names what is wrong with it (FIFO, broken link...), never blocks
        else:
            failed.append((item, "no such file or folder; give an image path, a folder or an http(s) URL"))
    return out, failed, skipped


def csv_header(predictor: Predictor) -> list[str]:
    return ["file", "predicted", "summary", "looks_like_poster", "poster_score", "error", *predictor.genres]


def csv_row(name: str, pred: Prediction | None, err: str | None, predictor: Predictor) -> list[str]:
    if pred is None:
        return [name, "", "", "", "", err or "", *([""] * len(predictor.genres))]
    probs = pred.probabilities
    check = ["" if pred.looks_like_poster is None else str(pred.looks_like_poster).lower(),
             "" if pred.poster_score is None else f"{pred.poster_score:.4f}"]
    return [name, "|".join(pred.predicted), pred.summary, *check, "", *(f"{probs[g]:.5f}" for g in predictor.genres)]


class ResultsCSV:
    """The --out CSV, appended row by row (flushed), resumed when it exists with the same columns."""

    def __init__(self, path: Path, header: list[str]):
        import csv

        from postergenre.errors import PosterGenreError
        from postergenre.commands._output import display_name

        self.path, self.done = path, set()
        existing = path.exists() and path.stat().st_size > 0
        if existing:
            with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
                rows = list(csv.reader(fh))
            if not rows or rows[0] != header:
                raise PosterGenreError(f"--out {display_name(path)} exists with other columns; choose another "
                                       "file or delete it.")
            err = header.index("error")  # rows that failed (or were cut off) are tried again...
            kept = [r for r in rows[1:] if len(r) == len(header) and not r[err]]
            self.done = {r[0] for r in kept}
            if len(kept) < len(rows) - 1:  # ...and leave the file, so each input keeps one row
                self._rewrite(path, [header, *kept])
        try:  # surrogateescape: file names that are not UTF-8 keep their exact bytes
            self._fh = open(path, "a", newline="", encoding="utf-8", errors="surrogateescape")
        except OSError as e:
            raise PosterGenreError(f"--out {display_name(path)} cannot be written ({e.strerror or e}); "
                                   "choose another file.") from None
        self._writer = csv.writer(self._fh)
        self.rows = 0  # data rows written by this run
        if not existing:
            self._writer.writerow(header)

    @staticmethod
    def _rewrite(path: Path, rows: list[list[str]]) -> None:
        """Replace ``path`` by ``rows`` (written beside it, then renamed: an interruption leaves the old file)."""
        import csv
        import os

        from postergenre.errors import PosterGenreError
        from postergenre.commands._output import display_name

        tmp = path.with_name(f".{path.name}.resume")
        try:
            with open(tmp, "w", newline="", encoding="utf-8", errors="surrogateescape") as fh:
                csv.writer(fh).writerows(rows)
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise PosterGenreError(f"--out {display_name(path)} cannot be rewritten to retry its failed rows "
                                   f"({e.strerror or e}); choose another file.") from None

    def write(self, row: list[str]) -> None:
        self._writer.writerow(row)
        self._fh.flush()
        self.rows += 1

    def close(self) -> None:
        self._fh.close()


def run(args: argparse.Namespace) -> int:
    import json
    import sys

    import postergenre

    from postergenre.errors import PosterGenreError
    from postergenre.sources.fetch import fetch_url
    from postergenre.commands._output import check_writable, display_name

    out_path = check_writable(args.out) if args.out else None  # before any work
    inputs, failed, skipped = expand_inputs(args.posters)
    for path, why in skipped if not args.quiet else ():
        print(f"skipped {display_name(path)}: {why}", file=sys.stderr)
    if skipped and args.quiet:
        print(f"skipped {len(skipped)} special entries (FIFOs, devices, broken links)", file=sys.stderr)
    predictor = postergenre.load(args.weights, device=args.device, precision=args.precision)
    table = ResultsCSV(out_path, csv_header(predictor)) if out_path else None
    if table and table.done:
        before = len(inputs)
        inputs = [i for i in inputs if str(i) not in table.done]
        print(f"resuming {display_name(out_path)}: {before - len(inputs)} posters already in it are skipped",
              file=sys.stderr)
    names, sources = [], []
    for item in inputs:
        if isinstance(item, str):
            try:
                sources.append(fetch_url(item))  # URLs fetched safely first
            except PosterGenreError as e:
                failed.append((item, str(e)))
                continue
        else:
            sources.append(item)
        names.append(str(item))
    for item, err in failed:
        if table:
            table.write(csv_row(item, None, err, predictor))
    many = len(names) > 1
    bar = many and not args.json and not args.quiet
    predicted, objs = 0, [{"source": item, "error": err} for item, err in failed]
    try:
        for name, (pred, err) in zip(names, predictor.iter_predictions(sources, args.batch_size, progress=bar,
                                                                        text=not args.no_text)):
            if table:
                table.write(csv_row(name, pred, err, predictor))
            if err is not None:
                failed.append((name, err))
                objs.append({"source": name, "error": err})
                if not args.json:
                    print(f"{display_name(name)}: ERROR {err}", file=sys.stderr)
                continue
            predicted += 1
            if args.json:
                objs.append(dict(pred.to_dict(), source=name))
            elif table or args.quiet:
                if not (table and args.quiet):
                    print(f"{display_name(name)}: {pred.summary}")
            else:
                print(f"{display_name(name)}: {pred.summary}")
                if pred.text is not None:
                    print(f"  text on the poster: {text_line(pred.text, pred.text_scores)}")
                if pred.warning:
                    print(f"  ! {pred.warning} (poster score {pred.poster_score:.3f})")
                for s in pred.scores[: args.top]:
                    print(score_line(s))
    finally:
        if table:
            table.close()
            print(f"wrote {display_name(out_path)} ({table.rows} rows)", file=sys.stderr)
    if args.json:
        print(json.dumps(objs[0] if len(objs) == 1 else objs, indent=2))  # ASCII: any file name prints
    if failed or many or table:
        print(_summary(predicted, failed), file=sys.stderr)
    return 1 if failed else 0


def score_line(score) -> str:
    """'  * Horror            80%  very likely': the mark of a headline genre, the probability as every
    surface shows it (whole percent) and the words, which read that same number."""
    from postergenre.model.decision import percent

    return f"  {'*' if score.predicted else ' '} {score.genre:<16} {percent(score.probability):>4}  {score.confidence}"


def _shorten(message: str, limit: int = 160) -> str:
    """A message cut at a word boundary with an ellipsis, never mid-word (the full text is in the CSV)."""
    if len(message) <= limit:
        return message
    return message[:limit].rsplit(" ", 1)[0] + " …"


def _summary(predicted: int, failed: list[tuple[str, str]], shown: int = 5) -> str:
    """'18 predicted, 2 failed: a.jpg (no such file ...), ...'"""
    from postergenre.commands._output import display_name

    text = f"{predicted} predicted, {len(failed)} failed"
    if failed:
        parts = [f"{display_name(name)} ({_shorten(err)})" for name, err in failed[:shown]]
        more = f", and {len(failed) - shown} more" if len(failed) > shown else ""
        text += ": " + ", ".join(parts) + more
    return text


def text_line(lines: list[str], scores: list[float] | None) -> str:
    """The poster's text as the app shows it: the lines the recogniser is confident of, each once, and
    how many more it could not read surely (the genres still count every line)."""
    from postergenre.model.text_model import legible_text

    if not lines:
        return "no text found"
    shown = legible_text(lines, scores)
    unsure = f"{shown.unsure} line{'s' if shown.unsure != 1 else ''} hard to read" if shown.unsure else ""
    return " / ".join(shown.lines) + ("; " if shown.lines and unsure else "") + unsure
