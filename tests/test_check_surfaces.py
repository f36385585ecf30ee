"""The brief check with the real model: the contrast maps (one forward pass, the difference of two genres'
Grad-CAM evidence), the typed result, and its API and CLI surfaces with a bad genre, a non-poster and a
broken file; the not-a-poster wording of /v1/predict and `postergenre predict`."""
from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from fixtures import jpeg_bytes
from postergenre.cli import main

BROKEN = b"\xff\xd8\xff\xe0 truncated"


def noise_png() -> bytes:
    """An image the poster check flags (random pixels)."""
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (400, 300, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def document_png() -> bytes:
    """A page of text: not a poster either."""
    page = Image.new("RGB", (600, 850), "white")
    d = ImageDraw.Draw(page)
    for i in range(40):
        d.text((40, 30 + 20 * i), "Quarterly report: revenue by region and the method of analysis " * 2, fill="black")
    buf = io.BytesIO()
    page.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def poster(real_posters) -> bytes:
    """A real poster that the poster check passes."""
    import pandas as pd

    table = pd.read_csv(real_posters / "labels.csv")
    for f in table[table["split"] == "val"]["file"].head(20):
        data = (real_posters / f).read_bytes()
        return data
    pytest.skip("no val poster")


def third_genre(predictor, data: bytes) -> str:
    return predictor.predict(data).scores[2].genre


# --- the core --------------------------------------------------------------------------------------------
def test_contrast_map_is_the_difference_of_the_two_genres_evidence(predictor, poster):
    """For an intended genre below the top one, the contrast map (top genre vs intended) is the
    difference of the two genres' Grad-CAM evidence before ReLU, each of the genre's logit as fused."""
    from postergenre.compare.check import check_poster

    pred = predictor.predict(poster)
    top, intended = pred.scores[0].genre, pred.scores[2].genre
    result = check_poster(predictor, poster, intended, prediction=pred)
    competitor = next(c for c in result.genres[0].competitors if c.genre == top)
    own = predictor.explainer.contrasts(poster, [(top, None), (intended, None)])
    expected = own[0].evidence - own[1].evidence
    assert competitor.evidence.shape == expected.shape
    assert np.max(np.abs(competitor.evidence - expected)) <= 1e-5 * max(1.0, np.abs(expected).max())
    assert np.abs(expected).max() > 0                       # not trivially zero
    cam = competitor.contrast
    assert cam.shape == (Image.open(io.BytesIO(poster)).height, Image.open(io.BytesIO(poster)).width)
    assert 0 <= cam.min() and cam.max() <= 1
    # the own map of a genre is explain()'s heatmap of it
    heat = predictor.explainer.explain(poster, [intended], prediction=pred)[0]
    assert np.abs(result.genres[0].own_map - heat.cam).max() < 1e-4


def test_contrast_maps_cost_one_forward_pass(predictor, poster, monkeypatch):
    """All the maps of a check (two intended genres, their competitors) from one backbone call."""
    from postergenre.compare.check import check_poster

    pred = predictor.predict(poster)
    explainer = predictor.explainer
    explainer.contrasts(poster, [(pred.scores[0].genre, None)])  # builds what it needs (fp32 twin graph)
    backbone = explainer.evidence_backbone()
    calls = []
    original = backbone.features_and_map
    monkeypatch.setattr(backbone, "features_and_map", lambda *a, **k: calls.append(1) or original(*a, **k))
    monkeypatch.setattr(backbone, "__call__", lambda *a, **k: calls.append(1) or original(*a, **k)[0], raising=False)
    genres = [pred.scores[3].genre, pred.scores[4].genre]
    result = check_poster(predictor, poster, genres, prediction=pred)
    n_maps = sum(1 + len(g.competitors) for g in result.genres)
    assert n_maps >= 3 and len(calls) == 1


def test_check_result_reads_true(predictor, poster, atlas):
    from postergenre.compare.check import VERDICTS, check_poster, verdict_for

    pred = predictor.predict(poster)
    top = pred.scores[0].genre
    result = check_poster(predictor, poster, [top.lower()], atlas=atlas, prediction=pred)
    fit = result.genres[0].fit
    assert result.intended == [top] and fit.rank == 1 and fit.outranked_by == []
    assert fit.probability == pytest.approx(pred.probabilities[top])
    assert fit.verdict is verdict_for(fit.probability, [])
    assert result.headline.lower().startswith(fit.words.lower())
    if atlas.fit_quantiles(top) is not None:
        assert 0 <= fit.percentile <= 100 and f"{top} posters" in fit.sentence
    second = check_poster(predictor, poster, third_genre(predictor, poster), atlas=atlas, prediction=pred)
    assert second.genres[0].fit.verdict in (VERDICTS["second"], VERDICTS["miss"])
    assert second.genres[0].fit.outranked_by[0] == top
    data = json.loads(json.dumps(result.to_dict(heatmaps=True)))  # JSON-ready
    assert set(data["heatmaps"]) >= {top} and data["limits"].startswith("The check reads")


# --- the API ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def client(predictor):
    testclient = pytest.importorskip("fastapi.testclient")
    from postergenre.api import APIConfig, create_app, get_predictor

    app = create_app(config=APIConfig(), preload=False)
    app.dependency_overrides[get_predictor] = lambda: predictor
    with testclient.TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_api_check(client, predictor, poster):
    genre = third_genre(predictor, poster)
    r = client.post(f"/v1/check?genre={genre}", files={"file": ("p.jpg", poster, "image/jpeg")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["intended"] == [genre] and body["verdict"] and "heatmaps" not in body
    g = body["genres"][0]
    assert g["genre"] == genre and g["rank"] == 3 and g["verdict"] in ("second", "miss")
    assert g["probability"] == pytest.approx(predictor.predict(poster).probabilities[genre], abs=1e-5)
    assert g["competitors"] and g["competitors"][0]["outranks"]
    other = "Horror" if genre != "Horror" else "Comedy"
    r = client.post(f"/v1/check?genre={genre}&genre={other}&heatmaps=true",
                    files={"file": ("p.jpg", poster, "image/jpeg")})
    body = r.json()
    assert r.status_code == 200 and len(body["genres"]) == 2
    png = __import__("base64").b64decode(body["heatmaps"][genre])
    assert Image.open(io.BytesIO(png)).format == "PNG"


@pytest.mark.parametrize("query, status, code, says", [
    ("genre=Telenovela", 422, "unknown_genre", "available = Action"),
    ("", 422, "invalid_request", "genre"),
    ("genre=Horror&genre=Comedy&genre=Drama", 400, "bad_request", "one or two"),
])
def test_api_check_refuses_bad_genres(client, poster, query, status, code, says):
    r = client.post(f"/v1/check?{query}", files={"file": ("p.jpg", poster, "image/jpeg")})
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and says in r.json()["error"]["message"]


def test_api_check_non_poster_and_broken_file(client):
    r = client.post("/v1/check?genre=Horror", files={"file": ("noise.png", noise_png(), "image/png")})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["looks_like_poster"] is False and body["verdict"] is None
    assert body["headline"].startswith("This does not look like a movie poster")
    assert body["genres"][0]["verdict"] is None and body["genres"][0]["verdict_words"] is None
    assert body["genres"][0]["competitors"] == [] and body["genres"][0]["look"] == []
    anyway = client.post("/v1/check?genre=Horror&anyway=true", files={"file": ("noise.png", noise_png(), "image/png")})
    assert anyway.json()["verdict"] is None and anyway.json()["genres"][0]["verdict"] is None
    r = client.post("/v1/check?genre=Horror", files={"file": ("broken.jpg", BROKEN, "image/jpeg")})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_image"


def test_api_predict_says_not_a_poster_instead_of_confidence(client):
    body = client.post("/v1/predict", files={"file": ("doc.png", document_png(), "image/png")}).json()
    assert body["looks_like_poster"] is False
    assert {g["confidence"] for g in body["genres"]} == {"not a poster"}
    for word in ("very likely", "likely", "possible"):
        assert word not in body["summary"]


# --- the CLI ---------------------------------------------------------------------------------------------
def test_cli_check_text_json_and_report(predictor, poster, tmp_path, capsys):
    path = tmp_path / "draft.jpg"
    path.write_bytes(poster)
    genre = predictor.predict(poster).scores[0].genre
    report = tmp_path / "out" / "check.html"
    assert main(["check", str(path), "--genre", genre, "--report", str(report)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"draft.jpg · intended: {genre}" and out[1].lower().startswith(f"says {genre.lower()}")
    html = report.read_text()
    assert html.index(out[1]) < html.index("What competes" if "What competes" in html else "How to read it")
    assert "<img src='data:image/jpeg;base64," in html and "http" not in html.replace("http-equiv", "")
    assert main(["check", str(path), "--genre", genre, "--json"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["intended"] == [genre] and body["genres"][0]["rank"] == 1 and "heatmaps" not in body


def test_cli_check_refuses_what_it_cannot_check(predictor, poster, tmp_path, capsys):
    path = tmp_path / "draft.jpg"
    path.write_bytes(poster)
    assert main(["check", str(path), "--genre", "Telenovela"]) == 2
    assert "available = Action" in capsys.readouterr().err
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(BROKEN)
    assert main(["check", str(broken), "--genre", "Horror"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("postergenre check: error:") and "Traceback" not in err
    noise = tmp_path / "noise.png"
    noise.write_bytes(noise_png())
    assert main(["check", str(noise), "--genre", "Horror"]) == 0
    out = capsys.readouterr().out
    assert "no verdict" in out and "says Horror" not in out
    assert main(["check", str(noise), "--genre", "Horror", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["verdict"] is None


def test_cli_predict_says_not_a_poster_instead_of_confidence(tmp_path, capsys):
    doc = tmp_path / "doc.png"
    doc.write_bytes(document_png())
    assert main(["predict", str(doc)]) == 0
    out = capsys.readouterr().out
    for word in ("very likely", " likely", "possible", "unlikely"):
        assert word not in out
    assert "not a poster" in out
    assert main(["predict", str(doc), "--json"]) == 0
    assert {g["confidence"] for g in json.loads(capsys.readouterr().out)["genres"]} == {"not a poster"}


def test_poster_jpeg_roundtrip_is_unflagged(predictor, poster):
    """The fixture poster passes the poster check (the tests above rely on it)."""
    assert predictor.predict(jpeg_bytes(Image.open(io.BytesIO(poster)), quality=92)).warning is None


def test_torch_twin_gives_the_same_contrast_evidence(fp32_predictor, poster):
    """On CUDA (or backend='torch') the contrast maps come from the PyTorch twin: same evidence."""
    pytest.importorskip("pytorch_grad_cam", reason="the PyTorch twin needs the full install")
    from postergenre.model.explain import NumpyExplainer, TorchExplainer

    pairs = [("Horror", None), ("Drama", "Horror"), ("Comedy", "Action")]
    mine = NumpyExplainer(fp32_predictor).contrasts(poster, pairs)
    twin = TorchExplainer(fp32_predictor).contrasts(poster, pairs)
    for a, b in zip(mine, twin):
        assert (a.genre, a.against) == (b.genre, b.against)
        assert np.abs(a.evidence - b.evidence).max() <= 2e-3 * np.abs(a.evidence).max()
        assert np.abs(a.cam - b.cam).max() < 0.02


@pytest.fixture(scope="module")
def catalog(tmp_path_factory, predictor, real_posters):
    """(index folder, a poster of it): 24 val posters tagged and indexed."""
    import shutil

    import pandas as pd

    from postergenre.catalog import TagConfig, WorkerConfig, tag
    from postergenre.catalog.index import build_index

    root = tmp_path_factory.mktemp("check_catalog")
    table = pd.read_csv(real_posters / "labels.csv")
    rows = table[table["split"] == "val"].head(24)
    (root / "cat" / "images").mkdir(parents=True)
    for f in rows["file"]:
        shutil.copy(real_posters / f, root / "cat" / f)
    rows.to_csv(root / "cat" / "labels.csv", index=False)
    tag(root / "cat", root / "out.parquet", TagConfig(progress=False), WorkerConfig(text=False, embeddings=True))
    build_index(root / "out.parquet", root / "index", progress=False)
    for f, genres in zip(rows["file"], rows["genres"]):  # a poster that reads as one of its own genres
        both = [g for g in predictor.predict(root / "cat" / f).predicted if g in genres.split("|")]
        if both:
            return root / "index", root / "cat" / f, both[0]
    pytest.skip("no poster of the catalog reads as one of its own genres")


def test_check_examples_from_a_catalog_index(catalog, predictor):
    """With an index, each intended genre gets the nearest catalog posters that are of it and read as it."""
    from postergenre.catalog.index import PosterIndex
    from postergenre.compare.check import check_poster

    index = PosterIndex(catalog[0], predictor=predictor)
    _, poster, genre = catalog
    result = check_poster(predictor, poster, genre, index=index, heatmaps=False, examples=4)
    examples = result.genres[0].examples
    assert examples and all(genre in e.predicted and genre in (e.labels or [genre]) for e in examples)
    assert [e.distance for e in examples] == sorted(e.distance for e in examples)
    everyone = index.similar(poster, 24)
    assert [e.path for e in examples] == [h.path for h in everyone if genre in h.predicted
                                          and genre in (h.labels or [genre])][:len(examples)]


def test_app_shows_catalog_examples_with_an_index(catalog, predictor, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    root = Path(__file__).resolve().parent.parent
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setenv("POSTERGENRE_INDEX", str(catalog[0]))
    at = AppTest.from_file(str(root / "app.py"), default_timeout=240).run()
    genre = catalog[2]
    at.multiselect(key="intended_genres").set_value([genre]).run()
    at.file_uploader(key="poster").upload("p.jpg", catalog[1].read_bytes(), "image/jpeg").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert f"**{genre} posters of your catalog that look like it**" in [m.value for m in at.markdown]
    assert any("distance 0.000" in c.value for c in at.caption)          # the poster itself is in the catalog


