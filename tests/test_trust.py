"""Calibration, ECE, the headline rule and the poster check (issue 10): math against hand-computed
values, properties of the rule, and the shipped check on synthetic non-posters vs real posters."""
import json

import numpy as np
import pytest
from PIL import Image, ImageDraw

from postergenre.model.calibration import Calibration, GenreCalibrator, fit_calibration, fit_calibrator, log_loss, sigmoid
from postergenre.model.decision import DecisionRule, confidence_word, fit_decision_rule, headline
from postergenre.evaluation.metrics import expected_calibration_error, reliability_table
from postergenre.model.poster_check import PosterCheck, _tail, fit_poster_check


def test_calibrator_maps_match_hand_computed_values():
    assert GenreCalibrator("platt", {"a": 2.0, "b": -1.0})(np.array([0.5]))[0] == pytest.approx(0.5)
    assert GenreCalibrator("platt", {"a": 1.0, "b": -2.0})(np.array([2.0 + np.log(3)]))[0] == pytest.approx(0.75)
    assert GenreCalibrator("temperature", {"t": 2.0})(np.array([2.0]))[0] == pytest.approx(1 / (1 + np.exp(-1)))
    iso = GenreCalibrator("isotonic", {"x": [0.0, 1.0, 3.0], "y": [0.1, 0.5, 0.9]})
    assert iso(np.array([-5.0, 0.5, 2.0, 9.0])) == pytest.approx([0.1, 0.3, 0.7, 0.9], abs=1e-5)


def test_isotonic_fit_is_pool_adjacent_violators_and_keeps_the_order():
    # PAV on targets 0,1,0,1 at logits 0..3 pools the middle pair: 0, .5, .5, 1 (clipped to 1e-4 .. 1-1e-4)
    cal = fit_calibrator("isotonic", np.array([0.0, 1.0, 2.0, 3.0]), np.array([0, 1, 0, 1]))
    p = cal(np.array([0.0, 1.0, 2.0, 3.0]))
    assert p == pytest.approx([1e-4, 0.5, 0.5, 1 - 1e-4], abs=1e-5)
    assert p[1] < p[2]  # the flat step is broken by the raw logit: ranking (and AP) unchanged


def test_platt_and_temperature_recover_known_parameters():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 2, 20000)
    y = rng.random(len(z)) < sigmoid(0.5 * z - 1.0)
    platt = fit_calibrator("platt", z, y)
    assert platt.params["a"] == pytest.approx(0.5, abs=0.04) and platt.params["b"] == pytest.approx(-1.0, abs=0.06)
    y2 = rng.random(len(z)) < sigmoid(z / 2.0)
    assert fit_calibrator("temperature", z, y2).params["t"] == pytest.approx(2.0, abs=0.15)


def test_fit_calibration_picks_the_lowest_cross_fitted_log_loss_and_is_monotone():
    rng = np.random.default_rng(1)
    z = rng.normal(0, 2, (3000, 2))
    y = np.stack([rng.random(3000) < sigmoid(0.4 * z[:, 0] - 1.5),   # shifted: Platt should win
                  rng.random(3000) < sigmoid(z[:, 1] / 3.0)], 1)       # pure temperature
    cal, oof = fit_calibration(z, y, ["A", "B"])
    for g in ("A", "B"):
        comp = cal.comparison[g]
        assert cal.methods[g] == min(comp, key=comp.get)
    assert cal.methods["A"] == "platt"
    assert expected_calibration_error(y, oof) < expected_calibration_error(y, sigmoid(z)) / 3
    grid = np.linspace(-6, 6, 200)[:, None].repeat(2, 1)
    assert np.all(np.diff(cal(grid), axis=0) > 0)  # strictly increasing per genre
    back = Calibration.from_dict(json.loads(json.dumps(cal.to_dict())), ["A", "B"])
    assert back(z[:5]) == pytest.approx(cal(z[:5]))


def test_log_loss_hand_value():
    assert log_loss(np.array([1, 0]), np.array([0.5, 0.5])) == pytest.approx(np.log(2))


def test_ece_matches_a_hand_computed_example():
    y = np.array([0, 0, 1, 0])
    p = np.array([0.05, 0.15, 0.95, 0.95])
    # bins [0, .1): |.05 - 0|, [.1, .2): |.15 - 0|, [.9, 1]: |.95 - .5| x 2 posters -> (.05 + .15 + .9) / 4
    assert expected_calibration_error(y, p) == pytest.approx(0.275)
    rows = reliability_table(y, p)
    assert [r["count"] for r in rows] == [1, 1, 2] and rows[-1]["observed_rate"] == 0.5
    assert expected_calibration_error(np.array([1, 1]), np.array([1.0, 1.0])) == 0.0  # p = 1 lands in the last bin
    assert expected_calibration_error(np.zeros((3, 2)), np.full((3, 2), 0.3)) == pytest.approx(0.3)


def test_decision_rule_predicts_only_the_highest_ranked_and_at_most_n():
    rng = np.random.default_rng(2)
    probs = rng.random((500, 17)) ** 3
    rule = DecisionRule(top_min=0.2, cutoff=0.3, max_genres=3)
    chosen = rule.select(probs)
    assert chosen.sum(1).max() <= 3
    for p, c in zip(probs, chosen):
        k = int(c.sum())
        top = np.argsort(-p)[:k]
        assert set(np.flatnonzero(c)) == set(top)             # never a lower-ranked genre above a higher one
        if k:
            assert p[c].min() > p[~c].max(initial=-1)         # every predicted genre outranks every other one
        assert (k > 0) == (p.max() >= 0.2)
    assert not DecisionRule(0.9, 0.9).select(np.full((1, 4), 0.5)).any()


