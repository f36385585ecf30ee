"""AppTest for the Predict and Model card pages (the Atlas and Compare pages have their own files)."""
import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fixtures import make_poster

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")


def _image_captions(at) -> list[str]:
    """Captions of every image drawn (st.image elements may hold several images each)."""
    return [img.caption for element in at.get("image") for img in element.proto.imgs]


@pytest.fixture()
def app(predictor, monkeypatch):  # predictor: skips with a reason when the weights are missing
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.delenv("TMDB_API_TOKEN", raising=False)
    monkeypatch.delenv("TMDB_API_KEY", raising=False)
    return AppTest.from_file(APP, default_timeout=180).run()


def _cam_picker(at):
    """The Grad-CAM genre picker (the intended-genre selector above it is another multiselect)."""
    return next(m for m in at.multiselect if m.label == "Genres to explain")


def _open_tab(at, label: str):
    at.session_state["source"] = label  # what clicking the input tab does
    return at.run()


def test_predict_page_ranks_genres_and_shows_heatmaps(app, predictor, sample_poster_bytes):
    assert not app.exception
    assert app.sidebar.caption and predictor.device.upper() in app.sidebar.caption[0].value.upper()
    app.file_uploader(key="poster").upload("poster.jpg", sample_poster_bytes, "image/jpeg").run()
    assert not app.exception and not app.error
    expected = predictor.predict(sample_poster_bytes)
    if expected.warning:
        assert app.warning[0].value == expected.summary
    else:
        assert app.subheader[0].value == expected.summary
    if expected.text is not None:  # the text channel: what was read, or that nothing was
        assert "Text on the poster" in [h.value for h in app.subheader]
        shown = " ".join(m.value for m in app.markdown)
        assert (all(line in shown for line in expected.text) if expected.text else "No text found" in shown)
    bars = json.loads(app.get("plotly_chart")[0].proto.spec)["data"][0]
    assert bars["y"] == [s.genre for s in reversed(expected.scores)]   # plotly draws the last row on top
    assert bars["x"] == pytest.approx([s.probability for s in reversed(expected.scores)], abs=1e-4)
    from app_components.charts import OTHER, PREDICTED

    colours = dict(zip(bars["y"], bars["marker"]["color"]))            # the prediction is marked
    assert colours == {g: PREDICTED if g in expected.predicted else OTHER for g in colours}
    # the poster, then the poster again beside a heatmap for each of the top 3 genres
    top3 = [s.genre for s in expected.scores[:3]]
    assert _cam_picker(app).value == top3
    assert _image_captions(app)[1:] == ["Poster"] + [f"{g} · {expected.probabilities[g]:.0%}" for g in top3]
    # the probabilities shown fuse image and text; the maps explain the image's part, which is said when text was read
    says_part = any("explain the image's part" in c.value for c in app.caption)
    assert says_part == bool(expected.text)
    _cam_picker(app).set_value(["Horror"]).run()
    assert not app.exception and _image_captions(app)[2].startswith("Horror · ")
    assert len(_image_captions(app)) == 3
    downloads = {b.proto.label: b for b in app.get("download_button")}
    assert "Download JSON" in downloads and "Download heatmaps (PNG)" in downloads
    from app_components.model_cache import heatmap_png
    from PIL import Image

    sheet = Image.open(io.BytesIO(heatmap_png(sample_poster_bytes, ("Horror",), 0.6)))   # what the button serves
    assert sheet.format == "PNG" and sheet.width > 2 * sheet.height * 0.5   # poster + one labelled heatmap


def test_corrupt_upload_shows_an_error_not_an_exception(app):
    app.file_uploader(key="poster").upload("broken.jpg", b"\xff\xd8\xff\xe0 truncated", "image/jpeg").run()
    assert not app.exception
    assert app.error and "could not be read" in app.error[0].value
    assert not app.get("plotly_chart")


@pytest.mark.parametrize("url, says", [("http://127.0.0.1:1/poster.jpg", "public internet addresses"),
                                        ("ftp://example.com/poster.jpg", "http")])
def test_url_input_refuses_bad_links(app, url, says):
    _open_tab(app, "Image link")
    app.text_input(key="url").input(url).run()
    assert not app.exception
    assert app.error and "Could not use that link" in app.error[0].value and says in app.error[0].value.lower()


