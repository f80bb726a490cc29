"""Checks of a fitted BG/NBD model against what the customers then did.

Two curves, both of repeat purchases of a cohort (a purchase at the same time as another
by the same customer counts once, as in ``lifetime.summarize_transactions``):

* ``calibration_holdout``: after the calibration end, per step of the holdout period,
  what the model predicted for the customers it saw (each one's conditional expectation,
  summed) against what they did. The "calibration vs holdout" chart.
* ``cohort_tracking``: from the start, at given calendar times, the expected cumulative
  repeat purchases of a cohort whose members joined at different times (each member's
  unconditional expectation since their first purchase, summed) against the actual ones:
  the tracking plot of Fader, Hardie & Lee (2005, figure 2), where the model fitted on 39
  weeks of CDNOW under-forecasts week 78 by about 4%.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from accord.analyze.scoring.lifetime import (
    BgNbdParams,
    FloatArray,
    expected_purchases,
    expected_purchases_unconditional,
    summarize_transactions,
)


@dataclass(frozen=True)
class PurchaseCurve:
    """Predicted and actual repeat purchases of a cohort at a series of times.

    ``time``: the end of each step (for a holdout, periods after the calibration end; for a
    tracking curve, the calendar times asked for). The cumulative arrays count purchases
    up to and including each time; the incremental ones, those since the previous time.
    """

    time: FloatArray
    predicted_cumulative: FloatArray
    actual_cumulative: FloatArray

    @property
    def predicted_incremental(self) -> FloatArray:
        return np.diff(self.predicted_cumulative, prepend=0.0)

    @property
    def actual_incremental(self) -> FloatArray:
        return np.diff(self.actual_cumulative, prepend=0.0)


def _distinct_purchases(
    customer: npt.ArrayLike, time: npt.ArrayLike
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    ids = np.asarray(customer).reshape(-1)
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError("customer must be an integer index per transaction")
    when = np.asarray(time, dtype=np.float64).reshape(-1)
    if ids.shape != when.shape:
        raise ValueError("customer and time must have the same length")
    pairs = np.unique(np.column_stack([ids.astype(np.float64), when]), axis=0)
    return pairs[:, 0].astype(np.int64), pairs[:, 1]


def calibration_holdout(
    params: BgNbdParams,
    customer: npt.ArrayLike,
    time: npt.ArrayLike,
    *,
    calibration_end: float,
    holdout_end: float,
    step: float = 1.0,
) -> PurchaseCurve:
    """Predicted against actual repeat purchases in the holdout period, per ``step``.

    The cohort is the customers whose first purchase is by ``calibration_end``; the model's
    prediction for the first ``tau`` periods of the holdout is the sum over them of
    E[Y(tau) | x, t_x, T]; the actual count is their distinct purchase times in
    (calibration_end, calibration_end + tau]. ``time`` is in the model's unit.
    """
    if holdout_end <= calibration_end or step <= 0:
        raise ValueError("holdout_end must be after calibration_end and step positive")
    summary = summarize_transactions(customer, time, calibration_end=calibration_end)
    span = holdout_end - calibration_end
    taus = np.array([min(k * step, span) for k in range(1, math.ceil(span / step - 1e-9) + 1)])
    predicted = np.array(
        [
            float(
                expected_purchases(params, tau, summary.frequency, summary.recency, summary.T).sum()
            )
            for tau in taus
        ]
    )
    ids, when = _distinct_purchases(customer, time)
    later = np.isin(ids, summary.customer) & (when > calibration_end) & (when <= holdout_end)
    offsets = np.sort(when[later] - calibration_end)
    actual = np.searchsorted(offsets, taus + 1e-9 * span, side="right").astype(np.float64)
    return PurchaseCurve(time=taus, predicted_cumulative=predicted, actual_cumulative=actual)


def cohort_tracking(
    params: BgNbdParams,
    customer: npt.ArrayLike,
    time: npt.ArrayLike,
    *,
    times: npt.ArrayLike,
) -> PurchaseCurve:
    """Expected against actual cumulative repeat purchases of a cohort at calendar ``times``.

    Every customer in the log belongs to the cohort from their first purchase; the expected
    count at time t is the sum over customers of E[X(t - first)] (zero before they join).
    Customers who joined at the same time are computed once.
    """
    at = np.asarray(times, dtype=np.float64).reshape(-1)
    ids, when = _distinct_purchases(customer, time)
    heads = np.ones(ids.shape[0], dtype=bool)
    heads[1:] = ids[1:] != ids[:-1]
    firsts, joined = np.unique(when[heads], return_counts=True)
    since = np.clip(at[:, None] - firsts[None, :], 0.0, None)
    expected = expected_purchases_unconditional(params, since)
    predicted = np.asarray(expected @ joined.astype(np.float64), dtype=np.float64)
    repeats = np.sort(when[~heads])
    actual = np.searchsorted(repeats, at, side="right").astype(np.float64)
    return PurchaseCurve(time=at, predicted_cumulative=predicted, actual_cumulative=actual)
