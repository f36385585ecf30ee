"""AppTest for the Predict and Model card pages (the Atlas and Compare pages have their own files)."""
import io
import json
from pathlib import Path

import numpy as np
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
    if expected.text is not None:  # the text channel: what was read legibly, or that nothing was
        from postergenre.model.text_model import legible_text

        assert "Text on the poster" in [h.value for h in app.subheader]
        shown = " ".join(m.value for m in app.markdown)
        read = legible_text(expected.text, expected.text_scores)
        assert (all(f"`{line}`" in shown for line in read.lines) if expected.text else "No text found" in shown)
        assert ("hard to read" in shown) == read.hard_to_read
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
    assert app.status[0].label == "The poster could not be read" and app.status[0].error   # the reason inside
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


def test_model_card_measures_fit_and_each_says_in_plain_words_what_it_means(app, predictor):
    """The summary table was 11 columns wide (clipped at 1280 px); it is one row per measure, and each
    jargon term (macro-AP, ROC-AUC, F1, Hamming loss, ECE) has a plain sentence made from its numbers."""
    from postergenre.evaluation.card import MEASURES

    app.switch_page("app_pages/model.py").run()
    assert not app.exception and not app.error
    test = predictor.metadata.metrics["test"]
    table = app.dataframe[0].value
    assert list(table.columns)[:2] == ["measure", "model"] and len(table.columns) <= 4
    assert table.set_index("measure")["model"].to_dict() == pytest.approx({MEASURES[k]: test[k] for k in MEASURES})
    text = " ".join(m.value for m in app.markdown)
    for key, label in MEASURES.items():
        assert f"**{label}** {test[key]:.3f}: " in text, label
    assert f"about {test['macro_ap'] * 10:.0f} in 10 of the posters passed have it" in text
    assert f"higher probability {test['macro_auc']:.0%} of the time" in text
    assert f"{test['hamming_loss']:.0%} of the yes/no calls" in text and f"{test['ece'] * 100:.1f} percentage points" in text
    assert {m.label: m.proto.help for m in app.metric}["macro ROC-AUC"].startswith("Take a poster that has a genre")


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


def _png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares ``width`` x ``height`` pixels (a decompression bomb's shape: refused
    from the header, before any pixel is decoded)."""
    import struct
    import zlib

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = 8 + 8                                   # signature, then the IHDR chunk's length and type
    data[ihdr:ihdr + 8] = struct.pack(">II", width, height)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])))
    return bytes(data)


@pytest.mark.parametrize("name, data, says, then", [
    pytest.param("notes.jpg", b"These are my notes about the film, not an image.\n" * 20, "is text, not an image", "choose a poster", id="text"),
    pytest.param("print.png", _png_declaring(8000, 12000), "96.0 megapixels, over the 40 MP limit", "resize", id="96MP-png"),
    pytest.param("bomb.png", _png_declaring(20000, 20000), "too many pixels to decode safely", "resize", id="bomb")])
def test_a_file_that_cannot_be_read_says_why_without_a_click(app, name, data, says, then):
    """The reason and what to do are in the status box, and the box is open (it was folded under 'The
    poster could not be read'); a text file named .jpg, a print-size PNG, a decompression bomb."""
    app.file_uploader(key="poster").upload(name, data, "image/png" if name.endswith(".png") else "image/jpeg").run()
    assert not app.exception and not app.get("plotly_chart")
    status = app.status[0]
    assert status.label == "The poster could not be read" and status.state == "error" and status.proto.expanded
    reason = status.error[0].value
    assert says in reason and then in reason.lower()


def test_results_of_a_poster_that_is_gone_leave_with_it(app, sample_poster_bytes):
    """Upload, open the Image link tab, come back: the browser's uploader is empty, and so is the page
    (the previous poster's results used to stay, with nothing to clear them)."""
    app.file_uploader(key="poster").upload("poster.jpg", sample_poster_bytes, "image/jpeg").run()
    assert app.get("plotly_chart")
    _open_tab(app, "Image link")
    assert not app.exception and not app.get("plotly_chart") and not _image_captions(app)
    _open_tab(app, "Upload")
    assert not app.exception and not app.get("plotly_chart") and not app.status
    assert all(u.value is None for u in app.file_uploader)
    assert any(i.value.startswith("Choose a poster to start") for i in app.info)
    app.file_uploader[0].upload("again.jpg", sample_poster_bytes, "image/jpeg").run()   # the fresh uploader works
    assert not app.exception and app.get("plotly_chart") and "again.jpg" in _image_captions(app)


def test_clear_removes_the_poster_and_its_results(app, sample_poster_bytes):
    app.file_uploader(key="poster").upload("poster.jpg", sample_poster_bytes, "image/jpeg").run()
    assert app.get("plotly_chart")
    app.button(key="clear_poster").click().run()
    assert not app.exception and not app.get("plotly_chart") and not app.status
    assert all(u.value is None for u in app.file_uploader)
    assert any(i.value.startswith("Choose a poster to start") for i in app.info)


def test_emptying_the_uploader_does_not_bring_back_an_earlier_example(app, sample_poster_bytes):
    from app_components.examples import DRAWN

    app.button(key="example_drawn:0").click().run()
    assert f"{DRAWN[0].name} (" in " ".join(_image_captions(app))
    app.file_uploader(key="poster").upload("mine.jpg", sample_poster_bytes, "image/jpeg").run()
    assert "mine.jpg" in _image_captions(app)
    app.file_uploader(key="poster").clear().run()
    assert not app.exception and not app.get("plotly_chart")
    assert not any(DRAWN[0].name in c for c in _image_captions(app) if c)


def test_an_image_that_is_not_a_poster_gets_no_poster_read_check(app, predictor):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (450, 300, 3), dtype=np.uint8)).save(buf, "PNG")
    if predictor.predict(buf.getvalue()).warning is None:
        pytest.skip("these weights do not flag the noise image")
    app.file_uploader(key="poster").upload("noise.png", buf.getvalue(), "image/png").run()
    assert not app.exception and app.warning and "does not look like a movie poster" in app.warning[0].value
    assert not [s for s in app.status if s.label == "Poster read"]   # no green check for a non-poster


