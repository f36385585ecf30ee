"""Comparing posters: the core tables/exports (postergenre.compare.posters, compare_report) and the Compare page."""
from __future__ import annotations

import json

import io
import re

import pandas as pd
import pytest
from PIL import Image

from fixtures import ROOT, jpeg_bytes, make_poster
from postergenre.errors import ImageLoadError, PosterGenreError

POSTERS = [jpeg_bytes(make_poster(seed=s), quality=90) for s in (11, 12, 13)]


@pytest.fixture(scope="module")
def comparison(predictor, atlas):
    from postergenre.compare.posters import compare_posters

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
    from postergenre.look.atlas import compare_to_genre

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
    last = predictor.trust().rule.max_genres  # ranked below the headline's last place: blank, never 1.01
    thresholds = genres[genres.poster == "Teaser"]["threshold"]
    assert thresholds[:last].notna().all() and thresholds[last:].isna().all()
    assert thresholds.max() < 1 and ",1.01," not in comparison.to_csv("Drama")
    measures = frame[frame.section == "measure"]
    assert measures.genre.eq("Drama").all() and measures.percentile.between(0, 100).all()
    palette = frame[frame.section == "palette"]
    assert palette.groupby("poster")["value"].sum().between(0.97, 1.03).all()


def test_html_report_is_self_contained_and_escaped(comparison):
    from postergenre.compare.report import to_html_report

    heatmaps = [p.image for p in comparison.posters]  # any images will do for the layout
    page = to_html_report(comparison, genre="Drama", heatmaps=heatmaps, heatmap_genre="Drama")
    assert page.startswith("<!doctype html>") and "<b>Final</b>" not in page and "&lt;b&gt;Final&lt;/b&gt;" in page
    assert page.count("data:image/jpeg;base64,") == 6  # 3 posters + 3 heatmaps, embedded
    assert "Plotly.newPlot" in page and len(page) > 1_000_000  # plotly.js inline: opens offline
    assert not re.search(r"<script[^>]*src=[\"']?https?:", page)
    assert "typical Drama" in page


def test_html_report_chart_names_every_genre_with_room_for_it(comparison):
    from postergenre.compare.report import to_html_report

    page = to_html_report(comparison, genre="Drama")
    data, layout = re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*(\{.*?\}),\s*\{", page, re.S).groups()
    bars = [t for t in json.loads(data) if t["type"] == "bar"]
    assert all(set(t["y"]) == set(comparison.genres) for t in bars)   # every genre, by its full name
    layout = json.loads(layout)
    longest = max(len(g) for g in comparison.genres)
    assert layout["yaxis"]["automargin"] and layout["margin"]["l"] >= 6 * longest   # labels are not clipped


def test_png_report_draws_every_poster(comparison):
    from postergenre.compare.report import to_png_report

    sheet = Image.open(io.BytesIO(to_png_report(comparison)))
    assert sheet.format == "PNG" and sheet.width > 3 * 250 and sheet.height > 400


def test_wrong_poster_counts_and_bad_images_are_clear_errors(predictor):
    from postergenre.compare.posters import compare_posters

    with pytest.raises(PosterGenreError, match="2 to 4"):
        compare_posters(predictor, POSTERS[:1])
    with pytest.raises(PosterGenreError, match="2 to 4"):
        compare_posters(predictor, POSTERS * 2)
    with pytest.raises(ImageLoadError, match="^Broken: "):
        compare_posters(predictor, [POSTERS[0], b"not an image"], ["Good", "Broken"])


# --- the Compare page (Streamlit AppTest) ------------------------------------------------------------

PAGE = str(ROOT / "app_pages" / "compare.py")


def test_compare_page_asks_for_two_posters(page_env):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Compare posters"
    assert "at least two posters" in at.info[-1].value
    at.file_uploader[0].set_value([("only.jpg", POSTERS[0], "image/jpeg")]).run()
    assert "1 so far" in at.info[-1].value


def test_compare_page_draws_and_exports_a_comparison(page_env, predictor):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.file_uploader[0].set_value([("teaser.jpg", POSTERS[0], "image/jpeg"),
                                   ("final.png", POSTERS[1], "image/png")]).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    headers = [h.value for h in at.subheader]
    assert headers == ["Genre probabilities", "Palettes", "Composition", "Where the model looks", "Export"]
    assert len(at.get("plotly_chart")) == 1
    captions = " ".join(m.value for m in at.markdown)
    for data in POSTERS[:2]:
        assert predictor.predict(data).summary in captions
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)      # the genres that matter, all a toggle away
    shown = set(chart["data"][0]["y"])
    assert len(shown) < len(predictor.genres)
    at.toggle(key="compare_all_genres").set_value(True).run()
    assert set(json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]["y"]) == set(predictor.genres)
    table = at.table[0].value
    assert {"teaser", "final"} <= set(table.columns) and "Brightness (L*)" in set(table["measure"])
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["CSV of all numbers", "HTML report", "PNG summary"]
    images = at.get("image")
    assert len(images) == 4  # two posters, two heatmaps
    heat = next(s for s in at.selectbox if s.label == "Heatmaps for the genre")
    other = next(g for g in predictor.genres if g != heat.value)
    heat.select(other).run()
    assert not at.exception and not at.error
    assert len(at.get("image")) == 4


def test_compare_page_names_and_duplicates(page_env):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.file_uploader[0].set_value([("a.jpg", POSTERS[0], "image/jpeg"), ("again.jpg", POSTERS[0], "image/jpeg"),
                                   ("b.jpg", POSTERS[1], "image/jpeg")]).run()
    assert not at.exception and any("same image" in w.value for w in at.warning)
    names = [t for t in at.text_input if t.key.startswith("compare_name_")]
    assert [t.value for t in names] == ["a", "b"]                  # the duplicate is compared once
    names[1].input("Final poster").run()
    assert not at.exception and "Final poster" in set(at.table[0].value.columns)


def test_compare_page_resets_its_genre_pickers_for_new_posters(page_env, predictor):
    from streamlit.testing.v1 import AppTest

    from postergenre.compare.posters import compare_posters

    top = compare_posters(predictor, [POSTERS[2], POSTERS[1]], ["c", "b"]).default_genre()
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.file_uploader[0].set_value([("a.jpg", POSTERS[0], "image/jpeg"), ("b.jpg", POSTERS[1], "image/jpeg")]).run()
    heat = next(s for s in at.selectbox if s.label == "Heatmaps for the genre")
    heat.select(next(g for g in predictor.genres if g not in (heat.value, top))).run()  # a pick for these two
    at.file_uploader[0].set_value([("c.jpg", POSTERS[2], "image/jpeg"), ("b.jpg", POSTERS[1], "image/jpeg")]).run()
    assert not at.exception, at.exception
    assert next(s for s in at.selectbox if s.label == "Heatmaps for the genre").value == top
    captions = " ".join(m.value for m in at.markdown)
    assert predictor.predict(POSTERS[2]).summary in captions


def test_compare_page_reports_a_broken_upload(page_env):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(PAGE, default_timeout=120).run()
    at.file_uploader[0].set_value([("good.jpg", POSTERS[0], "image/jpeg"),
                                   ("broken.jpg", POSTERS[1][:300], "image/jpeg")]).run()
    assert not at.exception, at.exception
    message = at.error[0].value.replace("\\", "")  # markdown escapes aside
    assert "1 of 2 files could not be read" in message and "**broken**: The uploaded data is" in message
    assert "1 so far" in at.info[-1].value  # the good one alone is not a comparison
