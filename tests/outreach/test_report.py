"""The lift a report states: Newcombe's interval for a difference of two proportions
(it stays within -1..1 and is right for small groups) and Welch's for means."""

from __future__ import annotations

import pytest

from accord.outreach.report import mean_lift, proportion_lift, wilson


def test_the_difference_of_two_rates_has_newcombes_interval() -> None:
    # Newcombe (1998), table II, example (a): 56/70 against 48/80.
    lift = proportion_lift(56, 70, 48, 80)
    assert lift is not None
    assert lift.difference == pytest.approx(0.2)
    assert lift.low == pytest.approx(0.0524, abs=5e-4)
    assert lift.high == pytest.approx(0.3339, abs=5e-4)


def test_small_groups_keep_the_interval_within_the_possible() -> None:
    lift = proportion_lift(2, 8, 1, 2)
    assert lift is not None
    assert lift.low is not None
    assert lift.high is not None
    assert -1 <= lift.low < lift.difference < lift.high <= 1
    assert proportion_lift(3, 10, 0, 0) is None


def test_wilson_and_welch() -> None:
    low, high = wilson(81, 263)  # Wilson (1927) as recomputed in Newcombe's table I
    assert (low, high) == (pytest.approx(0.2553, abs=5e-4), pytest.approx(0.3662, abs=5e-4))
    lift = mean_lift([10.0, 12.0, 14.0], [9.0, 10.0, 11.0])
    assert lift is not None
    assert lift.difference == pytest.approx(2.0)
    assert lift.low is not None
    assert lift.high is not None
    assert lift.low < 2.0 < lift.high
