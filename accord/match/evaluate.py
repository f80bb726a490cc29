"""Accuracy of a clustering against known truth: pairwise precision, recall and F1 (over
every pair of records put together), and cluster-level F1 (a predicted cluster counts
when it holds exactly the records of one true person)."""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

from accord.match.decide import UnionFind


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


@dataclass(frozen=True)
class Indistinct:
    """What the records alone cannot tell apart: pairs of identical records (the same
    value, or none, in every field compared) that are two people.

    A matcher sees nothing to separate such a pair from a pair of one person's identical
    records, so it merges both or neither. Merging them, and keeping each person's
    records together, joins the two people whole: ``wrong_pairs`` wrong pairs, so
    pairwise precision is at most ``precision_ceiling`` even with every true pair found.
    Such records are as alike as a person's own identical records (``true_shared`` pairs
    of one person are among them too): a matcher that keeps them apart keeps apart
    every record alike in what it shows."""

    false_identical: int  # pairs of identical records that are two people
    true_shared: int  # pairs of one person among identical records two people share
    people_pairs: int  # pairs of people who share an identical record
    wrong_pairs: int  # wrong pairs once those people's records are each one cluster
    true_pairs: int

    @property
    def precision_ceiling(self) -> float:
        found = self.true_pairs + self.wrong_pairs
        return self.true_pairs / found if found else 1.0


def _key(value: object) -> object:
    return value.strip().casefold() if isinstance(value, str) else value


def indistinct(
    rows: Sequence[dict[str, object]], truth: Sequence[Hashable], fields: Sequence[str]
) -> Indistinct:
    """``rows[i]`` (its ``fields``) is record ``i``, of true person ``truth[i]``. Values
    compare after trimming and case-folding only: records a matcher would also take as
    alike (``St`` and ``Street``) count as different, so the figures are a floor."""
    if len(rows) != len(truth):
        raise ValueError("rows and truth must be the same records")
    # Grouped by the values' hash, so a million records hold no second copy of their
    # values (two different records share a 64-bit hash about once in 10^13 pairs).
    groups: dict[int, list[Hashable]] = {}
    for row, person in zip(rows, truth, strict=True):
        groups.setdefault(hash(tuple(_key(row.get(f)) for f in fields)), []).append(person)
    sizes = Counter(truth)
    # The people sharing an identical record, joined: each group ends as one cluster.
    clusters: UnionFind[Hashable] = UnionFind()
    true_shared = false_identical = 0
    joined: set[frozenset[Hashable]] = set()
    for people in groups.values():
        if len(people) < 2:
            continue  # most records: no Counter for them
        counts = Counter(people)
        if len(counts) < 2:
            continue
        same = sum(_pairs(n) for n in counts.values())
        true_shared += same
        false_identical += _pairs(len(people)) - same
        distinct = list(counts)
        joined.update(frozenset(pair) for pair in itertools.combinations(distinct, 2))
        for other in distinct[1:]:
            clusters.union(distinct[0], other)
    wrong = 0
    for group in clusters.members.values():
        records = sum(sizes[p] for p in group)
        wrong += _pairs(records) - sum(_pairs(sizes[p]) for p in group)
    return Indistinct(
        false_identical=false_identical,
        true_shared=true_shared,
        people_pairs=len(joined),
        wrong_pairs=wrong,
        true_pairs=sum(_pairs(n) for n in sizes.values()),
    )
