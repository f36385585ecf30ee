"""The text channel: TF-IDF of word and character n-grams of the poster's OCR text -> one logistic
regression per genre, and its per-genre fusion with the image model's logits.

Fitted with scikit-learn (``fit_text_model``), served from plain arrays in ``weights/text.npz``
(vocabularies, idf, coefficients, fusion weights) by the small NumPy TF-IDF below: serving imports
neither scikit-learn nor SciPy and never unpickles anything. The NumPy analyzers reproduce
scikit-learn's ``TfidfVectorizer`` (lowercase; words ``(?u)\\b\\w\\w+\\b`` as 1-2 grams, ``char_wb``
3-5 grams; sublinear tf, idf, L2 norm per block); ``tests/test_text_numpy.py`` checks the logits
against scikit-learn's on real OCR text. Fused logit per genre g:
``a_g * image + b_g * text + c_g`` for a poster with text, ``a_g * image + c0_g`` without (image alone).
"""
from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["TextConfig", "TextModel", "fit_text_model", "fit_fusion", "has_text", "sklearn_vectorizers",
           "LEGIBLE_SCORE", "LegibleText", "legible_text"]

# the analyzers (one source: the NumPy serving code and the scikit-learn fitting code both read these)
WORD_PATTERN = r"(?u)\b\w\w+\b"
WORD_NGRAMS = (1, 2)
CHAR_NGRAMS = (3, 5)            # char_wb: within whitespace-separated words padded with one space
_WORD = re.compile(WORD_PATTERN)
_SPACES = re.compile(r"\s\s+")  # scikit-learn's whitespace normalisation before char n-grams
_LETTERS_ONLY = re.compile(r"[^\W\d_]+(?:['’\-][^\W\d_]+)*")  # letters, an apostrophe or hyphen between them
_EDGE_PUNCT = re.compile(r"^[^\w]+|[^\w]+$")
MIN_WORD_LETTERS = 3            # shorter 'words' read on posters are mostly OCR fragments ("er", "ss")


def _word_key(word: str) -> str:
    """A whitespace word as ``word_contributions`` names it: lower case, surrounding punctuation off."""
    return _EDGE_PUNCT.sub("", word.lower())


@dataclass
class TextConfig:
    word_features: int = 20000     # most frequent word uni/bigrams kept (min_df 3)
    char_features: int = 30000     # most frequent char 3-5-grams within words kept (min_df 5)
    C: float = 1.0                 # inverse L2 strength of each genre's logistic regression (val-picked)
    min_chars: int = 3             # a poster with fewer alphanumeric characters counts as "no text"


def has_text(text: str, cfg: TextConfig | None = None) -> bool:
    return sum(ch.isalnum() for ch in text) >= (cfg or TextConfig()).min_chars


