"""The lifetime models on Bruce Hardie's CDNOW sample against the published figures.

Published: Fader, Hardie & Lee (2005), "Counting your customers the easy way", section 7:
BG/NBD r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4 on 2,357 customers
observed for 39 weeks; Fader & Hardie (2013), "The gamma-gamma model of monetary value":
p = 6.25, q = 3.74, gamma = 15.44 on the 946 customers with a repeat purchase. Values from
Hardie's BG/NBD spreadsheet, as quoted in the lifetimes test-suite: E[Y(39)] = 1.226 for
the customer with x = 2, t_x = 30.43, T = 38.86, and E[X(t)] = 0.0078, 0.0532, 0.1506,
1.0405, 1.0437, 1.8576 at t = 0.1429, 1, 3, 31.8571, 32, 78 weeks.
"""

from __future__ import annotations

import numpy as np
import pytest

from accord.analyze.scoring import lifetime, validation
from tests.analyze.scoring import cdnow, reference

PUBLISHED_BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PUBLISHED_LL = -9582.4
PUBLISHED_GG = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def summary() -> lifetime.CustomerSummary:
    customer, weeks, value = cdnow.sample_log()
    return lifetime.summarize_transactions(
        customer, weeks, value, calibration_end=cdnow.CALIBRATION_END
    )


@pytest.fixture(scope="module")
def bg(summary: lifetime.CustomerSummary) -> lifetime.BgNbdParams:
    return lifetime.fit_bgnbd(summary.frequency, summary.recency, summary.T)


def test_the_summary_of_the_log_is_the_published_summary(
    summary: lifetime.CustomerSummary,
) -> None:
    published = cdnow.published_summary()
    assert summary.customer.tolist() == list(range(1, 2358))
    assert np.array_equal(summary.frequency, published["x"])
    assert summary.frequency.sum() == 2457
    assert int((summary.frequency > 0).sum()) == 946
    # The published summary is rounded to two decimals.
    assert np.max(np.abs(summary.recency - published["t_x"])) <= 0.005 + 1e-9
    assert np.max(np.abs(summary.T - published["T"])) <= 0.005 + 1e-9
    assert np.max(np.abs(summary.monetary - published["zbar"])) <= 0.005 + 1e-9


def test_bgnbd_reproduces_the_published_fit(bg: lifetime.BgNbdParams) -> None:
    for name, value in PUBLISHED_BGNBD.items():
        assert getattr(bg, name) == pytest.approx(value, abs=0.0005), name
    assert bg.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.05)
    # To more digits, the maximum reported by others who fitted the same log.
    assert bg.log_likelihood == pytest.approx(-9582.4292, abs=1e-3)


def test_bgnbd_on_the_rounded_published_summary_gives_the_same_fit() -> None:
    published = cdnow.published_summary()
    fit = lifetime.fit_bgnbd(published["x"], published["t_x"], published["T"])
    for name, value in PUBLISHED_BGNBD.items():
        assert getattr(fit, name) == pytest.approx(value, abs=0.0005), name
    assert fit.log_likelihood == pytest.approx(PUBLISHED_LL, abs=0.05)


def test_gamma_gamma_reproduces_the_published_fit(summary: lifetime.CustomerSummary) -> None:
    """The published figures come from the mean value of each customer's repeat purchases
    (the first purchase excluded, purchases on one day summed into one), over the 946
    customers with a repeat purchase."""
    gg = lifetime.fit_gamma_gamma(summary.frequency, summary.monetary)
    for name, value in PUBLISHED_GG.items():
        assert getattr(gg, name) == pytest.approx(value, abs=0.005), name
    # The same means rounded to the cent (the summary file's zbar) move gamma to 15.448.
    published = cdnow.published_summary()
    rounded = lifetime.fit_gamma_gamma(published["x"], published["zbar"])
    for name, value in PUBLISHED_GG.items():
        assert getattr(rounded, name) == pytest.approx(value, abs=0.01), name


def test_gamma_gamma_needs_the_mean_of_repeat_purchases_not_of_all() -> None:
    customer, weeks, value = cdnow.sample_log()
    calibration = weeks <= cdnow.CALIBRATION_END
    summary = lifetime.summarize_transactions(
        customer, weeks, value, calibration_end=cdnow.CALIBRATION_END
    )
    spent = np.bincount(customer[calibration], weights=value[calibration])[1:]
    all_purchases = spent / (summary.frequency + 1)
    wrong = lifetime.fit_gamma_gamma(summary.frequency, all_purchases)
    assert abs(wrong.v - PUBLISHED_GG["v"]) > 1


def test_the_papers_customer(bg: lifetime.BgNbdParams) -> None:
    """Customer 0001: x = 2, t_x = 30.43, T = 38.86. The spreadsheet's 1.226 expected
    purchases in the next 39 weeks; P(alive) and the expectation also by integrating the
    individual-level model over lambda and p numerically."""
    x, t_x, big_t = [2.0], [30.43], [38.86]
    expected = lifetime.expected_purchases(bg, 39, x, t_x, big_t)[0]
    alive = lifetime.probability_alive(bg, x, t_x, big_t)[0]
    assert expected == pytest.approx(1.226, abs=0.0005)
    assert alive == pytest.approx(0.73, abs=0.005)
    p_alive, future = reference.posterior(bg, 2, 30.43, 38.86, 39)
    assert alive == pytest.approx(p_alive, rel=1e-8)
    assert expected == pytest.approx(future, rel=1e-8)


