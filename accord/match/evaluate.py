"""Accuracy of a clustering against known truth: pairwise precision, recall and F1 (over
every pair of records put together), and cluster-level F1 (a predicted cluster counts
when it holds exactly the records of one true person)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    cluster_precision: float
    cluster_recall: float
    cluster_f1: float
    predicted_pairs: int
    true_pairs: int
    correct_pairs: int


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> Scores:
    """``predicted[i]`` and ``truth[i]`` are the cluster labels of record ``i``."""
    if len(predicted) != len(truth):
        raise ValueError("predicted and truth must label the same records")
    both = Counter(zip(predicted, truth, strict=True))
    pred_sizes = Counter(predicted)
    true_sizes = Counter(truth)
    correct = sum(_pairs(n) for n in both.values())
    pred_pairs = sum(_pairs(n) for n in pred_sizes.values())
    true_pairs = sum(_pairs(n) for n in true_sizes.values())
    precision = correct / pred_pairs if pred_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    exact = sum(1 for (p, t), n in both.items() if n == pred_sizes[p] and n == true_sizes[t])
    c_precision = exact / len(pred_sizes) if pred_sizes else 1.0
    c_recall = exact / len(true_sizes) if true_sizes else 1.0
    return Scores(
        precision=precision,
        recall=recall,
        f1=_f1(precision, recall),
        cluster_precision=c_precision,
        cluster_recall=c_recall,
        cluster_f1=_f1(c_precision, c_recall),
        predicted_pairs=pred_pairs,
        true_pairs=true_pairs,
        correct_pairs=correct,
    )
