"""A folder's worth of drafts (2 to 50 posters) read at once: one table of all of them, and the side-by-side
comparison of the 2-4 someone picks. A file that cannot be read is named with the reason and left out;
it never stops the others.

    from postergenre.compare.batch import read_posters
    batch = read_posters(predictor, [b1, b2, ..., b30], ["teaser", "alt", ...], atlas=atlas)
    batch.unreadable          # [Unreadable("alt 7", "The uploaded data is text, not an image; ...")]
    batch.table()             # one row per readable poster: headline, poster check, every genre, key measures
    batch.to_csv()            # that table, and a row per unreadable file with its reason
    batch.comparison([0, 3])  # a PosterComparison of the posters picked (2 to 4), nothing read again

Predictions are batched (``Predictor.iter_predictions``); each poster is decoded once more for its
look (``analyze_poster``) and kept at a display size (long side ``DISPLAY_SIDE``), so 50 posters hold
a few dozen MB, not their full-size pixels. A ``memo`` (any mutable mapping) keeps each read poster by
the hash of its bytes, so adding one poster to 30 reads only the new one.
"""
from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Callable, Iterable, MutableMapping, Sequence

import pandas as pd

from postergenre.compare.posters import MAX_POSTERS, MIN_POSTERS, ComparedPoster, PosterComparison, unique_names
from postergenre.errors import ImageLoadError, PosterGenreError
from postergenre.look.analysis import MEASURES, analyze_poster
from postergenre.look.atlas import Atlas
from postergenre.model.decision import NOT_A_POSTER_WORD, DecisionRule
from postergenre.sources.images import ImageSource, load_image

if TYPE_CHECKING:
    from postergenre.model.predictor import Prediction, Predictor

__all__ = ["MAX_BATCH", "TABLE_MEASURES", "DISPLAY_SIDE", "Unreadable", "PosterBatch", "read_posters",
           "poster_check_words", "table_headline"]

MAX_BATCH = 50            # posters read at once (a folder of key-art variants)
DISPLAY_SIDE = 600        # px: the long side each poster is kept at (tiles, thumbnails, reports)
# the look measures of the table (all of them are in the side-by-side view and the CSV of a comparison)
TABLE_MEASURES = ("brightness", "contrast", "colourfulness", "edge_density", "text_share", "face_count")
POSTER_WORD = "poster"    # the poster check's word for an image that looks like a poster
UNCHECKED_WORD = "not checked"  # weights without a poster check


@dataclass(frozen=True)
class Unreadable:
    name: str     # the file's name as given
    reason: str   # the ImageLoadError message: what is wrong and what to do


def poster_check_words(prediction: Prediction) -> str:
    """The poster check's verdict in one or two words: poster / not a poster / not checked."""
    if prediction.looks_like_poster is None:
        return UNCHECKED_WORD
    return POSTER_WORD if prediction.looks_like_poster else NOT_A_POSTER_WORD


def table_headline(prediction: Prediction) -> str:
    """The headline for a table cell: the prediction's own summary, or for an image the poster check
    flags its genres as guesses (no confidence words; the poster check column says why)."""
    if prediction.warning:
        return "guesses: " + " · ".join(prediction.predicted or [prediction.scores[0].genre])
    return prediction.summary