@pytest.mark.parametrize(
    ("x", "t_x", "big_t"), [(0, 0.0, 38.86), (1, 1.71, 38.86), (7, 29.43, 38.86)]
)
def test_other_customers_match_the_integrated_model(
    bg: lifetime.BgNbdParams, x: int, t_x: float, big_t: float
) -> None:
    p_alive, future = reference.posterior(bg, x, t_x, big_t, 39)
    assert lifetime.probability_alive(bg, [x], [t_x], [big_t])[0] == pytest.approx(
        p_alive, rel=1e-8
    )
    assert lifetime.expected_purchases(bg, 39, [x], [t_x], [big_t])[0] == pytest.approx(
        future, rel=1e-8
    )


def test_unconditional_expectation_against_the_spreadsheet(bg: lifetime.BgNbdParams) -> None:
    times = np.array([0.1429, 1.0, 3.0, 31.8571, 32.0, 78.0])
    sheet = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    ours = lifetime.expected_purchases_unconditional(bg, times)
    assert ours.shape == times.shape
    # The first five agree to the sheet's four decimals.
    assert np.all(np.abs(ours[:5] - sheet[:5]) <= 0.00005 + 1e-12)
    # At 78 weeks (z = t / (alpha + t) = 0.95) the sheet is 0.0004 lower: a series summed
    # to a fixed number of terms converges slowly there. Integration agrees with ours.
    assert ours[5] == pytest.approx(sheet[5], abs=0.0005)
    for t, value in zip(times, ours, strict=True):
        assert value == pytest.approx(
            reference.expected_while_active(t, bg.r, bg.alpha, bg.a, bg.b), rel=1e-9
        )


def test_tracking_under_forecasts_week_78_by_four_percent(bg: lifetime.BgNbdParams) -> None:
    """The paper's tracking plot: the cohort's cumulative repeat purchases, the members'
    expectations summed from each one's first purchase; at week 78 the forecast from 39
    weeks is about 4% below the 4,339 repeat purchases (distinct days) made."""
    customer, weeks, _ = cdnow.sample_log()
    curve = validation.cohort_tracking(
        bg, customer, weeks, times=np.arange(1, 79, dtype=np.float64) - 1 / 7
    )
    assert curve.actual_cumulative[-1] == 4339
    under = 1 - curve.predicted_cumulative[-1] / curve.actual_cumulative[-1]
    assert 0.035 < under < 0.045
    # In the calibration period the fit tracks within a few percent.
    at_39 = 38
    assert curve.predicted_cumulative[at_39] == pytest.approx(
        curve.actual_cumulative[at_39], rel=0.03
    )
    assert np.all(np.diff(curve.predicted_cumulative) >= 0)
    assert curve.predicted_incremental.sum() == pytest.approx(curve.predicted_cumulative[-1])


def test_calibration_against_holdout(
    bg: lifetime.BgNbdParams, summary: lifetime.CustomerSummary
) -> None:
    customer, weeks, _ = cdnow.sample_log()
    curve = validation.calibration_holdout(
        bg,
        customer,
        weeks,
        calibration_end=cdnow.CALIBRATION_END,
        holdout_end=cdnow.HOLDOUT_END,
        step=1.0,
    )
    assert len(curve.time) == 39
    assert curve.time[-1] == pytest.approx(39.0)
    expected = lifetime.expected_purchases(bg, 39, summary.frequency, summary.recency, summary.T)
    assert curve.predicted_cumulative[-1] == pytest.approx(expected.sum())
    # Repeat purchases (distinct days) of the 2,357 in weeks 40 to 78.
    days = np.unique(np.column_stack([customer, np.round(weeks * 7)]), axis=0)
    assert curve.actual_cumulative[-1] == np.sum(days[:, 1] > 272)
    assert np.all(curve.actual_incremental >= 0)
    assert curve.actual_incremental.sum() == curve.actual_cumulative[-1]


def test_the_full_cohort_compresses_to_unique_rows() -> None:
    """23,570 customers: the sample's customers summarised from the full log are the
    sample's summary, and the fit on unique (x, t_x, T) rows with counts is the fit on
    every customer."""
    customer, weeks, value = cdnow.master_log()
    ids = cdnow.sample_master_ids()
    mine = np.isin(customer, ids)
    sample = lifetime.summarize_transactions(
        customer[mine], weeks[mine], value[mine], calibration_end=cdnow.CALIBRATION_END
    )
    order = np.searchsorted(sample.customer, ids)
    assert np.array_equal(sample.customer[order], ids)
    assert np.array_equal(sample.frequency[order], cdnow.published_summary()["x"])
    assert np.max(np.abs(sample.monetary[order] - cdnow.published_summary()["zbar"])) < 0.0051
    full = lifetime.summarize_transactions(
        customer, weeks, value, calibration_end=cdnow.CALIBRATION_END
    )
    assert full.customer.size == 23570
    fit = lifetime.fit_bgnbd(full.frequency, full.recency, full.T)
    rows, counts = np.unique(
        np.column_stack([full.frequency, full.recency, full.T]), axis=0, return_counts=True
    )
    assert rows.shape[0] < full.customer.size / 2
    compressed = lifetime.fit_bgnbd(rows[:, 0], rows[:, 1], rows[:, 2], weights=counts)
    assert compressed.log_likelihood == pytest.approx(fit.log_likelihood, abs=1e-6)
    for name in ("r", "alpha", "a", "b"):
        assert getattr(compressed, name) == pytest.approx(getattr(fit, name), rel=1e-6)
    each = lifetime.bgnbd_log_likelihood(fit, full.frequency, full.recency, full.T)
    assert each.sum() == pytest.approx(fit.log_likelihood, abs=1e-6)