def test_text_shown_is_what_was_read_legibly(app, predictor, monkeypatch, sample_poster_bytes):
    """A misread tagline (eleven times), a line of brackets and a confident title: the page shows the
    title once, says plainly that the rest was hard to read, and names only words of shown lines."""
    import dataclasses

    import app_components.model_cache as cache
    import app_components.prediction_view as view

    real = predictor.predict(sample_poster_bytes)
    top = real.scores[0].genre
    fake = dataclasses.replace(real, text=["POUY THIVK IT. DON'T SAY E%R"] * 11 + ["(图)()(()()", "THE HOLLOW HOUSE"],
                               text_scores=[0.6] * 11 + [0.9, 0.99], text_words={top: [("don't", 0.5), ("hollow", 0.3)]})
    for module in (cache, view):   # the page reads the poster through the view (the cache's function)
        monkeypatch.setattr(module, "predict_bytes", lambda data: fake)
    app.file_uploader(key="poster").upload("poster.jpg", sample_poster_bytes, "image/jpeg").run()
    assert not app.exception
    shown = [m.value for m in app.markdown]
    text = " ".join(shown)
    assert "`THE HOLLOW HOUSE`" in shown and "POUY" not in text and "(图)" not in text
    assert any(m.startswith(f"**{top}** ← hollow (+0.30)") for m in shown) and "don't" not in text
    assert any("Some of the text was hard to read" in m and "2 lines" in m for m in shown)
    fake = dataclasses.replace(fake, text=["POUY THIVK IT."] * 3, text_scores=[0.55] * 3)   # nothing legible
    app.file_uploader(key="poster").upload("other.jpg", sample_poster_bytes + b"\0", "image/jpeg").run()
    shown = " ".join(m.value for m in app.markdown)
    assert "POUY" not in shown and "**The text was hard to read:** the reader found 1 line but was unsure of it" in shown


def test_heatmap_caption_says_each_map_is_relative_and_what_untinted_means(app, sample_poster_bytes):
    """Each map is scaled to its own maximum (Grad-CAM's values do not compare across genres): the caption
    says so, instead of 'untinted areas barely mattered' over a colour map that tinted everything."""
    from postergenre.model.explain import TINT_FLOOR

    app.file_uploader(key="poster").upload("poster.jpg", sample_poster_bytes, "image/jpeg").run()
    captions = " ".join(c.value for c in app.caption)
    assert "barely mattered" not in captions
    said = next(c.value for c in app.caption if c.value.startswith("Each map is scaled to its own strongest area"))
    assert "not how much" in said and f"under {TINT_FLOOR:.0%} of that are left untinted" in said
