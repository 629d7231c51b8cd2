"""Retrieval metrics as pure functions over plain data (no store, no model).

A *run* maps each query id to its ranked predicted codes (best first); *truth* maps it to the true code.
Rates come back in percent, as in arXiv 2401.01943. Codes are compared in their dotted form ("E11.9").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import Levenshtein
import numpy as np

Run = Mapping[str, Sequence[str]]
Truth = Mapping[str, str]


def cer(predicted: str, true: str) -> float:
    """Character error rate of one prediction: Levenshtein distance / length of the true code."""
    return Levenshtein.distance(predicted, true) / len(true)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _top1(run: Run, qid: str) -> str:
    ranked = run.get(qid) or []
    return ranked[0] if ranked else ""


def exact_match_flags(run: Run, truth: Truth) -> list[bool]:
    """Per query: is the top-1 code the true code? In the order of ``truth``."""
    return [_top1(run, qid) == code for qid, code in truth.items()]


def category_match_flags(run: Run, truth: Truth) -> list[bool]:
    """Per query: does the top-1 code share the true code's three-character category?"""
    return [_top1(run, qid)[:3] == code[:3] for qid, code in truth.items()]


def exact_match(run: Run, truth: Truth) -> float:
    return 100.0 * _mean(exact_match_flags(run, truth))


def category_match(run: Run, truth: Truth) -> float:
    return 100.0 * _mean(category_match_flags(run, truth))


def cer_total(run: Run, truth: Truth) -> float:
    """Mean CER of the top-1 prediction over all queries, in percent (an empty prediction counts as 100 %)."""
    return 100.0 * _mean([cer(_top1(run, qid), code) for qid, code in truth.items()])


def cer_incorrect(run: Run, truth: Truth) -> float:
    """Mean CER over the wrong top-1 predictions only, in percent (0 when every prediction is right)."""
    wrong = [cer(_top1(run, qid), code) for qid, code in truth.items() if _top1(run, qid) != code]
    return 100.0 * _mean(wrong)


def hit_at(run: Run, truth: Truth, k: int) -> float:
    """Share of queries whose true code is among the top k, in percent."""
    return 100.0 * _mean([code in list(run.get(qid) or [])[:k] for qid, code in truth.items()])


def mrr_at(run: Run, truth: Truth, k: int) -> float:
    """Mean reciprocal rank of the true code within the top k (0 when absent), in percent."""
    ranks = []
    for qid, code in truth.items():
        ranked = list(run.get(qid) or [])[:k]
        ranks.append(1.0 / (ranked.index(code) + 1) if code in ranked else 0.0)
    return 100.0 * _mean(ranks)


def category_hit_at(run: Run, truth: Truth, k: int) -> float:
    """Share of queries with a code of the true category among the top k, in percent."""
    return 100.0 * _mean([any(c[:3] == code[:3] for c in list(run.get(qid) or [])[:k]) for qid, code in truth.items()])


#: How a wrong top-1 code relates to the true one (:func:`miss_kinds`), in the order they are reported.
MISS_KINDS = ("descendant", "ancestor", "same category", "other category", "none")


def miss_kind(predicted: str, true: str) -> str:
    """"descendant": the prediction is a code below the true one (E11.9 for E11); "ancestor": above it
    (E11 for E11.9); "same category": another code of its three-character category; "other category";
    "none": nothing was predicted. Codes in dotted form; "" for a right prediction."""
    if predicted == true:
        return ""
    if not predicted:
        return "none"
    if predicted.startswith(true):
        return "descendant"
    if true.startswith(predicted):
        return "ancestor"
    return "same category" if predicted[:3] == true[:3] else "other category"


def miss_kinds(run: Run, truth: Truth) -> dict[str, dict[str, int]]:
    """Wrong top-1 predictions counted by :data:`MISS_KINDS`, per length of the true code (3 for a
    category, 5 to 8 for the codes below), and whether the true code is still among the top 10:
    ``{"3": {"queries": n, "right": r, "descendant": d, ..., "true in top 10": t}, ...}``."""
    out: dict[str, dict[str, int]] = {}
    for qid, code in truth.items():
        row = out.setdefault(str(len(code.replace(".", ""))),
                             {"queries": 0, "right": 0, **{kind: 0 for kind in MISS_KINDS}, "true in top 10": 0})
        row["queries"] += 1
        kind = miss_kind(_top1(run, qid), code)
        if not kind:
            row["right"] += 1
            continue
        row[kind] += 1
        row["true in top 10"] += code in list(run.get(qid) or [])[:10]
    return dict(sorted(out.items()))


def scores(run: Run, truth: Truth) -> dict[str, float]:
    """Every metric, under its stable flat name."""
    out = {
        "exact_match": exact_match(run, truth),
        "category_match": category_match(run, truth),
        "cer_total": cer_total(run, truth),
        "cer_incorrect": cer_incorrect(run, truth),
    }
    for k in (1, 3, 5, 10):
        out[f"hit_at_{k}"] = hit_at(run, truth, k)
    out["mrr_at_10"] = mrr_at(run, truth, 10)
    out["category_hit_at_10"] = category_hit_at(run, truth, 10)
    return out


def _bootstrap(values: Sequence[float], resamples: int, seed: int, level: float) -> tuple[float, float]:
    """Percentile interval of the mean of ``values`` over seeded resamples with replacement."""
    n = len(values)
    if n == 0:
        return (0.0, 0.0)
    # Vectorised: a pure-Python loop took seconds of every evaluate.
    data = np.asarray(values, dtype=np.float64)
    rng = np.random.default_rng(seed)
    rows = max(1, 4_000_000 // n)  # resamples drawn a block at a time, at most ~32 MB of indices
    means = np.sort(np.concatenate([data[rng.integers(0, n, size=(min(rows, resamples - start), n))].mean(axis=1)
                                    for start in range(0, resamples, rows)]))
    return (float(means[int(math.floor((1 - level) / 2 * (resamples - 1)))]),
            float(means[int(math.ceil((1 + level) / 2 * (resamples - 1)))]))


def bootstrap_ci(flags: Sequence[bool], resamples: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a rate, in percent."""
    low, high = _bootstrap([float(f) for f in flags], resamples, seed, level)
    return (100.0 * low, 100.0 * high)


def mcnemar_exact(a: Sequence[bool], b: Sequence[bool]) -> tuple[int, int, float]:
    """Exact (binomial) McNemar test on paired outcomes: (a right & b wrong, a wrong & b right, two-sided p)."""
    if len(a) != len(b):
        raise ValueError("paired outcomes must have the same length")
    only_a = sum(1 for x, y in zip(a, b) if x and not y)
    only_b = sum(1 for x, y in zip(a, b) if y and not x)
    n = only_a + only_b
    if n == 0:
        return (0, 0, 1.0)
    tail = sum(math.comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n
    return (only_a, only_b, min(1.0, 2 * tail))


def paired_bootstrap_diff(a: Sequence[bool], b: Sequence[bool], resamples: int = 2000, seed: int = 0,
                          level: float = 0.95) -> tuple[float, float, float]:
    """Difference of two paired rates (a - b) with its bootstrap interval, in percentage points."""
    if len(a) != len(b):
        raise ValueError("paired outcomes must have the same length")
    diffs = [float(x) - float(y) for x, y in zip(a, b)]
    low, high = _bootstrap(diffs, resamples, seed, level)
    return (100.0 * _mean(diffs), 100.0 * low, 100.0 * high)
