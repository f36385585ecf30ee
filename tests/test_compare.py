"""Comparing posters: the core tables/exports (postergenre.compare, compare_report) and the Compare page."""
from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from PIL import Image

from conftest import ROOT, jpeg_bytes, make_poster
from postergenre.errors import ImageLoadError, PosterGenreError

POSTERS = [jpeg_bytes(make_poster(seed=s), quality=90) for s in (11, 12, 13)]


@pytest.fixture(scope="module")
def atlas():
    from postergenre.atlas import load_atlas
    from postergenre.errors import WeightsError

    try:
        return load_atlas()
    except WeightsError as e:
        pytest.skip(f"no genre atlas: {e}")


@pytest.fixture(scope="module")
def comparison(predictor, atlas):
    from postergenre.compare import compare_posters

    steps = []
    result = compare_posters(predictor, POSTERS, ["Teaser", "Teaser", "<b>Final</b>"], atlas=atlas,
                             progress=lambda f, msg: steps.append(f))
    assert steps[0] == 0 and steps[-1] == 1.0 and steps == sorted(steps)
    return result


def test_probabilities_match_the_model_per_poster(comparison, predictor):
    assert comparison.names == ["Teaser", "Teaser (2)", "<b>Final</b>"]
    table = comparison.probabilities()
    assert sorted(table.index) == sorted(predictor.genres) and list(table.columns) == comparison.names
    for name, data in zip(comparison.names, POSTERS):
        expected = predictor.predict(data).probabilities
        assert table[name].to_dict() == pytest.approx(expected, abs=1e-6)
    assert list(table.max(axis=1)) == sorted(table.max(axis=1), reverse=True)  # strongest genres first
    assert comparison.default_genre() == table.mean(axis=1).idxmax()


def test_measures_sit_in_the_genre_range(comparison, atlas):
    from postergenre.atlas import compare_to_genre

    table = comparison.measures("horror")
    assert {"Horror 25%", "Horror 75%"} <= set(table.columns)
    row = table.loc["Brightness"]
    for name, poster in zip(comparison.names, comparison.posters):
        assert row[name] == poster.analysis.measures["brightness"]
        expected = compare_to_genre(atlas, "Horror", "brightness", row[name])
        assert row[f"{name} percentile"] == pytest.approx(expected.percentile, abs=0.06)
        assert row[f"{name} vs Horror"] == expected.phrase
    assert row["Horror 25%"] < row["Horror 75%"]
    assert "Horror 25%" not in comparison.measures(None).columns
    with pytest.raises(PosterGenreError, match="Opera"):
        comparison.measures("Opera")


def test_csv_holds_every_number(comparison, predictor):
    frame = pd.read_csv(io.StringIO(comparison.to_csv("Drama")))
    n_measures = len(comparison.measures())
    n_colours = sum(len(p.analysis.palette) for p in comparison.posters)
    assert len(frame) == 3 * (len(predictor.genres) + n_measures) + n_colours
    genres = frame[frame.section == "genre"]
    first = genres[genres.poster == "Teaser"].set_index("item")["value"]
    assert first.to_dict() == pytest.approx(comparison.posters[0].prediction.probabilities, rel=1e-5)
    measures = frame[frame.section == "measure"]
    assert measures.genre.eq("Drama").all() and measures.percentile.between(0, 100).all()
    palette = frame[frame.section == "palette"]
    assert palette.groupby("poster")["value"].sum().between(0.97, 1.03).all()


def test_html_report_is_self_contained_and_escaped(comparison):
    from postergenre.compare_report import to_html_report

    heatmaps = [p.image for p in comparison.posters]  # any images will do for the layout
    page = to_html_report(comparison, genre="Drama", heatmaps=heatmaps, heatmap_genre="Drama")
    assert page.startswith("<!doctype html>") and "<b>Final</b>" not in page and "&lt;b&gt;Final&lt;/b&gt;" in page
    assert page.count("data:image/jpeg;base64,") == 6  # 3 posters + 3 heatmaps, embedded
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js inline: opens offline
    assert not re.search(r"<script[^>]*src=[\"']?https?:", page)
    assert "typical Drama" in page


def test_png_report_draws_every_poster(comparison):
    from postergenre.compare_report import to_png_report

    sheet = Image.open(io.BytesIO(to_png_report(comparison)))
    assert sheet.format == "PNG" and sheet.width > 3 * 250 and sheet.height > 400


def test_wrong_poster_counts_and_bad_images_are_clear_errors(predictor):
    from postergenre.compare import compare_posters

    with pytest.raises(PosterGenreError, match="2 to 4"):
        compare_posters(predictor, POSTERS[:1])
    with pytest.raises(PosterGenreError, match="2 to 4"):
        compare_posters(predictor, POSTERS * 2)
    with pytest.raises(ImageLoadError, match="^Broken: "):
        compare_posters(predictor, [POSTERS[0], b"not an image"], ["Good", "Broken"])
