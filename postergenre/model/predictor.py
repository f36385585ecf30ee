"""The genre model: backbone features -> an ensemble of small MLP heads (``head.py``) -> fused with the
text read on the poster (``text_model.py``) -> calibrated probabilities and the headline rule.

``load()`` reads ``weights/`` (``head.npz`` + ``metadata.json``) and returns a ``Predictor`` with its
preprocessing (from the metadata, never re-typed), on CUDA when available and CPU otherwise.
On CPU the backbone runs in ONNX Runtime and the head in NumPy, so prediction never imports torch;
Grad-CAM lives in ``predictor.explainer`` (``explain.py``), which owns the model it differentiates.
"""
from __future__ import annotations

from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from postergenre import settings
from postergenre.errors import ImageLoadError, UnknownGenreError, WeightsError
from postergenre.genres import normalise_genre
from postergenre.model.backbone import BackboneConfig, resize_poster, to_nchw
from postergenre.model.calibration import Calibration
from postergenre.model.decision import NOT_A_POSTER, DecisionRule, confidence_word, headline
from postergenre.model.explain import make_explainer
from postergenre.model.head import Head, average_views
from postergenre.model.ocr import OCRConfig, TextReading, read_in_background
from postergenre.model.poster_check import PosterCheck
from postergenre.model.runtime import feature_extractor
from postergenre.model.text_model import TextModel
from postergenre.model.weights import META_FILE, TEXT_FILE, WeightsMetadata, read_weights
from postergenre.sources.images import ImageSource, load_image

__all__ = ["GenreScore", "Prediction", "Predictor", "Trust", "load", "available_models"]

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
    threshold: float | None      # the calibrated probability this genre needed at its rank (decision rule);
                                 # None when ranked below the rule's max_genres: no probability would do
    predicted: bool              # in the headline: ranked high enough and probability >= threshold
    logit: float | None = None   # the model's raw (uncalibrated) logit, image and text fused
    poster: bool = True          # False when the poster check flags the image: no confidence words

    @property
    def confidence(self) -> str:
        """Plain words for the probability as shown: very likely / likely / possible / unlikely, at least
        "possible" for a headline genre; "not a poster" for every genre of an image the poster check flags."""
        return confidence_word(self.probability, self.poster, in_headline=self.predicted)


@dataclass
class Prediction:
    scores: list[GenreScore]          # every trained genre, highest probability first
    source: str | None = None         # file name / URL, when known
    text: list[str] | None = None     # text lines read from the pixels (OCR); None when OCR was off
    text_words: dict[str, list[tuple[str, float]]] = field(default_factory=dict)  # top genres -> words that pushed them
    looks_like_poster: bool | None = None  # the poster check's verdict (None: weights without the check)
    poster_score: float | None = None      # share of real val posters that look less like a poster
    view_features: np.ndarray | None = field(default=None, repr=False)  # V x D backbone features, when asked
    text_scores: list[float] | None = None  # per line of ``text``, the recogniser's confidence (0-1); None: not known

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
                 "threshold": None if s.threshold is None else round(s.threshold, 6), "predicted": s.predicted,
                 "logit": None if s.logit is None else round(s.logit, 4)}
                for s in self.scores
            ],
            "text": self.text,
            "text_words": {g: [{"word": w, "contribution": c} for w, c in ws] for g, ws in self.text_words.items()},
        }


@dataclass(frozen=True)
class Trust:
    """How one path's logits become the numbers shown: its calibration and its headline rule, both
    fitted on val. The predictor has two paths: ``fused`` (the image fused with the text read on the
    poster) and ``image`` (the image alone: the text channel off, or weights without one)."""
    calibration: Calibration
    rule: DecisionRule

    @classmethod
    def from_metadata(cls, section: dict | None, genres: list[str]) -> "Trust | None":
        if not section or not section.get("calibration") or not section.get("decision_rule"):
            return None
        return cls(Calibration.from_dict(section["calibration"], genres), DecisionRule.from_dict(section["decision_rule"]))


