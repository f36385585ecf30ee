"""Grad-CAM: shapes, ranges, that it points at the evidence, the CLI, and errors."""
import numpy as np
import pytest
from PIL import Image

from postergenre.cli import main
from postergenre.errors import UnknownGenreError
from postergenre.model.explain import explain, overlay

from fixtures import make_poster


def test_heatmaps_for_top_genres(predictor, sample_poster_path):
    maps = explain(predictor, sample_poster_path, top_k=3)
    pred = predictor.predict(sample_poster_path)
    assert [h.genre for h in maps] == [s.genre for s in pred.scores[:3]]
    size = Image.open(sample_poster_path).size
    for h in maps:
        assert h.cam.shape == (size[1], size[0]) and h.cam.dtype == np.float32
        assert 0.0 <= h.cam.min() and h.cam.max() <= 1.0 and h.cam.max() > 0.5
        assert h.probability == pytest.approx(pred.probabilities[h.genre], abs=1e-4)
    # different genres look at different evidence
    assert not np.allclose(maps[0].cam, maps[1].cam)


def test_a_given_prediction_is_reused_not_recomputed(predictor, sample_poster_path, monkeypatch):
    """explain(prediction=) (the Predict page, the API) takes the prediction's probabilities and text:
    no OCR and no second prediction run, and the maps are those of explaining from scratch."""
    import postergenre.model.predictor as predictor_module

    pred = predictor.predict(sample_poster_path)
    fresh = explain(predictor, sample_poster_path, top_k=3, text=pred.text)

    def no_ocr(*args, **kwargs):
        raise AssertionError("OCR ran again")

    monkeypatch.setattr(predictor_module, "read_poster_text", no_ocr)
    monkeypatch.setattr(predictor, "probabilities", lambda *a: pytest.fail("the prediction ran again"))
    reused = explain(predictor, sample_poster_path, top_k=3, prediction=pred)
    assert [h.genre for h in reused] == [h.genre for h in fresh] == [s.genre for s in pred.scores[:3]]
    for a, b in zip(fresh, reused):
        assert b.probability == pred.probabilities[b.genre]
        assert a.probability == pytest.approx(b.probability, abs=1e-5)
        assert np.allclose(a.cam, b.cam, atol=1e-3)  # the poster's view alone gives the same map


def test_chosen_genre_and_batched_equals_single(predictor, sample_poster_path):
    both = explain(predictor, sample_poster_path, ["Horror", "Comedy"])
    alone = explain(predictor, sample_poster_path, ["Comedy"])
    assert [h.genre for h in both] == ["Horror", "Comedy"]
    assert np.allclose(both[1].cam, alone[0].cam, atol=0.02)  # one shared forward gives the same map


def test_heatmap_follows_the_content(predictor):
    """A detailed picture in one half of a poster and flat colour in the other: each top genre's map has
    structure, and moving the picture to the other half changes it (the map is computed from the
    pixels, not a fixed prior; a genre may keep evidence where posters put their billing block, so the
    test does not ask where the evidence goes)."""
    rng = np.random.default_rng(0)
    detail = np.asarray(make_poster(240, 180, seed=5))
    detail = np.clip(detail.astype(int) + rng.integers(-40, 40, detail.shape), 0, 255).astype(np.uint8)
    below, above = np.full((360, 240, 3), 128, np.uint8), np.full((360, 240, 3), 128, np.uint8)
    below[180:], above[:180] = detail, detail
    maps = explain(predictor, Image.fromarray(below), top_k=3, text=False)
    moved = {h.genre: h for h in explain(predictor, Image.fromarray(above), [h.genre for h in maps], text=False)}
    for h in maps:
        assert h.cam.std() > 0.05, h.genre
        assert np.corrcoef(h.cam.ravel(), moved[h.genre].cam.ravel())[0, 1] < 0.9, h.genre


def test_overlay_blends(sample_poster_path):
    img = Image.open(sample_poster_path).convert("RGB")
    cam = np.zeros((img.height, img.width), np.float32)
    assert np.array_equal(np.asarray(overlay(img, cam, 0.8)), np.asarray(img))  # no evidence: poster unchanged
    cam[:] = 1.0
    out = np.asarray(overlay(img, cam, 1.0)).astype(int)
    assert (out[..., 0] > 100).all() and (out[..., 2] < 50).all()  # full evidence: jet red everywhere
    other = np.asarray(overlay(img, cam, 1.0, colormap="viridis")).astype(int)
    assert (other[..., :2] > 200).all() and (other[..., 2] < 100).all()  # viridis ends in yellow
    small = np.full((4, 3), 0.5, np.float32)  # a coarse map is resized to the poster
    assert overlay(img, small, 0.5).size == img.size
    with pytest.raises(ValueError, match="jet"):
        overlay(img, cam, 0.5, colormap="rainbow-unicorn")


def test_unknown_genre(predictor, sample_poster_path):
    with pytest.raises(UnknownGenreError, match="available"):
        explain(predictor, sample_poster_path, ["Cowboys"])


def test_explain_cli(sample_poster_path, tmp_path, capsys, predictor, monkeypatch):
    out = tmp_path / "heat.png"
    assert main(["explain", str(sample_poster_path), "--genre", "Horror", "--genre", "Drama", "--out", str(out)]) == 0
    h = min(Image.open(sample_poster_path).height, 720)
    sheet = np.asarray(Image.open(out).convert("L"))
    assert sheet.shape[0] > h  # tiles + a caption band under them
    band = sheet[h + 14:, :]   # labels ("Poster", "Horror · 12%", "Drama · 40%") are dark text on white
    tile_w = (sheet.shape[1] - 12) // 3
    for i in range(3):          # poster + two heatmaps, each with a label under it
        assert (band[:, 12 + i * tile_w: (i + 1) * tile_w] < 128).sum() > 20
    assert "Horror" in capsys.readouterr().out
    monkeypatch.chdir(tmp_path)  # no --out: <poster name>_heatmaps.png here
    assert main(["explain", str(sample_poster_path), "--genre", "Drama"]) == 0
    assert (tmp_path / f"{sample_poster_path.stem}_heatmaps.png").is_file()
    assert main(["explain", str(sample_poster_path), "--genre", "Nope", "--out", str(out)]) == 2
    assert main(["explain", str(sample_poster_path), "--colormap", "nope", "--out", str(out)]) == 2
    assert "--colormap" in capsys.readouterr().err


def test_explain_cli_reads_text_only_with_text_flag(sample_poster_path, tmp_path, capsys, monkeypatch, predictor):
    """The heatmaps need no OCR: the poster's text is read only with --text (issue 13's cost)."""
    import postergenre.model.ocr as ocr

    calls = []

    def fake(image, cfg=None, **kwargs):
        calls.append(1)
        return ocr.TextReading(["A FRIGHTENING FILM"], [], getattr(image, "size", (0, 0)))

    monkeypatch.setattr(ocr, "read_poster_text", fake)
    import postergenre.model.predictor

    monkeypatch.setattr(postergenre.model.predictor, "read_poster_text", fake)  # imported at its top
    out = tmp_path / "heat.png"
    assert main(["explain", str(sample_poster_path), "--genre", "Horror", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert calls == [] and out.is_file()
    if predictor.text_model is not None:  # the bundled weights have a text channel
        assert "image alone" in printed
        assert main(["explain", str(sample_poster_path), "--genre", "Horror", "--text", "--out", str(out)]) == 0
        assert len(calls) >= 1 and "image alone" not in capsys.readouterr().out
