"""Two to four posters side by side, for people choosing between them: genre probabilities, palettes,
composition measures against a genre's range, heatmaps for one genre, and the whole thing as CSV.
(A folder's worth of drafts, up to 50, is read by ``postergenre.compare.batch.read_posters``; its
``comparison(picks)`` is one of these for the 2-4 picked.)

    from postergenre.compare.posters import compare_posters
    comparison = compare_posters(predictor, ["a.jpg", "b.jpg"], atlas=load_atlas())
    comparison.probabilities()          # genre x poster table
    comparison.measures("Horror")       # measure x poster table with Horror's typical range
    comparison.to_csv("Horror")         # every number, one row per poster and item
    to_html_report(comparison, ...)     # in postergenre.compare.report

The page and the report draw from these tables, so what people see and what they export agree.
Heatmaps come from ``postergenre.model.explain`` (one ``explain(predictor, poster.image, genres=[g])`` per poster).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence

import pandas as pd
from PIL import Image

from postergenre.errors import ImageLoadError, PosterGenreError
from postergenre.look.analysis import MEASURES, PosterAnalysis
from postergenre.look.atlas import Atlas, compare_to_genre
from postergenre.model.decision import DecisionRule
from postergenre.sources.images import ImageSource

if TYPE_CHECKING:  # the model module is only needed by whoever built the predictor
    from postergenre.model.predictor import Prediction, Predictor

__all__ = ["MIN_POSTERS", "MAX_POSTERS", "POSTER_COLOURS", "ComparedPoster", "PosterComparison", "compare_posters",
           "unique_names"]

MIN_POSTERS, MAX_POSTERS = 2, 4   # side by side; postergenre.compare.batch reads up to MAX_BATCH at once
PALE = 0.35                       # the opacity of a bar whose genre is not in the poster's headline
PAST_CUTOFF = ("full", "after")   # the statuses of a bar past the cut-off that is not in the headline


@dataclass
class ComparedPoster:
    name: str            # unique within the comparison (file name, title or URL)
    image: Image.Image   # the decoded poster (RGB)
    prediction: Prediction
    analysis: PosterAnalysis


@dataclass
class PosterComparison:
    posters: list[ComparedPoster]
    genres: list[str]               # the model's genres, model order
    rule: DecisionRule              # the headline rule (its cut-off is the chart's tick; why a bar is in a headline)
    atlas: Atlas | None = None      # for genre ranges, or None

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.posters]

    @property
    def thresholds(self) -> dict[str, float]:
        """The probability a genre below a poster's top one needs, per genre: the headline rule's cut-off."""
        return {g: float(self.rule.cutoff) for g in self.genres}

    def default_genre(self) -> str:
        """The genre the posters score highest on together (a sensible reference for ranges/heatmaps)."""
        return str(self.probabilities().mean(axis=1).idxmax())

    def probabilities(self) -> pd.DataFrame:
        """Genre x poster probabilities (0..1), genres by their highest probability, descending."""
        table = pd.DataFrame({p.name: p.prediction.probabilities for p in self.posters}).reindex(self.genres)
        return table.loc[table.max(axis=1).sort_values(ascending=False, kind="stable").index]

    def relevant_genres(self, top: int = 5) -> list[str]:
        """The genres that matter here: any poster's ``top`` most probable or predicted genres, ordered
        like ``probabilities()`` (the default of the comparison chart; the rest is a toggle away)."""
        keep = {s.genre for p in self.posters for s in p.prediction.scores[:top]}
        keep |= {g for p in self.posters for g in p.prediction.predicted}
        return [g for g in self.probabilities().index if g in keep]

    def headline_status(self, index: int, genre: str) -> str:
        """Whether ``genre`` is in the headline of poster ``index``, and why not, in words (the chart's
        hover text: a bar past the cut-off that is left out says why)."""
        kind, why = self._status(index, genre)
        if kind == "in":
            return "in the headline"
        if kind == "guess":
            return why
        return ("past the cut-off, but not in the headline: " if kind in PAST_CUTOFF else "not in the headline: ") + why

    def _status(self, index: int, genre: str) -> tuple[str, str]:
        """(kind, why): kind "guess" (an image the poster check flags), "in" (in the headline), "top" (the
        top genre under the rule's minimum), "under" (under the cut-off), "full" (past it, but the headline
        names its most genres already) or "after" (past it, but a genre ranked above it is left out); ``why``
        says it in words."""
        prediction = self.posters[index].prediction
        if prediction.warning is not None:  # not a poster: no headline to be in, every bar a guess
            return "guess", "the image does not look like a poster, so its genres are guesses"
        scores = prediction.scores
        rank = next(r for r, s in enumerate(scores) if s.genre == genre)
        score, cutoff = scores[rank], self.thresholds[genre]
        if score.predicted:
            return "in", ""
        if rank == 0:
            return "top", f"the top genre needs {self.rule.top_min:.0%} to enter it"
        if score.probability < cutoff:
            return "under", f"under the {cutoff:.0%} cut-off"
        if rank >= self.rule.max_genres:
            return "full", f"a headline names at most {self.rule.max_genres} genres"
        return "after", "a genre ranked above it is not in it either"

    def left_out(self) -> list[tuple[str, str, float, str]]:
        """(poster, genre, probability, why) of each bar past the cut-off whose genre is not in the
        poster's headline (the rule's limit of genres, or a genre above it left out)."""
        out = []
        for i, p in enumerate(self.posters):
            for s in p.prediction.scores:
                kind, why = self._status(i, s.genre)
                if kind in PAST_CUTOFF:
                    out.append((p.name, s.genre, s.probability, why))
        return out

    def chart_notes(self) -> list[str]:
        """How to read the probability chart, in sentences (the page's caption and the HTML report's):
        what the tick and the pale bars mean, and why each bar past the tick is not in a headline."""
        rule = self.rule
        notes = [f"The tick is the {rule.cutoff:.0%} a genre below a poster's top one needs to enter its headline "
                 f"(the top genre needs {rule.top_min:.0%}); a headline names at most {rule.max_genres} genres. "
                 "Solid bars: genres in the poster's headline; pale bars: the others."]
        if any(p.prediction.warning is not None for p in self.posters):
            notes.append("Hatched bars: an image that does not look like a poster; its genres are guesses.")
        left = self.left_out()
        if left:
            notes.append("Past the tick but not in the headline: " + "; ".join(
                f"{name}'s {genre} {p:.0%} ({why})" for name, genre, p, why in left) + ".")
        return notes

    def predicted(self) -> dict[str, list[str]]:
        """Poster name -> the genres it clears the threshold for."""
        return {p.name: p.prediction.predicted for p in self.posters}

    def range_genre(self, genre: str | None) -> str | None:
        """The atlas's spelling of ``genre``; None without an atlas or genre. UnknownGenreError otherwise."""
        return None if self.atlas is None or genre is None else self.atlas.genre_name(genre)

    def measures(self, genre: str | None = None) -> pd.DataFrame:
        """Measure x poster values (raw numbers); with an atlas and ``genre`` also the genre's middle half
        (``<genre> 25%`` / ``<genre> 75%``) and each poster's percentile within the genre."""
        genre = self.range_genre(genre)
        rows = []
        for key, measure in MEASURES.items():
            values = {p.name: p.analysis.measures.get(key) for p in self.posters}
            if all(v is None for v in values.values()):
                continue  # e.g. text coverage without a text detector
            row: dict[str, Any] = {"measure": measure.label, "key": key, **values}
            if genre is not None and key in self.atlas.measures:
                row.update(self._genre_range(genre, key, values))
            rows.append(row)
        return pd.DataFrame(rows).set_index("measure")

    def _genre_range(self, genre: str, key: str, values: dict[str, float | None]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in values.items():
            if value is not None:
                c = compare_to_genre(self.atlas, genre, key, value)
                out[f"{genre} 25%"], out[f"{genre} 75%"] = c.typical
                out[f"{name} percentile"], out[f"{name} vs {genre}"] = round(c.percentile, 1), c.phrase
        return out

    def palettes(self) -> dict[str, list[dict]]:
        """Poster name -> its palette colours (hex, rgb, lab, share, name), largest first."""
        return {p.name: [c.to_dict() for c in p.analysis.palette] for p in self.posters}

    def to_frame(self, genre: str | None = None) -> pd.DataFrame:
        """Every number in one long table: one row per poster and item, ``section`` = genre, measure or
        palette. Genre rows carry threshold and predicted; measure rows the genre range and percentile."""
        genre = self.range_genre(genre)
        rows: list[dict[str, Any]] = []
        for p in self.posters:
            for s in p.prediction.scores:
                rows.append({"poster": p.name, "section": "genre", "item": s.genre, "value": s.probability,
                             "threshold": s.threshold, "predicted": s.predicted})
        table = self.measures(genre)
        for label, row in table.iterrows():
            for name in self.names:
                entry = {"poster": name, "section": "measure", "item": row["key"], "label": label, "value": row[name]}
                if genre is not None and f"{name} percentile" in row:
                    entry.update({"genre": genre, "genre_q25": row[f"{genre} 25%"], "genre_q75": row[f"{genre} 75%"],
                                  "percentile": row[f"{name} percentile"], "text": row[f"{name} vs {genre}"]})
                rows.append(entry)
        for name, colours in self.palettes().items():
            for i, c in enumerate(colours, 1):
                rows.append({"poster": name, "section": "palette", "item": f"colour {i}", "value": c["share"],
                             "text": f"{c['hex']} {c['name']}"})
        columns = ["poster", "section", "item", "label", "value", "threshold", "predicted", "genre", "genre_q25",
                   "genre_q75", "percentile", "text"]
        return pd.DataFrame(rows).reindex(columns=columns)

    def to_csv(self, genre: str | None = None) -> str:
        return self.to_frame(genre).to_csv(index=False, float_format="%.6g")

    def probability_figure(self, top: int | None = None, genres: Sequence[str] | None = None,
                           template: str | None = None):
        """Grouped horizontal bars: genres down the side (strongest on top; ``genres`` to show only those,
        else the ``top`` strongest or all), one bar per poster, each genre's threshold as a tick. A bar is
        solid when its genre is in the poster's headline and pale when not (its hover text says why:
        ``headline_status``); an image the poster check flags gets pale, hatched bars (guesses). Reads on a phone as well
        as a desktop; the genre names get the margin they need (no clipped labels)."""
        import plotly.graph_objects as go

        table = self.probabilities()
        if genres is not None:
            table = table.loc[[g for g in table.index if g in set(genres)]]
        table = table.iloc[:top].iloc[::-1]  # plotly draws the first row at the bottom
        fig = go.Figure(go.Scatter(y=table.index, x=[self.thresholds[g] for g in table.index], mode="markers",
                                   name="threshold", marker=dict(symbol="line-ns-open", size=6 + 7 * len(self.posters),
                                                                 color=THRESHOLD_COLOUR, line=dict(width=2)),
                                   hovertemplate="%{y} threshold: %{x:.0%}<extra></extra>"))
        for i, name in reversed(list(enumerate(table.columns))):  # first poster on top within a group
            flagged = self.posters[i].prediction.warning is not None  # not a poster: hatched bars, named guesses
            label = f"{name} (not a poster: guesses)" if flagged else name
            status = [self._status(i, g) for g in table.index]
            fig.add_trace(go.Bar(
                y=table.index, x=table[name], name=label, orientation="h", customdata=[w for _, w in status],
                marker=dict(color=POSTER_COLOURS[i], opacity=[1.0 if k == "in" else PALE for k, _ in status],
                            pattern=dict(shape="/" if flagged else "", fgcolor="#888", solidity=0.3)),
                hovertemplate="%{y}: %{x:.0%}, %{customdata}<extra>" + label.replace("<", "&lt;") + "</extra>"))
        label_room = 12 + 7 * max((len(str(g)) for g in table.index), default=4)  # px for the longest genre name
        fig.update_layout(barmode="group", height=70 + len(table) * (10 + 9 * len(self.posters)),
                          margin=dict(l=label_room, r=10, t=10, b=10), bargap=0.2,
                          xaxis=dict(range=[0, 1], tickformat=".0%", title="probability", fixedrange=True),
                          yaxis=dict(fixedrange=True, automargin=True),
                          legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, traceorder="reversed"))
        if template:
            fig.update_layout(template=template)
        return fig