def word_terms(text: str) -> list[str]:
    """The word 1-2 grams of ``text``, as scikit-learn's word analyzer makes them."""
    tokens = _WORD.findall(text.lower())
    lo, hi = WORD_NGRAMS
    out = list(tokens) if lo == 1 else []
    for n in range(max(lo, 2), min(hi, len(tokens)) + 1):
        out += [" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return out


def char_terms(text: str) -> list[str]:
    """The char_wb 3-5 grams of ``text``, as scikit-learn's ``char_wb`` analyzer makes them."""
    lo, hi = CHAR_NGRAMS
    out: list[str] = []
    for w in _SPACES.sub(" ", text.lower()).split():
        w = f" {w} "
        for n in range(lo, hi + 1):
            out += [w[i:i + n] for i in range(max(1, len(w) - n + 1))]
            if len(w) <= n:  # a short word gives its one n-gram once
                break
    return out


# --- what of the text read is shown to a person -------------------------------------------------------
# The text channel uses every line the OCR keeps (confidence >= OCRConfig.text_score, 0.5); many of those
# are misreadings ("POUY THIVK IT."). What is shown as read is stricter: LEGIBLE_SCORE was set by reading
# the lines of 120 dataset posters by confidence: under 0.85 mostly garble, above mostly words.
LEGIBLE_SCORE = 0.85


@dataclass(frozen=True)
class LegibleText:
    """The text read on a poster as it is shown to a person (``legible_text``)."""
    lines: list[str]       # the lines the recogniser is confident of, each once, in reading order
    unsure: int            # other lines it read but was unsure of (or symbols, not text): not shown
    words: dict[str, list[tuple[str, float]]]  # genre -> the words of the shown lines that pushed it

    @property
    def hard_to_read(self) -> bool:
        """Some of the text read was too unsure to show."""
        return self.unsure > 0


def legible_text(lines: list[str] | None, scores: list[float] | None = None,
                 words: dict[str, list[tuple[str, float]]] | None = None) -> LegibleText:
    """The lines worth showing as read: a confidence of at least ``LEGIBLE_SCORE`` (every line when the
    scores are unknown), mostly letters or digits (not "(图)()(()()"), repeats shown once (a tagline read
    eleven times is one line); ``words`` (``Prediction.text_words``) kept only where they appear in a
    shown line."""
    lines = list(lines or [])
    scores = list(scores) if scores is not None and len(scores) == len(lines) else [None] * len(lines)
    shown: list[str] = []
    seen: set[str] = set()
    unsure: set[str] = set()
    for line, score in zip(lines, scores):
        text = " ".join(line.split())
        key = text.casefold()
        if not text or key in seen:
            continue
        if (score is not None and score < LEGIBLE_SCORE) or not _looks_like_text(text):
            unsure.add(key)
            continue
        seen.add(key)
        shown.append(text)
    unsure -= seen
    in_lines = {_word_key(w) for line in shown for w in line.split()}
    kept = {g: [(w, c) for w, c in ws if w in in_lines] for g, ws in (words or {}).items()}
    return LegibleText(shown, len(unsure), {g: ws for g, ws in kept.items() if ws})


def _looks_like_text(line: str) -> bool:
    """At least 2 letters or digits, and they make at least half of the line's visible characters."""
    visible = [ch for ch in line if not ch.isspace()]
    alnum = sum(ch.isalnum() for ch in visible)
    return alnum >= 2 and alnum >= 0.5 * len(visible)


class _Block:
    """One TF-IDF block: terms -> (columns, sublinear tf * idf, L2-normalised)."""

    def __init__(self, vocab: list[str], idf: np.ndarray, analyzer):
        self.index = {t: i for i, t in enumerate(vocab)}
        self.idf = np.asarray(idf, dtype=np.float64)
        self.analyzer = analyzer

    def transform(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(j for j in map(self.index.get, self.analyzer(text)) if j is not None)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
        cols = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        vals = (1.0 + np.log(np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))) * self.idf[cols]
        return cols, vals / np.sqrt(vals @ vals)


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
        self.word = _Block(self.word_vocab, self.word_idf, word_terms)
        self.char = _Block(self.char_vocab, self.char_idf, char_terms)
        self._coef_t = np.ascontiguousarray(self.coef.T)       # (Vw + Vc) x G: a text's columns are rows

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The TF-IDF row of one text as (columns, values): word block, then char block."""
        wc, wv = self.word.transform(text)
        cc, cv = self.char.transform(text)
        return np.concatenate([wc, cc + len(self.word_vocab)]), np.concatenate([wv, cv])

    def logits(self, texts: list[str]) -> np.ndarray:
        """N x G text-only logits."""
        out = np.tile(self.intercept, (len(texts), 1))
        for i, text in enumerate(texts):
            cols, vals = self.features(text)
            if len(cols):
                out[i] += vals @ self._coef_t[cols]
        return out

    def fuse(self, image_logits: np.ndarray, texts: list[str]) -> np.ndarray:
        """N x G fused logits; rows without text get the image-only fallback."""
        a, b, c, c0 = self.fusion.T
        with_text = np.array([has_text(t, self.cfg) for t in texts], dtype=bool)
        out = a * image_logits + c0
        if with_text.any():
            t = self.logits([t for t, h in zip(texts, with_text) if h])
            out[with_text] = a * image_logits[with_text] + b * t + c
        return out.astype(np.float32)

    def word_contributions(self, text: str, genre: int, top: int | None = 5, signed: bool = False,
                           words_only: bool = True) -> list[tuple[str, float]]:
        """The words of ``text`` that pushed ``genre``'s fused logit most (highest first), each with its
        contribution. Each feature's part of the logit (TF-IDF value x the genre's weight) is shared
        among the places it comes from: a char n-gram belongs to the word (whitespace-separated, as
        ``char_wb`` cuts them) it was cut from, a word term to the word(s) holding its tokens; so the
        contributions of all words add up to the text's part of the fused logit. Words are keyed by
        their lower-case form without surrounding punctuation ("DON'T" -> "don't").

        ``words_only``: report only things that are words (``is_word``: letters, at least 3, every
        token of it known to the model as a word), not OCR fragments such as "er" or "e%r". Only the
        positive contributions, unless ``signed``: then those that pushed it down too (negative), every
        word with a non-zero contribution. ``top``: at most this many (None = all)."""
        if not has_text(text, self.cfg):
            return []
        contrib = self._word_parts(text, genre)
        rounded = [(k, round(v, 4)) for k, v in sorted(contrib.items(), key=lambda kv: -kv[1])]
        return [(k, v) for k, v in rounded
                if (v != 0 if signed else v > 0) and (not words_only or self.is_word(k))][:top]

    def is_word(self, word: str) -> bool:
        """Whether ``word`` (a key of ``word_contributions``) is a word rather than OCR noise: letters
        only (an apostrophe or hyphen between them), at least ``MIN_WORD_LETTERS`` of them, and each of
        its tokens in the model's word vocabulary (seen on at least 3 training posters)."""
        if not _LETTERS_ONLY.fullmatch(word) or sum(ch.isalpha() for ch in word) < MIN_WORD_LETTERS:
            return False
        return all(t in self.word.index for t in _WORD.findall(word))

    def _word_parts(self, text: str, genre: int) -> dict[str, float]:
        """{word: its share of the text's part of ``genre``'s fused logit}, over every whitespace word."""
        low = text.lower()
        cols, data = self.features(text)
        w = self.coef[genre].astype(np.float64) * float(self.fusion[genre, 1])
        part = {int(c): float(v) * w[c] for c, v in zip(cols.tolist(), data.tolist())}
        nw = len(self.word_vocab)
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", low)]
        keys = [_word_key(low[a:b]) or low[a:b] for a, b in spans]   # "--" stays itself (not a word)
        out = dict.fromkeys(keys, 0.0)
        # char n-grams: each occurrence lies in one whitespace word
        owners: dict[int, list[int]] = {}
        for i, (a, b) in enumerate(spans):
            for gram in char_terms(low[a:b]):
                k = self.char.index.get(gram)
                if k is not None:
                    owners.setdefault(nw + k, []).append(i)
        # word terms: each token lies in one whitespace word; a bigram spans one or two
        starts = [a for a, _ in spans]
        tokens = [(m.group(0), bisect_right(starts, m.start()) - 1) for m in _WORD.finditer(low)]
        lo, hi = WORD_NGRAMS
        for n in range(lo, hi + 1):
            for j in range(len(tokens) - n + 1):
                k = self.word.index.get(" ".join(t for t, _ in tokens[j:j + n]))
                if k is not None:
                    owners.setdefault(k, []).extend(sorted({o for _, o in tokens[j:j + n]}))
        for col, places in owners.items():
            if col in part:
                share = part[col] / len(places)
                for i in places:
                    out[keys[i]] += share
        return {k: float(v) for k, v in out.items()}

    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, word_vocab=np.array(self.word_vocab), char_vocab=np.array(self.char_vocab),
                            word_idf=self.word_idf.astype(np.float32), char_idf=self.char_idf.astype(np.float32),
                            coef=self.coef.astype(np.float16), intercept=self.intercept, fusion=self.fusion,
                            min_chars=np.array(self.cfg.min_chars))

    @classmethod
    def load(cls, path: str | Path, genres: list[str]) -> "TextModel":
        with np.load(path) as z:
            return cls({k: z[k] for k in z.files}, genres)


