"""The lifetime models on simulated customers, and the numerics of the expectations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from accord.analyze.scoring import expectation, lifetime
from accord.analyze.scoring.lifetime import BgNbdParams, GammaGammaParams
from tests.analyze.scoring import reference

TRUE_BG = BgNbdParams(r=0.6, alpha=5.0, a=0.9, b=3.0, log_likelihood=0.0)
TRUE_GG = GammaGammaParams(p=4.0, q=5.0, v=60.0, log_likelihood=0.0)


@pytest.fixture(scope="module")
def simulated() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20240611)
    big_t = rng.uniform(20.0, 52.0, 40_000)
    return reference.simulate_bgnbd(TRUE_BG, big_t, rng, holdout=26.0)


def _standard_errors(log_likelihood: object, fitted: np.ndarray) -> np.ndarray:
    """Standard errors of the log-parameters from the observed information."""
    hessian = reference.numerical_hessian(log_likelihood, fitted)  # type: ignore[arg-type]
    return np.sqrt(np.diag(np.linalg.inv(-hessian)))


def test_bgnbd_recovers_the_parameters_it_simulated(simulated: dict[str, np.ndarray]) -> None:
    x, t_x, big_t = simulated["frequency"], simulated["recency"], simulated["T"]
    fit = lifetime.fit_bgnbd(x, t_x, big_t)
    fitted = np.log([fit.r, fit.alpha, fit.a, fit.b])

    def ll(theta: np.ndarray) -> float:
        r, alpha, a, b = np.exp(theta)
        params = BgNbdParams(r, alpha, a, b, 0.0)
        return float(lifetime.bgnbd_log_likelihood(params, x, t_x, big_t).sum())

    se = _standard_errors(ll, fitted)
    truth = np.log([TRUE_BG.r, TRUE_BG.alpha, TRUE_BG.a, TRUE_BG.b])
    assert np.all(np.abs(fitted - truth) < 4 * se), (fitted - truth) / se
    # And the estimates are precise enough for that to mean something.
    assert np.all(se < 0.15)
    # The fit is a maximum: no nearby point is better.
    assert fit.log_likelihood >= ll(fitted + 0.001)
    assert fit.log_likelihood >= ll(fitted - 0.001)


def test_expectations_agree_with_simulation(simulated: dict[str, np.ndarray]) -> None:
    """With the true parameters: P(alive) averages to the share of simulated customers
    still active, and the conditional expectation sums to the holdout purchases made."""
    x, t_x, big_t = simulated["frequency"], simulated["recency"], simulated["T"]
    alive = lifetime.probability_alive(TRUE_BG, x, t_x, big_t)
    gap = simulated["active"] - alive
    assert abs(gap.mean()) < 4 * gap.std() / np.sqrt(gap.size)
    for group in (x == 0, (x > 0) & (x < 3), x >= 3):
        g = gap[group]
        assert abs(g.mean()) < 4 * g.std() / np.sqrt(g.size) + 1e-12
    expected = lifetime.expected_purchases(TRUE_BG, 26.0, x, t_x, big_t)
    gap = simulated["holdout"] - expected
    assert abs(gap.mean()) < 4 * gap.std() / np.sqrt(gap.size)
    assert expected.sum() == pytest.approx(simulated["holdout"].sum(), rel=0.03)


def test_unconditional_expectation_agrees_with_simulation() -> None:
    rng = np.random.default_rng(7)
    for t in (4.0, 52.0, 260.0):
        sim = reference.simulate_bgnbd(TRUE_BG, np.full(60_000, t), rng)
        expected = float(lifetime.expected_purchases_unconditional(TRUE_BG, t))
        x = sim["frequency"]
        assert abs(x.mean() - expected) < 4 * x.std() / np.sqrt(x.size), t


def test_gamma_gamma_recovers_the_parameters_it_simulated() -> None:
    rng = np.random.default_rng(99)
    n = 20_000
    x = np.asarray(rng.poisson(3.0, n) + 1.0, dtype=np.float64)
    nu = rng.gamma(TRUE_GG.q, 1 / TRUE_GG.v, n)
    # The mean of x transactions of gamma(p, nu) is gamma(p x, nu x).
    m = np.asarray(rng.gamma(TRUE_GG.p * x, 1 / (nu * x)), dtype=np.float64)
    fit = lifetime.fit_gamma_gamma(x, m)
    fitted = np.log([fit.p, fit.q, fit.v])

    def ll(theta: np.ndarray) -> float:
        p, q, v = np.exp(theta)
        return float(lifetime._gamma_gamma_terms(np.log([p, q, v]), x, m)[0].sum())

    se = _standard_errors(ll, fitted)
    truth = np.log([TRUE_GG.p, TRUE_GG.q, TRUE_GG.v])
    assert np.all(np.abs(fitted - truth) < 4 * se), (fitted - truth) / se
    # The expected value per transaction is the posterior mean of each customer's p / nu.
    gap = lifetime.expected_average_value(fit, x, m) - TRUE_GG.p / nu
    assert abs(gap.mean()) < 4 * gap.std() / np.sqrt(n)
    # Customers with no transactions get the population mean.
    assert lifetime.expected_average_value(fit, [0.0], [123.0])[0] == pytest.approx(
        fit.p * fit.v / (fit.q - 1)
    )


def test_weights_are_counts_of_identical_rows() -> None:
    x = np.array([0, 0, 1, 2, 2, 5, 0, 3], dtype=float)
    t_x = np.array([0, 0, 3.0, 10, 12, 20, 0, 8])
    big_t = np.array([30, 30, 30, 30, 25, 30, 12, 30], dtype=float)
    counts = np.array([40, 3, 12, 7, 5, 2, 9, 4])
    weighted = lifetime.fit_bgnbd(x, t_x, big_t, weights=counts)
    expanded = lifetime.fit_bgnbd(
        np.repeat(x, counts), np.repeat(t_x, counts), np.repeat(big_t, counts)
    )
    assert weighted.log_likelihood == pytest.approx(expanded.log_likelihood, abs=1e-7)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(weighted, name) == pytest.approx(getattr(expanded, name), rel=1e-5)
    m = np.array([0, 0, 10, 20, 30, 25, 0, 12.0])
    gg_w = lifetime.fit_gamma_gamma(x, m, weights=counts)
    gg_e = lifetime.fit_gamma_gamma(np.repeat(x, counts), np.repeat(m, counts))
    assert gg_w.log_likelihood == pytest.approx(gg_e.log_likelihood, abs=1e-7)


def test_time_units_do_not_matter(simulated: dict[str, np.ndarray]) -> None:
    x, t_x, big_t = (
        simulated["frequency"][:5000],
        simulated["recency"][:5000],
        simulated["T"][:5000],
    )
    weeks = lifetime.fit_bgnbd(x, t_x, big_t)
    days = lifetime.fit_bgnbd(x, t_x * 7, big_t * 7)
    assert days.alpha == pytest.approx(weeks.alpha * 7, rel=1e-5)
    assert days.r == pytest.approx(weeks.r, rel=1e-5)
    assert days.a == pytest.approx(weeks.a, rel=1e-5)
    # The density of purchase times is per day instead of per week.
    assert days.log_likelihood == pytest.approx(
        weeks.log_likelihood - x.sum() * np.log(7), abs=1e-5
    )
    e_weeks = lifetime.expected_purchases(weeks, 10, x[:50], t_x[:50], big_t[:50])
    e_days = lifetime.expected_purchases(days, 70, x[:50], t_x[:50] * 7, big_t[:50] * 7)
    assert np.allclose(e_weeks, e_days, rtol=1e-5)


@pytest.mark.parametrize(
    ("t", "r", "alpha", "a", "b"),
    [
        (39.0, 2.24, 43.3, 0.79, 4.43),  # CDNOW, a customer with two repeat purchases
        (520.0, 0.3, 4.0, 2.5, 3.0),  # ten years of weeks: z = 0.992
        (2000.0, 0.5, 2.0, 1.5, 400.0),  # z = 0.999 with a large b: scipy's hyp2f1 is NaN
        (5000.0, 30.3, 1.5, 0.6, 350.0),  # a heavy buyer, far horizon
        (0.001, 0.2, 30.0, 3.0, 2.0),  # a day's fraction: the series, no cancellation
        (52.0, 0.4, 6.0, 1.0, 2.0),  # a = 1 exactly: the closed form divides by zero
        (52.0, 0.4, 6.0, 1.0 + 3e-9, 2.0),
        (52.0, 0.4, 6.0, 0.05, 0.2),  # dropout very uneven
        (52.0, 3.0, 6.0, 4.0, 0.5),
    ],
)
def test_expectation_matches_integration(
    t: float, r: float, alpha: float, a: float, b: float
) -> None:
    params = BgNbdParams(r=r, alpha=alpha, a=a, b=b, log_likelihood=0.0)
    ours = float(lifetime.expected_purchases_unconditional(params, t))
    assert np.isfinite(ours)
    assert ours == pytest.approx(reference.expected_while_active(t, r, alpha, a, b), rel=1e-8)


def test_the_closed_form_and_the_series_agree() -> None:
    rng = np.random.default_rng(3)
    n = 400
    t = np.exp(rng.uniform(np.log(0.01), np.log(2000), n))
    r = np.exp(rng.uniform(np.log(0.05), np.log(20), n))
    alpha = np.exp(rng.uniform(np.log(1), np.log(50), n))
    b = np.exp(rng.uniform(np.log(0.1), np.log(100), n))
    keep = t / (alpha + t) < 0.995
    t, r, alpha, b = t[keep], r[keep], alpha[keep], b[keep]
    for a in (0.3, 0.9, 1.1, 2.5, 8.0):
        closed = expectation.expected_while_active(t, r, alpha, a, b)
        series = expectation._series_expectation(t, r, alpha, a, b)
        assert np.allclose(closed, series, rtol=1e-8, atol=0), a


def test_expectation_is_continuous_through_a_equal_one() -> None:
    t = np.array([1.0, 39.0, 400.0])
    values = [
        lifetime.expected_purchases_unconditional(BgNbdParams(0.4, 5.0, a, 2.0, 0.0), t)
        for a in (1 - 1e-4, 1 - 1e-7, 1.0, 1 + 1e-7, 1 + 1e-4)
    ]
    for left, right in itertools.pairwise(values):
        assert np.allclose(left, right, rtol=1e-3)
    assert np.allclose(values[1], values[2], rtol=1e-6)
    assert np.allclose(values[3], values[2], rtol=1e-6)


def test_expectation_grows_with_the_horizon_and_is_bounded() -> None:
    params = BgNbdParams(0.243, 4.414, 0.793, 2.426, 0.0)
    t = np.linspace(0, 5000, 501)
    e = lifetime.expected_purchases_unconditional(params, t)
    assert e[0] == 0
    assert np.all(np.diff(e) > 0)
    assert np.all(e <= params.r / params.alpha * t + 1e-12)
    x = np.array([0.0, 2.0, 20.0])
    cond = np.array(
        [lifetime.expected_purchases(params, h, x, [0, 30.43, 37.0], [38.86] * 3) for h in t]
    )
    assert np.all(np.diff(cond, axis=0) >= 0)


def test_lifetime_value() -> None:
    bg = BgNbdParams(0.243, 4.414, 0.793, 2.426, 0.0)
    gg = GammaGammaParams(6.25, 3.74, 15.44, 0.0)
    x, t_x, big_t, m = [0.0, 2.0, 7.0], [0.0, 30.43, 29.43], [38.86] * 3, [0.0, 22.35, 30.0]
    value = lifetime.expected_average_value(gg, x, m)
    undiscounted = lifetime.lifetime_value(
        bg, gg, x, t_x, big_t, m, horizon=52, discount_rate=0.0, step=4
    )
    assert np.allclose(
        undiscounted, lifetime.expected_purchases(bg, 52, x, t_x, big_t) * value, rtol=1e-12
    )
    weekly = 1.10 ** (1 / 52) - 1
    discounted = lifetime.lifetime_value(bg, gg, x, t_x, big_t, m, horizon=52, discount_rate=weekly)
    assert np.all(discounted < undiscounted)
    assert np.all(discounted > undiscounted / 1.10)
    # A finer step only moves the purchases' timing a little.
    coarse = lifetime.lifetime_value(
        bg, gg, x, t_x, big_t, m, horizon=52, discount_rate=weekly, step=13
    )
    assert np.allclose(coarse, discounted, rtol=0.02)
    longer = lifetime.lifetime_value(bg, gg, x, t_x, big_t, m, horizon=104, discount_rate=weekly)
    assert np.all(longer > discounted)
    assert (
        lifetime.lifetime_value(bg, gg, x, t_x, big_t, m, horizon=0, discount_rate=0.1).sum() == 0
    )


def test_summarize_transactions() -> None:
    customer = np.array([3, 3, 3, 3, 1, 1, 7, 3, 9])
    time = np.array([0.0, 2.0, 2.0, 5.0, 1.0, 1.0, 4.0, 11.0, 12.0])
    value = np.array([10.0, 4.0, 6.0, 30.0, 5.0, 7.0, 9.0, 99.0, 1.0])
    s = lifetime.summarize_transactions(customer, time, value, calibration_end=10.0)
    # Customer 9 joins after the calibration end; customer 3's purchase at 11 is later.
    assert s.customer.tolist() == [1, 3, 7]
    assert s.first.tolist() == [1.0, 0.0, 4.0]
    assert s.frequency.tolist() == [0.0, 2.0, 0.0]  # two purchases at 2 count once
    assert s.recency.tolist() == [0.0, 5.0, 0.0]
    assert s.T.tolist() == [9.0, 10.0, 6.0]
    assert s.monetary.tolist() == [0.0, 20.0, 0.0]  # (4 + 6 + 30) / 2
    empty = lifetime.summarize_transactions([], [], calibration_end=1.0)
    assert empty.customer.size == 0


def test_bad_input_is_refused() -> None:
    params = BgNbdParams(0.243, 4.414, 0.793, 2.426, 0.0)
    with pytest.raises(ValueError, match="recency"):
        lifetime.probability_alive(params, [1], [40], [30])
    with pytest.raises(ValueError, match="recency must be 0"):
        lifetime.fit_bgnbd([0, 1], [2, 1], [5, 5])
    with pytest.raises(ValueError, match="whole number"):
        lifetime.fit_bgnbd([0.5], [0], [5])
    with pytest.raises(ValueError, match="same length"):
        lifetime.fit_bgnbd([0, 1], [0], [5, 5])
    with pytest.raises(ValueError, match="q <= 1"):
        lifetime.expected_average_value(GammaGammaParams(1, 0.5, 1, 0), [1], [1])
    with pytest.raises(ValueError, match="integer"):
        lifetime.summarize_transactions([1.5], [0.0], calibration_end=1.0)


def test_params_round_trip() -> None:
    bg = BgNbdParams(0.243, 4.414, 0.793, 2.426, -9582.4)
    gg = GammaGammaParams(6.25, 3.74, 15.44, -4000.0)
    assert BgNbdParams.from_dict(bg.to_dict()) == bg
    assert GammaGammaParams.from_dict(gg.to_dict()) == gg