# one per poster, in every chart: the app's palette (its orange first), readable on dark and on white
POSTER_COLOURS = ("#e4572e", "#3fa7d6", "#59c9a5", "#b07be0")
THRESHOLD_COLOUR = "#f3c969"  # the app's threshold tick


def compare_posters(predictor: Predictor, images: Sequence[ImageSource], names: Sequence[str] | None = None, *,
                    atlas: Atlas | None = None, progress: Callable[[float, str], None] | None = None) -> PosterComparison:
    """Predict (batched) and analyze 2-4 posters. ``names`` label them (default: "Poster 1", ...);
    duplicates get a suffix. ``atlas`` adds genre ranges to the measures. ``progress(fraction, message)``
    is called as the posters are read. ImageLoadError names the first poster that could not be read
    (``postergenre.compare.batch.read_posters`` keeps going instead, and takes up to 50)."""
    from postergenre.compare.batch import read_posters

    if not MIN_POSTERS <= len(images) <= MAX_POSTERS:
        raise PosterGenreError(f"compare {MIN_POSTERS} to {MAX_POSTERS} posters at a time; got {len(images)}")
    batch = read_posters(predictor, images, names, atlas=atlas, progress=progress)
    if batch.unreadable:
        raise ImageLoadError(f"{batch.unreadable[0].name}: {batch.unreadable[0].reason}")
    return batch.comparison(range(len(batch.posters)))


def unique_names(names: list[str]) -> list[str]:
    """Names made unique by numbering repeats: ["a", "a"] -> ["a", "a (2)"]; blanks become "Poster N"."""
    out: list[str] = []
    for i, name in enumerate(names):
        base = (name or "").strip() or f"Poster {i + 1}"
        candidate, n = base, 2
        while candidate in out:
            candidate, n = f"{base} ({n})", n + 1
        out.append(candidate)
    return out

