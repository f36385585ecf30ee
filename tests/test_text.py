"""The OCR text channel: text read from rendered posters, the resumable text cache, the text model on a
tiny corpus, fusion with and without text, the prediction fields, and fused vs image-only on real posters."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fixtures import make_poster, poster_with_words

GENRES = ["Comedy", "Horror"]


def test_read_text_recovers_rendered_words():
    pytest.importorskip("rapidocr")
    from postergenre.model.ocr import read_text

    lines = read_text(poster_with_words(["ZOMBIE", "NIGHT"]))
    got = " ".join(lines).upper()
    assert "ZOMBIE" in got and "NIGHT" in got, lines


def _tiny_dataset(root: Path, n: int = 3) -> Path:
    (root / "images").mkdir(parents=True)
    rows = ["imdb_id,title,year,genres,split,file"]
    for i in range(n):
        make_poster(seed=i).save(root / "images" / f"tt{i:07d}.jpg")
        rows.append(f"tt{i:07d},Film {i},2000,Drama,train,images/tt{i:07d}.jpg")
    (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


def test_text_cache_resumes_and_seeds(tmp_path, monkeypatch):
    import postergenre.model.ocr as ocr
    from postergenre.sources.dataset import load_dataset

    ds = load_dataset(_tiny_dataset(tmp_path / "data"))
    calls = []
    monkeypatch.setattr(ocr, "read_text", lambda image, cfg=None: calls.append(Path(image).name) or [f"WORD {len(calls)}"])
    first = ocr.cache_text(ds, cache_dir=tmp_path / "cache", progress=False, limit=1)  # "interrupted" after one
    assert len(calls) == 1 and first[0] == "WORD 1" and first[1:] == ["", ""]
    second = ocr.cache_text(ds, cache_dir=tmp_path / "cache", progress=False)
    assert len(calls) == 3 and second[0] == "WORD 1" and second[1:] == ["WORD 2", "WORD 3"]  # only the rest read
    assert ocr.cache_text(ds, cache_dir=tmp_path / "cache", progress=False) == second and len(calls) == 3
    # a dataset's ocr_text.jsonl (made with the settings SEED_CONFIG names) seeds a fresh cache of those
    # settings without reading; a cache of other settings is not seeded from it
    (ds.root / ocr.SEED_FILE).write_text("".join(json.dumps({"file": f, "text": f"SEEDED {f}", "scores": []}) + "\n"
                                                 for f in ds.table["file"]))
    seeded = ocr.cache_text(ds, ocr.SEED_CONFIG, cache_dir=tmp_path / "cache2", progress=False)
    assert seeded == [f"SEEDED {f}" for f in ds.table["file"]] and len(calls) == 3
    other = ocr.OCRConfig(det_side=ocr.SEED_CONFIG.det_side + 32)
    assert not any(t.startswith("SEEDED") for t in ocr.cache_text(ds, other, cache_dir=tmp_path / "cache3", progress=False))
    assert len(calls) == 6


def _corpus(n: int = 60, seed: int = 0):
    rng = np.random.default_rng(seed)
    fun = ["hilarious", "laugh", "comedy", "funniest"]
    scary = ["zombie", "blood", "terror", "nightmare"]
    filler = ["starring", "john", "smith", "presents", "film", "summer"]
    texts, y = [], np.zeros((n, 2), dtype=np.float32)
    for i in range(n):
        g = i % 2
        words = list(rng.choice(filler, 4)) + list(rng.choice(fun if g == 0 else scary, 2))
        texts.append(" ".join(rng.permutation(words)))
        y[i, g] = 1
    return texts, y


def test_text_model_learns_tiny_corpus_and_round_trips(tmp_path):
    from postergenre.model.text_model import TextConfig, TextModel, fit_text_model

    texts, y = _corpus()
    model = fit_text_model(texts, y, GENRES, TextConfig(C=10.0), progress=False)
    lg = model.logits(["the funniest comedy of the summer", "a nightmare of blood"])
    assert lg[0, 0] > lg[0, 1] and lg[1, 1] > lg[1, 0]
    words = dict(model.word_contributions("zombie starring john smith", GENRES.index("Horror")))
    assert "zombie" in words and max(words, key=words.get) == "zombie"
    model.save(tmp_path / "text.npz")
    back = TextModel.load(tmp_path / "text.npz", GENRES)
    np.testing.assert_allclose(back.logits(texts[:5]), model.logits(texts[:5]), atol=1e-2)


def test_fusion_uses_text_and_falls_back_to_image_without_it():
    from postergenre.model.text_model import fit_fusion, fit_text_model

    texts, y = _corpus(200, seed=1)
    model = fit_text_model(texts, y, GENRES, progress=False)
    rng = np.random.default_rng(0)
    img = (y * 2 - 1) * 0.3 + rng.normal(0, 1.0, y.shape)   # a weak image model
    no_text = np.arange(len(texts)) % 4 == 0
    used = [("" if nt else t) for t, nt in zip(texts, no_text)]
    model.fusion = fit_fusion(img, model.logits(used), ~no_text, y)
    fused = model.fuse(img.astype(np.float32), used)
    a, b, c, c0 = model.fusion.T
    np.testing.assert_allclose(fused[no_text], a * img[no_text] + c0, rtol=1e-5, atol=1e-5)  # image alone
    assert (b > 0).all()  # the text logits earn a positive weight
    from sklearn.metrics import average_precision_score as ap
    t = ~no_text
    assert ap(y[t, 1], fused[t, 1]) > ap(y[t, 1], img[t, 1]) + 0.05


def test_prediction_carries_text_fields():
    from postergenre.model.predictor import GenreScore, Prediction

    p = Prediction([GenreScore("Horror", 0.8, 0.5, True)], "x.jpg", ["NIGHT OF THE", "ZOMBIES"],
                   {"Horror": [("zombies", 0.9)]})
    d = p.to_dict()
    assert d["text"] == ["NIGHT OF THE", "ZOMBIES"]
    assert d["text_words"] == {"Horror": [{"word": "zombies", "contribution": 0.9}]}
    assert Prediction([GenreScore("Horror", 0.8, 0.5, True)]).to_dict()["text"] is None  # OCR off


def test_predictor_reads_text_and_can_turn_it_off(predictor):
    if predictor.text_model is None:
        pytest.skip("these weights have no text channel (weights/text.npz); train it with `postergenre train-text`")
    poster = poster_with_words(["ZOMBIE", "TERROR"])
    pred = predictor.predict(poster)
    assert pred.text and "ZOMBIE" in " ".join(pred.text).upper()
    assert json.loads(json.dumps(pred.to_dict()))["text"] == pred.text
    off = predictor.predict(poster, text=False)
    assert off.text is None and off.text_words == {}


def test_fused_beats_image_only_on_real_posters(real_posters, predictor):
    """~200 test posters: the shipped fusion (fitted on val) vs the image model alone, by macro-AP."""
    if predictor.text_model is None:
        pytest.skip("these weights have no text channel (weights/text.npz)")
    from sklearn.metrics import average_precision_score

    from postergenre.sources.dataset import load_dataset
    from postergenre.model.ocr import cache_text
    from postergenre.training.train_text import image_logits_for_rows

    ds = load_dataset(real_posters)
    rows = np.flatnonzero(ds.table["split"].to_numpy() == "test")[:200]
    texts = cache_text(ds, predictor.ocr_config, files=list(ds.table["file"].iloc[rows]), progress=False)  # these 200
    y = ds.targets(predictor.genres)[rows]
    img = image_logits_for_rows(predictor, ds, rows, progress=False)
    fused = predictor.text_model.fuse(img, texts)
    keep = np.flatnonzero(y.sum(0) > 0)
    m = lambda s: np.mean([average_precision_score(y[:, j], s[:, j]) for j in keep])
    assert m(fused) > m(img) + 0.01, (m(fused), m(img))


def test_legible_text_shows_confident_lines_once_and_says_what_was_hard_to_read():
    """OCR noise was shown as if read: a tagline misread eleven times, a line of brackets. Only lines the
    recogniser is confident of are shown, each once; the others are counted, and words are kept only
    where they appear in a shown line."""
    from postergenre.model.text_model import LEGIBLE_SCORE, legible_text

    lines = ["POUY THIVK IT. · DON'T SAY E%R"] * 11 + ["(图)()(()()", "THE HOLLOW HOUSE", "the  hollow house",
                                                     "SOME DOORS SHOULD STAY SHUT"]
    scores = [0.62] * 11 + [0.93, 0.99, 0.97, LEGIBLE_SCORE]
    read = legible_text(lines, scores, {"Horror": [("hollow", 0.3), ("don't", 0.7), ("doors", 0.2)],
                                        "Drama": [("say", 0.1)]})
    assert read.lines == ["THE HOLLOW HOUSE", "SOME DOORS SHOULD STAY SHUT"]
    assert read.unsure == 2 and read.hard_to_read       # the misread tagline (once) and the brackets
    assert read.words == {"Horror": [("hollow", 0.3), ("doors", 0.2)]}
    clean = legible_text(["NIGHT OF THE", "ZOMBIES"], [0.99, 0.97])
    assert clean.lines == ["NIGHT OF THE", "ZOMBIES"] and not clean.hard_to_read
    assert legible_text(["CACHED TEXT", "CACHED TEXT"], None).lines == ["CACHED TEXT"]  # no scores: all shown, once
    assert legible_text([], []).lines == [] and legible_text(None).unsure == 0