def test_tmdb_tab_without_key_speaks_to_users(app):
    _open_tab(app, "TMDB search")
    assert not app.exception
    assert any(i.value.startswith("TMDB search is not enabled on this deployment") for i in app.info)
    assert not any("secrets.toml" in i.value for i in app.info)
    assert app.text_input(key="tmdb_user_token_field").proto.type == 1   # a password field


def test_random_dataset_poster(predictor, monkeypatch, real_posters):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.setenv("POSTERGENRE_DATA", str(real_posters))
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.button(key="random_poster").click().run()
    assert not at.exception and not at.error
    name = at.session_state["random_poster_pick"]
    assert (real_posters / "images" / name).is_file() and name in _image_captions(at)


def test_model_page_numbers_come_from_the_metadata(app, predictor):
    app.switch_page("app_pages/model.py").run()
    assert not app.exception and not app.error
    test = predictor.metadata.metrics["test"]
    prior = test["baselines"]["training_prior"]
    shown = {m.label: m for m in app.metric}
    assert shown["macro-AP"].value == f"{test['macro_ap']:.3f}"
    assert shown["micro-AP"].value == f"{test['micro_ap']:.3f}"
    assert shown["macro-AP"].delta == f"{test['macro_ap'] - prior['macro_ap']:+.3f} vs prior"
    chart = json.loads(app.get("plotly_chart")[0].proto.spec)
    assert {t["name"] for t in chart["data"]} == {"model", "training prior"}
    model = next(t for t in chart["data"] if t["name"] == "model")
    assert dict(zip(model["y"], model["x"])) == pytest.approx({g: m["ap"] for g, m in test["per_genre"].items()})
    per_genre = app.dataframe[1].value.set_index("genre")
    assert per_genre["ECE"].to_dict() == pytest.approx({g: m["ece"] for g, m in test["per_genre"].items()})
    assert per_genre["calibration"].to_dict() == predictor.metadata.calibration["methods"]
    reliability = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                       if "reliability" in json.loads(c.proto.spec)["layout"].get("meta", ""))
    names = {t["name"] for t in reliability["data"]}
    assert {"calibrated", "raw sigmoid"} <= names


def test_two_uploads_in_a_row_explain_and_compare_the_second_poster(app, predictor, real_posters):
    import pandas as pd

    table = pd.read_csv(real_posters / "labels.csv")
    files = [f for f, g in zip(table["file"], table["genres"]) if g == "Horror"][:1] + \
            [f for f, g in zip(table["file"], table["genres"]) if g == "Animation|Comedy|Family"][:1]
    first, second = ((real_posters / f).read_bytes() for f in files)
    app.file_uploader(key="poster").upload("first.jpg", first, "image/jpeg").run()
    top_first = [s.genre for s in predictor.predict(first).scores[:3]]
    assert _cam_picker(app).value == top_first
    _cam_picker(app).set_value(top_first[:1]).run()            # the user narrows the first poster's genres
    app.file_uploader(key="poster").upload("second.jpg", second, "image/jpeg").run()
    assert not app.exception and not app.error
    expected = predictor.predict(second)
    top_second = [s.genre for s in expected.scores[:3]]
    assert top_second != top_first
    assert _cam_picker(app).value == top_second                # fresh: the second poster's top genres
    assert _image_captions(app)[2:] == [f"{g} · {expected.probabilities[g]:.0%}" for g in top_second]
    assert app.subheader[0].value == expected.summary
    atlas_pick = [s for s in app.selectbox if s.label == "Compare with the typical range of"]
    if atlas_pick:                                                # compared with the second poster's top genre
        assert atlas_pick[0].value == top_second[0]


def test_generated_poster_png_upload(app):
    buf = io.BytesIO()
    make_poster(seed=4).convert("P").save(buf, "PNG")  # a palette PNG, converted by the core
    app.file_uploader(key="poster").upload("p.png", buf.getvalue(), "image/png").run()
    assert not app.exception and not app.error
    guesses = [t for t in app.toggle if t.key.startswith("show_guesses_")]
    if guesses:  # flagged as not a poster: the bars wait behind "Show the guesses anyway"
        guesses[0].set_value(True).run()
    assert app.get("plotly_chart")
