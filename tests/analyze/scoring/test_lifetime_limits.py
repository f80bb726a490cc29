"""Fits at the edge of the BG/NBD parameter space: a dropout probability that is the same
for everyone (beta's a and b in the hundreds of thousands, as maximum likelihood finds on
small, homogeneous data) must give finite, fast expectations that agree with the general
formula where both apply."""

from __future__ import annotations

import numpy as np

from accord.analyze.scoring import expectation, lifetime
from accord.analyze.scoring.lifetime import BgNbdParams


def test_the_integral_over_the_dropout_probability_agrees_with_the_series() -> None:
    t = np.array([1.0, 13.0, 52.0, 200.0])
    r, alpha = np.full(4, 0.9), np.full(4, 4.5)
    for a, b in ((0.79, 2.43), (2.0, 8.0), (30.0, 700.0)):
        series = expectation._series_expectation(t, r, alpha, a, np.full(4, b))
        assert np.all(np.isfinite(series))
        integral = expectation._quadrature_expectation(t, r, alpha, a, np.full(4, b))
        np.testing.assert_allclose(integral, series, rtol=2e-5)


def test_where_the_series_overflows_the_integral_answers() -> None:
    t = np.array([1.0, 13.0, 52.0, 200.0])
    r, alpha, b = np.full(4, 0.9), np.full(4, 4.5), np.full(4, 10_000.0)
    series = expectation._series_expectation(t, r, alpha, 400.0, b)
    assert not np.all(np.isfinite(series))  # the terms overflow before they shrink
    integral = expectation._quadrature_expectation(t, r, alpha, 400.0, b)
    point = expectation._point_mass_expectation(t, r, alpha, 400.0 / (400.0 + b))
    np.testing.assert_allclose(integral, point, rtol=2e-3)  # nearly one dropout rate
    np.testing.assert_allclose(integral[:2], series[:2], rtol=2e-5)  # where both answer


def test_huge_beta_parameters_give_finite_expectations() -> None:
    params = BgNbdParams(r=0.906, alpha=4.51, a=108_653.0, b=2_765_805.0, log_likelihood=0.0)
    x = np.array([0.0, 1.0, 5.0, 20.0])
    t_x = np.array([0.0, 4.0, 30.0, 60.0])
    big_t = np.array([10.0, 40.0, 60.0, 61.0])
    expected = lifetime.expected_purchases(params, 52.0, x, t_x, big_t)
    assert np.all(np.isfinite(expected))
    assert np.all(expected >= 0)
    assert expected[3] > expected[1]  # the heavy, recent buyer buys more
    fresh = lifetime.expected_purchases_unconditional(params, np.array([1.0, 52.0]))
    assert np.all(np.isfinite(fresh))
    assert fresh[1] > fresh[0] > 0
