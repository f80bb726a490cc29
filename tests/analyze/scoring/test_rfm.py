"""RFM scores and groups."""

from __future__ import annotations

import numpy as np
import pytest

from accord.analyze.scoring import rfm


def test_quintiles_are_balanced_without_ties() -> None:
    values = np.random.default_rng(1).permutation(100).astype(float)
    scores = rfm.quintile_scores(values)
    assert scores.dtype == np.int8
    assert np.bincount(scores, minlength=6)[1:].tolist() == [20] * 5
    # The scores follow the values.
    order = np.argsort(values)
    assert np.all(np.diff(scores[order]) >= 0)
    for n in (7, 13, 101, 999):
        counts = np.bincount(rfm.quintile_scores(np.arange(n)), minlength=6)[1:]
        assert counts.max() - counts.min() <= 1, n


def test_lower_is_better_gives_the_lowest_values_five() -> None:
    days = np.array([0, 3, 10, 40, 90, 200, 400, 1, 2, 5])
    scores = rfm.quintile_scores(days, higher_is_better=False)
    assert scores[0] == 5
    assert scores[6] == 1
    assert np.array_equal(rfm.recency_scores(days), scores)


def test_ties_get_the_same_score_and_the_rest_stay_balanced() -> None:
    # 60% bought once; the others 2 to 41 orders, ten customers each.
    orders = np.concatenate([np.ones(600), 2 + np.arange(400) // 10])
    scores = rfm.quintile_scores(orders)
    assert np.unique(scores[orders == 1]).tolist() == [2]  # the middle of 0..60% is 30%
    for value in np.unique(orders):
        assert np.unique(scores[orders == value]).size == 1
    # The third quintile (40% to 60%) lies inside the tied group, so no one gets 3; the
    # remaining 40% split evenly between 4 and 5.
    above = scores[orders > 1]
    assert np.bincount(above, minlength=6).tolist() == [0, 0, 0, 0, 200, 200]
    # Row order does not matter.
    shuffle = np.random.default_rng(2).permutation(orders.size)
    assert np.array_equal(rfm.quintile_scores(orders[shuffle]), scores[shuffle])


def test_all_equal_values_score_the_middle() -> None:
    assert rfm.quintile_scores(np.full(10, 3.0)).tolist() == [3] * 10
    assert rfm.quintile_scores([]).size == 0
    with pytest.raises(ValueError, match="finite"):
        rfm.quintile_scores([1.0, np.nan])


def test_groups_from_the_grid() -> None:
    r = np.array([5, 5, 4, 3, 1, 1, 2, 5, 1, 2, 3])
    f = np.array([5, 1, 1, 3, 5, 1, 4, 3, 3, 1, 1])
    m = np.array([5, 1, 1, 2, 5, 1, 3, 2, 2, 2, 1])
    groups = rfm.rfm_group(r, f, m)
    assert groups.tolist() == [
        "champions",
        "new",
        "promising",
        "need_attention",  # fm = (3 + 2) / 2 rounded half up = 3
        "cannot_lose",
        "lost",
        "at_risk",
        "potential_loyalist",
        "at_risk",
        "about_to_sleep",
        "about_to_sleep",
    ]


def test_every_group_is_on_the_grid_and_described() -> None:
    keys = [key for key, _, _ in rfm.GROUPS]
    assert len(keys) == len(set(keys)) == 11
    on_grid = {cell for row in rfm.GRID for cell in row}
    assert on_grid == set(keys)
    assert all(len(row) == 5 for row in rfm.GRID)
    for _, label, description in rfm.GROUPS:
        assert label
        assert description.endswith(".")
        assert description.count(". ") == 0
    r, f, m = np.meshgrid(np.arange(1, 6), np.arange(1, 6), np.arange(1, 6))
    groups = rfm.rfm_group(r.ravel(), f.ravel(), m.ravel())
    assert set(groups.tolist()) == set(keys)


def test_scores_out_of_range_are_refused() -> None:
    with pytest.raises(ValueError, match="R scores"):
        rfm.rfm_group([0], [1], [1])
    with pytest.raises(ValueError, match="F scores"):
        rfm.rfm_group([1], [6], [1])
    with pytest.raises(ValueError, match="same length"):
        rfm.rfm_group([1, 2], [1], [1])
