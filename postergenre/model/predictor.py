"""The genre model: backbone features -> an ensemble of small MLP heads -> one sigmoid per genre.

``load()`` reads ``weights/`` (``head.npz`` + ``metadata.json``) and returns a ``Predictor`` with its
preprocessing (from the metadata, never re-typed), on CUDA when available and CPU otherwise.
On CPU the backbone runs in ONNX Runtime and the head in NumPy, so prediction never imports torch;
Grad-CAM lives in ``predictor.explainer`` (``explain.py``), which owns the model it differentiates.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

from postergenre import settings
from postergenre.errors import ImageLoadError, UnknownGenreError, WeightsError
from postergenre.genres import normalise_genre
from postergenre.model.backbone import resize_poster, to_nchw
from postergenre.model.calibration import Calibration, sigmoid  # noqa: F401  (sigmoid: re-exported)
from postergenre.model.decision import NOT_A_POSTER, DecisionRule, confidence_word, headline
from postergenre.model.explain import make_explainer
from postergenre.model.ocr import read_text
from postergenre.model.poster_check import PosterCheck
from postergenre.model.runtime import feature_extractor
from postergenre.model.text_model import TextModel
from postergenre.model.weights import META_FILE, TEXT_FILE, WeightsMetadata, read_weights
from postergenre.sources.images import ImageSource, load_image

__all__ = ["GenreScore", "Prediction", "Predictor", "load", "available_models"]

# Large JPEGs are decoded (libjpeg DCT scaling) at no less than this multiple of the model's input
# size: the resize that follows reduces by 3x+ anyway, and a 40 MP upload costs 1/16 of the memory.
DRAFT_FACTOR = 4


def available_models() -> list[str]:
    """Names accepted by ``load()``: the bundled model (if its weights are present)."""
    return ["postergenre-lite2"] if (settings.weights_dir() / META_FILE).exists() else []


@dataclass
class GenreScore:
    genre: str
    probability: float           # calibrated on the val split (see calibration.py)
    threshold: float             # the calibrated probability this genre needed at its rank (decision rule)
    predicted: bool              # in the headline: ranked high enough and probability >= threshold
    logit: float | None = None   # the model's raw (uncalibrated) logit, image and text fused

    @property
    def confidence(self) -> str:
        """Plain words for the probability: very likely / likely / possible / unlikely."""
        return confidence_word(self.probability)


@dataclass
class Prediction:
    scores: list[GenreScore]          # every trained genre, highest probability first
    source: str | None = None         # file name / URL, when known
    text: list[str] | None = None     # text lines read from the pixels (OCR); None when OCR was off
    text_words: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # top genres -> words that pushed them
    looks_like_poster: bool | None = None  # the poster check's verdict (None: weights without the check)
    poster_score: float | None = None      # share of real val posters that look less like a poster

    @property
    def predicted(self) -> list[str]:
        """The headline's genres (the decision rule's pick), highest probability first."""
        return [s.genre for s in self.scores if s.predicted]

    @property
    def probabilities(self) -> dict[str, float]:
        return {s.genre: s.probability for s in self.scores}

    @property
    def summary(self) -> str:
        """One line in plain words, e.g. 'Horror (very likely) · Thriller (possible)'; for an image the
        poster check flags, the warning and the genres without confidence words (they would mislead)."""
        if self.warning:
            return f"{self.warning}: {' · '.join(self.predicted or [self.scores[0].genre])}"
        if self.predicted:
            return headline([(s.genre, s.probability) for s in self.scores if s.predicted])
        top = self.scores[0]
        return f"No clear genre (closest: {top.genre}, {top.confidence})"

    @property
    def warning(self) -> str | None:
        """The not-a-poster warning when the poster check flags the image, else None."""
        return NOT_A_POSTER if self.looks_like_poster is False else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "looks_like_poster": self.looks_like_poster,
            "poster_score": None if self.poster_score is None else round(self.poster_score, 4),
            "warning": self.warning,
            "predicted": self.predicted,
            "summary": self.summary,
            "genres": [
                {"genre": s.genre, "probability": round(s.probability, 6), "confidence": s.confidence,
                 "threshold": round(s.threshold, 6), "predicted": s.predicted,
                 "logit": None if s.logit is None else round(s.logit, 4)}
                for s in self.scores
            ],
            "text": self.text,
            "text_words": {g: [{"word": w, "contribution": c} for w, c in ws] for g, ws in self.text_words.items()},
        }


# ----------------------------------------------------------------------------------------------------
# the head: standardise -> Linear -> ReLU -> Linear, K members averaged in logit space


def _relu(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0.0, out=x)


def head_logits(params: dict[str, np.ndarray], feats: np.ndarray) -> np.ndarray:
    """NumPy forward of the head ensemble: N x D features -> N x G logits (mean over members)."""
    z = (feats.astype(np.float32) - params["mu"]) / params["sigma"]
    w1, b1, w2, b2 = params["w1"], params["b1"], params["w2"], params["b2"]  # K x D x H, K x H, K x H x G, K x G
    out = np.zeros((len(z), w2.shape[-1]), dtype=np.float32)
    for k in range(len(w1)):
        out += _relu(z @ w1[k] + b1[k]) @ w2[k] + b2[k]
    return out / len(w1)


def cached_logits(params: dict[str, np.ndarray], feats: np.ndarray) -> np.ndarray:
    """N x G raw image logits from cached N x V x D features (V views: poster, mirror), views averaged
    exactly as the predictor does."""
    n, v, d = feats.shape
    return head_logits(params, np.asarray(feats, dtype=np.float32).reshape(n * v, d)).reshape(n, v, -1).mean(1)


class Predictor:
    """A loaded genre model. Use ``postergenre.load()`` rather than building one by hand."""

    def __init__(self, params: dict[str, np.ndarray], meta: dict, device: str | None = None,
                 backend: str | None = None, weights_dir: Path | None = None, precision: str | None = None):
        self.meta = meta  # metadata.json as stored (sections are updated in place by calibrate / evaluate)
        self.metadata = WeightsMetadata.from_dict(meta)  # the typed view every surface reads
        self.weights_dir = weights_dir
        self.cfg = self.metadata.preprocessing
        self.genres: list[str] = list(self.metadata.genres)
        self.thresholds = np.asarray([self.metadata.thresholds[g] for g in self.genres], dtype=np.float32)
        # calibrated probabilities, the headline rule and the poster check, all fitted on val
        # (weights from before they existed fall back to the raw sigmoid and per-genre thresholds)
        self.calibration = (Calibration.from_dict(self.metadata.calibration, self.genres) if self.metadata.calibration
                            else Calibration.identity(self.genres))
        self.rule = DecisionRule.from_dict(self.metadata.decision_rule) if self.metadata.decision_rule else None
        self.poster_check = PosterCheck.load(weights_dir) if weights_dir else None
        self.tta_flip: bool = self.metadata.tta_flip
        self.params = params
        # int8 is the CPU default only for weights whose int8 test macro-AP was measured within the
        # tolerance of fp32 (benchmarks/int8_accuracy.py --record writes "int8"."cpu_default")
        cpu_default = (meta.get("int8") or {}).get("cpu_default", "fp32")
        self._extractor = feature_extractor(self.cfg, device, backend=backend, precision=precision,
                                            cpu_default=cpu_default)
        self.device, self.backend = self._extractor.device, self._extractor.backend
        self.precision = self._extractor.precision  # 'fp32' or 'int8' (the backbone graph)
        self.batch_size = self.metadata.inference_batch_size
        self.text_model = None  # the OCR text channel (weights/text.npz), fused with the image logits
        if weights_dir is not None and (Path(weights_dir) / TEXT_FILE).is_file() and self.metadata.text:
            self.text_model = TextModel.load(Path(weights_dir) / TEXT_FILE, self.genres)
        self.use_text = self.text_model is not None  # set False to skip OCR (image alone, faster)
        self.explainer = make_explainer(self)  # Grad-CAM for this model (it owns the PyTorch twin, if any)
        if self._extractor.dim != params["mu"].shape[-1]:
            raise WeightsError(
                f"head expects {params['mu'].shape[-1]} features but the backbone gives {self._extractor.dim}; "
                "the weights do not match this backbone config: retrain with `postergenre train`"
            )

    def __repr__(self) -> str:
        return (f"Predictor({self.name!r}, genres={len(self.genres)}, device={self.device!r}, backend={self.backend!r}, "
                f"precision={self.precision!r})")

    @property
    def name(self) -> str:
        return self.metadata.name

    def warm_up(self, delay: float = 2.0) -> None:
        """Get ready for the first request in background threads (a server or the app calls this after
        loading): Grad-CAM's model (at low priority, after ``delay`` s) and, with the text channel on, the
        OCR engine and the text model at once (importing rapidocr and scikit-learn takes about 3.5 s on
        a 2-core CPU)."""
        from postergenre.model.ocr import warm_up as ocr_warm_up
        from postergenre.model.warmup import in_background

        self.explainer.warm_up(delay)
        if self.use_text and self.text_model is not None:  # imports: at normal priority, at once (see in_background)
            in_background(lambda: (ocr_warm_up(), self.text_model.vectorizers), 0.0, low_priority=False)

    # --- preprocessing ---------------------------------------------------------------------------
    def preprocess(self, image: ImageSource) -> np.ndarray:
        """Any accepted image input -> H x W x 3 uint8 at the model's input size."""
        w, h = self.cfg.input_size
        return resize_poster(load_image(image, draft=(w * DRAFT_FACTOR, h * DRAFT_FACTOR)), self.cfg)

    # --- inference ---------------------------------------------------------------------------------
    def features_and_map(self, arrays: list[np.ndarray], with_map: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
        """Backbone features of preprocessed posters (N*V x D, V = 2 views with flip-TTA: poster,
        mirror), and the last convolution's activations (N*V x C x h x w) when ``with_map``."""
        batch = to_nchw(arrays, flip=self.tta_flip)
        if with_map:
            return self._extractor.features_and_map(batch)
        return self._extractor(batch), None

    def image_logits(self, feats: np.ndarray, n: int) -> np.ndarray:
        """N x G image-head logits from ``features_and_map``'s features of ``n`` posters (flip-TTA views
        averaged)."""
        # the head is a few small matmuls: BLAS threads cost more in wake-ups than they save
        # (measured: single-poster overhead beside the forward 51% -> 28%)
        with threadpool_limits(1, user_api="blas"):
            logits = head_logits(self.params, feats)
        if self.tta_flip:
            logits = logits.reshape(n, 2, -1).mean(axis=1)
        return logits

    def _forward(self, arrays: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """(N x G image logits, N x D backbone features averaged over the views) of preprocessed posters."""
        feats, _ = self.features_and_map(arrays, with_map=False)
        logits = self.image_logits(feats, len(arrays))
        if self.tta_flip:
            feats = feats.reshape(len(arrays), 2, -1).mean(axis=1)
        return logits, feats

    def _logits_from_arrays(self, arrays: list[np.ndarray]) -> np.ndarray:
        return self._forward(arrays)[0]

    def fuse(self, image_logits: np.ndarray, texts: Sequence[list[str] | None]) -> np.ndarray:
        """The model's raw logits: the image logits fused with the text channel's when every poster has
        its text lines (None = text channel off for it), else the image logits as they are."""
        if self.text_model is not None and all(t is not None for t in texts):
            return self.text_model.fuse(image_logits, [" ".join(t) for t in texts])
        return image_logits

    def calibrate(self, logits: np.ndarray) -> np.ndarray:
        """N x G raw (fused) logits -> N x G calibrated probabilities."""
        return self.calibration(logits)

    def probabilities(self, image_logits: np.ndarray, texts: Sequence[list[str] | None]) -> np.ndarray:
        """N x G calibrated probabilities from the image logits and the text lines (``fuse``, then the
        calibration): the numbers every surface shows."""
        return self.calibrate(self.fuse(image_logits, texts))

    def _prepare(self, image: ImageSource, known_text: list[str] | None = None) -> tuple[np.ndarray, list[str] | None]:
        """(model-size array, OCR text lines or None when the text channel is off) for one image;
        ``known_text``: the lines already read from this image's pixels (an OCR cache), not read again."""
        w, h = self.cfg.input_size
        pil = load_image(image, draft=(w * DRAFT_FACTOR, h * DRAFT_FACTOR))
        lines = None
        if self.use_text and self.text_model is not None and known_text is not None:
            lines = list(known_text)
        elif self.use_text and self.text_model is not None:
            lines = read_text(pil)
        return resize_poster(pil, self.cfg), lines

    def predict_logits(self, images: Sequence[ImageSource]) -> np.ndarray:
        """N x G raw logits, image and text fused, uncalibrated. Images are decoded and run in
        batches of ``self.batch_size``, so memory stays bounded for any number of images."""
        images = list(images)
        out = np.zeros((len(images), len(self.genres)), dtype=np.float32)
        for start in range(0, len(images), self.batch_size):
            prepared = [self._prepare(im) for im in images[start:start + self.batch_size]]
            logits = self._logits_from_arrays([a for a, _ in prepared])
            out[start:start + len(prepared)] = self.fuse(logits, [t for _, t in prepared])
        return out

    def predict_proba(self, images: Sequence[ImageSource]) -> np.ndarray:
        """N x G calibrated probabilities (columns in ``self.genres`` order)."""
        return self.calibrate(self.predict_logits(images))

    def predictions_from(self, logits: np.ndarray, feats: np.ndarray, sources: Sequence[str | None],
                         texts: Sequence[list[str] | None] | None = None) -> list[Prediction]:
        """Predictions from N x G raw fused logits and N x D backbone features (views averaged):
        calibration, the headline rule, the poster check and the words that pushed the top genres
        (``evaluate --from-cache`` feeds cached features here)."""
        texts = list(texts) if texts is not None else [None] * len(sources)
        probs = self.calibrate(logits)
        chosen = self.rule.select(probs) if self.rule is not None else probs >= self.thresholds
        if self.poster_check is not None:
            looks, pscore = self.poster_check.looks_like_poster(feats)
        else:
            looks, pscore = [None] * len(sources), [None] * len(sources)
        out = []
        for i, src in enumerate(sources):
            order = np.argsort(-probs[i], kind="stable")
            scores = [GenreScore(self.genres[j], float(probs[i, j]),
                                 float(self.rule.threshold_at_rank(r) if self.rule else self.thresholds[j]),
                                 bool(chosen[i, j]), float(logits[i, j])) for r, j in enumerate(order)]
            words: dict[str, list[tuple[str, float]]] = {}
            if texts[i] and self.text_model is not None:
                for j in order[:3]:
                    ws = self.text_model.word_contributions(" ".join(texts[i]), int(j))
                    if ws:
                        words[self.genres[j]] = ws
            out.append(Prediction(scores, src, texts[i], words,
                                  None if looks[i] is None else bool(looks[i]),
                                  None if pscore[i] is None else float(pscore[i])))
        return out

    def _predictions(self, prepared: list[tuple[np.ndarray, list[str] | None]],
                     sources: Sequence[str | None]) -> list[Prediction]:
        logits, feats = self._forward([a for a, _ in prepared])
        texts = [t for _, t in prepared]
        return self.predictions_from(self.fuse(logits, texts), feats, sources, texts)

    def predict(self, image: ImageSource) -> Prediction:
        """Every genre ranked by calibrated probability, the headline's genres marked, with the
        poster check's verdict and the text read from the poster."""
        return self._predictions([self._prepare(image)], [_source_name(image)])[0]

    def predict_batch(self, images: Iterable[ImageSource], batch_size: int | None = None,
                      progress: bool = False) -> list[Prediction]:
        """Predictions for many images, batched at the fastest batch size measured for this runtime.
        Any unreadable image raises ImageLoadError naming it (use ``iter_predictions`` to keep going)."""
        return [p for p, err in self.iter_predictions(images, batch_size, progress, strict=True)]

    def iter_predictions(self, images: Iterable[ImageSource], batch_size: int | None = None,
                         progress: bool = False, strict: bool = False, texts: Sequence[list[str]] | None = None):
        """Yield ``(Prediction | None, error message | None)`` per image, in order; bad images do not
        stop the run unless ``strict``. ``texts``: per image, its text lines from an OCR cache made with
        the same settings (``postergenre.model.ocr.cache_text``), so they are not read again."""
        images = list(images)
        texts = list(texts) if texts is not None else [None] * len(images)
        bs = batch_size or self.batch_size
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(images), desc="predicting", unit="poster")
        for start in range(0, len(images), bs):
            chunk = images[start : start + bs]
            known = texts[start : start + bs]
            prepared, slots = [], []  # slots: (position in chunk, source) of the readable images
            results: list[tuple[Prediction | None, str | None]] = [(None, None)] * len(chunk)
            for k, im in enumerate(chunk):
                try:
                    prepared.append(self._prepare(im, known[k]))
                    slots.append((k, im))
                except ImageLoadError as e:
                    if strict:
                        raise ImageLoadError(f"{_source_name(im) or 'image'}: {e}") from None
                    results[k] = (None, str(e))
            if prepared:
                preds = self._predictions(prepared, [_source_name(im) for _, im in slots])
                for (k, _), pred in zip(slots, preds):
                    results[k] = (pred, None)
            if bar:  # before yielding: a caller that stops after the last row still sees 100%
                bar.update(len(chunk))
                if start + bs >= len(images):
                    bar.close()
            yield from results

    def genre_index(self, genre: str) -> int:
        """Column of ``genre`` (case-insensitive, TMDB aliases accepted); UnknownGenreError otherwise."""
        name = normalise_genre(genre) or genre
        if name not in self.genres:
            raise UnknownGenreError(f"genre {genre!r} is not predicted by this model; available = {', '.join(self.genres)}")
        return self.genres.index(name)


def _source_name(image: Any) -> str | None:
    """A short name for a prediction's ``source``: the file name, the URL, or an open file's name."""
    if isinstance(image, (str, Path)):
        text = str(image)
        return text if text.startswith(("http://", "https://")) else Path(text).name
    if isinstance(image, (bytes, bytearray)):
        return None
    name = getattr(image, "filename", None) or getattr(image, "name", None)
    return Path(name).name if isinstance(name, str) and name else None


def load(name_or_dir: str | Path | None = None, device: str | None = None, backend: str | None = None,
         precision: str | None = None) -> Predictor:
    """Load the genre model with its preprocessing.

    ``name_or_dir``: None or 'postergenre-lite2' for the bundled weights, or a weights folder.
    ``device``: 'cpu', 'cuda', 'cuda:N' or None (CUDA when available, else CPU).
    ``backend``: None (ONNX Runtime on CPU, PyTorch on CUDA) or 'torch'.
    ``precision``: 'fp32' or 'int8' (statically quantized backbone, CPU only); default
    $POSTERGENRE_PRECISION, else the weights' measured CPU default (metadata "int8"."cpu_default":
    int8 when its test macro-AP is within 0.005 of fp32) on CPUs with an int8 dot product, fp32 on other
    CPUs (``runtime.cpu_has_int8_dot``) and on CUDA.
    """
    if name_or_dir in (None, "postergenre-lite2"):
        folder = settings.weights_dir()
    elif Path(name_or_dir).is_dir():
        folder = Path(name_or_dir)
    else:
        raise WeightsError(f"model {str(name_or_dir)!r} not found; available = {available_models()} or a weights folder")
    params, meta = read_weights(folder)
    return Predictor(params, meta, device=device, backend=backend, weights_dir=folder, precision=precision)
