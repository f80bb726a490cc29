"""From features to scores: RFM, lifetime value, churn risk, personas and relationship
value for every person of a workspace, and how well each model predicted on data it did
not see. Pure computation over a ``Frame``; reading and writing are the service's.

Time splits (``h`` = ``Options.churn_days``, cutoffs ``now - 2h``, ``now - h``, ``now``):

- **Lifetime value** is fitted on everything before ``now``. Its check is a second fit on
  what came before ``now - h``, whose predicted repeat purchases for those customers over
  the next ``h`` days are set beside what they actually bought (week by week, by the
  service, from the orders).
- **Churn**: a customer has churned over a period when they placed no order in it. The
  model trained on the customers at ``now - 2h`` (labelled by ``now - h``) is evaluated on
  the customers at ``now - h`` (labelled by ``now``): the holdout AUC, beside recency
  alone. The model that scores people today is trained on that later period."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from accord.analyze.scoring import rfm
from accord.analyze.scoring.features import Frame

if TYPE_CHECKING:
    from accord.analyze.scoring import churn, personas

WEEK = 7.0
Actual = list[float] | Callable[[], list[float] | None]
MIN_CUSTOMERS = 50  # below this, a model is not fitted (and says so)


@dataclass(frozen=True)
class Options:
    horizon_days: int = 365  # lifetime value over the next year
    churn_days: int = 90  # no order in 90 days: churned
    annual_discount: float = 0.10
    recent_days: int = 90

    @property
    def weekly_discount(self) -> float:
        return float((1 + self.annual_discount) ** (WEEK / 365.0) - 1)


@dataclass(frozen=True)
class Acquired:
    """Each person's first-touch campaign (aligned with the frame's ids; None for none)
    and each campaign's cost: a campaign's cost is shared among the customers it
    acquired, their acquisition cost."""

    campaign: list[str | None] = field(default_factory=list)
    cost: dict[str, float] = field(default_factory=dict)

    def per_person(self, customer: np.ndarray) -> np.ndarray:
        out = np.zeros(len(customer))
        if not self.cost or not self.campaign:
            return out
        counts: dict[str, int] = {}
        for c, bought in zip(self.campaign, customer, strict=True):
            if c is not None and bought:
                counts[c] = counts.get(c, 0) + 1
        for i, (c, bought) in enumerate(zip(self.campaign, customer, strict=True)):
            if c is not None and bought and c in self.cost:
                out[i] = self.cost[c] / counts[c]
        return out


@dataclass
class Scores:
    """Per person (aligned with the frame's ids); ``nan`` where a score does not apply."""

    recency_days: np.ndarray
    frequency: np.ndarray
    monetary: np.ndarray
    first_order: np.ndarray
    last_order: np.ndarray
    r: np.ndarray
    f: np.ndarray
    m: np.ndarray
    group: list[str | None]
    expected_purchases: np.ndarray
    p_alive: np.ndarray
    expected_value: np.ndarray
    clv: np.ndarray
    churn_risk: np.ndarray
    churn_factors: list[list[dict[str, Any]]]
    persona: np.ndarray
    persona_name: list[str | None]
    conversations: np.ndarray
    service_cost: np.ndarray
    acquisition_cost: np.ndarray
    relationship_value: np.ndarray
    models: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)


CHURN_FEATURES: dict[str, tuple[str, str]] = {
    "recency_days": ("days since the last order", "days"),
    "tenure_days": ("days since the first order", "days"),
    "orders": ("orders", "orders"),
    "purchase_days": ("days with an order", "days"),
    "revenue": ("net revenue", "money"),
    "average_order": ("average order value", "money"),
    "refunds": ("orders refunded", "orders"),
    "order_channels": ("channels bought on", "channels"),
    "events_recent": ("touchpoints in the last 90 days", "events"),
    "days_since_seen": ("days since last seen", "days"),
    "conversations": ("conversations with service", "conversations"),
    "conversations_recent": ("conversations in the last 90 days", "conversations"),
    "low_csat": ("low satisfaction ratings", "ratings"),
    "reopened": ("conversations reopened", "conversations"),
}
LOGGED = frozenset(CHURN_FEATURES) - {"order_channels"}
PERSONA_FEATURES: dict[str, tuple[str, str]] = {
    "orders": ("orders", "orders"),
    "average_order": ("average order value", "money"),
    "recency_days": ("days since the last order", "days"),
    "events_recent": ("touchpoints in the last 90 days", "events"),
    "conversations": ("conversations with service", "conversations"),
    "order_channels": ("channels bought on", "channels"),
}


