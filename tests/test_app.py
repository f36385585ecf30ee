"""AppTest for the Predict and Model card pages (the Atlas and Compare pages have their own files)."""
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import make_poster

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def _images(at):
    return at.get("image")


@pytest.fixture()
def app(predictor, monkeypatch):  # predictor: skips with a reason when the weights are missing
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.delenv("TMDB_API_TOKEN", raising=False)
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    return AppTest.from_file(APP, default_timeout=180).run()


def test_predict_page_ranks_genres_and_shows_heatmaps(app, sample_poster_bytes):
    assert not app.exception
    assert app.sidebar.caption and "CPU" in app.sidebar.caption[0].value.upper()
    app.file_uploader(key="poster").upload("poster.jpg", sample_poster_bytes, "image/jpeg").run()
    assert not app.exception and not app.error
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    bars = chart["data"][0]
    assert len(bars["y"]) == 17
    probs = bars["x"]
    assert probs == sorted(probs)  # highest on top (plotly draws the last row at the top)
    summary = app.subheader[0].value
    assert summary and summary != "Where the model looked"
    # the poster + 3 heatmaps (top 3 genres by default)
    assert len(_images(app)) >= 4
    assert len(app.multiselect(key="cam_genres").value) == 3
    app.multiselect(key="cam_genres").set_value(["Horror"]).run()
    assert not app.exception and len(_images(app)) == 2
    assert app.get("download_button")


def test_corrupt_upload_shows_an_error_not_an_exception(app):
    app.file_uploader(key="poster").upload("broken.jpg", b"\xff\xd8\xff\xe0 truncated", "image/jpeg").run()
    assert not app.exception
    assert app.error and "could not be read" in app.error[0].value


def test_url_input_refuses_private_addresses(app):
    app.radio(key="source").set_value("Image link").run()
    app.text_input(key="url").input("http://127.0.0.1:1/poster.jpg").run()
    assert not app.exception
    assert app.error and "Could not use that link" in app.error[0].value


def test_tmdb_tab_without_key_says_how_to_add_one(app):
    app.radio(key="source").set_value("TMDB search").run()
    assert not app.exception
    assert any("TMDB" in i.value for i in app.info)


def test_model_page_numbers_come_from_the_metadata(app, predictor):
    app.switch_page("pages/model.py").run()
    assert not app.exception and not app.error
    test = predictor.meta["metrics"]["test"]
    shown = {m.label: m.value for m in app.metric}
    assert shown["macro-AP"] == f"{test['macro_ap']:.3f}"
    assert shown["micro-AP"] == f"{test['micro_ap']:.3f}"
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert {t["name"] for t in chart["data"]} == {"model", "training prior"}


def test_generated_poster_png_upload(app):
    import io

    buf = io.BytesIO()
    make_poster(seed=4).convert("P").save(buf, "PNG")  # a palette PNG, converted by the core
    app.file_uploader(key="poster").upload("p.png", buf.getvalue(), "image/png").run()
    assert not app.exception and not app.error
