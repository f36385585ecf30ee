"""The text channel: TF-IDF of word and character n-grams of the poster's OCR text -> one logistic
regression per genre (scikit-learn), and its per-genre fusion with the image model's logits.

Stored in ``weights/text.npz`` as plain arrays (vocabularies, idf, coefficients, fusion weights), so
loading never unpickles anything. Fused logit per genre g:
``a_g * image + b_g * text + c_g`` for a poster with text, ``a_g * image + c0_g`` without (image alone).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["TextConfig", "TextModel", "fit_text_model", "fit_fusion", "has_text"]
_WORD = re.compile(r"(?u)\b\w\w+\b")


@dataclass
class TextConfig:
    word_features: int = 20000     # most frequent word uni/bigrams kept (min_df 3)
    char_features: int = 30000     # most frequent char 3-5-grams within words kept (min_df 5)
    C: float = 1.0                 # inverse L2 strength of each genre's logistic regression (val-picked)
    min_chars: int = 3             # a poster with fewer alphanumeric characters counts as "no text"


def has_text(text: str, cfg: TextConfig | None = None) -> bool:
    return sum(ch.isalnum() for ch in text) >= (cfg or TextConfig()).min_chars


def _vectorizers(cfg: TextConfig, word_vocab=None, char_vocab=None):
    from sklearn.feature_extraction.text import TfidfVectorizer

    word = TfidfVectorizer(ngram_range=(1, 2), min_df=3, sublinear_tf=True, max_features=cfg.word_features,
                           vocabulary=word_vocab, dtype=np.float32)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), min_df=5, sublinear_tf=True,
                           max_features=cfg.char_features, vocabulary=char_vocab, dtype=np.float32)
    return word, char


class TextModel:
    """Text -> per-genre logits, plus the fusion with the image logits."""

    def __init__(self, arrays: dict[str, np.ndarray], genres: list[str]):
        self.genres = genres
        self.word_vocab = [str(w) for w in arrays["word_vocab"]]
        self.char_vocab = [str(w) for w in arrays["char_vocab"]]
        self.coef = arrays["coef"].astype(np.float32)          # G x (Vw + Vc)
        self.intercept = arrays["intercept"].astype(np.float32)
        self.fusion = arrays["fusion"].astype(np.float32)      # G x 4: a, b, c, c0
        self.cfg = TextConfig(min_chars=int(arrays.get("min_chars", 3)))
        self.word_idf = arrays["word_idf"].astype(np.float64)
        self.char_idf = arrays["char_idf"].astype(np.float64)
        self._vectorizers_built: tuple | None = None

    @property
    def vectorizers(self):
        """(word, char) TfidfVectorizers, built on first use: importing scikit-learn costs about 2 s
        here, which a prediction without text (or a process that only explains) never pays."""
        if self._vectorizers_built is None:
            word, char = _vectorizers(TextConfig(), self.word_vocab, self.char_vocab)
            word.idf_, char.idf_ = self.word_idf, self.char_idf
            self._vectorizers_built = (word, char)
        return self._vectorizers_built

    def features(self, texts: list[str]):
        from scipy.sparse import hstack

        word, char = self.vectorizers
        return hstack([word.transform(texts), char.transform(texts)]).tocsr()

    def logits(self, texts: list[str]) -> np.ndarray:
        """N x G text-only logits."""
        return np.asarray(self.features(texts) @ self.coef.T) + self.intercept

    def fuse(self, image_logits: np.ndarray, texts: list[str]) -> np.ndarray:
        """N x G fused logits; rows without text get the image-only fallback."""
        a, b, c, c0 = self.fusion.T
        with_text = np.array([has_text(t, self.cfg) for t in texts], dtype=bool)
        out = a * image_logits + c0
        if with_text.any():
            t = self.logits([t for t, h in zip(texts, with_text) if h])
            out[with_text] = a * image_logits[with_text] + b * t + c
        return out.astype(np.float32)

    def word_contributions(self, text: str, genre: int, top: int = 5) -> list[tuple[str, float]]:
        """The words of ``text`` that pushed ``genre``'s text logit most (positive first), each with its
        contribution: its word n-gram terms plus the char n-grams inside it, times the genre's weight."""
        if not has_text(text, self.cfg):
            return []
        x = self.features([text])
        w = self.coef[genre] * self.fusion[genre, 1]
        contrib: dict[str, float] = {}
        nw = len(self.word_vocab)
        vals = dict(zip(x.indices, x.data))
        word_index, char_index = (v.vocabulary_ for v in self.vectorizers)
        for word in {m.group(0).lower() for m in _WORD.finditer(text)}:
            s = 0.0
            j = word_index.get(word)
            if j is not None and j in vals:
                s += vals[j] * w[j]
            padded = f" {word} "
            seen = set()
            for n in (3, 4, 5):
                for i in range(len(padded) - n + 1):
                    k = char_index.get(padded[i:i + n])
                    if k is not None and k not in seen and nw + k in vals:
                        seen.add(k)
                        s += vals[nw + k] * w[nw + k]
            contrib[word] = float(s)
        ranked = sorted(contrib.items(), key=lambda kv: -kv[1])
        return [(k, round(v, 4)) for k, v in ranked[:top] if v > 0]

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, word_vocab=np.array(self.word_vocab), char_vocab=np.array(self.char_vocab),
                            word_idf=self.word_idf.astype(np.float32), char_idf=self.char_idf.astype(np.float32),
                            coef=self.coef.astype(np.float16), intercept=self.intercept, fusion=self.fusion,
                            min_chars=np.array(self.cfg.min_chars))

    @classmethod
    def load(cls, path: str | Path, genres: list[str]) -> "TextModel":
        with np.load(path) as z:
            return cls({k: z[k] for k in z.files}, genres)


