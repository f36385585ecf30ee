"""AppTest of the brief check on the Predict and Compare pages, and of how the Predict page treats an image
that does not look like a poster (no confident words, bars behind a toggle, heatmaps and genre ranges
only on request)."""
from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
COMPARE = str(ROOT / "app_pages" / "compare.py")


@pytest.fixture()
def env(predictor, monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    for name in ("TMDB_API_TOKEN", "TMDB_API_KEY", "POSTERGENRE_INDEX"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def two_posters(real_posters) -> list[bytes]:
    import pandas as pd

    table = pd.read_csv(real_posters / "labels.csv")
    files = table[table["split"] == "val"]["file"].iloc[[3, 40]]
    return [(real_posters / f).read_bytes() for f in files]


def noise_png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (400, 300, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def texts(at) -> str:
    return " ".join([m.value for m in at.markdown] + [c.value for c in at.caption] + [w.value for w in at.warning])


def expected_check(data: bytes, genres: list[str]):
    from postergenre.compare.check import check_poster
    from postergenre.errors import WeightsError
    from postergenre.look.atlas import load_atlas
    import postergenre

    try:
        atlas = load_atlas()
    except WeightsError:
        atlas = None
    return check_poster(postergenre.load(device="cpu"), data, genres, atlas=atlas, heatmaps=False)


def test_page_unchanged_without_an_intended_genre(env, two_posters):
    at = AppTest.from_file(APP, default_timeout=240).run()
    assert at.multiselect(key="intended_genres").value == []
    at.file_uploader(key="poster").upload("a.jpg", two_posters[0], "image/jpeg").run()
    assert not at.exception and not at.error
    assert "Brief check" not in [h.value for h in at.subheader]


def test_brief_check_follows_the_poster_with_no_leftovers(env, predictor, two_posters):
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.multiselect(key="intended_genres").set_value(["Horror"]).run()
    for name, data in zip(("first.jpg", "second.jpg"), two_posters):
        at.file_uploader(key="poster").upload(name, data, "image/jpeg").run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        heads = [h.value for h in at.subheader]
        assert heads.count("Brief check") == 1 and heads.index("Brief check") == 0   # at the top
        want = expected_check(data, ["Horror"])
        fit = want.genres[0].fit
        if want.flagged:
            assert "No verdict" in texts(at)
            continue
        verdicts = [m.value for m in at.main.markdown if m.value.startswith("### ")]
        assert verdicts == [f"### {want.headline}"]
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Horror probability"] == f"{fit.probability:.0%}"
        assert metrics["Rank"] == f"{fit.rank} of {len(predictor.genres)}"
        maps = [img.caption for e in at.get("image") for img in e.proto.imgs if img.caption.startswith(("where it", "Horror"))
                or " rather than " in img.caption]
        assert maps[0] == "where it says Horror"
        assert len(maps) == 1 + len(want.genres[0].competitors)
    # the second poster's section replaced the first's: one verdict, the second one's
    assert len([m for m in at.main.markdown if m.value.startswith("### ")]) <= 1


def test_flagged_image_looks_unsure_and_gets_no_verdict(env, predictor):
    at = AppTest.from_file(APP, default_timeout=240).run()
    at.multiselect(key="intended_genres").set_value(["Horror"]).run()
    at.file_uploader(key="poster").upload("noise.png", noise_png(), "image/png").run()
    assert not at.exception and not at.error
    pred = predictor.predict(noise_png())
    assert pred.warning is not None
    page = texts(at)
    assert "No verdict" in page and not any(m.value.startswith("### ") for m in at.main.markdown)
    assert pred.summary in [w.value for w in at.warning]
    for word in ("very likely", "(likely", "(possible", "calibrated on held-out posters"):
        assert word not in page, word
    assert not at.get("plotly_chart")                                  # the bars wait behind the toggle
    assert next(m for m in at.multiselect if m.label == "Genres to explain").value == []  # heatmaps on request
    assert next(s for s in at.selectbox if s.label.startswith("Compare with")).value is None
    at.toggle(key=next(t.key for t in at.toggle if t.key.startswith("show_guesses_"))).set_value(True).run()
    bars = json.loads(at.get("plotly_chart")[0].proto.spec)["data"][0]
    from app_components.charts import MUTED

    assert set(bars["marker"]["color"]) == {MUTED}                       # greyed: no headline colour
    at.toggle(key=next(t.key for t in at.toggle if t.key.startswith("check_anyway_"))).set_value(True).run()
    assert not at.exception and not at.error
    assert not any(m.value.startswith("### ") for m in at.main.markdown)     # still no verdict


def test_compare_ranks_the_drafts(env, predictor, two_posters, monkeypatch):
    if predictor.weights_dir is not None:
        monkeypatch.setenv("POSTERGENRE_WEIGHTS", str(predictor.weights_dir))
    at = AppTest.from_file(COMPARE, default_timeout=300).run()
    drafts = [("draft-a.jpg", two_posters[0], "image/jpeg"), ("draft-b.jpg", two_posters[1], "image/jpeg"),
              ("noise.png", noise_png(), "image/png")]
    at.file_uploader[0].set_value(drafts).run()
    assert not at.exception and not at.error
    at.multiselect(key="compare_intended").set_value(["Drama"]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "Which draft says Drama best?" in [h.value for h in at.subheader]
    table = at.dataframe[0].value
    checks = {n: expected_check(d, ["Drama"]) for n, d, _ in drafts}
    names = [n.rsplit(".", 1)[0] for n, _, _ in drafts]
    order = sorted(range(3), key=lambda i: (list(checks.values())[i].flagged, -list(checks.values())[i].score))
    assert list(table["poster"]) == [names[i] for i in order]
    assert list(table["poster"])[-1] == "noise" and table["verdict"].iloc[-1] == "not a poster: no verdict"
    heat = next(s for s in at.selectbox if s.label == "Heatmaps for the genre")
    assert heat.value == "Drama"
    page = " ".join(m.value for m in at.markdown)
    assert "noise · not a poster: heatmap on request" in page          # the non-poster's map only on request
    at.toggle(key=next(t.key for t in at.toggle if t.key.startswith("compare_flagged_maps_"))).set_value(True).run()
    assert "not a poster: heatmap on request" not in " ".join(m.value for m in at.markdown)
    chart = json.loads(at.get("plotly_chart")[0].proto.spec)["data"]
    from postergenre.compare.posters import PALE

    noise = next(t for t in chart if t.get("name") == "noise (not a poster: guesses)")   # faint, hatched: guesses
    assert set(noise["marker"]["opacity"]) == {PALE} and noise["marker"]["pattern"]["shape"] == "/"


def test_compare_ranks_every_draft_read_not_only_the_ticked_ones(env, predictor, real_posters, monkeypatch):
    """Six drafts: four are ticked for the side by side, and "which draft says Drama best" ranks all six
    (it ranked the ticked four), from the predictions the table already holds."""
    import pandas as pd

    if predictor.weights_dir is not None:
        monkeypatch.setenv("POSTERGENRE_WEIGHTS", str(predictor.weights_dir))
    table = pd.read_csv(real_posters / "labels.csv")
    files = table[table["split"] == "val"]["file"].iloc[10:16]
    drafts = [(f"draft-{i}.jpg", (real_posters / f).read_bytes(), "image/jpeg") for i, f in enumerate(files)]
    at = AppTest.from_file(COMPARE, default_timeout=300).run()
    at.file_uploader[0].set_value(drafts).run()
    at.multiselect(key="compare_intended").set_value(["Drama"]).run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    ranking = next(d.value for d in at.dataframe if "rank" in d.value.columns)
    assert sorted(ranking["poster"]) == [f"draft-{i}" for i in range(6)] and list(ranking["rank"]) == list(range(1, 7))
    scores = {n: expected_check(d, ["Drama"]).score for n, d, _ in drafts}
    assert list(ranking["poster"]) == sorted(ranking["poster"], key=lambda n: -scores[n + ".jpg"])
