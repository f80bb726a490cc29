"""The dashboards' figures, computed once per recompute from the scores in memory and kept
in the run's metrics, so a dashboard reads one row instead of every person's scores:
the people, revenue and average lifetime value of each RFM group, a sample of lifetime
values for their spread, the valuable-against-costly matrix (median splits, quadrant
counts, the customers to plot) and the customers to win back first."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from accord.analyze.scoring.pipeline import Scores

QUADRANTS = (
    "valuable and cheap",
    "valuable and costly",
    "less valuable and cheap",
    "less valuable and costly",
)
SPREAD = 20_000  # lifetime values kept for the histogram, at most
PLOTTED = 500  # customers on the matrix, at most
WIN_BACK = 100  # customers to win back first, kept


def groups(group: list[str | None], revenue: np.ndarray, clv: np.ndarray) -> dict[str, Any]:
    out: dict[str, dict[str, float]] = {}
    sums: dict[str, list[float]] = {}
    for g, rev, value in zip(group, revenue, clv, strict=True):
        if g is None:
            continue
        entry = out.setdefault(g, {"people": 0, "revenue": 0.0})
        entry["people"] += 1
        entry["revenue"] += float(rev)
        if not np.isnan(value):
            sums.setdefault(g, [0.0, 0.0])
            sums[g][0] += float(value)
            sums[g][1] += 1
    for g, (total, n) in sums.items():
        out[g]["average_clv"] = total / n if n else 0.0
    return out


def spread(clv: np.ndarray) -> dict[str, Any]:
    """Every lifetime value up to ``SPREAD`` customers, beyond that every k-th in order of
    value (the shape of the spread is kept); ``step`` is k."""
    values = np.sort(clv[~np.isnan(clv)])
    step = max(1, -(-values.size // SPREAD))
    return {"values": [round(float(v), 2) for v in values[::step]], "step": int(step)}


def matrix(
    ids: list[uuid.UUID], customer: np.ndarray, revenue: np.ndarray, cost: np.ndarray
) -> dict[str, Any]:
    """Net revenue against cost to serve: the median revenue of customers and the median
    cost of the customers served (the upper middle value of an even count), how many
    customers each quadrant holds, and the ``PLOTTED`` most valuable and most costly
    customers (the plot takes half of what it shows from each)."""
    idx = np.flatnonzero(customer)
    out: dict[str, Any] = {
        "customers": int(idx.size),
        "revenue_split": None,
        "cost_split": None,
        "counts": dict.fromkeys(QUADRANTS, 0),
        "by_revenue": [],
        "by_cost": [],
    }
    served = idx[cost[idx] > 0]
    if not idx.size or not served.size:
        return out
    rev, cst = revenue[idx], cost[idx]
    revenue_split = float(np.sort(rev)[rev.size // 2])
    cost_split = float(np.sort(cost[served])[served.size // 2])
    valuable, costly = rev >= revenue_split, cst >= cost_split
    tests = (valuable & ~costly, valuable & costly, ~valuable & ~costly, ~valuable & costly)
    names = np.array([str(ids[i]) for i in idx])  # ties go to the lower id

    def top(key: np.ndarray) -> list[dict[str, Any]]:
        order = np.lexsort((names, -key))[:PLOTTED]
        return [
            {"profile_id": names[j], "revenue": float(rev[j]), "cost": float(cst[j])} for j in order
        ]

    out.update(
        revenue_split=revenue_split,
        cost_split=cost_split,
        counts={name: int(t.sum()) for name, t in zip(QUADRANTS, tests, strict=True)},
        by_revenue=top(rev),
        by_cost=top(cst),
    )
    return out


def win_back(
    ids: list[uuid.UUID], risk: np.ndarray, revenue: np.ndarray, alive: np.ndarray
) -> list[str]:
    """The customers worth winning back first: likely to leave (risk at least 50%) but
    not yet gone (probability still a customer at least 10%, or no lifetime model), by
    the revenue at stake (risk times what they have spent)."""
    with np.errstate(invalid="ignore"):
        eligible = (risk >= 0.5) & (np.isnan(alive) | (alive >= 0.1))
    idx = np.flatnonzero(eligible)
    stake = risk[idx] * revenue[idx]
    order = np.lexsort((-risk[idx], -stake))[:WIN_BACK]
    return [str(ids[int(idx[j])]) for j in order]


def dashboards(ids: list[uuid.UUID], s: Scores, scored: np.ndarray) -> dict[str, Any]:
    """Every figure above, over the people who are scored (``scored``: not those who
    refused profiling)."""
    revenue = np.maximum(s.monetary, 0.0)
    customer = (s.frequency > 0) & scored
    group = [g if keep else None for g, keep in zip(s.group, scored, strict=True)]
    risk = np.where(scored, s.churn_risk, np.nan)
    return {
        "groups": groups(group, revenue, s.clv),
        "lifetime_values": spread(s.clv[scored]),
        "matrix": matrix(ids, customer, s.monetary.astype(float), s.service_cost),
        "win_back": win_back(ids, risk, revenue, s.p_alive),
    }