@dataclass
class PosterBatch:
    posters: list[ComparedPoster]     # the readable ones, in the order given
    unreadable: list[Unreadable]      # the others, in the order given
    genres: list[str]                 # the model's genres, model order
    rule: DecisionRule                # the headline rule (its cut-off is the chart's tick)
    atlas: Atlas | None = None
    given: list[int] = field(default_factory=list)  # each readable poster's position among the images given

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.posters]

    def renamed(self, names: Sequence[str]) -> PosterBatch:
        """The same batch with the readable posters named ``names`` (made unique); nothing is read again."""
        if len(names) != len(self.posters):
            raise PosterGenreError(f"got {len(names)} names for {len(self.posters)} posters; give one name per poster")
        return replace(self, posters=[_named(p, n) for p, n in zip(self.posters, unique_names(list(names)))])

    def comparison(self, picks: Iterable[int]) -> PosterComparison:
        """The side-by-side comparison of the posters at positions ``picks`` (2 to 4), in that order."""
        picks = list(picks)
        if not MIN_POSTERS <= len(picks) <= MAX_POSTERS:
            raise PosterGenreError(f"compare {MIN_POSTERS} to {MAX_POSTERS} posters side by side; got {len(picks)}")
        return PosterComparison([self.posters[i] for i in picks], list(self.genres), self.rule, self.atlas)

    def genre_order(self) -> list[str]:
        """The genres by their highest probability in the batch, strongest first (the table's columns)."""
        table = pd.DataFrame([p.prediction.probabilities for p in self.posters]).reindex(columns=self.genres)
        return list(table.max(axis=0).sort_values(ascending=False, kind="stable").index)

    def table(self, thumbnails: Callable[[ComparedPoster], Any] | None = None) -> pd.DataFrame:
        """One row per readable poster, in order: ``poster`` (its name), ``headline``, ``poster check``,
        each genre's calibrated probability (0..1, strongest genres first) and the ``TABLE_MEASURES`` by
        their labels (raw values; None where not measured). ``thumbnails(poster)``: a first column
        ``thumbnail`` (e.g. ``report.data_uri``)."""
        order = self.genre_order()
        rows = []
        for p in self.posters:
            row: dict[str, Any] = {"thumbnail": thumbnails(p)} if thumbnails else {}
            row.update({"poster": p.name, "headline": table_headline(p.prediction),
                        "poster check": poster_check_words(p.prediction)})
            probabilities = p.prediction.probabilities
            row.update({g: probabilities[g] for g in order})
            row.update({MEASURES[k].label: p.analysis.measures.get(k) for k in TABLE_MEASURES})
            rows.append(row)
        return pd.DataFrame(rows)

    def to_csv(self) -> str:
        """``table()`` as CSV, then a row per unreadable file with its reason in ``error``."""
        frame = self.table()
        frame["error"] = ""
        failed = pd.DataFrame([{"poster": u.name, "error": u.reason} for u in self.unreadable])
        if len(failed):
            frame = pd.concat([frame, failed], ignore_index=True)
        return frame.to_csv(index=False, float_format="%.6g")


def _named(poster: ComparedPoster, name: str) -> ComparedPoster:
    prediction = copy.copy(poster.prediction)  # the memo's Prediction stays as it was
    prediction.source = name
    return replace(poster, name=name, prediction=prediction)


def read_posters(predictor: Predictor, images: Sequence[ImageSource], names: Sequence[str] | None = None, *,
                 atlas: Atlas | None = None, progress: Callable[[float, str], None] | None = None,
                 memo: MutableMapping[str, ComparedPoster] | None = None) -> PosterBatch:
    """Read up to ``MAX_BATCH`` posters: predictions batched, then each one's look. ``names`` label them
    (default "Poster 1", ...; repeats get a suffix); an image that cannot be read becomes an
    ``Unreadable`` with the reason instead of stopping the others. ``progress(fraction, message)`` is
    called at 0, after each poster and at 1. ``memo``: read posters by the hash of their bytes (only
    bytes inputs are kept in it)."""
    if len(images) > MAX_BATCH:
        raise PosterGenreError(f"read at most {MAX_BATCH} posters at a time; got {len(images)}")
    names = unique_names(list(names) if names else [f"Poster {i + 1}" for i in range(len(images))])
    if len(names) != len(images):
        raise PosterGenreError(f"got {len(names)} names for {len(images)} posters; give one name per poster")
    keys = [hashlib.sha1(bytes(im)).hexdigest() if memo is not None and isinstance(im, (bytes, bytearray)) else None
            for im in images]
    done: dict[int, ComparedPoster | Unreadable] = {}
    for i, key in enumerate(keys):
        if key is not None and key in memo:
            done[i] = _named(memo[key], names[i])
    todo = [i for i in range(len(images)) if i not in done]
    total = len(images)

    def step() -> None:
        if progress:
            progress(len(done) / max(total, 1), f"Read {len(done)} of {total} posters")

    step()
    for i, (prediction, error) in zip(todo, predictor.iter_predictions([images[i] for i in todo])):
        done[i] = _read_one(images[i], names[i], prediction, error)
        if keys[i] is not None and isinstance(done[i], ComparedPoster):
            memo[keys[i]] = done[i]
        step()
    if progress:
        progress(1.0, "Done")
    ordered = [done[i] for i in range(len(images))]
    return PosterBatch([p for p in ordered if isinstance(p, ComparedPoster)],
                       [u for u in ordered if isinstance(u, Unreadable)],
                       list(predictor.genres), predictor.trust().rule, atlas,
                       [i for i, p in enumerate(ordered) if isinstance(p, ComparedPoster)])


def _read_one(src: ImageSource, name: str, prediction: Prediction | None, error: str | None
              ) -> ComparedPoster | Unreadable:
    if prediction is None:
        return Unreadable(name, error or "could not be read")
    try:
        image = load_image(src)
        analysis = analyze_poster(image)
    except ImageLoadError as e:
        return Unreadable(name, str(e))
    image.thumbnail((DISPLAY_SIDE, DISPLAY_SIDE))  # in place: the full-size pixels are not kept
    prediction.source = name
    return ComparedPoster(name, image, prediction, analysis)
