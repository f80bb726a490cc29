"""Customer lifetime models: how many more purchases a customer will make, and of what value.

Two models from Fader, Hardie & Lee, fitted by maximum likelihood:

* **BG/NBD** ("Counting your customers the easy way", Marketing Science 24(2), 2005). While
  active, a customer buys at random (Poisson) with a rate ``lambda`` that differs between
  customers as a gamma(``r``, ``alpha``); after each purchase they leave for good with a
  probability ``p`` that differs between customers as a beta(``a``, ``b``). A customer's
  history reduces to three numbers: ``frequency`` ``x`` (repeat purchases), ``recency``
  ``t_x`` (time of the last purchase, counted from the first) and ``T`` (time from the first
  purchase to the end of the observation). ``alpha`` has the unit of time of the data:
  ``r / alpha`` is the mean purchase rate per period of an active customer.
* **Gamma-Gamma** ("RFM and CLV: using iso-value curves", Journal of Marketing Research
  42(4), 2005; Fader & Hardie, "The gamma-gamma model of monetary value", 2013). The value
  of a customer's transactions varies around their own mean, and that mean varies between
  customers; ``p``, ``q`` and ``v`` (the paper's gamma) shape both. It assumes spend is
  independent of how often a customer buys.

Every function takes numpy arrays, one row per customer (or per group of identical
customers, through ``weights``), and returns arrays. Time is in whatever unit the caller
chose (days, weeks) as long as it is the same everywhere; the CDNOW test uses weeks.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize
from scipy.special import betaln, digamma, expit, gammaln

from accord.analyze.scoring.expectation import expected_while_active

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Log-parameters are kept within these bounds while fitting (a parameter of e^15 or e^-15
# means the data cannot identify it).
_LOG_BOUND = 15.0


@dataclass(frozen=True)
class BgNbdParams:
    """Fitted BG/NBD parameters.

    ``r`` and ``alpha``: shape and rate of the gamma distribution of purchase rates, so an
    active customer makes on average ``r / alpha`` purchases per period. ``a`` and ``b``:
    the beta distribution of the probability of leaving after a purchase, on average
    ``a / (a + b)``. ``log_likelihood``: of the data the fit saw, in the caller's units.
    """

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BgNbdParams:
        return cls(**{k: float(data[k]) for k in ("r", "alpha", "a", "b", "log_likelihood")})


@dataclass(frozen=True)
class GammaGammaParams:
    """Fitted Gamma-Gamma parameters.

    A customer's transactions are gamma(``p``, ``nu``), so their mean value is ``p / nu``;
    ``nu`` varies between customers as a gamma(``q``, ``v``). The mean transaction value of
    the population is ``p * v / (q - 1)`` (defined when ``q > 1``), in the currency of the
    data. ``log_likelihood``: of the customers the fit saw.
    """

    p: float
    q: float
    v: float
    log_likelihood: float

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GammaGammaParams:
        return cls(**{k: float(data[k]) for k in ("p", "q", "v", "log_likelihood")})


@dataclass(frozen=True)
class CustomerSummary:
    """The per-customer summary of a transaction log at a calibration end.

    ``customer``: the customer indices, ascending; for each of them ``first`` (time of the
    first purchase), ``frequency`` (repeat purchases), ``recency`` (last purchase minus
    first), ``T`` (calibration end minus first) and ``monetary`` (mean value of the repeat
    purchases, 0 without any).
    """

    customer: IntArray
    first: FloatArray
    frequency: FloatArray
    recency: FloatArray
    T: FloatArray
    monetary: FloatArray


def _floats(values: npt.ArrayLike, name: str) -> FloatArray:
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1:
        array = array.reshape(-1)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} has values that are not finite")
    return array


def _rfm(
    frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The three history arrays as floats, checked."""
    x = _floats(frequency, "frequency")
    t_x = _floats(recency, "recency")
    big_t = _floats(T, "T")
    _check_rfm(x, t_x, big_t)
    return x, t_x, big_t


