"""The Genre Atlas page (Streamlit AppTest) on a synthetic atlas, and its error path."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from fixtures import ROOT
from postergenre.look.analysis import MEASURES
from postergenre.look.atlas_build import AtlasConfig, summarize

PAGE = str(ROOT / "app_pages" / "atlas.py")
GENRES = ["Comedy", "Horror", "Romance"]


def synthetic_atlas_file(path) -> str:
    """An atlas summarized from random per-poster records: 3 genres x 30 posters over 3 decades,
    with model probabilities, so every chart of the page has data."""
    rng = np.random.default_rng(0)
    rows, records, probs = [], {}, {}
    for gi, genre in enumerate(GENRES):
        for i in range(30):
            f = f"{genre}{i}.jpg"
            rows.append({"file": f, "genre_list": [genre], "year": str(1985 + (i % 3) * 10)})
            m = {k: float(rng.random() + gi) for k in MEASURES}
            hues = rng.dirichlet(np.ones(12)).tolist()
            palette = [[float(rng.uniform(0, 100)), float(rng.uniform(-50, 50)), float(rng.uniform(-50, 50)), 0.5]
                       for _ in range(2)]
            records[f] = {"m": m, "h": hues, "p": palette}
            probs[f] = rng.random(len(GENRES)).tolist()
    model = {"name": "test-model", "genres": GENRES}
    data = summarize(pd.DataFrame(rows), records, probs, model, AtlasConfig(min_decade=5))
    path.write_text(json.dumps(data))
    return str(path)


@pytest.fixture
def atlas_env(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))           # pages import app_components from the repo root
    monkeypatch.setenv("POSTERGENRE_ATLAS", synthetic_atlas_file(tmp_path / "atlas.json"))
    monkeypatch.delenv("POSTERGENRE_DATA", raising=False)


def test_atlas_page_draws_every_section(atlas_env):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Genre Atlas"
    assert [s.label for s in at.selectbox] == ["Genre", "Contrast with", "Measure"]
    assert at.selectbox[0].value == "Horror"
    headers = [h.value for h in at.subheader]
    for section in ("Typical palette", "What sets it apart", "Against the other genres", "Over the decades",
                    "Hues", "What the model sees", "Typical posters"):
        assert section in headers
    assert len(at.get("plotly_chart")) == 5   # effects, distribution, decades, hues, model
    assert any("#" in m.value and "share" not in m.value and "flex" in m.value for m in at.markdown)
    palette = next(m.value for m in at.markdown if "Most frequent colours" in m.value)
    assert "Black, greys and white" in palette and "% of posters" not in palette and "on " in palette
    empty = next(c.value for c in at.caption if "most typical" in c.value)   # no dataset configured:
    assert "this one does not" in empty and "README" in empty and "POSTERGENRE_DATA" not in empty  # a user's words


def test_atlas_page_contrast_and_violin(atlas_env):
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    at.selectbox[0].select("Comedy").run()
    at.selectbox[1].select("Romance").run()
    at.toggle[0].set_value(True).run()
    assert not at.exception, at.exception
    assert "**Romance**" in " ".join(m.value for m in at.markdown)
    texts = " ".join(m.value for m in at.markdown)
    assert "Comedy posters, against all others" in texts and "Romance posters, against all others" in texts


def test_atlas_page_without_atlas_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("POSTERGENRE_ATLAS", str(tmp_path / "none.json"))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert "postergenre atlas" in at.error[0].value


def _analysis_view_script():
    """Run inside AppTest: the per-poster helpers the Predict page uses."""
    import os

    import numpy as np
    import streamlit as st

    from app_components.analysis import draw_measures, draw_palette
    from postergenre.look.analysis import analyze_poster
    from postergenre.look.atlas import load_atlas

    img = np.zeros((268, 182, 3), np.uint8)
    img[:, 91:] = (200, 30, 30)
    analysis = analyze_poster(img)
    draw_palette(analysis)
    atlas = load_atlas(os.environ["POSTERGENRE_ATLAS"])
    st.subheader("with atlas")
    draw_measures(analysis, atlas, "Horror")
    st.subheader("without atlas")
    draw_measures(analysis, None, None)


def test_analysis_view_helpers(atlas_env):
    at = AppTest.from_function(_analysis_view_script, default_timeout=60).run()
    assert not at.exception, at.exception
    swatches = " ".join(m.value for m in at.markdown)
    assert "#C81E1E" in swatches and "#000000" in swatches          # the two halves' colours
    assert len(at.get("plotly_chart")) == 1                         # percentile strip, only with an atlas
    with_atlas, without = at.table[0].value, at.table[1].value   # whole tables, wrapping: nothing cut off
    assert "vs Horror" in with_atlas.columns and len(with_atlas) >= len(MEASURES) - 1
    assert "in plain words" in with_atlas.columns and with_atlas["in plain words"].str.len().min() > 5
    assert list(without.columns) == ["measure", "value", "in plain words"] and len(without) == len(MEASURES)


def test_typical_posters_with_a_dataset_whose_images_are_missing_say_so(atlas_env, predictor, tmp_path, monkeypatch):
    """A dataset folder whose labels.csv lists posters that are not there: the section said nothing at
    all (an empty grid); it says why it is empty."""
    data = tmp_path / "posters"
    data.mkdir()
    pd.DataFrame({"file": [f"images/missing{i}.jpg" for i in range(4)], "genres": ["Horror"] * 4,
                  "split": ["train"] * 4}).to_csv(data / "labels.csv", index=False)
    monkeypatch.setenv("POSTERGENRE_DATA", str(data))
    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not at.get("imgs") and not [i for i in at.get("image")]
    said = next(c.value for c in at.caption if c.value.startswith("No Horror poster to show"))
    assert "missing" in said
