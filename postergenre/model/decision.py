"""Which genres make the headline, and how sure the words say we are.

The rule works on calibrated probabilities, ranked: the top genre is predicted when it is plausible
(probability >= ``top_min``); each next genre, in rank order, while its probability reaches
``cutoff``; at most ``max_genres``. So a predicted genre is never ranked below one that is not.
``top_min`` and ``cutoff`` are chosen on ``val`` (cross-fitted probabilities) to maximise samples-F1
among rules that predict about as many genres per poster as the films have.

The confidence words are defined here once and used by the CLI, the API and the app. They read the
probability as it is shown, a whole percentage (``percent``: 0.249 is "25%", so "possible"), and a genre
the rule puts in the headline is at least "possible" (the rule may admit the top genre a little below 25%:
``top_min`` is tuned on val), so a headline never says "unlikely".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

__all__ = ["DecisionRule", "CONFIDENCE_WORDS", "HEADLINE_LOWEST_WORD", "confidence_word", "headline", "percent",
           "shown_percent", "NOT_A_POSTER", "NOT_A_POSTER_WORD", "fit_decision_rule"]

# (lowest calibrated probability, as shown in whole percent, word), highest first: "very likely" means right
# about 3 times in 4 or more
CONFIDENCE_WORDS: tuple[tuple[float, str], ...] = ((0.75, "very likely"), (0.5, "likely"), (0.25, "possible"),
                                                   (0.0, "unlikely"))
HEADLINE_LOWEST_WORD = "possible"   # a genre in the headline is never called less than this
NOT_A_POSTER = "This does not look like a movie poster — genres below are a guess"
NOT_A_POSTER_WORD = "not a poster"  # every genre's confidence when the poster check flags the image


def shown_percent(probability: float) -> int:
    """The whole percentage a probability is shown as: 0.249 -> 25 (rounded exactly as ``f"{p:.0%}"``)."""
    return round(float(probability) * 100)


def percent(probability: float) -> str:
    """A probability as people see it: '25%'. The confidence words read this same number."""
    return f"{shown_percent(probability)}%"


def confidence_word(probability: float, poster: bool = True, in_headline: bool = False) -> str:
    """Plain words for a calibrated probability as shown (``percent``): very likely / likely / possible /
    unlikely; a genre ``in_headline`` is at least "possible" (the rule admitted it); for an image the
    poster check flags (``poster=False``) "not a poster" whatever the probability (the calibration holds
    for posters only)."""
    if not poster:
        return NOT_A_POSTER_WORD
    shown = shown_percent(probability)
    words = [word for _, word in CONFIDENCE_WORDS]
    word = next((w for lo, w in CONFIDENCE_WORDS if shown >= shown_percent(lo)), words[-1])
    if in_headline and words.index(word) > words.index(HEADLINE_LOWEST_WORD):
        return HEADLINE_LOWEST_WORD
    return word


def headline(genres: Sequence[tuple[str, float]]) -> str:
    """'Horror (very likely) · Thriller (possible)' for the headline's (genre, calibrated probability)
    pairs; never "unlikely" (``confidence_word(..., in_headline=True)``)."""
    return " · ".join(f"{g} ({confidence_word(p, in_headline=True)})" for g, p in genres)


@dataclass
class DecisionRule:
    top_min: float = 0.2     # the top genre is predicted when its calibrated probability reaches this
    cutoff: float = 0.3      # the 2nd, 3rd... genre while its calibrated probability reaches this
    max_genres: int = 3      # at most this many genres in the headline

    def select(self, probs: np.ndarray) -> np.ndarray:
        """N x G calibrated probabilities -> N x G bool, True for the predicted genres."""
        p = np.atleast_2d(np.asarray(probs, dtype=np.float64))
        order = np.argsort(-p, axis=1, kind="stable")
        ranked = np.take_along_axis(p, order, axis=1)
        keep = np.zeros_like(ranked, dtype=bool)
        keep[:, 0] = ranked[:, 0] >= self.top_min
        for r in range(1, min(self.max_genres, p.shape[1])):
            keep[:, r] = keep[:, r - 1] & (ranked[:, r] >= self.cutoff)
        out = np.zeros_like(keep)
        np.put_along_axis(out, order, keep, axis=1)
        return out

    def threshold_at_rank(self, rank: int) -> float | None:
        """The probability a genre at 0-based ``rank`` needs (given every higher one is predicted);
        None from rank ``max_genres`` on: no probability puts a genre ranked there in the headline."""
        if rank >= self.max_genres:
            return None
        return float(self.top_min if rank == 0 else self.cutoff)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "DecisionRule":
        return cls(**{k: d[k] for k in ("top_min", "cutoff", "max_genres") if k in d})


def samples_f1(y: np.ndarray, pred: np.ndarray) -> float:
    y, pred = np.asarray(y) > 0, np.asarray(pred, dtype=bool)
    tp = (y & pred).sum(1)
    den = y.sum(1) + pred.sum(1)
    return float(np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0).mean())


def fit_decision_rule(probs: np.ndarray, y: np.ndarray, *, max_genres: int = 3, tolerance: float = 0.15,
                      ) -> tuple[DecisionRule, dict[str, Any]]:
    """Grid search on val: among rules whose mean number of predicted genres is within ``tolerance``
    of the true mean, the one with the best samples-F1; of rules within 0.001 of it, the highest
    ``top_min`` (so a poster with no plausible genre gets none). Returns (rule, what was measured)."""
    y = np.asarray(y) > 0
    true_mean = float(y.sum(1).mean())
    grid_cut = np.round(np.arange(0.10, 0.701, 0.01), 2)
    grid_top = np.round(np.arange(0.0, 0.401, 0.02), 2)
    rows = []
    for cut in grid_cut:
        for top in grid_top:
            rule = DecisionRule(float(top), float(cut), max_genres)
            pred = rule.select(probs)
            rows.append((samples_f1(y, pred), float(pred.sum(1).mean()), float(top), float(cut)))
    ok = [r for r in rows if abs(r[1] - true_mean) <= tolerance] or rows
    best_f1 = max(r[0] for r in ok)
    top_f1, count, top, cut = max((r for r in ok if r[0] >= best_f1 - 0.001), key=lambda r: (r[2], r[0]))
    rule = DecisionRule(top, cut, max_genres)
    return rule, {"samples_f1": top_f1, "genres_per_poster": count, "true_genres_per_poster": true_mean,
                  "tolerance": tolerance, "tuned_on": "val (cross-fitted calibrated probabilities)"}
