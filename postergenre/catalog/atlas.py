"""The Genre Atlas of a tagged catalog: ``atlas_from_parquet(out)`` reduces the per-poster measures of a
``tag --analyze`` output into the same ``atlas.json`` dict that ``postergenre atlas --data DIR`` builds
(both call ``postergenre.look.atlas_build.summarize``), so a catalog's atlas is a Ray map plus a small reduce.

A poster's genres are its labels when the source had them (a dataset folder or a manifest with a
``genres`` column), else the model's predicted genres (``genres="predicted"`` forces that).
"""
from __future__ import annotations

import json
import time
from dataclasses import replace
from pathlib import Path

from postergenre.catalog.rows import prob_column
from postergenre.errors import DatasetError
from postergenre.look.atlas_build import AtlasConfig, summarize, write_atlas

__all__ = ["atlas_from_parquet"]


def atlas_from_parquet(out: str | Path, cfg: AtlasConfig = AtlasConfig(split=None, per_genre=None), *,
                       genres: str = "auto", dest: str | Path | None = None) -> dict:
    """The atlas dict of a tag output (written as JSON to ``dest`` when given). ``cfg.split`` keeps only
    that split's rows (when the output has a split column); sampling options do not apply: every row
    of the output is used. ``genres``: 'auto' (labels when present), 'labels' or 'predicted'."""
    import pandas as pd
    import pyarrow.parquet as pq

    from postergenre.look.analysis import MEASURES
    from postergenre.catalog.sources import part_files
    from postergenre.catalog.tag import read_output

    t0 = time.perf_counter()
    parts = part_files(Path(out))
    if not parts:
        raise DatasetError(f"{out} holds no tag output; run `postergenre tag SOURCE --out {out} --analyze` first")
    schema = pq.read_schema(parts[0])
    if "hues" not in schema.names:
        raise DatasetError(f"{out} has no palette/composition measures; tag it again with --analyze "
                           "(into a new --out)")
    info = json.loads((schema.metadata or {}).get(b"postergenre", b"{}"))
    cfg = replace(cfg, text=bool(info.get("text", cfg.text)))  # the config the measures were taken with
    table = read_output(out).to_pandas()
    if cfg.split and "split" in table and table["split"].notna().any():
        table = table[table["split"] == cfg.split]
    if table.empty:
        raise DatasetError(f"{out} has no rows{f' in split {cfg.split!r}' if cfg.split else ''}")
    use_labels = genres == "labels" or (genres == "auto" and table["labels"].notna().any())
    if genres == "labels" and not table["labels"].notna().any():
        raise DatasetError(f"{out} has no labels (the source had no genres); use genres='predicted'")
    column = "labels" if use_labels else "predicted"
    rows = pd.DataFrame({"file": table["path"].to_numpy(),
                         "genre_list": [list(g) if g is not None else [] for g in table[column]],
                         "year": table["year"].to_numpy()})
    records = {}
    for r in table.itertuples(index=False):
        err = next((e for e in (r.error, r.analysis_error) if isinstance(e, str) and e), None)
        records[r.path] = {"error": err} if err else {
            "m": {k: _value(getattr(r, f"m_{k}")) for k in MEASURES},
            "h": list(r.hues), "p": [list(c) for c in r.palette]}
    model = probs = None
    if info.get("genres"):
        model = {"name": info["model"], "genres": info["genres"], "fingerprint": info["fingerprint"]}
        cols = [prob_column(g) for g in info["genres"]]
        P = table[cols].to_numpy()
        probs = {p: (None if isinstance(err, str) else [round(float(x), 5) for x in row])
                 for p, err, row in zip(table["path"], table["error"], P)}
    atlas = summarize(rows, records, probs, model, cfg)
    atlas["source"].update({"dataset": Path(out).name, "genres_from": column,
                            "build_seconds": round(time.perf_counter() - t0, 1)})
    if dest is not None:
        write_atlas(atlas, dest)
    return atlas


def _value(x) -> float | None:
    import math

    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)
