"""The brief check: does a poster say the genre it is meant to sell?

    from postergenre.compare.check import check_poster
    result = check_poster(predictor, "draft.jpg", ["Horror"], atlas=load_atlas())
    result.headline                     # "Says Horror clearly", or "Says Thriller first, Horror too"
    result.genres[0].fit.percentile     # 72.0: reads as Horror more strongly than 72% of Horror posters
    result.to_dict()                    # every figure (the API and `postergenre check --json`)

One call reads the poster once and puts together, for each intended genre (one or two): its **fit**
(calibrated probability, rank, percentile among the genre's own posters from the Genre Atlas, a verdict
in words), the genres that **compete** with it (with contrast heatmaps: where the poster pushes towards
the competitor rather than the intended genre, all from one forward pass), the **words** read on the
poster that push towards or away from it, its **look** against the genre (measures beyond the genre's
10th-90th percentiles, colours the genre has more often that the poster lacks, colours the genre rarely
has), and, with a catalog index, **examples** of the genre that look like the poster. ``rank_variants``
orders 2-4 checked drafts by how well they say the genre.

The verdict words and their thresholds are defined here once (``VERDICTS``); what the check cannot
know is ``LIMITS``. An image the poster check flags gets the warning and no verdict.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, Sequence

import numpy as np
from PIL import Image

from postergenre.errors import PosterGenreError
from postergenre.look.analysis import MEASURES, PosterAnalysis, analyze_poster
from postergenre.look.atlas import ALL, Atlas, compare_analysis, fit_percentile, percentile_in_genre, share_text
from postergenre.model.decision import CONFIDENCE_WORDS
from postergenre.sources.images import ImageSource, load_image

if TYPE_CHECKING:
    from postergenre.model.predictor import Prediction, Predictor

__all__ = ["Verdict", "VERDICTS", "LIMITS", "MAX_INTENDED", "GenreFit", "Competitor", "LookNote", "ColourNote",
           "Example", "GenreCheck", "BriefCheck", "check_poster", "rank_variants", "intended_genres"]


def _lowest(word: str) -> float:
    """The lowest calibrated probability the confidence words call ``word`` (model/decision.py)."""
    return next(lo for lo, w in CONFIDENCE_WORDS if w == word)


# --- the verdict, defined once ------------------------------------------------------------------------
CLEAR_AT = _lowest("likely")      # 0.5: a genre that leads at "likely" or better is said clearly
SHOWN_AT = _lowest("possible")    # 0.25: below this the poster hardly says the genre
NEAR = 0.10                       # a genre within 10 points below the intended one competes with it
MAX_COMPETITORS = 3
MAX_INTENDED = 2                  # one or two intended genres (e.g. Horror + Comedy)
OUTSIDE = (10.0, 90.0)            # a measure beyond the genre's 10th-90th percentiles is unusual for it
RARE_COLOUR = 0.10                # a colour on under 10% of the genre's posters is unusual for it
MIN_COLOUR_AREA = 0.10            # ...when it covers at least 10% of this poster


@dataclass(frozen=True)
class Verdict:
    key: str
    words: str    # template: {genre} the intended genre, {first} the genre that leads
    when: str     # the rule, for people (docs, help)

    def say(self, genre: str, first: str) -> str:
        return self.words.format(genre=genre, first=first)


VERDICTS: dict[str, Verdict] = {v.key: v for v in (
    Verdict("clear", "says {genre} clearly",
            f"no other genre ranks above it and its probability is {CLEAR_AT:.0%} or more"),
    Verdict("weak", "says {genre}, but weakly",
            f"no other genre ranks above it, probability {SHOWN_AT:.0%} to {CLEAR_AT:.0%}"),
    Verdict("faint", "says {genre} only faintly",
            f"no other genre ranks above it, but its probability is under {SHOWN_AT:.0%}"),
    Verdict("second", "says {first} first, {genre} too",
            f"another genre ranks above it; its own probability is {SHOWN_AT:.0%} or more"),
    Verdict("miss", "says {first}, not {genre}",
            f"another genre ranks above it and its probability is under {SHOWN_AT:.0%}"),
)}

LIMITS = ("The check reads what the model learned from about 24,000 IMDb posters of films from 1970 to 2017: "
          "how each genre's posters looked then, not how they look now. It knows nothing of box office, "
          "audiences' taste, or legal questions (rights, likenesses, ratings), and a poster can sell its genre "
          "in ways the model never saw.")


def verdict_for(probability: float, outranked_by: Sequence[str]) -> Verdict:
    """The verdict of an intended genre from its calibrated probability and the other genres ranked above it."""
    if outranked_by:
        return VERDICTS["second" if probability >= SHOWN_AT else "miss"]
    if probability >= CLEAR_AT:
        return VERDICTS["clear"]
    return VERDICTS["weak" if probability >= SHOWN_AT else "faint"]


# --- the result ---------------------------------------------------------------------------------------
@dataclass
class GenreFit:
    genre: str
    probability: float               # calibrated
    rank: int                        # 1 = the poster's top genre
    percentile: float | None         # 0..100 among the genre's own posters (Genre Atlas); None without it
    outranked_by: list[str]          # genres (not intended) ranked above it
    verdict: Verdict | None          # None for an image that does not look like a poster

    @property
    def words(self) -> str | None:
        """'says Horror clearly' (None without a verdict)."""
        first = self.outranked_by[0] if self.outranked_by else self.genre
        return None if self.verdict is None else self.verdict.say(self.genre, first)

    @property
    def sentence(self) -> str | None:
        """'reads as Horror more strongly than 72% of Horror posters' (None without the atlas's distribution)."""
        if self.percentile is None:
            return None
        p = self.percentile
        if p >= 50:
            return f"reads as {self.genre} more strongly than {share_text(p / 100)} of {self.genre} posters"
        return f"reads as {self.genre} less strongly than {share_text(1 - p / 100)} of {self.genre} posters"

    def to_dict(self) -> dict[str, Any]:
        return {"genre": self.genre, "probability": round(self.probability, 6), "rank": self.rank,
                "percentile": None if self.percentile is None else round(self.percentile, 1),
                "sentence": self.sentence, "outranked_by": list(self.outranked_by),
                "verdict": None if self.verdict is None else self.verdict.key, "verdict_words": self.words}


@dataclass
class Competitor:
    genre: str
    probability: float
    rank: int
    outranks: bool                   # ranked above the intended genre (else within NEAR below it)
    contrast: np.ndarray | None = field(default=None, repr=False)  # H x W in [0, 1] at the poster's size
    evidence: np.ndarray | None = field(default=None, repr=False)  # h x w Grad-CAM evidence before ReLU

    def to_dict(self) -> dict[str, Any]:
        return {"genre": self.genre, "probability": round(self.probability, 6), "rank": self.rank,
                "outranks": self.outranks}


@dataclass
class LookNote:
    measure: str
    label: str
    value: float
    value_text: str                  # formatted with its unit
    percentile: float                # among the genre's posters
    direction: str                   # 'higher' or 'lower' than the genre's usual range
    phrase: str                      # 'brighter than 94% of Horror posters'
    typical: float                   # the genre's median
    typical_text: str                # 'Horror posters are typically darker than posters overall: median 28.0'

    def to_dict(self) -> dict[str, Any]:
        return _rounded(self)


@dataclass
class ColourNote:
    kind: str                        # 'missing' (the genre has it more often than posters overall) or 'unusual'
    name: str
    hex: str
    genre_share: float               # share of the genre's posters that have it
    overall_share: float             # share of all posters that have it
    poster_area: float               # share of this poster it covers (0 = it lacks it)
    phrase: str                      # 'on 34% of Horror posters (2.1x posters overall); this poster has little or none'

    def to_dict(self) -> dict[str, Any]:
        return _rounded(self)


def _rounded(note: Any) -> dict[str, Any]:
    """A note's fields as JSON-ready data, floats to 4 decimals."""
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in vars(note).items()}


