"""The brief check's core without the model: the atlas's per-genre probability distribution and colour
counts, the verdict rule, the look and colour notes, the ranking of drafts."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from postergenre.compare.check import (
    CLEAR_AT, NEAR, SHOWN_AT, VERDICTS, colour_notes, look_notes, verdict_for,
)
from postergenre.look.analysis import PosterAnalysis
from postergenre.look.atlas import Atlas, fit_percentile
from postergenre.look.atlas_build import AtlasConfig, summarize
from postergenre.look.palette import PaletteColour, rgb_to_lab

GENRES = ["Comedy", "Horror"]


def lab_of(rgb) -> list[float]:
    return rgb_to_lab(np.array([rgb], dtype=np.uint8))[0].astype(float).tolist()


BLACK, GREEN, WHITE, PINK = lab_of((10, 10, 10)), lab_of((30, 150, 40)), lab_of((250, 250, 250)), lab_of((255, 120, 200))


def model_atlas(n: int = 200, sample: int | None = 40) -> tuple[dict, dict]:
    """An atlas with a model: Horror posters' P(Horror) uniform on 0.2..0.8, Comedy posters' P(Horror)
    0.05; brightness of Horror posters 10..40, of Comedy 60..90. The measures come from ``sample`` posters
    per genre; the probability distribution from all ``n`` (the ``fit`` rows)."""
    rows, records, probs = [], {}, {}
    rng = np.random.default_rng(0)
    for genre in GENRES:
        for i in range(n):
            f = f"{genre}{i}"
            horror = genre == "Horror"
            p_h = 0.2 + 0.6 * i / (n - 1) if horror else 0.05
            probs[f] = [0.9 if not horror else 0.1, p_h]
            dark = (10 + 30 * rng.random()) if horror else (60 + 30 * rng.random())
            colour = [BLACK + [0.8], GREEN + [0.2]] if horror and i % 2 else [BLACK + [1.0]] if horror else [WHITE + [1.0]]
            records[f] = {"m": {"brightness": dark}, "h": [1.0] + [0.0] * 11, "p": colour}
            rows.append({"file": f, "genre_list": [genre], "year": "1999"})
    table = pd.DataFrame(rows)
    sample_table = table.groupby(table["genre_list"].str[0]).head(sample) if sample else table
    model = {"name": "m", "genres": GENRES, "fingerprint": "x"}
    data = summarize(sample_table, records, probs, model, AtlasConfig(min_genre=1), fit=(table, probs))
    return data, probs


def analysis(brightness: float, palette: list[tuple[list[float], float]]) -> PosterAnalysis:
    colours = [PaletteColour("#000000", (0, 0, 0), tuple(lab), share, "x") for lab, share in palette]
    return PosterAnalysis((200, 300), colours, {"brightness": brightness}, {}, "none")


def test_fit_distribution_comes_from_every_poster_of_the_split():
    data, _ = model_atlas()
    fit = data["genres"]["Horror"]["model"]["fit"]
    assert fit["n"] == 200                                   # all 200, not the 40 of the sample
    assert data["genres"]["Horror"]["count"] == 40
    assert len(fit["quantiles"]) == len(data["fit_levels"]) == AtlasConfig().fit_quantiles
    atlas = Atlas(data)
    assert fit_percentile(atlas, "Horror", 0.5) == pytest.approx(50.0, abs=0.6)
    assert fit_percentile(atlas, "Horror", 0.74) == pytest.approx(90.0, abs=0.6)
    assert fit_percentile(atlas, "Horror", 0.99) == 100.0 and fit_percentile(atlas, "Horror", 0.01) == 0.0
    assert fit_percentile(Atlas({**data, "fit_levels": None}), "Horror", 0.5) is None  # an older atlas


def test_verdicts_follow_their_thresholds():
    assert CLEAR_AT == 0.5 and SHOWN_AT == 0.25 and NEAR == pytest.approx(0.1)
    assert verdict_for(0.5, []) is VERDICTS["clear"]
    assert verdict_for(0.49, []) is VERDICTS["weak"] and verdict_for(0.25, []) is VERDICTS["weak"]
    assert verdict_for(0.2, []) is VERDICTS["faint"]
    assert verdict_for(0.3, ["Thriller"]) is VERDICTS["second"]
    assert verdict_for(0.1, ["Thriller"]) is VERDICTS["miss"]
    assert VERDICTS["second"].say("Horror", "Thriller") == "says Thriller first, Horror too"
    assert VERDICTS["clear"].say("Horror", "Horror") == "says Horror clearly"


def test_look_notes_name_measures_outside_the_genre_range():
    atlas = Atlas(model_atlas()[0])
    notes = look_notes(atlas, "Horror", analysis(75.0, [(BLACK, 1.0)]))
    assert [n.measure for n in notes] == ["brightness"]
    n = notes[0]
    assert n.direction == "higher" and n.percentile > 90
    assert n.phrase == "brighter than 99% of Horror posters" or n.phrase == "brighter than 100% of Horror posters"
    assert n.typical_text.startswith("Horror posters are typically darker than posters overall: median brightness")
    assert 20 < n.typical < 30
    assert look_notes(atlas, "Horror", analysis(25.0, [(BLACK, 1.0)])) == []   # within the usual range


def test_colour_notes_missing_and_unusual_colours():
    atlas = Atlas(model_atlas()[0])
    assert atlas.data["colour_clusters"]["colours"]
    # black only: lacks Horror's green (on 50% of Horror posters, 25% overall)
    notes = colour_notes(atlas, "Horror", analysis(20.0, [(BLACK, 1.0)]))
    missing = [n for n in notes if n.kind == "missing"]
    assert [n.name for n in missing] == ["green"]
    assert missing[0].genre_share == 0.5 and missing[0].overall_share == 0.25 and missing[0].poster_area == 0.0
    # with black and green it lacks nothing; white on 40% of it is unusual for Horror (on none of its posters)
    notes = colour_notes(atlas, "Horror", analysis(20.0, [(BLACK, 0.3), (GREEN, 0.3), (WHITE, 0.4)]))
    assert [n.kind for n in notes] == ["unusual"] and notes[0].name == "white"
    assert notes[0].phrase == "covers 40% of this poster; only 0% of Horror posters have it"


def test_docs_list_every_verdict_with_its_rule():
    """docs/check.md's verdict table is VERDICTS (words and rule), so the page cannot drift from the code."""
    from pathlib import Path

    text = (Path(__file__).resolve().parent.parent / "docs" / "check.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("  | says")]
    assert [r.split("|")[1].strip() for r in rows] == [v.say("X", "Y") for v in VERDICTS.values()]
    assert [r.split("|")[2].strip() for r in rows] == [v.when for v in VERDICTS.values()]