def test_fit_decision_rule_counts_about_as_many_genres_as_films_have():
    rng = np.random.default_rng(3)
    probs = rng.random((800, 10)) ** 4
    y = rng.random((800, 10)) < probs
    y[np.arange(800), probs.argmax(1)] = True
    rule, info = fit_decision_rule(probs, y)
    assert abs(info["genres_per_poster"] - y.sum(1).mean()) <= 0.15 + 1e-9
    assert rule.max_genres == 3 and 0 <= rule.top_min <= rule.cutoff + 0.4


def test_confidence_words_are_defined_once_and_read_plainly():
    assert [confidence_word(p) for p in (0.9, 0.75, 0.6, 0.3, 0.1)] == [
        "very likely", "very likely", "likely", "possible", "unlikely"]
    assert headline([("Horror", 0.8), ("Thriller", 0.3)]) == "Horror (very likely) · Thriller (possible)"



def test_words_read_the_shown_percentage_and_a_headline_never_says_unlikely():
    """Issue 26: "Action (unlikely)" headed a poster (the rule admits the top genre from 0.24, "possible"
    starts at 0.25) and 0.249 was called "unlikely" while every chart showed it as "25%"."""
    from postergenre.model.decision import CONFIDENCE_WORDS, percent
    from postergenre.model.predictor import GenreScore, Prediction

    for p in np.linspace(0.0, 1.0, 2001):  # the word always matches the number people see
        shown = int(f"{p:.0%}"[:-1])
        assert percent(p) == f"{p:.0%}"
        assert confidence_word(p) == next(w for lo, w in CONFIDENCE_WORDS if shown >= round(lo * 100))
    assert confidence_word(0.249) == "possible" and confidence_word(0.2449) == "unlikely"
    assert confidence_word(0.21, in_headline=True) == "possible"
    assert confidence_word(0.8, in_headline=True) == "very likely"
    assert confidence_word(0.21, poster=False, in_headline=True) == "not a poster"
    assert headline([("Action", 0.241)]) == "Action (possible)"

    rule = DecisionRule(top_min=0.2, cutoff=0.3, max_genres=2)
    genres, probs = ["Action", "Drama", "Comedy", "Horror"], np.array([0.22, 0.12, 0.05, 0.04])
    chosen = rule.select(probs)[0]
    pred = Prediction([GenreScore(g, float(p), rule.threshold_at_rank(r), bool(c))
                       for r, (g, p, c) in enumerate(zip(genres, probs, chosen))])
    assert pred.predicted == ["Action"] and pred.summary == "Action (possible)"
    out = pred.to_dict()
    assert out["genres"][0]["confidence"] == "possible" and out["genres"][1]["confidence"] == "unlikely"
    # a genre ranked below max_genres has no threshold: null in JSON, not an impossible 1.01
    assert [g["threshold"] for g in out["genres"]] == [0.2, 0.3, None, None]
    assert "1.01" not in json.dumps(out) and rule.threshold_at_rank(7) is None

def test_tail_share_and_a_poster_check_on_synthetic_features():
    ref = np.sort(np.arange(100.0))
    assert _tail(ref, np.array([-1.0, 99.5, 49.0])) == pytest.approx([1.0, 0.0, 0.505])
    rng = np.random.default_rng(4)
    posters = rng.normal(0, 1, (600, 40)) + np.linspace(0, 3, 40)
    others = rng.normal(0, 1, (200, 40)) * 3 - 2
    check = fit_poster_check(posters[:400], posters[400:], others, components=8)
    ok, score = check.looks_like_poster(posters[400:])
    assert np.mean(~ok) <= 0.02 and np.all((0 <= score) & (score <= 1))
    assert np.mean(~check.looks_like_poster(rng.normal(0, 1, (100, 40)) * 3 - 2)[0]) > 0.95


def _non_posters() -> dict[str, Image.Image]:
    rng = np.random.default_rng(5)
    page = Image.new("RGB", (600, 850), "white")
    d = ImageDraw.Draw(page)
    for i in range(40):
        d.text((40, 30 + 20 * i), "Quarterly report: revenue by region and the method of analysis " * 2, fill="black")
    yy = np.linspace(0, 255, 360)[:, None, None] * np.ones((1, 240, 3))
    return {"noise": Image.fromarray(rng.integers(0, 256, (400, 300, 3), dtype=np.uint8)),
            "flat": Image.new("RGB", (300, 450), (200, 40, 40)),
            "gradient": Image.fromarray(yy.astype(np.uint8)),
            "document": page}


def test_shipped_poster_check_flags_synthetic_non_posters_not_real_posters(predictor, real_posters):
    if predictor.poster_check is None:
        pytest.skip("weights without a poster check (run `postergenre calibrate --data DIR`)")
    for name, img in _non_posters().items():
        res = predictor.predict(img)
        assert res.looks_like_poster is False, f"{name} was taken for a poster (score {res.poster_score})"
        assert res.warning and res.summary.startswith("This does not look like a movie poster")
    import pandas as pd

    table = pd.read_csv(real_posters / "labels.csv")
    files = table[table["split"] == "val"]["file"].head(60)
    preds = predictor.predict_batch([real_posters / f for f in files])
    flagged = sum(not p.looks_like_poster for p in preds)
    assert flagged <= 4, f"{flagged} of 60 real val posters flagged (expected about 1.5%)"