@dataclass
class Example:
    path: str
    distance: float                  # cosine distance of the model's features, 0 = the same look
    predicted: list[str]
    labels: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "distance": round(self.distance, 4), "predicted": self.predicted,
                "labels": self.labels}


@dataclass
class GenreCheck:
    fit: GenreFit
    competitors: list[Competitor] = field(default_factory=list)
    own_map: np.ndarray | None = field(default=None, repr=False)   # Grad-CAM of the genre itself, poster size
    words_for: list[tuple[str, float]] = field(default_factory=list)      # words pushing towards it
    words_against: list[tuple[str, float]] = field(default_factory=list)  # words pushing away (negative)
    look: list[LookNote] = field(default_factory=list)
    colours: list[ColourNote] = field(default_factory=list)
    examples: list[Example] = field(default_factory=list)

    @property
    def genre(self) -> str:
        return self.fit.genre

    def to_dict(self) -> dict[str, Any]:
        return {**self.fit.to_dict(), "competitors": [c.to_dict() for c in self.competitors],
                "words": {"toward": [{"word": w, "contribution": round(c, 4)} for w, c in self.words_for],
                          "away": [{"word": w, "contribution": round(c, 4)} for w, c in self.words_against]},
                "look": [n.to_dict() for n in self.look], "colours": [n.to_dict() for n in self.colours],
                "examples": [e.to_dict() for e in self.examples]}