# ----------------------------------------------------------------------------------------------------
# fitting (scikit-learn; never imported by serving)


def sklearn_vectorizers(cfg: TextConfig | None = None, model: TextModel | None = None):
    """(word, char) scikit-learn ``TfidfVectorizer``s with the analyzers above: unfitted (``cfg``'s
    sizes) for training, or with ``model``'s vocabularies and idf (a reference for tests)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    cfg = cfg or TextConfig()
    word = TfidfVectorizer(ngram_range=WORD_NGRAMS, token_pattern=WORD_PATTERN, min_df=3, sublinear_tf=True,
                           max_features=cfg.word_features, dtype=np.float32,
                           vocabulary=None if model is None else model.word_vocab)
    char = TfidfVectorizer(analyzer="char_wb", ngram_range=CHAR_NGRAMS, min_df=5, sublinear_tf=True,
                           max_features=cfg.char_features, dtype=np.float32,
                           vocabulary=None if model is None else model.char_vocab)
    if model is not None:
        word.idf_, char.idf_ = model.word_idf, model.char_idf
    return word, char


def fit_text_model(texts: list[str], y: np.ndarray, genres: list[str], cfg: TextConfig | None = None,
                   *, progress: bool = True) -> TextModel:
    """TF-IDF + one logistic regression per genre, on the training texts only (fusion: a plain sum
    of the two logits until ``fit_fusion`` sets it on held-out posters)."""
    from scipy.sparse import hstack
    from sklearn.linear_model import LogisticRegression
    from tqdm.auto import tqdm

    cfg = cfg or TextConfig()
    word, char = sklearn_vectorizers(cfg)
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
