"""RFM: recency, frequency and monetary scores from 1 to 5, and the named customer groups.

Each customer gets three scores, each the quintile of their rank among the customers
scored together (5 is best: the most recent, the most frequent, the highest spend). The
group comes from a fixed grid of the recency score against the mean of the frequency and
monetary scores, the common R x (F + M) / 2 layout; ``GRID`` is that grid and ``GROUPS``
names each group for the console.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

ScoreArray = npt.NDArray[np.int8]

# (key, label, one-sentence description), in the order the console lists them.
GROUPS: list[tuple[str, str, str]] = [
    ("champions", "Champions", "Bought recently, buy often and spend the most."),
    (
        "loyal",
        "Loyal customers",
        "Buy often and spend well, and bought not too long ago.",
    ),
    (
        "potential_loyalist",
        "Potential loyalists",
        "Recent customers with average frequency and spend who could become loyal.",
    ),
    ("new", "New customers", "Bought very recently, but rarely and for little so far."),
    ("promising", "Promising", "Bought fairly recently, but rarely and for little so far."),
    (
        "need_attention",
        "Need attention",
        "Middling recency, frequency and spend: they may drift away without a reason to return.",
    ),
    (
        "about_to_sleep",
        "About to sleep",
        "Have not bought for a while, and rarely and for little when they did.",
    ),
    ("at_risk", "At risk", "Bought fairly often and spent well, but a long time ago."),
    (
        "cannot_lose",
        "Can't lose them",
        "Among the most frequent, biggest spenders, but have not bought for a long time.",
    ),
    ("hibernating", "Hibernating", "Last bought long ago, and rarely and for little."),
    ("lost", "Lost", "The lowest recency, frequency and spend: the least likely to return."),
]

# GRID[r - 1][fm - 1]: the group of recency score r and frequency-monetary score fm, where
# fm is the mean of the F and M scores rounded half up. Rows from r = 1 (long ago) to 5.
GRID: tuple[tuple[str, ...], ...] = (
    ("lost", "hibernating", "at_risk", "cannot_lose", "cannot_lose"),
    ("hibernating", "about_to_sleep", "at_risk", "at_risk", "cannot_lose"),
    ("about_to_sleep", "need_attention", "need_attention", "loyal", "loyal"),
    ("promising", "potential_loyalist", "potential_loyalist", "loyal", "champions"),
    ("new", "potential_loyalist", "potential_loyalist", "champions", "champions"),
)


def quintile_scores(values: npt.ArrayLike, higher_is_better: bool = True) -> ScoreArray:
    """Scores from 1 to 5 by quintile of rank, 5 for the best values.

    The rule: sort the values; a value's position is the share of customers below it plus
    half the share equal to it (its mid-rank, so every tied customer gets the same
    position), and its score is 1 + floor(5 x position), at most 5. Without ties this
    splits the customers into five groups of equal size (give or take one); with heavy
    ties, a tied group goes whole to the quintile holding its middle, so no score depends
    on the order of the rows and the other groups keep their share. For example, if 60% of
    customers have one order, they all get F = 2 (their middle is at 30%), and customers
    with more orders share 3 to 5. ``higher_is_better=False`` scores the lowest values 5
    (recency in days: the most recent customers get 5).
    """
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError("values must be finite")
    n = array.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    keyed = array if higher_is_better else -array
    _, inverse, counts = np.unique(keyed, return_inverse=True, return_counts=True)
    below = np.cumsum(counts) - counts
    position = (below + counts / 2) / n
    score = np.minimum(np.floor(5 * position).astype(np.int64) + 1, 5)
    return score[inverse.reshape(-1)].astype(np.int8)


def recency_scores(days_since_last: npt.ArrayLike) -> ScoreArray:
    """Recency scores: the customers who bought most recently get 5."""
    return quintile_scores(days_since_last, higher_is_better=False)


def _scores(values: npt.ArrayLike, name: str) -> npt.NDArray[np.int64]:
    array = np.asarray(values).reshape(-1)
    if array.size and (np.any(array != np.round(array)) or array.min() < 1 or array.max() > 5):
        raise ValueError(f"{name} scores must be whole numbers from 1 to 5")
    return array.astype(np.int64)


def frequency_monetary(f: npt.ArrayLike, m: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The mean of the F and M scores, rounded half up (1 to 5)."""
    f_scores = _scores(f, "F")
    m_scores = _scores(m, "M")
    if f_scores.shape != m_scores.shape:
        raise ValueError("f and m must have the same length")
    return (f_scores + m_scores + 1) // 2


def rfm_group(r: npt.ArrayLike, f: npt.ArrayLike, m: npt.ArrayLike) -> npt.NDArray[np.str_]:
    """The group key of each customer (a key of ``GROUPS``) from their R, F and M scores."""
    r_scores = _scores(r, "R")
    fm = frequency_monetary(f, m)
    if r_scores.shape != fm.shape:
        raise ValueError("r, f and m must have the same length")
    table = np.array(GRID, dtype=np.str_)
    return np.asarray(table[r_scores - 1, fm - 1], dtype=np.str_)
