"""Metrics on hand-computed cases (codes of different lengths included)."""

from __future__ import annotations

import pytest

from icdsearch import metrics

TRUTH = {"q1": "E11.9", "q2": "I10", "q3": "S93.401A", "q4": "J45"}
RUN = {
    "q1": ["E11.9", "E11.8"],  # right at rank 1
    "q2": ["I15", "I10"],  # wrong category at rank 1, true code at rank 2
    "q3": ["S93.402A", "S93.401A", "S93.4"],  # one character off, true at rank 2
    "q4": ["K21.9"],  # wrong category, true code absent
}


def test_cer_single() -> None:
    assert metrics.cer("E11.9", "E11.9") == 0.0
    assert metrics.cer("I15", "I10") == pytest.approx(1 / 3)
    assert metrics.cer("S93.402A", "S93.401A") == pytest.approx(1 / 8)
    assert metrics.cer("K21.9", "J45") == pytest.approx(5 / 3)  # 3 substitutions + 2 insertions over 3
    assert metrics.cer("", "I10") == 1.0


def test_paper_metrics_hand_computed() -> None:
    assert metrics.exact_match(RUN, TRUTH) == pytest.approx(25.0)
    assert metrics.category_match(RUN, TRUTH) == pytest.approx(50.0)  # q1, q3 (I15 is not category I10)
    total = (0 + 1 / 3 + 1 / 8 + 5 / 3) / 4
    assert metrics.cer_total(RUN, TRUTH) == pytest.approx(100 * total)
    incorrect = (1 / 3 + 1 / 8 + 5 / 3) / 3
    assert metrics.cer_incorrect(RUN, TRUTH) == pytest.approx(100 * incorrect)


def test_ranking_metrics_hand_computed() -> None:
    assert metrics.hit_at(RUN, TRUTH, 1) == pytest.approx(25.0)
    assert metrics.hit_at(RUN, TRUTH, 2) == pytest.approx(75.0)
    assert metrics.hit_at(RUN, TRUTH, 10) == pytest.approx(75.0)
    assert metrics.mrr_at(RUN, TRUTH, 10) == pytest.approx(100 * (1 + 0.5 + 0.5 + 0) / 4)
    assert metrics.mrr_at(RUN, TRUTH, 1) == pytest.approx(25.0)
    assert metrics.category_hit_at(RUN, TRUTH, 10) == pytest.approx(75.0)


def test_scores_names_are_stable() -> None:
    assert list(metrics.scores(RUN, TRUTH)) == [
        "exact_match", "category_match", "cer_total", "cer_incorrect",
        "hit_at_1", "hit_at_3", "hit_at_5", "hit_at_10", "mrr_at_10", "category_hit_at_10"]


def test_all_right_and_missing_predictions() -> None:
    perfect = {q: [c] for q, c in TRUTH.items()}
    assert metrics.cer_incorrect(perfect, TRUTH) == 0.0 and metrics.cer_total(perfect, TRUTH) == 0.0
    assert metrics.exact_match({}, TRUTH) == 0.0 and metrics.cer_total({}, TRUTH) == 100.0


def test_bootstrap_ci() -> None:
    flags = [True] * 80 + [False] * 20
    low, high = metrics.bootstrap_ci(flags, resamples=2000, seed=1)
    assert low < 80.0 < high and 70.0 < low and high < 90.0
    assert metrics.bootstrap_ci(flags, seed=1) == metrics.bootstrap_ci(flags, seed=1)  # seeded
    assert metrics.bootstrap_ci([True] * 10) == (100.0, 100.0)
    assert metrics.bootstrap_ci([]) == (0.0, 0.0)


def test_mcnemar_exact() -> None:
    a = [True] * 10 + [False] * 2 + [True] * 5
    b = [False] * 10 + [True] * 2 + [True] * 5
    only_a, only_b, p = metrics.mcnemar_exact(a, b)
    assert (only_a, only_b) == (10, 2)
    # Two-sided exact binomial: 2 * P(X <= 2 | n=12, 0.5) = 2 * (1 + 12 + 66) / 4096
    assert p == pytest.approx(2 * 79 / 4096)
    assert metrics.mcnemar_exact(a, a) == (0, 0, 1.0)
    with pytest.raises(ValueError):
        metrics.mcnemar_exact([True], [True, False])


def test_paired_bootstrap_diff() -> None:
    a = [True] * 60 + [False] * 40
    b = [True] * 40 + [False] * 60
    diff, low, high = metrics.paired_bootstrap_diff(a, b, seed=3)
    assert diff == pytest.approx(20.0) and low < 20.0 < high and low > 0


def test_miss_kinds_hand_computed() -> None:
    assert [metrics.miss_kind(p, t) for p, t in [("E11.9", "E11.9"), ("E11.9", "E11"), ("E11", "E11.9"),
                                                  ("E11.8", "E11.9"), ("E10.9", "E11.9"), ("", "E11")]] == [
        "", "descendant", "ancestor", "same category", "other category", "none"]
    truth = {**TRUTH, "q5": "J45", "q6": "S93.401"}
    run = {**RUN, "q5": ["J45.909", "J45"], "q6": ["S93.40", "S93.401"]}
    kinds = metrics.miss_kinds(run, truth)
    assert list(kinds) == ["3", "4", "6", "7"]  # characters of the true code, less the dot
    assert kinds["3"] == {"queries": 3, "right": 0, "descendant": 1, "ancestor": 0, "same category": 0,
                          "other category": 2, "none": 0, "true in top 10": 2}  # q2 (I15), q4 (K21.9), q5
    assert kinds["4"]["right"] == 1 and kinds["6"]["ancestor"] == 1 and kinds["7"]["same category"] == 1
    assert sum(k["queries"] for k in kinds.values()) == len(truth)
