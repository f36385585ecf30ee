"""Command-line options that several commands share."""
from __future__ import annotations

import argparse


def add_precision_argument(p: argparse.ArgumentParser) -> None:
    """``--precision fp32|int8``: the backbone graph on the CPU (ONNX Runtime)."""
    p.add_argument("--precision", choices=("fp32", "int8"), default=None,
                   help="backbone precision on CPU (default: $POSTERGENRE_PRECISION, else the weights' measured "
                        "default: int8 when the model card shows it within 0.005 macro-AP of fp32 and the CPU has an "
                        "int8 dot product (VNNI/AMX), else fp32)")
