"""Genre Atlas: build on a small generated dataset, read it back, place values in a genre's range."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from fixtures import make_poster
from postergenre.look.atlas import (
    Atlas, compare_analysis, compare_to_genre, load_atlas, percentile_in_genre, typical_posters,
)
from postergenre.cli import main
from postergenre.errors import UnknownGenreError, WeightsError
from postergenre.look.atlas_build import AtlasConfig, build_atlas, model_fingerprint, summarize
from postergenre.sources.dataset import load_dataset

# 14 posters: 6 dark Horror, 6 bright Comedy, 2 Drama (too few for the atlas); years across two decades
ROWS = [(f"h{i}", "Horror|Thriller" if i % 2 else "Horror", 0.35, 1985 + i) for i in range(6)] + \
       [(f"c{i}", "Comedy", 1.0, 1992 + i) for i in range(6)] + \
       [(f"d{i}", "Drama", 0.8, 2001) for i in range(2)]


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("atlas_data")
    (root / "images").mkdir()
    lines = ["imdb_id,title,year,genres,split,file"]
    for n, (name, genres, gain, year) in enumerate(ROWS):
        img = np.asarray(make_poster(seed=n), dtype=np.float32) * gain
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / "images" / f"{name}.jpg", quality=90)
        lines.append(f"tt{n:07d},Secret Title {name},{year},{genres},train,images/{name}.jpg")
    (root / "labels.csv").write_text("\n".join(lines) + "\n")
    return root


@pytest.fixture(scope="module")
def built(dataset_dir, tmp_path_factory):
    """The atlas built through the CLI (no model), and its path."""
    out = tmp_path_factory.mktemp("atlas_out") / "atlas.json"
    cache = tmp_path_factory.mktemp("atlas_cache")
    rc = main(["atlas", "--data", str(dataset_dir), "--out", str(out), "--per-genre", "0", "--no-model",
               "--cache-dir", str(cache)])
    assert rc == 0
    return load_atlas(out), out, cache


def test_atlas_file_holds_only_aggregates(built):
    atlas, out, _ = built
    text = out.read_text()
    assert "Secret Title" not in text and "tt0000" not in text and "h0.jpg" not in text
    assert out.stat().st_size < 1_000_000
    assert atlas.genres == ["Comedy", "Horror"]      # Thriller (3) and Drama (2) have < min_genre posters
    assert "Drama" not in atlas.genres            # 2 posters < min_genre
    assert atlas.data["all"]["count"] == len(ROWS)
    assert atlas.data["model"] is None


def test_measure_distributions_are_consistent(built):
    atlas, _, _ = built
    horror = atlas.group("horror")
    assert horror["count"] == 6
    for key in atlas.measures:
        stats = horror["measures"][key]
        q = np.array(stats["quantiles"])
        assert len(q) == len(atlas.data["quantile_levels"])
        assert np.all(np.diff(q) >= 0), key
        assert sum(stats["histogram"]) == stats["n"] == 6
    for key in ("palette", "palette_neutrals"):  # shares: of the genre's posters having the colour
        shares = [c["share"] for c in horror[key]]
        assert shares == sorted(shares, reverse=True) and all(0 < s <= 1 for s in shares)
    assert horror["palette"] + horror["palette_neutrals"]
    assert sum(horror["hues"]) == pytest.approx(1.0, abs=1e-3)


def test_dark_genre_is_darker_with_a_large_effect(built):
    atlas, _, _ = built
    effects = atlas.group("Horror")["effect_sizes"]
    ds = [abs(e["d"]) for e in effects if e["d"] is not None]
    assert ds == sorted(ds, reverse=True)
    brightness = next(e for e in effects if e["measure"] == "brightness")
    assert brightness["d"] < -1.0 and brightness["genre_mean"] < brightness["rest_mean"]
    comedy_median = np.interp(0.5, *atlas.quantiles("Comedy", "brightness"))
    assert percentile_in_genre(atlas, "Horror", "brightness", comedy_median) > 95


def test_cache_makes_a_rebuild_skip_analysis(built, dataset_dir, monkeypatch):
    _, _, cache = built
    import postergenre.look.atlas_build as ab

    def boom(*a, **k):
        raise AssertionError("analysis should have come from the cache")

    monkeypatch.setattr(ab, "analyze_poster", boom)
    again = build_atlas(load_dataset(dataset_dir), None, AtlasConfig(per_genre=None, min_decade=3),
                        cache_dir=cache, progress=False)
    assert again["genres"]["Horror"]["count"] == 6
    assert set(again["genres"]["Horror"]["decades"]) == {"1980"}    # 1985..1990: 5 in the 1980s
    assert set(again["genres"]["Comedy"]["decades"]) == {"1990"}


def synthetic_atlas() -> Atlas:
    """A hand-made atlas: Horror brightness uniform on 0..100, face counts 0 for 60% of posters, else 1."""
    levels = np.linspace(0, 1, 41)
    records = {}
    table_rows = []
    for i, b in enumerate(np.linspace(0, 100, 101)):
        records[f"f{i}"] = {"m": {"brightness": float(b), "face_count": 0.0 if i < 61 else 1.0},
                            "h": [1.0] + [0.0] * 11, "p": [[50.0, 0.0, 0.0, 1.0]]}
        table_rows.append({"file": f"f{i}", "genre_list": ["Horror"], "year": "1999"})
    import pandas as pd

    data = summarize(pd.DataFrame(table_rows), records, None, None, AtlasConfig(min_genre=1))
    assert data["quantile_levels"] == pytest.approx(levels.tolist())
    return Atlas(data)


def palette_atlas(posters: dict[str, list[list[float]]]) -> dict:
    """summarize() over posters given as genre -> list of palettes ([L, a, b, share] colours)."""
    import pandas as pd

    records, table_rows = {}, []
    for genre, palettes in posters.items():
        for i, p in enumerate(palettes):
            f = f"{genre}{i}"
            records[f] = {"m": {"brightness": 50.0}, "h": [1.0] + [0.0] * 11, "p": p}
            table_rows.append({"file": f, "genre_list": [genre], "year": "1999"})
    return summarize(pd.DataFrame(table_rows), records, None, None, AtlasConfig(min_genre=1))


def lab_of(rgb) -> list[float]:
    from postergenre.look.palette import rgb_to_lab

    return rgb_to_lab(np.array([rgb], dtype=np.uint8))[0].astype(float).tolist()


def test_palette_keeps_red_and_blue_apart():
    """Half the genre's posters pure red, half pure blue: its colours are red and blue on 50% of its
    posters each, never their purple average."""
    red, blue, grey = lab_of((255, 0, 0)), lab_of((0, 0, 255)), lab_of((128, 128, 128))
    data = palette_atlas({"Action": [[red + [1.0]]] * 10 + [[blue + [1.0]]] * 10, "Drama": [[grey + [1.0]]] * 20})
    top = data["genres"]["Action"]["palette"]
    assert {c["hex"] for c in top} == {"#FF0000", "#0000FF"}
    assert [c["share"] for c in top] == [0.5, 0.5]
    assert {c["name"] for c in data["genres"]["Action"]["palette_distinctive"]} == {"red", "blue"}
    assert [c["lift"] for c in data["genres"]["Action"]["palette_distinctive"]] == [2.0, 2.0]  # 50% vs 25%
    assert "palette_distinctive" not in data["all"]


def test_palette_colours_are_colours_the_posters_have():
    """Twelve vivid hues around the wheel, one per poster beside 30% black: every colour listed is one of
    them (the old 8-cluster average mixed neighbours into colours no poster has)."""
    hues = [[55.0, 60 * np.cos(t), 60 * np.sin(t)] for t in np.linspace(0, 2 * np.pi, 12, endpoint=False)]
    black = [0.0, 0.0, 0.0]
    data = palette_atlas({"Animation": [[h + [0.7], black + [0.3]] for h in hues for _ in range(3)]})
    listed = data["genres"]["Animation"]["palette"]
    assert len(listed) == 8 and all(c["share"] == pytest.approx(1 / 12, abs=1e-3) for c in listed)
    inputs = np.array(hues)
    for c in listed:
        assert np.min(np.linalg.norm(inputs - np.array(c["lab"]), axis=1)) < 1.0, c
    assert [(c["name"], c["share"]) for c in data["genres"]["Animation"]["palette_neutrals"]] == [("black", 1.0)]


def test_distinctive_colours_stand_out_against_all_posters():
    green, white, black = lab_of((30, 150, 40)), lab_of((250, 250, 250)), lab_of((10, 10, 10))
    horror = [[black + [0.9], green + [0.1]]] * 4 + [[black + [1.0]]] * 6   # green on 40% of Horror posters
    comedy = [[white + [1.0]]] * 10
    data = palette_atlas({"Horror": horror, "Comedy": comedy})
    distinct = data["genres"]["Horror"]["palette_distinctive"]
    assert [c["name"] for c in distinct] == ["black", "green"]        # 100% vs 50%, 40% vs 20%: both x2
    assert distinct[1]["share"] == 0.4 and distinct[1]["area"] == pytest.approx(0.04)
    assert [c["name"] for c in data["genres"]["Comedy"]["palette_distinctive"]] == ["white"]


def test_percentile_and_phrases():
    atlas = synthetic_atlas()
    assert percentile_in_genre(atlas, "Horror", "brightness", 85.0) == pytest.approx(85.0, abs=0.5)
    assert percentile_in_genre(atlas, "Horror", "brightness", -5.0) == 0.0
    assert percentile_in_genre(atlas, "Horror", "brightness", 500.0) == 100.0
    c = compare_to_genre(atlas, "horror", "brightness", 15.0)
    assert c.phrase == "darker than 85% of Horror posters"
    assert compare_to_genre(atlas, "Horror", "brightness", 90.0).phrase == "brighter than 90% of Horror posters"
    assert c.typical == pytest.approx((25.0, 75.0), abs=0.5)
    assert compare_to_genre(atlas, "Horror", "brightness", 55.0).phrase == "typical of Horror posters"
    # ties: 0 faces is shared by ~60% of posters: none has fewer, ~40% have more, and it is typical
    zero = compare_to_genre(atlas, "Horror", "face_count", 0.0)
    assert zero.below == 0.0 and zero.above == pytest.approx(40.0, abs=3)
    assert zero.phrase == "typical of Horror posters"
    assert compare_to_genre(atlas, "Horror", "face_count", 1.0).phrase.startswith("more faces than 6")
    with pytest.raises(UnknownGenreError):
        compare_to_genre(atlas, "Space Opera", "brightness", 1.0)


def test_compare_analysis_orders_by_how_unusual(built, dataset_dir):
    from postergenre.look.analysis import analyze_poster

    atlas, _, _ = built
    comps = compare_analysis(atlas, "Comedy", analyze_poster(dataset_dir / "images" / "h0.jpg"))
    assert {c.measure for c in comps} == set(atlas.measures)
    spread = [abs(c.percentile - 50) for c in comps]
    assert spread == sorted(spread, reverse=True)
    assert next(c for c in comps if c.measure == "brightness").phrase.startswith("darker than")


def test_load_atlas_errors_say_what_to_do(tmp_path):
    with pytest.raises(WeightsError, match="postergenre atlas"):
        load_atlas(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(WeightsError, match="not a postergenre atlas"):
        load_atlas(bad)


def test_atlas_with_model_predictions(predictor, dataset_dir, tmp_path):
    data = build_atlas(load_dataset(dataset_dir), tmp_path / "atlas.json", AtlasConfig(per_genre=None),
                       predictor=predictor, cache_dir=tmp_path, progress=False)
    assert data["model"]["genres"] == list(predictor.genres)
    assert data["model"]["fingerprint"] == model_fingerprint(predictor)   # tells which weights it saw
    m = data["genres"]["Horror"]["model"]
    assert 0.0 <= m["mean_probability"] <= 1.0 and 0.0 <= m["rest_mean_probability"] <= 1.0
    assert set(m["profile"]) == set(predictor.genres)
    # typical posters: from the build's cached predictions, or scored afresh; the same either way
    best = typical_posters(dataset_dir, "Horror", predictor, n=3, cache_dir=tmp_path)
    assert len(best) == 3
    assert all(p.path.parent.name == "images" and p.path.name.startswith("h") for p in best)
    probs = [p.probability for p in best]
    assert probs == sorted(probs, reverse=True)
    fresh = typical_posters(dataset_dir, "Horror", predictor, n=3, cache_dir=tmp_path / "empty")
    assert [p.path for p in fresh] == [p.path for p in best]
    assert [p.probability for p in fresh] == pytest.approx(probs, abs=1e-4)
