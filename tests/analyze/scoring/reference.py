"""Independent computations of the BG/NBD quantities, for the tests: numerical integration
of the individual-level model over the gamma and beta mixing distributions (no closed
form, no hypergeometric function), and simulation of customers."""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np
from scipy import integrate, special

from accord.analyze.scoring.lifetime import BgNbdParams, FloatArray


def _beta_integral(f: Callable[[float], float], a: float, b: float, scale: float) -> float:
    """The integral over p in (0, 1) of f(p) times the beta(a, b) density, split where the
    integrand changes scale (near 1 / scale and the mean) so the quadrature sees it. The
    end pieces are integrated in u = p^a and v = (1 - p)^b, which removes the singularities
    of the density at 0 and 1."""
    log_b = float(special.betaln(a, b))

    def middle(p: float) -> float:
        return f(p) * math.exp((a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - log_b)

    def near_zero(u: float) -> float:
        if u <= 0.0:
            return 0.0
        p = u ** (1 / a)
        return f(p) * math.exp((b - 1) * math.log1p(-p) - log_b) / a

    def near_one(v: float) -> float:
        if v <= 0.0:
            return 0.0
        q = v ** (1 / b)
        return f(1 - q) * math.exp((a - 1) * math.log1p(-q) - log_b) / b

    cuts = sorted({min(0.5, 1 / scale), min(0.5, a / (a + b)), min(0.5, 10 / b), 0.5})
    cuts = [c for c in cuts if 0 < c < 1]
    options = {"epsabs": 0, "epsrel": 1e-12, "limit": 500}
    total = integrate.quad(near_zero, 0, cuts[0] ** a, **options)[0]
    for lo, hi in itertools.pairwise(cuts):
        total += integrate.quad(middle, lo, hi, **options)[0]
    total += integrate.quad(near_one, 0, (1 - cuts[-1]) ** b, **options)[0]
    return float(total)


def expected_while_active(t: float, r: float, alpha: float, a: float, b: float) -> float:
    """E[purchases in t] of an active customer: the expectation over p ~ beta(a, b) of
    (1 - (alpha / (alpha + p t)) ** r) / p, which is what the gamma(r, alpha) mixture of
    the individual (1 - exp(-lambda p t)) / p gives."""

    def f(p: float) -> float:
        return -math.expm1(-r * math.log1p(p * t / alpha)) / p

    return _beta_integral(f, a, b, t / alpha)


def posterior(
    params: BgNbdParams, x: float, t_x: float, big_t: float, t: float
) -> tuple[float, float]:
    """(P(alive), E[Y(t) | x, t_x, T]) by integrating the individual-level likelihood
    (Fader, Hardie & Lee 2005, eq. 3) over lambda and p numerically."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    # Work with lambda in units of the posterior scale, so the inner integral is well placed.
    scale = (r + x) / (alpha + t_x)
    log_norm = float(special.gammaln(r) - r * math.log(alpha) + special.betaln(a, b))

    def density(lam: float, p: float) -> float:
        return math.exp(
            (r - 1) * math.log(lam)
            - alpha * lam
            + (a - 1) * math.log(p)
            + (b - 1) * math.log1p(-p)
            - log_norm
        )

    def alive(lam: float, p: float) -> float:
        return float((1 - p) ** x * lam**x * math.exp(-lam * big_t))

    def left(lam: float, p: float) -> float:
        if x == 0:
            return 0.0
        return float(p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * t_x))

    def integral(h: Callable[[float, float], float]) -> float:
        def inner(p: float) -> float:
            return float(
                integrate.quad(
                    lambda u: h(u * scale, p) * density(u * scale, p) * scale,
                    0,
                    np.inf,
                    epsabs=0,
                    epsrel=1e-11,
                    limit=300,
                )[0]
            )

        cuts = [0.0, 1e-6, 1e-3, 0.05, 0.5, 1.0]
        return math.fsum(
            integrate.quad(inner, lo, hi, epsabs=0, epsrel=1e-10, limit=300)[0]
            for lo, hi in itertools.pairwise(cuts)
        )

    total = integral(lambda lam, p: alive(lam, p) + left(lam, p))
    p_alive = integral(alive) / total
    future = integral(lambda lam, p: alive(lam, p) * -math.expm1(-lam * p * t) / p) / total
    return p_alive, future


def simulate_bgnbd(
    params: BgNbdParams, big_t: FloatArray, rng: np.random.Generator, holdout: float = 0.0
) -> dict[str, FloatArray]:
    """Customers drawn from the BG/NBD: each with a first purchase at 0, observed until
    ``big_t`` and then for ``holdout`` more. Returns frequency, recency, T, whether each is
    still active at T, and the number of purchases in the holdout."""
    n = big_t.shape[0]
    lam = np.asarray(rng.gamma(params.r, 1 / params.alpha, size=n), dtype=np.float64)
    p = np.asarray(rng.beta(params.a, params.b, size=n), dtype=np.float64)
    now = np.zeros(n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    later = np.zeros(n)
    alive = np.ones(n, dtype=bool)
    active_at_t = np.ones(n, dtype=bool)
    end = big_t + holdout
    going = np.ones(n, dtype=bool)
    while going.any():
        idx = np.flatnonzero(going)
        now[idx] += rng.exponential(1 / lam[idx])
        bought = now[idx] <= end[idx]
        stop = idx[~bought]
        going[stop] = False
        buy = idx[bought]
        in_calibration = now[buy] <= big_t[buy]
        cal = buy[in_calibration]
        x[cal] += 1
        t_x[cal] = now[cal]
        later[buy[~in_calibration]] += 1
        died = buy[rng.random(buy.size) < p[buy]]
        alive[died] = False
        going[died] = False
        active_at_t[died[now[died] <= big_t[died]]] = False
    return {
        "frequency": x,
        "recency": t_x,
        "T": big_t.astype(np.float64),
        "active": active_at_t.astype(np.float64),
        "holdout": later,
    }


def numerical_hessian(f: Callable[[FloatArray], float], theta: FloatArray) -> FloatArray:
    """Central-difference Hessian of ``f`` at ``theta``."""
    k = theta.shape[0]
    h = 1e-4
    out = np.zeros((k, k))
    for i in range(k):
        for j in range(k):
            e_i = np.eye(k)[i] * h
            e_j = np.eye(k)[j] * h
            out[i, j] = (
                f(theta + e_i + e_j)
                - f(theta + e_i - e_j)
                - f(theta - e_i + e_j)
                + f(theta - e_i - e_j)
            ) / (4 * h * h)
    return out
