"""The number of purchases an active BG/NBD customer makes in the next ``t`` periods,
kept accurate over the whole parameter space: the Euler-transformed Gauss 2F1 of the
paper's closed form (scipy's ``hyp2f1`` where it is reliable, its series summed directly
where not), an integral over the dropout probability where the series overflows, and the
limit of a dropout probability the same for everyone. ``lifetime.py`` builds the
conditional and unconditional expectations on it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import betaincinv, hyp2f1

FloatArray = npt.NDArray[np.float64]

# At |a - 1| below this the closed form's factor 1 / (a - 1) loses precision; the series
# below has no such factor.
_A_NEAR_ONE = 1e-6
_A_POINT_MASS = 1e3  # a beta(a, b) this tight is its mean, to 1 part in a + b


def _series_expectation(
    t: FloatArray, r: FloatArray, alpha: FloatArray, a: float, b: FloatArray
) -> FloatArray:
    """``_expected_while_active`` by the Gauss series of the Euler-transformed 2F1.

    With z = t / (alpha + t), c = a + b - 1 and L = log(1 - z), the expectation is
    c * [-expm1((a - 1) L) / (a - 1) - exp((a - 1) L) * S] where
    S = sum over n >= 1 of (c - r)_n (a)_(n-1) / ((c)_n n!) z^n. The factor 1 / (a - 1) of
    the closed form has cancelled, so this is exact at a = 1 too. Terms are added until the
    geometric bound on the rest is below the last bit.
    """
    c = a + b - 1.0
    top = c - r
    z = t / (alpha + t)
    log_rest = -np.log1p(t / alpha)
    am1 = a - 1.0
    first = -np.expm1(am1 * log_rest) / am1 if am1 != 0.0 else -log_rest
    term = top / c * z
    total = term.copy()
    active = np.flatnonzero(term != 0.0)
    n = 1
    failed = np.zeros(term.shape, dtype=bool)
    while active.size:
        ratio = (top[active] + n) * (a + n - 1) / ((c[active] + n) * (n + 1)) * z[active]
        with np.errstate(over="ignore", invalid="ignore"):
            term[active] *= ratio
            total[active] += term[active]
        n += 1
        size = np.abs(ratio)
        lost = ~np.isfinite(total[active])  # terms that grow past the floats before they shrink
        failed[active[lost]] = True
        done = lost | (
            (size < 1) & (np.abs(term[active]) * size <= 1e-17 * (1 - size) * np.abs(total[active]))
        )
        active = active[~done]
        if n > 5_000_000:  # z within 1e-6 of 1: a horizon of a million times alpha
            raise ValueError("the horizon is too long for the fitted alpha")
    with np.errstate(invalid="ignore", over="ignore"):
        value = np.asarray(c * (first - np.exp(am1 * log_rest) * total), dtype=np.float64)
    value[failed] = np.nan
    return value


def _quadrature_expectation(
    t: FloatArray, r: FloatArray, alpha: FloatArray, a: float, b: FloatArray, nodes: int = 128
) -> FloatArray:
    """The same expectation by integrating over the dropout probability: given p, an active
    customer with a gamma(r, alpha) rate buys (1 - (alpha / (alpha + p t))^r) / p in the
    next t; p ~ beta(a, b) is integrated by Gauss-Legendre over its quantiles (one quantile
    function per distinct b). For fits where the series overflows (a in the hundreds)."""
    u, w = np.polynomial.legendre.leggauss(nodes)
    u, w = (u + 1) / 2, w / 2
    out = np.empty_like(t)
    for bv in np.unique(b):
        rows = b == bv
        p = np.clip(betaincinv(a, bv, u), 1e-300, 1.0)
        inner = np.log1p(p[None, :] * t[rows, None] / alpha[rows, None])
        f = -np.expm1(-r[rows, None] * inner) / p[None, :]
        out[rows] = f @ w
    return out


def _point_mass_expectation(
    t: FloatArray, r: FloatArray, alpha: FloatArray, p: FloatArray
) -> FloatArray:
    """The expectation when the dropout probability is the same for everyone (the fit's
    beta distribution so narrow, a > ``_A_POINT_MASS``, that it is one value ``p``): with
    a Poisson rate lambda, each purchase followed by leaving with probability p,
    E[X(t) | lambda] = (1 - exp(-lambda p t)) / p, and over lambda ~ gamma(r, alpha),
    E[X(t)] = (1 - (alpha / (alpha + p t))^r) / p. The series and the 2F1 both overflow
    there (their terms grow like a^n before they shrink)."""
    return np.asarray(-np.expm1(-r * np.log1p(p * t / alpha)) / p, dtype=np.float64)


def expected_while_active(
    t: FloatArray, r: FloatArray, alpha: FloatArray, a: float, b: FloatArray
) -> FloatArray:
    """E[purchases in the next t] for a customer active now, whose purchase rate is
    gamma(r, alpha) and whose probability of leaving after a purchase is beta(a, b):

        (a + b - 1) / (a - 1) * [1 - (alpha / (alpha + t))^r 2F1(r, b; a + b - 1; z)],

    z = t / (alpha + t) (eq. 9 of the paper; with r + x, alpha + T and b + x it is the
    numerator of eq. 10). How it is kept accurate:

    * the 2F1 is taken in its Euler transform, (1 - z)^r 2F1(r, b; c; z) =
      (1 - z)^(a - 1) 2F1(c - r, a - 1; c; z) with c = a + b - 1, whose second parameter
      stays small for heavy buyers (b + x large) and whose power of 1 - z does not underflow;
    * for z < 1/2 (horizons shorter than alpha + T) and whenever |a - 1| < 1e-6, the Gauss
      series is summed directly (``_series_expectation``): it converges at least as fast as
      2^-n, and has no 1 / (a - 1) to cancel;
    * elsewhere ``scipy.special.hyp2f1`` is used, and any answer that is not finite or
      breaks the bounds 0 <= E <= r t / alpha (the customer cannot buy faster than while
      never leaving) is recomputed with the series. scipy returns NaN for z near 1 with a
      large third parameter (its 1 - z transformation overflows the gamma function); the
      series converges there too, only more slowly (about 40 / (1 - z) terms).
    """
    out = np.zeros_like(t)
    positive = t > 0
    if not np.any(positive):
        return out
    t, r, alpha, b = t[positive], r[positive], alpha[positive], b[positive]
    if a > _A_POINT_MASS:
        out[positive] = _point_mass_expectation(t, r, alpha, a / (a + b))
        return out
    z = t / (alpha + t)
    series = (z < 0.5) | (abs(a - 1.0) < _A_NEAR_ONE)
    value = np.empty_like(t)
    closed = ~series
    if np.any(closed):
        c = a + b[closed] - 1.0
        with np.errstate(all="ignore"):
            power = np.exp((a - 1.0) * -np.log1p(t[closed] / alpha[closed]))
            f = hyp2f1(c - r[closed], a - 1.0, c, z[closed])
            value[closed] = c / (a - 1.0) * (1.0 - power * f)
        bound = r[closed] * t[closed] / alpha[closed]
        good = np.isfinite(value[closed]) & (value[closed] >= 0) & (value[closed] <= bound)
        redo = np.flatnonzero(closed)[~good]
        series[redo] = True
    if np.any(series):
        value[series] = _series_expectation(t[series], r[series], alpha[series], a, b[series])
    lost = ~np.isfinite(value)
    if np.any(lost):
        value[lost] = _quadrature_expectation(t[lost], r[lost], alpha[lost], a, b[lost])
    out[positive] = value
    return out
