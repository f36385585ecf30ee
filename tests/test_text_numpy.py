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


def _reference_parts(model, row, word, char, text, genre):
    """{whitespace word: its share of the text's part of the fused logit} from scikit-learn's feature
    row and analyzers: a char_wb n-gram belongs to the word it was cut from, a word term to the word(s)
    holding its tokens, each feature's part shared evenly among its occurrences."""
    import re

    w = model.coef[genre].astype(np.float64) * float(model.fusion[genre, 1])
    part = {j: v * w[j] for j, v in zip(row.indices, row.data)}
    nw = len(model.word_vocab)
    char_grams = char.build_analyzer()
    token_of = re.compile(word.token_pattern)
    words = text.lower().split()
    keys = [re.sub(r"^[^\w]+|[^\w]+$", "", x) or x for x in words]
    owners, tokens = {}, []
    for i, x in enumerate(words):
        for g in char_grams(x):
            if g in char.vocabulary_:
                owners.setdefault(nw + char.vocabulary_[g], []).append(i)
        tokens += [(t, i) for t in token_of.findall(x)]
    for n in (1, 2):
        for j in range(len(tokens) - n + 1):
            term = " ".join(t for t, _ in tokens[j:j + n])
            if term in word.vocabulary_:
                owners.setdefault(word.vocabulary_[term], []).extend(sorted({i for _, i in tokens[j:j + n]}))
    out = dict.fromkeys(keys, 0.0)
    for col, places in owners.items():
        for i in places:
            out[keys[i]] += part.get(col, 0.0) / len(places)
    return out


def test_word_contributions_add_up_to_the_texts_part_of_the_logit(text_model, ocr_texts):
    """Every word's contribution (noise included) adds up to the text's part of the fused logit, and
    each is the share scikit-learn's features give that word; what is reported are words only."""
    from postergenre.model.text_model import has_text

    texts = [t for t in ocr_texts if has_text(t)][:300] + EDGE_TEXTS
    x, word, char = _sklearn_features(text_model, texts)
    checked = 0
    for i, text in enumerate(texts):
        for g in (0, 3, 7, len(text_model.genres) - 1):
            every = text_model.word_contributions(text, g, top=None, signed=True, words_only=False)
            if not has_text(text):
                assert every == []
                continue
            text_part = float((x[i] @ text_model.coef[g].astype(np.float64))[0]) * float(text_model.fusion[g, 1])
            assert sum(v for _, v in every) == pytest.approx(text_part, abs=1e-3), text
            ref = _reference_parts(text_model, x[i], word, char, text, g)
            got = dict(every)
            assert set(got) <= set(ref), (text, set(got) - set(ref))
            for k, v in got.items():
                assert v == pytest.approx(ref[k], abs=2e-4), (text, k)
            shown = text_model.word_contributions(text, g)
            assert all(text_model.is_word(w) and v > 0 for w, v in shown)
            best = sorted((v for w, v in got.items() if v > 0 and text_model.is_word(w)), reverse=True)[:5]
            assert [v for _, v in shown] == pytest.approx(best, abs=1e-4)   # the 5 strongest words (ties may swap)
            checked += bool(shown)
    assert checked > 200


def test_only_words_are_reported_not_ocr_fragments(text_model):
    """A misread tagline ("POUY THIVK IT. DON'T SAY E%R", read eleven times) gave 'don (+0.50), er
    (+0.42)': fragments of tokens. The words reported are whole words as written, and words."""
    text = " ".join(["POUY THIVK IT. DON'T SAY E%R"] * 11 + ["THE HOLLOW HOUSE"])
    for g in range(len(text_model.genres)):
        words = [w for w, _ in text_model.word_contributions(text, g, top=None, signed=True)]
        assert not {"er", "e%r", "don", "pouy", "thivk", "it", "it."} & set(words), words
        assert set(words) <= {"don't", "say", "the", "hollow", "house"}, words
    assert text_model.is_word("hollow") and text_model.is_word("don't")
    assert not any(text_model.is_word(w) for w in ("er", "e%r", "3d", "(图)", "x_men", "thivk"))
