"""Many drafts at once (issue 26, items 3, 9 and 10): ZIP archives opened within bounds
(postergenre.sources.archive), up to 50 posters read in one batch with the unreadable ones named and left
out (postergenre.compare.batch), the probability chart saying which bars are in a headline, and the
Compare page's table, ticks and one-bad-file behaviour (Streamlit AppTest) with real posters."""
from __future__ import annotations

import io
import time
import zipfile

import pandas as pd
import pytest

from fixtures import ROOT, SHARED_POSTERS, jpeg_bytes, make_poster

# --- ZIP archives: bounded before anything is decompressed ----------------------------------------------


def _zip(entries: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


SMALL = [jpeg_bytes(make_poster(seed=s), quality=85) for s in range(3)]


def test_a_zip_stands_for_the_posters_in_its_folders():
    from postergenre.sources.archive import unpack_uploads

    archive = _zip({"drafts/teaser.jpg": SMALL[0], "drafts/v2/alt.PNG": SMALL[1], "drafts/notes.txt": b"hello",
                    "drafts/old.zip": _zip({"x.jpg": SMALL[2]}), "__MACOSX/drafts/._teaser.jpg": b"\0" * 40,
                    "drafts/.DS_Store": b"\0", "drafts/empty/": b""})
    found = unpack_uploads([("first.jpg", SMALL[2]), ("drafts.zip", archive)], limit=50)
    assert found.posters == [("first", SMALL[2]), ("teaser", SMALL[0]), ("alt", SMALL[1])]
    skipped = dict(found.skipped)
    assert set(skipped) == {"drafts.zip/drafts/notes.txt", "drafts.zip/drafts/old.zip"}   # clutter said nothing
    assert "not an image file" in skipped["drafts.zip/drafts/notes.txt"]
    assert "unzip it" in skipped["drafts.zip/drafts/old.zip"]
    assert found.dropped == 0


def test_a_zip_bomb_and_a_zip_listing_too_much_are_refused_before_decompressing():
    from postergenre.sources import archive as A

    bomb = _zip({"big.png": b"\0" * (64 * 2**20), "ok.jpg": SMALL[0]})   # 64 MiB of zeros, ~64 KiB zipped
    assert len(bomb) < 2**20
    start = time.perf_counter()
    found = A.unpack_uploads([("bomb.zip", bomb)], limit=50)
    assert time.perf_counter() - start < 1.0   # nothing was inflated
    assert found.posters == [("ok", SMALL[0])]
    assert "expands" in dict(found.skipped)["bomb.zip/big.png"]

    crowded = _zip({f"p{i}.jpg": b"" for i in range(A.MAX_ARCHIVE_ENTRIES + 1)}, zipfile.ZIP_STORED)
    found = A.unpack_uploads([("crowded.zip", crowded)], limit=50)
    assert found.posters == [] and "entries" in dict(found.skipped)["crowded.zip"]

    broken = A.unpack_uploads([("damaged.zip", b"PK\x03\x04 not really a zip")], limit=50)
    assert "not a readable ZIP archive" in dict(broken.skipped)["damaged.zip"]


def test_archives_share_one_byte_budget_and_the_poster_limit(monkeypatch):
    from postergenre.sources import archive as A

    monkeypatch.setattr(A, "MAX_ARCHIVE_BYTES", len(SMALL[0]) + len(SMALL[1]))
    found = A.unpack_uploads([("a.zip", _zip({"a.jpg": SMALL[0]})), ("b.zip", _zip({"b.jpg": SMALL[1], "c.jpg": SMALL[2]}))],
                             limit=50)
    assert [n for n, _ in found.posters] == ["a", "b"]
    assert "past" in dict(found.skipped)["b.zip/c.jpg"]

    monkeypatch.undo()
    many = _zip({f"v{i:02d}.jpg": SMALL[i % 3] for i in range(12)})
    found = A.unpack_uploads([("one.jpg", SMALL[0]), ("many.zip", many)], limit=10)
    assert len(found.posters) == 10 and found.dropped == 3 and found.posters[1][0] == "v00"


# --- a batch of posters: read together, the unreadable named --------------------------------------------


def _real(n: int, skip: int = 0) -> list[tuple[str, bytes]]:
    images = sorted((SHARED_POSTERS / "images").glob("*.jpg"))[skip:skip + n] if (SHARED_POSTERS / "images").is_dir() else []
    if len(images) < n:
        pytest.skip(f"real posters not found at {SHARED_POSTERS} (CI has them; clone next to shared/)")
    return [(p.stem, p.read_bytes()) for p in images]


@pytest.fixture(scope="module")
def real():
    return _real(8)


def test_a_batch_reads_the_good_posters_together_and_names_the_bad_one(predictor, real, monkeypatch):
    from postergenre.compare.batch import DISPLAY_SIDE, TABLE_MEASURES, read_posters
    from postergenre.look.analysis import MEASURES
    from postergenre.sources.images import load_image

    truncated = real[3][1][: len(real[3][1]) // 3]
    with pytest.raises(Exception) as reason:
        load_image(truncated)
    calls = []
    original = predictor.iter_predictions
    monkeypatch.setattr(predictor, "iter_predictions", lambda images, *a, **k: calls.append(len(images)) or original(images, *a, **k))
    monkeypatch.setattr(predictor, "predict", lambda *a, **k: pytest.fail("posters are read in a batch, not one by one"))
    images = [d for _, d in real[:3]] + [truncated]
    steps = []
    batch = read_posters(predictor, images, ["a", "b", "c", "cut"], progress=lambda f, m: steps.append(f))
    assert calls == [4] and steps[0] == 0 and steps[-1] == 1.0 and steps == sorted(steps)
    assert batch.names == ["a", "b", "c"] and batch.given == [0, 1, 2]
    assert [(u.name, u.reason) for u in batch.unreadable] == [("cut", str(reason.value))]
    monkeypatch.undo()
    for (_, data), poster in zip(real, batch.posters):
        assert poster.prediction.probabilities == pytest.approx(predictor.predict(data).probabilities, abs=1e-5)
        assert max(poster.image.size) <= DISPLAY_SIDE          # not the full-size pixels, 50 times over

    table = batch.table()
    assert list(table["poster"]) == ["a", "b", "c"]
    assert list(table.columns[:3]) == ["poster", "headline", "poster check"]
    assert set(batch.genres) <= set(table.columns) and {MEASURES[k].label for k in TABLE_MEASURES} <= set(table.columns)
    genre_columns = [c for c in table.columns if c in batch.genres]
    assert list(table[genre_columns].max()) == sorted(table[genre_columns].max(), reverse=True)  # strongest first
    csv = pd.read_csv(io.StringIO(batch.to_csv()))
    assert list(csv["poster"]) == ["a", "b", "c", "cut"] and csv["error"].iloc[3] == str(reason.value)
    assert csv["error"].iloc[:3].isna().all()

    side = batch.renamed(["Teaser", "Final", "Teaser"]).comparison([2, 0])
    assert side.names == ["Teaser (2)", "Teaser"] and side.rule == batch.rule
    with pytest.raises(Exception, match="2 to 4"):
        batch.comparison([0])


def test_a_batch_reads_only_the_posters_it_has_not_seen(predictor, real, monkeypatch):
    from postergenre.compare.batch import read_posters

    memo = {}
    first = read_posters(predictor, [d for _, d in real[:2]], memo=memo)
    calls = []
    original = predictor.iter_predictions
    monkeypatch.setattr(predictor, "iter_predictions", lambda images, *a, **k: calls.append(len(images)) or original(images, *a, **k))
    again = read_posters(predictor, [d for _, d in real[:3]], ["x", "y", "z"], memo=memo)
    assert calls == [1] and again.names == ["x", "y", "z"]
    assert first.posters[0].name == "Poster 1"          # what the memo holds is not renamed
    assert again.posters[0].prediction.probabilities == first.posters[0].prediction.probabilities


def test_more_than_fifty_posters_is_a_clear_error(predictor):
    from postergenre.compare.batch import MAX_BATCH, read_posters
    from postergenre.errors import PosterGenreError

    with pytest.raises(PosterGenreError, match=f"at most {MAX_BATCH}"):
        read_posters(predictor, [SMALL[0]] * (MAX_BATCH + 1))


# --- the chart says which bars are in the headline, and why a bar past the tick is not ------------------


def _comparison(probabilities: list[list[float]], rule, flagged: tuple[int, ...] = ()):
    """A comparison of made-up predictions (the words must follow the rule, whatever the weights say)."""
    import numpy as np

    from postergenre.compare.posters import ComparedPoster, PosterComparison
    from postergenre.look.analysis import analyze_poster
    from postergenre.model.predictor import GenreScore, Prediction

    genres = ["Drama", "Horror", "Thriller", "Comedy", "Music"]
    analysis = analyze_poster(make_poster(seed=1))
    posters = []
    for n, probs in enumerate(probabilities):
        chosen = rule.select(np.array([probs]))[0]
        order = np.argsort(-np.array(probs), kind="stable")
        poster = n not in flagged
        scores = [GenreScore(genres[j], probs[j], rule.threshold_at_rank(r), bool(chosen[j]), None, poster)
                  for r, j in enumerate(order)]
        prediction = Prediction(scores, looks_like_poster=poster)
        posters.append(ComparedPoster(f"draft {n + 1}", make_poster(seed=n), prediction, analysis))
    return PosterComparison(posters, genres, rule)


def test_a_bar_past_the_cut_off_that_is_not_in_the_headline_says_why():
    from postergenre.compare.posters import PALE
    from postergenre.model.decision import DecisionRule

    rule = DecisionRule(top_min=0.2, cutoff=0.25, max_genres=3)
    comparison = _comparison([[0.8, 0.6, 0.5, 0.4, 0.1], [0.3, 0.1, 0.05, 0.2, 0.02]], rule)
    assert comparison.posters[0].prediction.predicted == ["Drama", "Horror", "Thriller"]   # Comedy 40% left out
    assert comparison.headline_status(0, "Comedy") == ("past the cut-off, but not in the headline: a headline names "
                                                       "at most 3 genres")
    assert comparison.headline_status(0, "Horror") == "in the headline"
    assert comparison.headline_status(1, "Comedy") == "not in the headline: under the 25% cut-off"
    assert comparison.left_out() == [("draft 1", "Comedy", 0.4, "a headline names at most 3 genres")]
    notes = " ".join(comparison.chart_notes())
    assert "draft 1's Comedy 40% (a headline names at most 3 genres)" in notes and "pale bars" in notes

    figure = comparison.probability_figure()
    bars = {t.name: t for t in figure.data if t.type == "bar"}
    first = bars["draft 1"]
    opacity = dict(zip(first.y, first.marker.opacity))
    status = dict(zip(first.y, first.customdata))
    assert opacity["Comedy"] == PALE and opacity["Thriller"] == 1.0 and opacity["Music"] == PALE
    assert "at most 3 genres" in status["Comedy"] and "at most 3 genres" in first.hovertemplate.replace(
        "%{customdata}", status["Comedy"])

    quiet = _comparison([[0.5, 0.4, 0.3, 0.2, 0.1], [0.6, 0.1, 0.05, 0.2, 0.02]], rule)
    assert quiet.left_out() == [] and len(quiet.chart_notes()) == 1   # nothing to explain: no second note

    guesses = _comparison([[0.8, 0.6, 0.5, 0.4, 0.1], [0.6, 0.1, 0.05, 0.2, 0.02]], rule, flagged=(0,))
    assert guesses.left_out() == []                                   # a non-poster has no headline to leave out of
    assert "guesses" in guesses.headline_status(0, "Drama") and "Hatched bars" in " ".join(guesses.chart_notes())
    bar = next(t for t in guesses.probability_figure().data if t.name == "draft 1 (not a poster: guesses)")
    assert set(bar.marker.opacity) == {PALE} and bar.marker.pattern.shape == "/"


# --- the Compare page: several files, one bad; a zip of N; the table; ticking ---------------------------

PAGE = str(ROOT / "app_pages" / "compare.py")


def test_one_bad_file_among_four_does_not_block_the_comparison(page_env, predictor, real):
    from streamlit.testing.v1 import AppTest

    from postergenre.sources.images import load_image

    truncated = real[3][1][: len(real[3][1]) // 3]
    with pytest.raises(Exception) as reason:
        load_image(truncated)
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.file_uploader[0].set_value([(f"{n}.jpg", d, "image/jpeg") for n, d in real[:3]]
                                  + [("scan.jpg", truncated, "image/jpeg")]).run()
    assert not at.exception, at.exception
    assert len(at.error) == 1
    message = at.error[0].value.replace("\\", "")      # markdown escapes aside
    assert "1 of 4 files could not be read" in message and "scan" in message
    assert "cut off (truncated)" in message and "re-download" in message   # the reader's own reason and advice
    assert str(reason.value).split(" (")[0] in message
    assert set(at.table[0].value.columns) >= {n for n, _ in real[:3]}          # the three good ones, compared
    assert "scan" not in set(at.table[0].value.columns)
    captions = " ".join(m.value for m in at.markdown)
    for _, data in real[:3]:
        assert predictor.predict(data).summary in captions


def test_a_zip_of_eight_gives_a_table_and_ticks_choose_the_side_by_side(page_env, real):
    from streamlit.testing.v1 import AppTest

    archive = _zip({f"key art/{n}.jpg": d for n, d in real} | {"key art/brief.pdf": b"%PDF-1.4"})
    at = AppTest.from_file(PAGE, default_timeout=300).run()
    at.file_uploader[0].set_value([("key art.zip", archive, "application/zip")]).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert any("brief" in w.value and "not an image file" in w.value for w in at.warning)   # what was left out, said
    headers = [h.value for h in at.subheader]
    assert headers[:2] == ["All 8 posters", "Side by side"]
    table = at.dataframe[0]
    frame = table.value
    assert list(frame["poster"]) == [n for n, _ in real]
    assert frame["thumbnail"].str.startswith("data:image/jpeg;base64,").all()
    assert {"headline", "poster check", "Brightness", "Text coverage"} <= set(frame.columns)
    assert frame["poster check"].isin(["poster", "not a poster", "not checked"]).all()
    assert any(b.label == "CSV of the table (8 posters)" for b in at.get("download_button"))
    names = [n for n, _ in real]
    assert list(at.table[0].value.columns[1:5]) == names[:4]           # the first four start ticked

    at.session_state[table.key] = {"selection": {"rows": [1, 6, 7], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    assert [c for c in at.table[0].value.columns if c in names] == [names[1], names[6], names[7]]

    at.session_state[table.key] = {"selection": {"rows": [5], "columns": [], "cells": []}}
    at.run()
    assert any("Tick 2 to 4" in i.value for i in at.info) and not at.table   # no side by side for one

    at.session_state[table.key] = {"selection": {"rows": [0, 1, 2, 3, 4, 5], "columns": [], "cells": []}}
    at.run()
    assert any("6 ticked" in w.value for w in at.warning)
    assert [c for c in at.table[0].value.columns if c in names] == names[:4]