def fit_text_model(texts: list[str], y: np.ndarray, genres: list[str], cfg: TextConfig | None = None,
                   *, progress: bool = True) -> TextModel:
    """TF-IDF + one logistic regression per genre, on the training texts only (fusion: a plain sum
    of the two logits until ``fit_fusion`` sets it on held-out posters)."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression
    from tqdm.auto import tqdm

    cfg = cfg or TextConfig()
    word, char = _vectorizers(cfg)
    x = hstack([word.fit_transform(texts), char.fit_transform(texts)]).tocsr()
    coef = np.zeros((y.shape[1], x.shape[1]), dtype=np.float32)
    icpt = np.zeros(y.shape[1], dtype=np.float32)
    for g in tqdm(range(y.shape[1]), desc="text model", unit="genre", disable=not progress):
        if y[:, g].min() == y[:, g].max():
            icpt[g] = 10.0 if y[0, g] else -10.0
            continue
        m = LogisticRegression(C=cfg.C, solver="liblinear", max_iter=300).fit(x, y[:, g])
        coef[g], icpt[g] = m.coef_[0], m.intercept_[0]
    wv = sorted(word.vocabulary_, key=word.vocabulary_.get)
    cv = sorted(char.vocabulary_, key=char.vocabulary_.get)
    fusion = np.tile(np.array([1.0, 1.0, 0.0, 0.0], dtype=np.float32), (y.shape[1], 1))  # plain sum until fitted
    return TextModel({"word_vocab": np.array(wv), "char_vocab": np.array(cv), "word_idf": word.idf_,
                      "char_idf": char.idf_, "coef": coef, "intercept": icpt, "fusion": fusion,
                      "min_chars": np.array(cfg.min_chars)}, genres)


def fit_fusion(image_logits: np.ndarray, text_logits: np.ndarray, with_text: np.ndarray, y: np.ndarray,
               C: float = 1.0) -> np.ndarray:
    """G x 4 fusion weights (a, b, c, c0) per genre: a logistic regression of the label on
    [image logit, text logit (0 without text), has-text] fitted on held-out (val) posters."""
    from sklearn.linear_model import LogisticRegression

    h = with_text.astype(np.float64)
    out = np.zeros((y.shape[1], 4), dtype=np.float32)
    for g in range(y.shape[1]):
        x = np.stack([image_logits[:, g], text_logits[:, g] * h, h], axis=1)
        if y[:, g].min() == y[:, g].max():
            out[g] = [1.0, 0.0, 0.0, 0.0]
            continue
        m = LogisticRegression(C=C, max_iter=1000).fit(x, y[:, g])
        a, b, d = m.coef_[0]
        c0 = m.intercept_[0]
        out[g] = [a, b, c0 + d, c0]
    return out