class Predictor:
    """A loaded genre model. Use ``postergenre.load()`` rather than building one by hand.

    Public surface: ``predict``, ``predict_batch`` / ``iter_predictions``, ``predict_proba``, ``explain``,
    ``genre_index``, ``warm_up`` and the read-only properties. The stages below them (``prepare`` ->
    ``encode`` -> ``image_logits`` -> ``probabilities`` -> ``predictions_from``) are the documented
    pipeline that Grad-CAM, the catalog and the training code reuse, so nothing outside this module
    needs a private attribute. Whether the poster's text is read is a parameter of each call
    (``text=None``: read when the model has a text channel), never state someone flips."""

    def __init__(self, head: Head, meta: dict, device: str | None = None, backend: str | None = None,
                 weights_dir: Path | None = None, precision: str | None = None):
        self.metadata = WeightsMetadata.from_dict(meta)  # the one typed view of metadata.json
        self.weights_dir = weights_dir
        self.head = head
        genres = list(self.metadata.genres)
        # calibrated probabilities and the headline rule per path, fitted on val; the poster check
        fused = Trust.from_metadata({"calibration": self.metadata.calibration,
                                     "decision_rule": self.metadata.decision_rule}, genres)
        if fused is None:  # weights from before calibration existed: raw sigmoid, the cutoff of their thresholds
            cut = float(np.median(list(self.metadata.thresholds.values())))
            fused = Trust(Calibration.identity(genres), DecisionRule(top_min=cut, cutoff=cut))
        image_only = Trust.from_metadata(self.metadata.image_only, genres)
        self._trust = {"fused": fused, "image": image_only or fused}
        self.poster_check = PosterCheck.load(weights_dir) if weights_dir else None
        # int8 is the CPU default only for weights whose int8 test macro-AP was measured within the
        # tolerance of fp32 (benchmarks/int8_accuracy.py --record writes "int8"."cpu_default")
        cpu_default = (self.metadata.raw.get("int8") or {}).get("cpu_default", "fp32")
        self.backbone = feature_extractor(self.preprocessing, device, backend=backend, precision=precision,
                                          cpu_default=cpu_default)
        self.text_model = None  # the OCR text channel (weights/text.npz), fused with the image logits
        if weights_dir is not None and (Path(weights_dir) / TEXT_FILE).is_file() and self.metadata.text:
            self.text_model = TextModel.load(Path(weights_dir) / TEXT_FILE, genres)
        # how the text is read: the settings the text channel was trained on, from the metadata
        self.ocr_config = OCRConfig.from_dict((self.metadata.text or {}).get("ocr"))
        self.explainer = make_explainer(self)  # Grad-CAM for this model (it owns the PyTorch twin, if any)
        if self.backbone.dim != head.feature_dim:
            raise WeightsError(
                f"head expects {head.feature_dim} features but the backbone gives {self.backbone.dim}; "
                "the weights do not match this backbone config: retrain with `postergenre train`"
            )

    def __repr__(self) -> str:
        return (f"Predictor({self.name!r}, genres={len(self.genres)}, device={self.device!r}, backend={self.backend!r}, "
                f"precision={self.precision!r}, text={self.has_text})")

    # --- what a user reads -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def genres(self) -> list[str]:
        return list(self.metadata.genres)

    @property
    def preprocessing(self) -> BackboneConfig:
        """The backbone and its input (size, mean/std, resampling), from the weights' metadata."""
        return self.metadata.preprocessing

    @property
    def tta_flip(self) -> bool:
        return self.metadata.tta_flip

    @property
    def device(self) -> str:
        return self.backbone.device

    @property
    def backend(self) -> str:
        return self.backbone.backend

    @property
    def precision(self) -> str:
        """'fp32' or 'int8' (the backbone graph)."""
        return self.backbone.precision

    @property
    def batch_size(self) -> int:
        return self.metadata.inference_batch_size

    @property
    def has_text(self) -> bool:
        """Whether the model reads the poster's text (it has a text channel)."""
        return self.text_model is not None

    def trust(self, text: bool = True) -> Trust:
        """The calibration and headline rule of the fused path (``text``) or of the image alone."""
        return self._trust["fused" if text and self.has_text else "image"]

    def genre_index(self, genre: str) -> int:
        """Column of ``genre`` (case-insensitive, TMDB aliases accepted); UnknownGenreError otherwise."""
        name = normalise_genre(genre) or genre
        if name not in self.metadata.genres:
            raise UnknownGenreError(f"genre {genre!r} is not predicted by this model; available = {', '.join(self.genres)}")
        return self.genres.index(name)

    def warm_up(self, delay: float = 2.0) -> None:
        """Get ready for the first request in background threads (a server or the app calls this after
        loading): Grad-CAM's model (at low priority, after ``delay`` s) and, with a text channel, the
        OCR engine and the text model at once."""
        from postergenre.model.ocr import warm_up as ocr_warm_up
        from postergenre.model.warmup import in_background

        self.explainer.warm_up(delay)
        if self.text_model is not None:  # imports: at normal priority, at once (see in_background)
            in_background(lambda: (ocr_warm_up(self.ocr_config), self.text_model.logits(["warm up"])), 0.0,
                          low_priority=False)

    # --- the public calls --------------------------------------------------------------------------
    def predict(self, image: ImageSource, *, text: bool | None = None) -> "Prediction":
        """Every genre ranked by calibrated probability, the headline's genres marked, with the
        poster check's verdict and the text read from the poster (``text=False``: the image alone)."""
        return self._predictions([self._start(image, text, None)], [_source_name(image)])[0]

    def predict_batch(self, images: Iterable[ImageSource], batch_size: int | None = None,
                      progress: bool = False, *, text: bool | None = None) -> list["Prediction"]:
        """Predictions for many images, batched at the fastest batch size measured for this runtime.
        Any unreadable image raises ImageLoadError naming it (use ``iter_predictions`` to keep going)."""
        return [p for p, err in self.iter_predictions(images, batch_size, progress, strict=True, text=text)]

    def iter_predictions(self, images: Iterable[ImageSource], batch_size: int | None = None,
                         progress: bool = False, strict: bool = False, texts: Sequence[list[str]] | None = None,
                         *, text: bool | None = None, keep_features: bool = False):
        """Yield ``(Prediction | None, error message | None)`` per image, in order; bad images do not
        stop the run unless ``strict``. ``texts``: per image, its text lines from an OCR cache made with
        the same settings (``postergenre.model.ocr.cache_text``), so they are not read again.
        ``keep_features``: each Prediction carries its backbone features (``view_features``, one row per
        view), e.g. for the catalog's similarity embedding (no second forward pass)."""
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
                    prepared.append(self._start(im, text, known[k]))
                    slots.append((k, im))
                except ImageLoadError as e:
                    if strict:
                        raise ImageLoadError(f"{_source_name(im) or 'image'}: {e}") from None
                    results[k] = (None, str(e))
            if prepared:
                preds = self._predictions(prepared, [_source_name(im) for _, im in slots], keep_features)
                for (k, _), pred in zip(slots, preds):
                    results[k] = (pred, None)
            if bar:  # before yielding: a caller that stops after the last row still sees 100%
                bar.update(len(chunk))
                if start + bs >= len(images):
                    bar.close()
            yield from results

    def predict_proba(self, images: Sequence[ImageSource], *, text: bool | None = None) -> np.ndarray:
        """N x G calibrated probabilities (columns in ``self.genres`` order), batched: memory stays
        bounded for any number of images."""
        images = list(images)
        out = np.zeros((len(images), len(self.genres)), dtype=np.float32)
        for start in range(0, len(images), self.batch_size):
            prepared = [self._start(im, text, None) for im in images[start:start + self.batch_size]]
            feats, _ = self.encode([a for a, _ in prepared])
            out[start:start + len(prepared)] = self.probabilities(self.image_logits(feats, len(prepared)),
                                                                  [_lines(_done(r)) for _, r in prepared])
        return out

    def explain(self, image: ImageSource, genres: Sequence[str] | None = None, top_k: int = 3, *,
                text: bool | None = None, prediction: "Prediction | None" = None) -> list:
        """Grad-CAM heatmaps (``explain.Heatmap``) for ``genres`` (default: the ``top_k`` most probable);
        ``prediction``: this poster's ``predict()`` result, so no second prediction is computed."""
        return self.explainer.explain(image, genres, top_k, text=text, prediction=prediction)

    # --- the pipeline's stages ---------------------------------------------------------------------
    def preprocess(self, image: ImageSource) -> np.ndarray:
        """Any accepted image input -> H x W x 3 uint8 at the model's input size."""
        return self.prepare(image, text=False)[0]

    def prepare(self, image: ImageSource, *, text: bool | None = None,
                known_text: list[str] | None = None) -> tuple[np.ndarray, TextReading | None]:
        """(model-size array, what was read on the poster, or None when the text is not read) for one
        image. ``text``: read the text (None: when the model has a text channel); ``known_text``: the
        lines already read from this image's pixels (an OCR cache, a prediction), not read again (their
        regions are then unknown, so the poster check judges the image alone)."""
        arr, reading = self._start(image, text, known_text)
        return arr, _done(reading)

    def _start(self, image: ImageSource, text: bool | None, known_text: list[str] | None
               ) -> tuple[np.ndarray, "TextReading | Future[TextReading] | None"]:
        """``prepare``, with the text still being read on the OCR's thread (a Future): the caller runs
        the backbone meanwhile, so a poster with its text costs about the OCR's time, not the sum."""
        w, h = self.preprocessing.input_size
        pil = load_image(image, draft=(w * DRAFT_FACTOR, h * DRAFT_FACTOR))
        reading = None
        if self.has_text and text is not False:
            reading = (TextReading(list(known_text), None, pil.size) if known_text is not None
                       else read_in_background(pil, self.ocr_config))
        return resize_poster(pil, self.preprocessing), reading

    def encode(self, arrays: list[np.ndarray], with_map: bool = False, views: bool | None = None
               ) -> tuple[np.ndarray, np.ndarray | None]:
        """Backbone features of preprocessed posters, N*V x D (V = 2 views with flip-TTA: the poster,
        then its mirror; ``views=False``: the poster alone, V = 1), and the last convolution's
        activations (N*V x C x h x w) when ``with_map``."""
        batch = to_nchw(arrays, flip=self.tta_flip if views is None else views)
        if with_map:
            return self.backbone.features_and_map(batch)
        return self.backbone(batch), None

    def image_logits(self, feats: np.ndarray, n: int) -> np.ndarray:
        """N x G image-head logits from ``encode``'s features of ``n`` posters (views averaged)."""
        return average_views(self.head.logits(feats), n)

    def fuse(self, image_logits: np.ndarray, texts: Sequence[list[str] | None]) -> np.ndarray:
        """Raw logits per poster: the image fused with the text channel for posters whose text was read
        (a list, maybe empty), the image logits as they are for the others (None: text not read)."""
        out = np.array(image_logits, dtype=np.float32, copy=True)
        rows = [i for i, t in enumerate(texts) if t is not None]
        if self.text_model is not None and rows:
            out[rows] = self.text_model.fuse(out[rows], [" ".join(texts[i]) for i in rows])
        return out

    def probabilities(self, image_logits: np.ndarray, texts: Sequence[list[str] | None]) -> np.ndarray:
        """N x G calibrated probabilities from the image logits and the text lines (``fuse``, then each
        poster's path's calibration): the numbers every surface shows."""
        return self._calibrate(self.fuse(image_logits, texts), texts)

    def _calibrate(self, logits: np.ndarray, texts: Sequence[list[str] | None]) -> np.ndarray:
        """N x G raw (fused) logits -> calibrated probabilities, each poster by its path's calibration."""
        out = np.zeros_like(logits)
        for path in (True, False):
            rows = [i for i, t in enumerate(texts) if (t is not None) == path]
            if rows:
                out[rows] = self.trust(path).calibration(logits[rows])
        return out

    def predictions_from(self, image_logits: np.ndarray, feats: np.ndarray, sources: Sequence[str | None],
                         texts: Sequence[list[str] | None] | None = None,
                         view_feats: np.ndarray | None = None,
                         readings: Sequence[TextReading | None] | None = None) -> list["Prediction"]:
        """Predictions from N x G image logits and N x D backbone features (views averaged): the
        fusion with the text, each path's calibration and headline rule, the poster check (with the
        layout of the text regions where ``readings`` have them) and the words that pushed the top
        genres (``evaluate --from-cache`` feeds cached features here)."""
        texts = list(texts) if texts is not None else [None] * len(sources)
        logits = self.fuse(image_logits, texts)
        probs = self._calibrate(logits, texts)  # the text model runs once per poster, not once more here
        if self.poster_check is not None:
            readings = list(readings) if readings is not None else [None] * len(sources)
            regions = [None if r is None else r.regions for r in readings]
            sizes = [(0, 0) if r is None else r.size for r in readings]
            looks, pscore = self.poster_check.looks_like_poster(feats, regions, sizes)
        else:
            looks, pscore = [None] * len(sources), [None] * len(sources)
        out = []
        for i, src in enumerate(sources):
            rule = self.trust(texts[i] is not None).rule
            chosen = rule.select(probs[i : i + 1])[0]
            order = np.argsort(-probs[i], kind="stable")
            poster = looks[i] is None or bool(looks[i])  # flagged: guesses, never in confidence words
            scores = [GenreScore(self.genres[j], float(probs[i, j]), rule.threshold_at_rank(r),
                                 bool(chosen[j]), float(logits[i, j]), poster) for r, j in enumerate(order)]
            words: dict[str, list[tuple[str, float]]] = {}
            if texts[i] and self.text_model is not None:
                for j in order[:3]:
                    ws = self.text_model.word_contributions(" ".join(texts[i]), int(j))
                    if ws:
                        words[self.genres[j]] = ws
            out.append(Prediction(scores, src, texts[i], words,
                                  None if looks[i] is None else bool(looks[i]),
                                  None if pscore[i] is None else float(pscore[i]),
                                  None if view_feats is None else view_feats[i],
                                  _line_scores(readings[i] if readings is not None else None, texts[i])))
        return out

    def _predictions(self, prepared: list[tuple[np.ndarray, "TextReading | Future[TextReading] | None"]],
                     sources: Sequence[str | None], keep_features: bool = False) -> list["Prediction"]:
        n = len(prepared)
        feats, _ = self.encode([a for a, _ in prepared])  # while the OCR's thread reads the text
        readings = [_done(r) for _, r in prepared]
        per_view = np.asarray(feats, dtype=np.float32).reshape(n, -1, feats.shape[-1])
        return self.predictions_from(self.image_logits(feats, n), per_view.mean(axis=1), sources,
                                     [_lines(r) for r in readings], per_view if keep_features else None, readings)


def _done(reading: "TextReading | Future[TextReading] | None") -> TextReading | None:
    """The reading, waited for when it is still being read (errors surface here, as if read in line)."""
    return reading.result() if isinstance(reading, Future) else reading


def _lines(reading: TextReading | None) -> list[str] | None:
    return None if reading is None else list(reading.lines or [])


def _line_scores(reading: TextReading | None, lines: list[str] | None) -> list[float] | None:
    """The recogniser's confidence of each of ``lines`` when the reading has them (not for cached text)."""
    if reading is None or reading.scores is None or lines is None or len(reading.scores) != len(lines):
        return None
    return [float(s) for s in reading.scores]


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
    return Predictor(Head(params), meta, device=device, backend=backend, weights_dir=folder, precision=precision)