def _check_rfm(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    if not (x.shape == t_x.shape == T.shape):
        raise ValueError("frequency, recency and T must have the same length")
    if np.any(x < 0) or np.any(x != np.round(x)):
        raise ValueError("frequency must be a whole number of repeat purchases, at least 0")
    if np.any(t_x < 0) or np.any(t_x > T * (1 + 1e-12) + 1e-12):
        raise ValueError("recency must lie between 0 and T")
    if np.any((x == 0) & (t_x > 0)):
        raise ValueError("recency must be 0 for customers without a repeat purchase")


def _compress(columns: list[FloatArray], weights: npt.ArrayLike | None) -> tuple[FloatArray, ...]:
    """Identical rows merged into one with their summed weight: the likelihood is a sum of
    per-row terms, so a million customers become a few thousand unique rows."""
    n = columns[0].shape[0]
    w = np.ones(n) if weights is None else _floats(weights, "weights")
    if w.shape[0] != n or np.any(w < 0):
        raise ValueError("weights must be one non-negative count per row")
    stacked = np.column_stack(columns)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    counts = np.bincount(inverse.reshape(-1), weights=w, minlength=unique.shape[0])
    keep = counts > 0
    return (*(unique[keep, i].copy() for i in range(len(columns))), counts[keep])


def _bgnbd_terms(
    log_params: FloatArray, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-row log-likelihood (Fader, Hardie & Lee 2005, eq. 6) and its gradient with
    respect to the log-parameters (one column per parameter)."""
    r, alpha, a, b = np.exp(log_params)
    buyer = x > 0
    log_alive = -(r + x) * np.log(alpha + T)
    # The second term exists only for repeat buyers (they may have left after the last
    # purchase); b + x - 1 >= b > 0 for them.
    bx1 = np.where(buyer, b + x - 1, 1.0)
    log_left = np.where(buyer, np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + t_x), -np.inf)
    mix = np.logaddexp(log_alive, log_left)
    ll = gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b) + mix
    s_alive = np.exp(log_alive - mix)
    s_left = np.exp(log_left - mix)
    d_r = (
        digamma(r + x)
        - digamma(r)
        + np.log(alpha)
        - s_alive * np.log(alpha + T)
        - s_left * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - s_alive * (r + x) / (alpha + T) - s_left * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + s_left / a
    d_b = digamma(b + x) - digamma(a + b + x) - digamma(b) + digamma(a + b) - s_left / bx1
    grad = np.column_stack([d_r * r, d_alpha * alpha, d_a * a, d_b * b])
    return ll, grad


def _maximise(
    terms: Any, start: FloatArray, weights: FloatArray, args: tuple[FloatArray, ...]
) -> FloatArray:
    """Maximise the weighted mean log-likelihood over log-parameters (L-BFGS-B with the
    analytic gradient, restarted from its own answer until it stops moving)."""
    total = float(weights.sum())

    def objective(theta: FloatArray) -> tuple[float, FloatArray]:
        ll, grad = terms(theta, *args)
        return -float(weights @ ll) / total, -(weights @ grad) / total

    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * start.shape[0]
    theta = start
    for _ in range(5):
        result = minimize(
            objective,
            theta,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10},
        )
        moved = float(np.max(np.abs(result.x - theta)))
        theta = result.x
        if moved < 1e-8:
            break
    if not np.all(np.isfinite(theta)):
        raise ValueError("the likelihood could not be maximised")
    return np.asarray(theta, dtype=np.float64)


def fit_bgnbd(
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> BgNbdParams:
    """Fit the BG/NBD model by maximum likelihood.

    ``frequency``: repeat purchases in the calibration period; ``recency``: time of the last
    purchase minus the first (0 without repeat purchases); ``T``: calibration end minus the
    first purchase; ``weights``: optional count of customers sharing each row. Time may be
    in any unit; ``alpha`` comes back in that unit. Internally time is rescaled so that the
    mean ``T`` is 1, which makes the fit equally well conditioned in days or in weeks.
    """
    x, t_x, big_t = _rfm(frequency, recency, T)
    x, t_x, big_t, w = _compress([x, t_x, big_t], weights)
    if w.sum() <= 0:
        raise ValueError("no customers to fit")
    scale = float(np.average(big_t, weights=w)) or 1.0
    start = np.log(np.array([1.0, 1.0, 1.0, 1.0]))
    theta = _maximise(_bgnbd_terms, start, w, (x, t_x / scale, big_t / scale))
    r, alpha, a, b = np.exp(theta)
    alpha *= scale
    ll, _ = _bgnbd_terms(np.log(np.array([r, alpha, a, b])), x, t_x, big_t)
    return BgNbdParams(float(r), float(alpha), float(a), float(b), float(w @ ll))


def bgnbd_log_likelihood(
    params: BgNbdParams, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """The log-likelihood of each customer's (frequency, recency, T) under ``params``."""
    x, t_x, big_t = _rfm(frequency, recency, T)
    theta = np.log(np.array([params.r, params.alpha, params.a, params.b]))
    return _bgnbd_terms(theta, x, t_x, big_t)[0]


def probability_alive(
    params: BgNbdParams, frequency: npt.ArrayLike, recency: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """The probability that each customer is still active at the end of their observation.

    1 for customers without a repeat purchase (in the BG/NBD a customer can only leave
    right after a purchase); otherwise the share of the likelihood in which the customer is
    still active: ``1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))``,
    computed on the log scale.
    """
    x, t_x, big_t = _rfm(frequency, recency, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    buyer = x > 0
    bx1 = np.where(buyer, b + x - 1, 1.0)
    log_odds_left = (
        np.log(a) - np.log(bx1) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
    )
    return np.where(buyer, expit(-log_odds_left), 1.0)


def expected_purchases_unconditional(params: BgNbdParams, t: npt.ArrayLike) -> FloatArray:
    """E[X(t)]: the expected number of repeat purchases of a new customer in the ``t``
    periods after their first purchase (eq. 9). ``t`` may be a scalar or an array."""
    times = np.asarray(t, dtype=np.float64)
    flat = times.reshape(-1)
    if np.any(flat < 0) or not np.all(np.isfinite(flat)):
        raise ValueError("t must be finite and not negative")
    ones = np.ones_like(flat)
    value = expected_while_active(
        flat, params.r * ones, params.alpha * ones, params.a, params.b * ones
    )
    return value.reshape(times.shape)


def expected_purchases(
    params: BgNbdParams,
    t: float | npt.ArrayLike,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: the expected number of purchases each customer makes in the
    ``t`` periods after the end of their observation (eq. 10): the probability they are
    still active times what an active customer with their history buys in ``t``."""
    x, t_x, big_t = _rfm(frequency, recency, T)
    horizon = np.broadcast_to(np.asarray(t, dtype=np.float64), x.shape).astype(np.float64)
    if np.any(horizon < 0) or not np.all(np.isfinite(horizon)):
        raise ValueError("t must be finite and not negative")
    active = expected_while_active(
        horizon, params.r + x, params.alpha + big_t, params.a, params.b + x
    )
    return active * probability_alive(params, x, t_x, big_t)


def _gamma_gamma_terms(
    log_params: FloatArray, x: FloatArray, m: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Per-customer log-likelihood of the mean spend ``m`` over ``x`` transactions, and its
    gradient with respect to the log-parameters."""
    p, q, v = np.exp(log_params)
    px = p * x
    log_vxm = np.log(v + x * m)
    ll = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(v)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * log_vxm
    )
    d_p = x * (digamma(px + q) - digamma(px) + np.log(m) + np.log(x) - log_vxm)
    d_q = digamma(px + q) - digamma(q) + np.log(v) - log_vxm
    d_v = q / v - (px + q) / (v + x * m)
    return ll, np.column_stack([d_p * p, d_q * q, d_v * v])


def fit_gamma_gamma(
    frequency: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> GammaGammaParams:
    """Fit the Gamma-Gamma spend model by maximum likelihood.

    ``frequency``: the number of transactions whose values were averaged (the repeat
    purchases, as in the paper); ``monetary_value``: their mean value. Only customers with
    ``frequency > 0`` and a positive mean value are used (the model is for positive
    amounts); the rest are ignored. The likelihood is that of eq. 4 of Fader & Hardie's
    2013 note: f(m | p, q, v, x) = Gamma(px + q) / (Gamma(px) Gamma(q)) v^q m^(px - 1)
    x^(px) / (v + x m)^(px + q).
    """
    x = _floats(frequency, "frequency")
    m = _floats(monetary_value, "monetary_value")
    if x.shape != m.shape:
        raise ValueError("frequency and monetary_value must have the same length")
    w_all = np.ones_like(x) if weights is None else _floats(weights, "weights")
    use = (x > 0) & (m > 0)
    if not np.any(use):
        raise ValueError("no customers with repeat purchases of positive value")
    x, m, w = _compress([x[use], m[use]], w_all[use])
    scale = float(np.average(m, weights=w))
    start = np.log(np.array([1.0, 1.0, 1.0]))
    theta = _maximise(_gamma_gamma_terms, start, w, (x, m / scale))
    p, q, v = np.exp(theta)
    v *= scale
    ll, _ = _gamma_gamma_terms(np.log(np.array([p, q, v])), x, m)
    return GammaGammaParams(float(p), float(q), float(v), float(w @ ll))


def expected_average_value(
    params: GammaGammaParams, frequency: npt.ArrayLike, monetary_value: npt.ArrayLike
) -> FloatArray:
    """E[M | x, m]: each customer's expected value per transaction, a weighted average of
    the population mean ``p v / (q - 1)`` and their own mean ``m``, the weight of their own
    mean growing with the number of transactions ``x``: ``p (v + x m) / (p x + q - 1)``.
    Customers with ``x = 0`` get the population mean."""
    if params.q <= 1:
        raise ValueError("the population mean spend is undefined when q <= 1")
    x = _floats(frequency, "frequency")
    m = _floats(monetary_value, "monetary_value")
    m = np.where(x > 0, m, 0.0)
    return np.asarray(
        params.p * (params.v + x * m) / (params.p * x + params.q - 1), dtype=np.float64
    )


def lifetime_value(
    bg: BgNbdParams,
    gg: GammaGammaParams,
    frequency: npt.ArrayLike,
    recency: npt.ArrayLike,
    T: npt.ArrayLike,
    monetary_value: npt.ArrayLike,
    *,
    horizon: float,
    discount_rate: float,
    step: float = 1.0,
) -> FloatArray:
    """The discounted expected value of each customer's purchases over the next ``horizon``.

    Units: ``horizon`` and ``step`` are in the time unit of the data (the periods of
    ``recency`` and ``T``); ``discount_rate`` is the rate per one such period (for weekly
    data and 10% a year, ``1.10 ** (1 / 52) - 1``). The horizon is cut into steps of
    ``step`` periods (the last one shorter if needed); the expected purchases of each step,
    E[Y(t_k)] - E[Y(t_k-1)], are valued at the expected value per transaction and
    discounted by ``(1 + discount_rate) ** -t_k``, at the end of the step. The result is in
    the currency of ``monetary_value``.
    """
    if horizon < 0 or step <= 0 or discount_rate <= -1:
        raise ValueError("horizon must be >= 0, step > 0 and discount_rate > -1")
    x, t_x, big_t = _rfm(frequency, recency, T)
    value = expected_average_value(gg, x, monetary_value)
    # Customers with the same history have the same expected purchases: compute each
    # history once.
    unique, inverse = np.unique(np.column_stack([x, t_x, big_t]), axis=0, return_inverse=True)
    ux, ut_x, ubig_t = (np.ascontiguousarray(unique[:, i]) for i in range(3))
    steps = math.ceil(horizon / step - 1e-9)
    total = np.zeros_like(ux)
    previous = np.zeros_like(ux)
    for k in range(1, steps + 1):
        t_k = min(k * step, horizon)
        cumulative = expected_purchases(bg, t_k, ux, ut_x, ubig_t)
        total += (cumulative - previous) * (1 + discount_rate) ** -t_k
        previous = cumulative
    return np.asarray(total[inverse.reshape(-1)] * value, dtype=np.float64)


def summarize_transactions(
    customer: npt.ArrayLike,
    time: npt.ArrayLike,
    value: npt.ArrayLike | None = None,
    *,
    calibration_end: float,
) -> CustomerSummary:
    """Summarise a transaction log into the inputs of the models.

    ``customer``: an integer index per transaction; ``time``: when it happened, in the unit
    of the model (for weeks measured by the day, pass ``day / 7``); ``value``: its amount
    (optional). Transactions at the same time count once, their values summed, as in the
    paper where purchases on the same day are one purchase: pass times already rounded to
    the granularity at which that should happen. Only transactions up to and including
    ``calibration_end`` count, and only customers whose first purchase is by then appear.

    frequency = distinct purchase times - 1; recency = last - first; T = calibration_end -
    first; monetary = mean value of the repeat purchases (the first excluded), 0 without any.
    """
    ids = np.asarray(customer).reshape(-1)
    if ids.size and not np.issubdtype(ids.dtype, np.integer):
        raise ValueError("customer must be an integer index per transaction")
    when = _floats(time, "time")
    amount = np.zeros_like(when) if value is None else _floats(value, "value")
    if not (ids.shape == when.shape == amount.shape):
        raise ValueError("customer, time and value must have the same length")
    keep = when <= calibration_end
    ids, when, amount = ids[keep].astype(np.int64), when[keep], amount[keep]
    # One row per (customer, time), values summed.
    order = np.lexsort((when, ids))
    ids, when, amount = ids[order], when[order], amount[order]
    new = np.ones(ids.shape[0], dtype=bool)
    new[1:] = (ids[1:] != ids[:-1]) | (when[1:] != when[:-1])
    starts = np.flatnonzero(new)
    ids, when = ids[starts], when[starts]
    amount = np.add.reduceat(amount, starts) if starts.size else amount[:0]
    # Per customer: first row, count, last time, sum of repeat values.
    first_row = np.ones(ids.shape[0], dtype=bool)
    first_row[1:] = ids[1:] != ids[:-1]
    heads = np.flatnonzero(first_row)
    counts = np.diff(np.append(heads, ids.shape[0]))
    first = when[heads]
    last = when[heads + counts - 1]
    repeat_sum = (np.add.reduceat(amount, heads) if heads.size else amount[:0]) - amount[heads]
    frequency = (counts - 1).astype(np.float64)
    monetary = np.divide(repeat_sum, frequency, out=np.zeros_like(repeat_sum), where=frequency > 0)
    return CustomerSummary(
        customer=ids[heads],
        first=first,
        frequency=frequency,
        recency=last - first,
        T=calibration_end - first,
        monetary=monetary,
    )
