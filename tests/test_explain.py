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

    monkeypatch.setattr(predictor_module, "read_in_background", no_ocr)   # what the predictor calls to read
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


def test_overlay_leaves_weak_evidence_untinted(sample_poster_path):
    """What the captions say: areas with little evidence (under TINT_FLOOR) keep the poster's colours;
    the jet colour map used to tint every area blue, however little it raised the score."""
    from postergenre.model.explain import TINT_FLOOR, TINT_FULL

    img = Image.open(sample_poster_path).convert("RGB")
    cam = np.full((img.height, img.width), TINT_FLOOR * 0.9, np.float32)
    assert np.array_equal(np.asarray(overlay(img, cam, 1.0)), np.asarray(img))
    cam[: img.height // 2] = TINT_FULL
    out = np.asarray(overlay(img, cam, 1.0)).astype(int)
    assert np.array_equal(out[img.height // 2:], np.asarray(img)[img.height // 2:])
    assert np.abs(out[: img.height // 2] - np.asarray(img)[: img.height // 2]).mean() > 20


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


def test_explain_cli_shows_the_probabilities_predict_gives(sample_poster_path, tmp_path, capsys, predictor):
    """Issue 26: `explain` read no text by default, so its tiles said other numbers than `predict` and the
    app for the same poster. Now it reads the text unless --no-text asks for the image alone."""
    import re

    def printed(argv: list[str]) -> tuple[dict[str, float], str]:
        assert main(argv) == 0
        out = capsys.readouterr().out
        return {m[1]: float(m[2]) / 100 for m in re.finditer(r"^(\w[\w ]*?)\s+([\d.]+)%$", out, re.M)}, out

    out = tmp_path / "heat.png"
    fused, image_alone = predictor.predict(sample_poster_path), predictor.predict(sample_poster_path, text=False)
    genres = [s.genre for s in fused.scores[:3]]
    shown, text = printed(["explain", str(sample_poster_path), *(a for g in genres for a in ("--genre", g)),
                           "--out", str(out)])
    assert set(shown) == set(genres) and "image alone" not in text
    for g in genres:
        assert shown[g] == pytest.approx(fused.probabilities[g], abs=0.0006)
    if predictor.text_model is None or fused.text is None:
        return
    moved = [g for g in genres if abs(fused.probabilities[g] - image_alone.probabilities[g]) > 0.002]
    assert moved, "the sample poster's text should move a top genre (else this test checks nothing)"
    shown, text = printed(["explain", str(sample_poster_path), *(a for g in genres for a in ("--genre", g)),
                           "--no-text", "--out", str(out)])
    assert "image alone" in text
    for g in genres:
        assert shown[g] == pytest.approx(image_alone.probabilities[g], abs=0.0006)
