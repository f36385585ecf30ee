"""The ``postergenre`` command line: one sub-command per module in ``postergenre/commands/``.

Each command module defines ``register(subparsers)`` (adds its parser and sets ``func``) and keeps its
heavy imports inside the function it runs, so ``postergenre --help`` answers instantly.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from postergenre.errors import PosterGenreError

# (module under postergenre.commands, in --help order)
COMMANDS = ("predict", "check", "explain", "analyze", "train", "train_text", "calibrate", "evaluate", "atlas", "dataset", "serve",
            "catalog", "export-onnx")
_MODULE_OF = {"tag": "catalog", "index": "catalog", "similar": "catalog"}  # commands of a module of another name


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The whole command line, or with ``only`` (a command's name) just that command's parser: a run
    of one command then imports nothing of the others (``train``'s options alone import scikit-learn
    and pandas, about 1.5 s), while ``postergenre --help`` still lists every command."""
    parser = argparse.ArgumentParser(
        prog="postergenre",
        description="Read a movie poster: ranked genres, why the model thinks so (Grad-CAM), colours and composition.",
        epilog="Probabilities are calibrated on held-out posters (of the posters given 70%, about 7 in 10 have "
               "the genre); the headline names the top 1-3 genres in words (very likely >= 75%, likely >= 50%, "
               "possible >= 25%). Each result says whether the image looks like a movie poster at all; that "
               "check is statistical: a poster that is a plain photograph can be flagged, and a book cover or "
               "flyer can pass.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    only = _MODULE_OF.get(only, only)
    for name in COMMANDS if only not in COMMANDS else (only,):
        try:
            module = importlib.import_module(f"postergenre.commands.{name.replace('-', '_')}")
        except ModuleNotFoundError as e:
            if e.name != f"postergenre.commands.{name.replace('-', '_')}":
                raise
            continue  # command not built yet
        module.register(sub)
    return parser


def _version() -> str:
    from postergenre import __version__  # the one version string (pyproject.toml reads it from there)

    return __version__


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(only=argv[0] if argv else None)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except PosterGenreError as e:
        print(f"postergenre {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