@dataclass
class BriefCheck:
    intended: list[str]
    prediction: Prediction
    genres: list[GenreCheck]
    image: Image.Image = field(repr=False)  # the decoded poster (heatmap overlays are drawn on it)
    notes: list[str] = field(default_factory=list)  # what could not be checked, and why

    @property
    def flagged(self) -> bool:
        """True when the poster check says the image does not look like a movie poster (no verdict)."""
        return self.prediction.warning is not None

    @property
    def headline(self) -> str:
        """'Says Horror clearly · says Comedy only faintly', or the not-a-poster warning."""
        if self.flagged:
            return f"{self.prediction.warning}; no verdict"
        text = " · ".join(g.fit.words for g in self.genres if g.fit.words)
        return text[:1].upper() + text[1:]

    @property
    def score(self) -> float:
        """How well the poster says its intended genres, for ranking drafts: the mean percentile among
        the genres' own posters (mean probability x 100 without the atlas's distribution)."""
        pct = [g.fit.percentile for g in self.genres]
        if all(p is not None for p in pct):
            return float(np.mean(pct))
        return float(np.mean([100 * g.fit.probability for g in self.genres]))

    def heatmaps(self, alpha: float = 0.5) -> dict[str, Image.Image]:
        """Overlays on the poster: '<genre>' for each intended genre's own map and '<competitor> vs
        <genre>' for each contrast map (only those computed)."""
        from postergenre.model.explain import overlay

        out = {}
        for g in self.genres:
            if g.own_map is not None:
                out[g.genre] = overlay(self.image, g.own_map, alpha)
            for c in g.competitors:
                if c.contrast is not None:
                    out[f"{c.genre} vs {g.genre}"] = overlay(self.image, c.contrast, alpha)
        return out

    def to_dict(self, heatmaps: bool = False, alpha: float = 0.5) -> dict[str, Any]:
        """Every figure as JSON-ready data; ``heatmaps``: also the overlays as base64 PNGs."""
        out = {"source": self.prediction.source, "intended": list(self.intended),
               "looks_like_poster": self.prediction.looks_like_poster,
               "poster_score": None if self.prediction.poster_score is None else round(self.prediction.poster_score, 4),
               "warning": self.prediction.warning, "verdict": None if self.flagged else self.headline,
               "headline": self.headline, "score": round(self.score, 2),
               "genres": [g.to_dict() for g in self.genres], "top_genres": [
                   {"genre": s.genre, "probability": round(s.probability, 6)} for s in self.prediction.scores[:5]],
               "text": self.prediction.text, "notes": list(self.notes), "limits": LIMITS}
        if heatmaps:
            import base64
            import io

            encoded = {}
            for name, im in self.heatmaps(alpha).items():
                buf = io.BytesIO()
                im.save(buf, "PNG")
                encoded[name] = base64.b64encode(buf.getvalue()).decode()
            out["heatmaps"] = encoded
        return out


class CatalogIndex(Protocol):
    """What the check needs of a catalog index (``postergenre.catalog.index.PosterIndex``)."""

    def similar(self, image: Any, k: int = 10, genre: str | None = None) -> list: ...


# --- the check ----------------------------------------------------------------------------------------
def intended_genres(predictor: Predictor, genres: Sequence[str] | str) -> list[str]:
    """The model's spelling of one or two intended genres; UnknownGenreError lists the genres it knows."""
    genres = [genres] if isinstance(genres, str) else list(genres)
    names = list(dict.fromkeys(predictor.genres[predictor.genre_index(g)] for g in genres))
    if not 1 <= len(names) <= MAX_INTENDED:
        raise PosterGenreError(f"give one or two intended genres (e.g. Horror, or Horror and Comedy), not "
                               f"{len(names)}; available = {', '.join(predictor.genres)}")
    return names


