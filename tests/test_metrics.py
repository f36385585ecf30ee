"""Metrics against values computed by hand."""
import numpy as np
import pytest

from postergenre.evaluation.metrics import baseline_reports, best_f1_thresholds, f1_scores, multilabel_report

# genre a: positives score 0.9 and 0.3, negatives 0.8 and 0.1
#   AP = mean(precision at each positive) = (1/1 + 2/3) / 2 = 0.8333; AUC = 3 of 4 pairs ordered = 0.75
#   at threshold 0.5: predicted {0.9, 0.8}: TP 1, FP 1, FN 1 -> F1 = 2/(2+1+1) = 0.5
# genre b: positives 0.7, negatives 0.6, 0.2, 0.4 -> AP 1, AUC 1; at 0.5: TP 1, FP 1, FN 0 -> F1 = 2/3
Y = np.array([[1, 0], [0, 0], [1, 1], [0, 0]], dtype=float)
Y[:, 1] = [0, 0, 0, 1]
P = np.array([[0.9, 0.2], [0.8, 0.6], [0.3, 0.4], [0.1, 0.7]])


def test_report_matches_hand_computation():
    r = multilabel_report(Y, P, 0.5, ["a", "b"])
    assert r["per_genre"]["a"]["ap"] == pytest.approx(5 / 6)
    assert r["per_genre"]["a"]["auc"] == pytest.approx(0.75)
    assert r["per_genre"]["a"]["f1"] == pytest.approx(0.5)
    assert r["per_genre"]["b"]["ap"] == pytest.approx(1.0)
    assert r["per_genre"]["b"]["auc"] == pytest.approx(1.0)
    assert r["per_genre"]["b"]["f1"] == pytest.approx(2 / 3)
    assert r["macro_ap"] == pytest.approx((5 / 6 + 1) / 2)
    assert r["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)
    # micro F1 pools: TP 2, FP 2 (0.8 in a, 0.6 in b), FN 1 (0.3 in a) -> 4 / (4 + 2 + 1)
    assert r["micro_f1"] == pytest.approx(4 / 7)
    # hamming: wrong cells are (1,a) (2,a) (1,b) of 8
    assert r["hamming_loss"] == pytest.approx(3 / 8)
    # micro AP over 8 pooled scores, ranked: .9+ .8- .7+ .6- .4- .3+ .2- .1-  -> (1 + 2/3 + 3/6) / 3
    assert r["micro_ap"] == pytest.approx((1 + 2 / 3 + 0.5) / 3)


def test_samples_f1_and_empty_cases():
    f = f1_scores(np.array([[1, 0], [0, 0]]), np.array([[1, 1], [0, 0]]))
    # poster 1: 2*1/(1+2) = 2/3; poster 2: nothing true, nothing predicted -> 0 by convention
    assert f["samples"] == pytest.approx((2 / 3 + 0) / 2)


def test_genre_without_positives_is_left_out_of_macro_ap():
    y = np.array([[1, 0], [0, 0], [1, 0]], dtype=float)
    p = np.array([[0.9, 0.1], [0.2, 0.3], [0.8, 0.2]])
    r = multilabel_report(y, p, 0.5, ["a", "b"])
    assert r["per_genre"]["b"]["ap"] is None and r["per_genre"]["b"]["support"] == 0
    assert r["macro_ap"] == pytest.approx(1.0)


def test_baselines_score_prevalence_and_chance():
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 0]], dtype=float)
    b = baseline_reports(y, ["a", "b"], np.array([0.4, 0.2]))
    for name in ("no_genre", "training_prior"):
        assert b[name]["per_genre"]["a"]["ap"] == pytest.approx(0.5)   # prevalence 2/4
        assert b[name]["per_genre"]["b"]["ap"] == pytest.approx(0.25)
        assert b[name]["macro_auc"] == pytest.approx(0.5)
    assert b["no_genre"]["micro_f1"] == 0.0
    assert b["no_genre"]["hamming_loss"] == pytest.approx(3 / 8)


def test_best_f1_thresholds_pick_the_separating_cut():
    y = np.array([[1], [1], [0], [0], [0]], dtype=float)
    p = np.array([[0.9], [0.6], [0.5], [0.2], [0.1]])
    t = best_f1_thresholds(y, p)[0]
    assert 0.5 < t <= 0.6   # every threshold in (0.5, 0.6] gives F1 = 1; ties go to the highest
    assert best_f1_thresholds(np.zeros((3, 1)), np.ones((3, 1)) * 0.3)[0] == 0.5
