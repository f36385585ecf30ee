"""Columns of a tag output, built generically from whatever a ``Prediction`` carries.

``prediction_columns(pred)`` flattens ``Prediction.to_dict()``: scalars become one column each, lists of
strings a list column, small dicts ``key.sub`` columns, anything else a JSON string; the per-genre list
becomes one float column per genre (``prob_<genre>``, from ``Prediction.probabilities``), so new fields
added to the Prediction (calibrated probabilities, a headline, the poster check, OCR text) appear as
columns without this module changing. The Arrow schema is derived once from a probe prediction, so both
engines and every part file of one output share it exactly.
"""
from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["prob_column", "prediction_columns", "analysis_columns", "schema_for"]

_SKIP = {"source", "genres", "scores"}  # covered by path / the prob_ columns


def prob_column(genre: str) -> str:
    """'Science Fiction' -> 'prob_science_fiction'."""
    return "prob_" + re.sub(r"[^0-9a-z]+", "_", genre.lower()).strip("_")


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if value is None or isinstance(value, (bool, int, float, str)):
        out[prefix] = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        out[prefix] = list(value)
    elif isinstance(value, (list, tuple)) and value and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                                            for v in value):
        out[prefix] = [float(v) for v in value]
    elif isinstance(value, dict) and all(isinstance(v, (bool, int, float, str, type(None))) for v in value.values()):
        for k, v in value.items():
            out[f"{prefix}.{k}"] = v
    else:
        out[prefix] = json.dumps(value, default=str)


def prediction_columns(pred, genres: list[str]) -> dict[str, Any]:
    """One output row's model columns from a Prediction (see the module docstring)."""
    out: dict[str, Any] = {}
    for key, value in pred.to_dict().items():
        if key not in _SKIP:
            _flatten(key, value, out)
    probs = pred.probabilities
    for g in genres:
        out[prob_column(g)] = float(probs[g])
    return out


# --analyze: the atlas's per-poster record (postergenre.look.atlas_build) as columns
def analysis_columns(record: dict) -> dict[str, Any]:
    """``{"m": measures, "h": hue shares, "p": palette [L, a, b, share]...}`` -> columns."""
    from postergenre.look.analysis import MEASURES

    if "error" in record:
        return {"analysis_error": record["error"]}
    out: dict[str, Any] = {f"m_{k}": record["m"].get(k) for k in MEASURES}
    out["hues"] = list(record["h"])
    out["palette"] = [list(c) for c in record["p"]]
    out["analysis_error"] = None
    return out


def _arrow_type(value: Any):
    import pyarrow as pa

    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    if isinstance(value, list):
        return pa.list_(pa.string()) if all(isinstance(v, str) for v in value) else pa.list_(pa.float64())
    return pa.string()


def schema_for(probe: dict[str, Any], *, analyze: bool, embedding_dim: int | None, metadata: dict[str, str]):
    """The output's Arrow schema: path, error, labels/year/split, the model columns of ``probe`` (a
    ``prediction_columns`` row), then the analysis and embedding columns when asked for."""
    import pyarrow as pa

    fields = [pa.field("path", pa.string(), nullable=False), pa.field("error", pa.string()),
              pa.field("labels", pa.list_(pa.string())), pa.field("year", pa.string()),
              pa.field("split", pa.string())]
    fields += [pa.field(k, pa.float64() if k.startswith("prob_") else _arrow_type(v)) for k, v in probe.items()]
    if analyze:
        from postergenre.look.analysis import MEASURES

        fields += [pa.field(f"m_{k}", pa.float64()) for k in MEASURES]
        fields += [pa.field("hues", pa.list_(pa.float64())), pa.field("palette", pa.list_(pa.list_(pa.float64()))),
                   pa.field("analysis_error", pa.string())]
    if embedding_dim:
        fields.append(pa.field("embedding", pa.list_(pa.float32(), embedding_dim)))
    return pa.schema(fields, metadata={k.encode(): v.encode() for k, v in metadata.items()})