def churn_matrix(frame: Frame, k: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """The churn features of everyone at cutoff ``k`` and who was a customer then."""
    day = frame.cutoff_day(k)
    orders = frame.at("orders", k)
    revenue = frame.at("revenue", k)
    last = frame.at("last_order", k)
    first = frame.at("first_order", k)
    seen = frame.at("last_event", k)
    customer = orders > 0
    big = 3650.0  # never seen in the lookback: as good as ten years ago
    columns = {
        "recency_days": np.where(customer, day - last, big),
        "tenure_days": np.where(customer, day - first, 0.0),
        "orders": orders,
        "purchase_days": frame.at("days", k),
        "revenue": np.maximum(revenue, 0.0),
        "average_order": np.where(customer, np.maximum(revenue, 0.0) / np.maximum(orders, 1), 0.0),
        "refunds": frame.at("refunds", k),
        "order_channels": frame.at("order_channels", k),
        "events_recent": frame.at("events_recent", k),
        "days_since_seen": np.where(np.isnan(seen), big, day - seen),
    }
    for name in ("conversations", "conversations_recent", "low_csat", "reopened"):
        columns[name] = frame.at(name, k) if name in frame.data else np.zeros(len(frame))
    names = list(CHURN_FEATURES)
    x = (
        np.column_stack([np.nan_to_num(columns[n], nan=0.0) for n in names])
        if len(frame)
        else (np.empty((0, len(names))))
    )
    return x, customer, names


def compute(
    frame: Frame,
    options: Options,
    costs: dict[str, float],
    holdout_actual: Actual | None = None,
    acquired: Acquired | None = None,
) -> Scores:
    """Every score of every person of ``frame`` (cutoffs ``now - 2h``, ``now - h``,
    ``now``). ``holdout_actual``: the customers' actual cumulative repeat purchases week
    by week after ``now - h`` (for the lifetime-value check), or a callable that gives
    them once the predictions are made (they may still be being counted meanwhile)."""
    # The model libraries (SciPy, scikit-learn) load with the first computation, not
    # with every process that imports the scoring package.
    from accord.analyze.scoring import lifetime, personas

    n = len(frame)
    now = frame.cutoff_day(2)
    orders = frame.at("orders", 2)
    customer = orders > 0
    revenue = frame.at("revenue", 2)
    first = frame.at("first_order", 2)
    last = frame.at("last_order", 2)
    recency = np.where(customer, np.floor(now - last), np.nan)
    metrics: dict[str, Any] = {"customers": int(customer.sum()), "people": n}
    models: dict[str, Any] = {}

    # RFM -------------------------------------------------------------------------------
    r = np.zeros(n, dtype=np.int16)
    f = np.zeros(n, dtype=np.int16)
    m = np.zeros(n, dtype=np.int16)
    group: list[str | None] = [None] * n
    if customer.any():
        idx = np.flatnonzero(customer)
        r[idx] = rfm.quintile_scores(recency[idx], higher_is_better=False)
        f[idx] = rfm.quintile_scores(orders[idx])
        m[idx] = rfm.quintile_scores(revenue[idx])
        groups = rfm.rfm_group(r[idx], f[idx], m[idx])
        for i, g in zip(idx, groups, strict=True):
            group[i] = str(g)
    metrics["rfm"] = _rfm_grid(customer, r, f)

    # Lifetime value ----------------------------------------------------------------------
    expected = np.full(n, np.nan)
    alive = np.full(n, np.nan)
    value = np.full(n, np.nan)
    clv = np.full(n, np.nan)
    x, t_x, big_t = _bgnbd_inputs(frame, 2)
    if int(customer.sum()) >= MIN_CUSTOMERS:
        idx = np.flatnonzero(customer)
        bg = lifetime.fit_bgnbd(x[idx], t_x[idx], big_t[idx])
        weeks = options.horizon_days / WEEK
        expected[idx] = lifetime.expected_purchases(bg, weeks, x[idx], t_x[idx], big_t[idx])
        alive[idx] = lifetime.probability_alive(bg, x[idx], t_x[idx], big_t[idx])
        mean_value = np.maximum(revenue[idx], 0.0) / np.maximum(orders[idx], 1)
        repeat = x[idx] > 0
        models["bgnbd"] = bg.to_dict()
        if int(repeat.sum()) >= MIN_CUSTOMERS and np.all(mean_value[repeat] > 0):
            gg = lifetime.fit_gamma_gamma(x[idx][repeat], mean_value[repeat])
            models["gamma_gamma"] = gg.to_dict()
            value[idx] = lifetime.expected_average_value(gg, x[idx], np.maximum(mean_value, 0.01))
            clv[idx] = lifetime.lifetime_value(
                bg,
                gg,
                x[idx],
                t_x[idx],
                big_t[idx],
                np.maximum(mean_value, 0.01),
                horizon=weeks,
                discount_rate=options.weekly_discount,
            )
        else:
            value[idx] = mean_value
            clv[idx] = expected[idx] * mean_value
        metrics["lifetime"] = _holdout(frame, options, holdout_actual)
    else:
        metrics["lifetime"] = {"skipped": f"fewer than {MIN_CUSTOMERS} customers"}

    # Churn ---------------------------------------------------------------------------------
    risk = np.full(n, np.nan)
    factors: list[list[dict[str, Any]]] = [[] for _ in range(n)]
    churn_model = _churn(frame, metrics)
    if churn_model is not None:
        models["churn"] = churn_model.to_dict()
        x_now, customers_now, names = churn_matrix(frame, 2)
        idx = np.flatnonzero(customers_now)
        if idx.size:
            risk[idx] = churn_model.predict(x_now[idx])
            for i, row in zip(idx, churn_model.factors(x_now[idx], top=3), strict=True):
                factors[i] = [
                    {"feature": name, "label": CHURN_FEATURES[name][0], "contribution": float(c)}
                    for name, c in row
                ]

    # Personas -------------------------------------------------------------------------------
    persona = np.full(n, -1, dtype=np.int16)
    persona_name: list[str | None] = [None] * n
    x_now, _, names = churn_matrix(frame, 2)
    active = customer | (frame.at("events_recent", 2) > 0)
    if int(active.sum()) >= MIN_CUSTOMERS:
        cols = [names.index(p) for p in PERSONA_FEATURES]
        xp = x_now[np.flatnonzero(active)][:, cols]
        found = personas.cluster(xp, list(PERSONA_FEATURES), labels=PERSONA_FEATURES)
        models["personas"] = found.to_dict()
        idx = np.flatnonzero(active)
        persona[idx] = found.labels
        for i, label in zip(idx, found.labels, strict=True):
            persona_name[i] = found.names[int(label)]
        metrics["personas"] = _persona_summary(found, persona, revenue, frame)

    # Relationship value -----------------------------------------------------------------
    conversations = np.zeros(n)
    cost = np.zeros(n)
    for channel, counts in frame.channels.items():
        conversations += counts
        cost += counts * float(costs.get(channel, costs.get("*", 0.0)))
    acquisition = (acquired or Acquired()).per_person(customer)
    relationship = np.maximum(revenue, 0.0) - cost - acquisition
    metrics["acquisition_cost"] = float(acquisition.sum())
    metrics["pareto"] = pareto(np.maximum(revenue, 0.0), conversations, cost)

    return Scores(
        recency_days=recency,
        frequency=orders,
        monetary=revenue,
        first_order=first,
        last_order=last,
        r=r,
        f=f,
        m=m,
        group=group,
        expected_purchases=expected,
        p_alive=alive,
        expected_value=value,
        clv=clv,
        churn_risk=risk,
        churn_factors=factors,
        persona=persona,
        persona_name=persona_name,
        conversations=conversations,
        service_cost=cost,
        acquisition_cost=acquisition,
        relationship_value=relationship,
        models=models,
        metrics=metrics,
    )


def _bgnbd_inputs(frame: Frame, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat purchases, recency and age in weeks at cutoff ``k`` (purchases on one day
    count once)."""
    day = frame.cutoff_day(k)
    first = frame.at("first_order", k)
    last = frame.at("last_order", k)
    days = frame.at("days", k)
    has = days > 0
    x = np.where(has, days - 1, 0.0)
    t_x = np.where(has, np.floor(last) - np.floor(first), 0.0) / WEEK
    big_t = np.where(has, np.floor(day) - np.floor(first), 0.0) / WEEK
    return x, t_x, np.maximum(big_t, t_x)


def holdout_weeks(options: Options) -> int:
    """The weeks of the lifetime-value check: those of the ``h`` days after ``now - h``."""
    return max(1, math.ceil(options.churn_days / 7))


def _holdout(frame: Frame, options: Options, actual: Actual | None) -> dict[str, Any]:
    """BG/NBD fitted before ``now - h`` and its predicted cumulative repeat purchases of
    those customers, week by week, beside the actual ones."""
    from accord.analyze.scoring import lifetime

    x, t_x, big_t = _bgnbd_inputs(frame, 1)
    known = frame.at("days", 1) > 0
    if int(known.sum()) < MIN_CUSTOMERS or actual is None:
        return {"skipped": "not enough history before the holdout"}
    idx = np.flatnonzero(known)
    bg = lifetime.fit_bgnbd(x[idx], t_x[idx], big_t[idx])
    weeks = list(range(1, holdout_weeks(options) + 1))
    predicted = [
        float(lifetime.expected_purchases(bg, w, x[idx], t_x[idx], big_t[idx]).sum()) for w in weeks
    ]
    actual = actual() if callable(actual) else actual
    if actual is None or len(actual) != len(weeks):
        return {"skipped": "not enough history before the holdout"}
    total_pred, total_act = (predicted[-1], actual[-1]) if weeks else (0.0, 0.0)
    return {
        "calibration_params": bg.to_dict(),
        "weeks": weeks,
        "predicted": predicted,
        "actual": [float(a) for a in actual],
        "customers": int(idx.size),
        "error": (total_pred - total_act) / total_act if total_act else None,
    }


def _churn(frame: Frame, metrics: dict[str, Any]) -> churn.ChurnModel | None:
    from accord.analyze.scoring import churn

    x0, c0, names = churn_matrix(frame, 0)
    x1, c1, _ = churn_matrix(frame, 1)
    y0 = (frame.at("orders", 1) - frame.at("orders", 0) <= 0)[c0]
    y1 = (frame.at("orders", 2) - frame.at("orders", 1) <= 0)[c1]
    x0, x1 = x0[c0], x1[c1]
    usable = (
        len(y0) >= MIN_CUSTOMERS
        and len(y1) >= MIN_CUSTOMERS
        and 0 < y0.sum() < len(y0)
        and 0 < y1.sum() < len(y1)
    )
    if not usable:
        metrics["churn"] = {"skipped": "not enough customers with history on both sides"}
        return None
    trained = churn.train(x0, y0.astype(int), names, logged=LOGGED)
    recency = x1[:, names.index("recency_days")]
    evaluation = churn.evaluate(trained, x1, y1.astype(int), baseline=recency)
    metrics["churn"] = {
        **{k: _plain(v) for k, v in evaluation.items()},
        "trained_on": len(y0),
        "churn_rate": float(y1.mean()),
    }
    return churn.train(x1, y1.astype(int), names, logged=LOGGED)


def pareto(revenue: np.ndarray, conversations: np.ndarray, cost: np.ndarray) -> dict[str, Any]:
    """Shares of revenue, conversations and cost to serve from the top 20% of customers
    (by each), and the revenue curve (share of revenue by share of customers)."""
    out: dict[str, Any] = {}
    for name, values in (("revenue", revenue), ("conversations", conversations), ("cost", cost)):
        positive = np.sort(values[values > 0])[::-1]
        total = float(positive.sum())
        if total <= 0:
            out[name] = {"top20_share": None, "holders": 0}
            continue
        top = max(1, math.ceil(0.2 * positive.size))
        curve = [
            float(positive[: max(1, math.ceil(q / 100 * positive.size))].sum() / total)
            for q in range(0, 101, 5)
        ]
        curve[0] = 0.0
        out[name] = {
            "top20_share": float(positive[:top].sum() / total),
            "holders": int(positive.size),
            "curve": curve,
        }
    return out


def _rfm_grid(customer: np.ndarray, r: np.ndarray, f: np.ndarray) -> dict[str, Any]:
    """Customers by recency (rows) and frequency (columns) score; the groups' people and
    revenue are the dashboards' figures (``figures.groups``)."""
    grid = [[0] * 5 for _ in range(5)]
    for ri, fi in zip(r[customer], f[customer], strict=True):
        grid[int(ri) - 1][int(fi) - 1] += 1
    return {"grid": grid}


def _persona_summary(
    found: personas.Personas, persona: np.ndarray, revenue: np.ndarray, frame: Frame
) -> list[dict[str, Any]]:
    out = []
    for key, name in enumerate(found.names):
        members = persona == key
        out.append(
            {
                "key": key,
                "name": name,
                "description": found.descriptions[key],
                "people": int(members.sum()),
                "revenue": float(np.maximum(revenue[members], 0).sum()),
                "average_revenue": float(np.maximum(revenue[members], 0).mean())
                if members.any()
                else 0.0,
            }
        )
    return out


def _params(params: Any) -> dict[str, float]:
    return (
        {k: float(v) for k, v in vars(params).items()}
        if hasattr(params, "__dict__")
        else ({k: float(getattr(params, k)) for k in params.__dataclass_fields__})
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