def check_poster(predictor: Predictor, image: ImageSource, genres: Sequence[str] | str, *,
                 atlas: Atlas | None = None, index: CatalogIndex | None = None, heatmaps: bool = True,
                 prediction: Prediction | None = None, analysis: PosterAnalysis | None = None,
                 anyway: bool = False, examples: int = 6) -> BriefCheck:
    """Check one poster against one or two intended ``genres``.

    ``atlas``: the Genre Atlas (percentiles, look and colours; without it those parts are left out and
    ``notes`` says so). ``index``: a catalog index for examples. ``heatmaps``: the intended genres' own
    maps and the contrast maps of their competitors (one forward pass). ``prediction`` / ``analysis``:
    this poster's, when the caller already has them (not computed again). ``anyway``: for an image the
    poster check flags, still compute competitors, words, look and heatmaps (the verdict stays withheld).
    UnknownGenreError (with the list) for a genre the model does not predict, before any model work;
    ImageLoadError for an unreadable image."""
    names = intended_genres(predictor, genres)
    img = load_image(image)
    pred = prediction if prediction is not None else predictor.predict(img)
    if pred.source is None:
        pred.source = getattr(image, "name", None) if not isinstance(image, (str, bytes)) else None
    flagged = pred.warning is not None
    ranked = [s.genre for s in pred.scores]
    probs = pred.probabilities
    notes: list[str] = []
    if atlas is None:
        notes.append("no Genre Atlas installed: no percentiles, look or colour comparison "
                     "(build one with `postergenre atlas --data DATASET_DIR`)")
    elif any(atlas.fit_quantiles(g) is None for g in names if g in atlas.genres):
        notes.append("this Genre Atlas has no per-genre probability distribution: no percentiles "
                     "(rebuild it with `postergenre atlas --data DATASET_DIR`)")
    elif (atlas.data.get("model") or {}).get("fingerprint") != _fingerprint(predictor):
        notes.append("the Genre Atlas was built with other weights, so the percentiles may be off "
                     "(rebuild it with `postergenre atlas --data DATASET_DIR`)")
    checks = []
    for g in names:
        above = [r for r in ranked[: ranked.index(g)] if r not in names]
        pct = fit_percentile(atlas, g, probs[g]) if atlas is not None and g in atlas.genres else None
        fit = GenreFit(g, probs[g], ranked.index(g) + 1, pct, above, None if flagged else verdict_for(probs[g], above))
        checks.append(GenreCheck(fit))
    result = BriefCheck(names, pred, checks, img, notes)
    if flagged and not anyway:
        notes.append("the image does not look like a movie poster: no verdict; competitors, words, look and "
                     "heatmaps only on request")
        return result
    for c in checks:
        c.competitors = _competitors(pred, c.fit, names)
    if heatmaps:
        _contrast_maps(predictor, img, checks)
    _words(predictor, pred, checks)
    if atlas is not None:
        analysis = analysis if analysis is not None else analyze_poster(img)
        for c in checks:
            if c.genre in atlas.genres:
                c.look = look_notes(atlas, c.genre, analysis)
                c.colours = colour_notes(atlas, c.genre, analysis)
            else:
                notes.append(f"the Genre Atlas has no statistics for {c.genre}")
    if index is not None and examples > 0:
        try:
            for c in checks:
                c.examples = [Example(h.path, h.distance, list(h.predicted), h.labels)
                              for h in index.similar(img, examples, genre=c.genre)]
        except PosterGenreError as e:  # the rest of the check stands
            notes.append(f"the catalog index could not be searched: {e}")
    return result


def _fingerprint(predictor: Predictor) -> str:
    from postergenre.look.atlas_build import model_fingerprint  # pandas: only once an atlas is given

    return model_fingerprint(predictor)


def _competitors(pred: Prediction, fit: GenreFit, intended: list[str]) -> list[Competitor]:
    """Genres (not intended) ranked above the intended one, or within ``NEAR`` below it while still
    'possible'; the strongest ``MAX_COMPETITORS``."""
    out = []
    for rank, s in enumerate(pred.scores, 1):
        if s.genre in intended:
            continue
        outranks = rank < fit.rank
        if outranks or (s.probability >= fit.probability - NEAR and s.probability >= SHOWN_AT):
            out.append(Competitor(s.genre, s.probability, rank, outranks))
    return out[:MAX_COMPETITORS]


