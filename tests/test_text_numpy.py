"""The text model served from NumPy: its logits equal scikit-learn's TF-IDF + logistic regressions on
real OCR text of the dataset (and on unicode, digits, empty text), and the words that explain a
genre are the ones the scikit-learn features give."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
EDGE_TEXTS = ["", " ", "\t\n  \u3000", "a", "ab", "ÜNÏCÖDÉ  ÇAFÉ straße ΑΘΗΝΑ 東京物語 ĳ ǅ", "Ｆｕｌｌｗｉｄｔｈ ＴＥＸＴ",
              "12 34 007 1999 3D 2001: A SPACE ODYSSEY", "l'été d'amour — «les» \"quoted\" x-men x_men",
              "ＮＯ.１  İstanbul ǈ ß ﬁlm", "\x00\x1f odd\u200bzero\u00a0nbsp", "a b c d e f g", "MIXED case Mixed CASE"]


@pytest.fixture(scope="module")
def text_model():
    from postergenre.model.text_model import TextModel

    path = ROOT / "weights" / "text.npz"
    if not path.is_file():
        pytest.skip("no weights/text.npz (train it with `postergenre train-text`)")
    meta = json.loads((ROOT / "weights" / "metadata.json").read_text())
    return TextModel.load(path, list(meta["genres"]))


@pytest.fixture(scope="module")
def ocr_texts(real_posters) -> list[str]:
    path = real_posters / "ocr_text.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} not found (the dataset's OCR text)")
    texts = [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]
    return texts[::max(1, len(texts) // 1500)][:1500]  # spread over the file


def _sklearn_features(model, texts):
    from scipy.sparse import hstack

    from postergenre.model.text_model import sklearn_vectorizers

    word, char = sklearn_vectorizers(model=model)
    return hstack([word.transform(texts), char.transform(texts)]).tocsr(), word, char


def test_served_logits_equal_scikit_learn(text_model, ocr_texts):
    texts = ocr_texts + EDGE_TEXTS
    assert len(ocr_texts) >= 1000
    x, _, _ = _sklearn_features(text_model, texts)
    ref = np.asarray(x @ text_model.coef.T) + text_model.intercept
    got = text_model.logits(texts)
    assert got.shape == ref.shape == (len(texts), len(text_model.genres))
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5)
    assert (x[:len(ocr_texts)].getnnz(axis=1) > 0).mean() > 0.8  # real text, not empty rows
    np.testing.assert_allclose(text_model.logits([""])[0], text_model.intercept, atol=0)
    for i in list(range(200)) + list(range(len(ocr_texts), len(texts))):  # the feature rows, term by term
        cols, vals = text_model.features(texts[i])
        got_row, ref_row = dict(zip(cols.tolist(), vals)), dict(zip(x[i].indices.tolist(), x[i].data))
        assert got_row.keys() == ref_row.keys(), texts[i]
        np.testing.assert_allclose([got_row[k] for k in ref_row], list(ref_row.values()), atol=1e-6)


def _reference_contributions(model, row, word_index, char_index, text, genre, top=5):
    """word_contributions as computed before serving moved to NumPy (scikit-learn feature row)."""
    import re

    w = model.coef[genre] * model.fusion[genre, 1]
    vals = dict(zip(row.indices, row.data))
    nw, contrib = len(model.word_vocab), {}
    for word in {m.group(0).lower() for m in re.finditer(r"(?u)\b\w\w+\b", text)}:
        s = vals[word_index[word]] * w[word_index[word]] if word_index.get(word) in vals else 0.0
        seen, padded = set(), f" {word} "
        for n in (3, 4, 5):
            for i in range(len(padded) - n + 1):
                k = char_index.get(padded[i:i + n])
                if k is not None and k not in seen and nw + k in vals:
                    seen.add(k)
                    s += vals[nw + k] * w[nw + k]
        contrib[word] = float(s)
    return [(k, v) for k, v in sorted(contrib.items(), key=lambda kv: -kv[1])[:top] if v > 0]


def test_word_contributions_give_the_same_words(text_model, ocr_texts):
    from postergenre.model.text_model import has_text

    texts = [t for t in ocr_texts if has_text(t)][:400] + EDGE_TEXTS
    x, word, char = _sklearn_features(text_model, texts)
    checked = 0
    for i, text in enumerate(texts):
        for g in (0, 3, 7, len(text_model.genres) - 1):
            got = text_model.word_contributions(text, g)
            if not has_text(text):
                assert got == []
                continue
            ref = _reference_contributions(text_model, x[i], word.vocabulary_, char.vocabulary_, text, g)
            assert [w for w, _ in got] == [w for w, _ in ref] or np.allclose(  # ties may swap places
                sorted(v for _, v in got), sorted(round(v, 4) for _, v in ref), atol=2e-4), (text, got, ref)
            np.testing.assert_allclose([v for _, v in got], [round(v, 4) for _, v in ref], atol=2e-4)
            checked += bool(ref)
    assert checked > 300
