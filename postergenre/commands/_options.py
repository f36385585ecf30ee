"""Command-line options that several commands share."""
from __future__ import annotations

import argparse
from dataclasses import fields
from typing import Any, TypeVar

C = TypeVar("C")


def add_precision_argument(p: argparse.ArgumentParser) -> None:
    """``--precision fp32|int8``: the backbone graph on the CPU (ONNX Runtime)."""
    p.add_argument("--precision", choices=("fp32", "int8"), default=None,
                   help="backbone precision on CPU (default: $POSTERGENRE_PRECISION, else the weights' measured "
                        "default: int8 when the model card shows it within 0.005 macro-AP of fp32 and the CPU has an "
                        "int8 dot product (VNNI/AMX), else fp32)")


def add_config_options(p: argparse.ArgumentParser, config: type, help_prefix: str = "") -> None:
    """One ``--field-name`` option per field of the config dataclass ``config``, typed and defaulted by
    the field's default (read back with ``config_from_args``)."""
    for f in fields(config):
        p.add_argument(f"--{f.name.replace('_', '-')}", type=type(f.default), default=f.default,
                       help=f"{help_prefix}{f.name} (default {f.default})")


def config_from_args(config: type[C], args: Any) -> C:
    """The ``config`` dataclass built from the options ``add_config_options`` added."""
    return config(**{f.name: getattr(args, f.name) for f in fields(config)})