def _contrast_maps(predictor: Predictor, img: Image.Image, checks: list[GenreCheck]) -> None:
    """Each intended genre's own map and, per competitor, the map of (competitor logit - intended logit),
    all from one forward pass (``Explainer.contrasts``)."""
    pairs = [(c.genre, None) for c in checks] + [(k.genre, c.genre) for c in checks for k in c.competitors]
    maps = predictor.explainer.contrasts(img, pairs)
    by_pair = {(m.genre, m.against): m for m in maps}
    for c in checks:
        c.own_map = by_pair[(c.genre, None)].cam
        for k in c.competitors:
            m = by_pair[(k.genre, c.genre)]
            k.contrast, k.evidence = m.cam, m.evidence


def _words(predictor: Predictor, pred: Prediction, checks: list[GenreCheck], top: int = 5) -> None:
    """The words read on the poster that push each intended genre's score up or down (text model)."""
    model = getattr(predictor, "text_model", None)
    if not pred.text or model is None:
        return
    text = " ".join(pred.text)
    for c in checks:
        signed = model.word_contributions(text, predictor.genre_index(c.genre), top=None, signed=True)
        c.words_for = [(w, v) for w, v in signed if v > 0][:top]
        c.words_against = sorted([(w, v) for w, v in signed if v < 0], key=lambda wv: wv[1])[:top]


def look_notes(atlas: Atlas, genre: str, analysis: PosterAnalysis) -> list[LookNote]:
    """The poster's measures beyond the genre's 10th-90th percentiles, most unusual first, each with the
    genre's median and how that median sits among all posters."""
    out = []
    for c in compare_analysis(atlas, genre, analysis):
        if OUTSIDE[0] <= c.percentile <= OUTSIDE[1]:
            continue
        m = MEASURES[c.measure]
        meta = atlas.data["measures"][c.measure]
        levels, q = atlas.quantiles(genre, c.measure)
        median = float(np.interp(0.5, levels, q))
        overall = percentile_in_genre(atlas, ALL, c.measure, median)
        unit = f" {m.unit}" if m.unit not in ("", "%") else ""
        if overall >= 60:
            lean = f"{genre} posters are typically {meta['higher']} than posters overall"
        elif overall <= 40:
            lean = f"{genre} posters are typically {meta['lower']} than posters overall"
        else:
            lean = f"{genre} posters are about average here"
        out.append(LookNote(c.measure, c.label, c.value, m.format(c.value) + unit, c.percentile,
                            "higher" if c.percentile > 50 else "lower", c.phrase, median,
                            f"{lean}: median {m.label.lower()} {m.format(median)}{unit}"))
    return out


def colour_notes(atlas: Atlas, genre: str, analysis: PosterAnalysis) -> list[ColourNote]:
    """Colours the genre has more often than posters overall that this poster lacks ('missing'), and
    colours that cover much of this poster but few of the genre's posters have ('unusual'). Empty for an
    atlas built before colours were counted per poster (rebuild it)."""
    clusters = atlas.data.get("colour_clusters")
    group, everyone = atlas.group(genre), atlas.group(ALL)
    area = atlas.colour_areas([list(c.lab) + [c.share] for c in analysis.palette])
    if area is None or "colour_frequency" not in group:
        return []
    has = area >= clusters["min_share"]
    freq, base = np.asarray(group["colour_frequency"]), np.asarray(everyone["colour_frequency"])
    out = []
    for c in group.get("palette_distinctive", []):
        j = c["id"]
        if not has[j]:
            out.append(ColourNote("missing", c["name"], c["hex"], float(freq[j]), float(base[j]), float(area[j]),
                                  f"on {share_text(freq[j])} of {genre} posters ({freq[j] / max(base[j], 1e-9):.1f}x "
                                  "posters overall); this poster has little or none"))
    for j in np.argsort(-area):
        colour = clusters["colours"][j]
        if area[j] >= MIN_COLOUR_AREA and freq[j] < RARE_COLOUR:
            out.append(ColourNote("unusual", colour["name"], colour["hex"], float(freq[j]), float(base[j]),
                                  float(area[j]), f"covers {area[j]:.0%} of this poster; only "
                                  f"{share_text(freq[j])} of {genre} posters have it"))
    return out


def rank_variants(checks: Sequence[BriefCheck]) -> list[int]:
    """Indices of ``checks`` (variants of one poster, checked against the same genres), best first: by
    ``score`` (mean percentile among the genres' own posters); images flagged as not a poster last."""
    return sorted(range(len(checks)), key=lambda i: (checks[i].flagged, -checks[i].score))
