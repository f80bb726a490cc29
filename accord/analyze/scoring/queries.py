"""Reads of customer analytics for the API, the console and the 360: runs, a person's
scores, the dashboards' summary and the people most at risk."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from accord.analyze.scoring import rfm
from accord.analyze.scoring.models import CustomerScore, ScoringRun
from accord.analyze.scoring.repository import ScoringRepository
from accord.profile.models import Profile


def run(session: Session, workspace_id: uuid.UUID, run_id: uuid.UUID) -> ScoringRun | None:
    return ScoringRepository.from_session(session).run(workspace_id, run_id)


def runs(session: Session, workspace_id: uuid.UUID, limit: int = 20) -> list[ScoringRun]:
    return ScoringRepository.from_session(session).runs(workspace_id, limit)


def latest(session: Session, workspace_id: uuid.UUID) -> ScoringRun | None:
    return ScoringRepository.from_session(session).latest_done(workspace_id)


def running(session: Session, workspace_id: uuid.UUID) -> ScoringRun | None:
    return ScoringRepository.from_session(session).active_run(workspace_id)


def score(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> CustomerScore | None:
    return ScoringRepository.from_session(session).score(workspace_id, profile_id)


def group_label(key: str | None) -> str | None:
    labels = {k: label for k, label, _ in rfm.GROUPS}
    return None if key is None else labels.get(key, key)


def groups(session: Session, workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """People, net revenue and average lifetime value per RFM group, in the groups' order."""
    stmt = (
        select(
            CustomerScore.rfm_group,
            func.count(),
            func.coalesce(func.sum(CustomerScore.monetary), 0),
            func.avg(CustomerScore.clv),
        )
        .where(CustomerScore.workspace_id == workspace_id, CustomerScore.rfm_group.is_not(None))
        .group_by(CustomerScore.rfm_group)
    )
    found = {g: (n, float(rev), avg) for g, n, rev, avg in session.execute(stmt)}
    out = []
    for key, label, description in rfm.GROUPS:
        n, revenue, average = found.get(key, (0, 0.0, None))
        out.append(
            {
                "key": key,
                "label": label,
                "description": description,
                "people": int(n),
                "revenue": revenue,
                "average_clv": None if average is None else float(average),
            }
        )
    return out


def at_risk(session: Session, workspace_id: uuid.UUID, limit: int = 20) -> list[dict[str, Any]]:
    """The customers worth winning back first: likely to leave (churn risk at least 50%)
    but not yet gone (probability still a customer at least 10%, or no lifetime model),
    by the revenue at stake (risk times what they have spent)."""
    at_stake = CustomerScore.churn_risk * CustomerScore.monetary
    stmt = (
        select(CustomerScore, Profile.display_name, Profile.email)
        .join(Profile, Profile.id == CustomerScore.profile_id)
        .where(
            CustomerScore.workspace_id == workspace_id,
            CustomerScore.churn_risk >= 0.5,
            or_(CustomerScore.p_alive.is_(None), CustomerScore.p_alive >= 0.1),
        )
        .order_by(at_stake.desc(), CustomerScore.churn_risk.desc())
        .limit(limit)
    )
    return [
        {"score": s, "name": name or email or str(s.profile_id)}
        for s, name, email in session.execute(stmt)
    ]


# --- the console's dashboards -----------------------------------------------------------

# Named as a chart lays them out, cost to serve across and net revenue up: top left, top
# right, bottom left, bottom right.
QUADRANTS = (
    "valuable and cheap",
    "valuable and costly",
    "less valuable and cheap",
    "less valuable and costly",
)


def _median(session: Session, column: Any, *where: Any) -> float | None:
    """The median of ``column`` over the rows ``where`` holds (the upper one of an even
    count), read as one row at the middle of the order."""
    n = int(session.scalar(select(func.count()).select_from(CustomerScore).where(*where)) or 0)
    if not n:
        return None
    stmt = select(column).where(*where).order_by(column).offset(n // 2).limit(1)
    value = session.scalar(stmt)
    return None if value is None else float(value)


def value_and_cost(session: Session, workspace_id: uuid.UUID, sample: int = 500) -> dict[str, Any]:
    """The valuable-against-costly matrix of the workspace's customers: the splits
    (median net revenue of customers; median cost to serve of the customers served),
    how many customers each quadrant holds (all of them), and the customers to plot: at
    most ``sample``, the most valuable and the most costly ones, with their names."""
    ws = CustomerScore.workspace_id == workspace_id
    customer = CustomerScore.frequency > 0
    total = int(session.scalar(select(func.count()).where(ws, customer)) or 0)
    revenue_split = _median(session, CustomerScore.monetary, ws, customer)
    cost_split = _median(
        session, CustomerScore.service_cost, ws, customer, CustomerScore.service_cost > 0
    )
    out: dict[str, Any] = {
        "customers": total,
        "revenue_split": revenue_split,
        "cost_split": cost_split,
        "counts": dict.fromkeys(QUADRANTS, 0),
        "points": [],
    }
    if not total or revenue_split is None or cost_split is None:
        return out
    valuable = CustomerScore.monetary >= revenue_split
    costly = CustomerScore.service_cost >= cost_split
    tests = (valuable & ~costly, valuable & costly, ~valuable & ~costly, ~valuable & costly)
    counts = session.execute(
        select(*(func.count().filter(t) for t in tests)).where(ws, customer)
    ).one()
    out["counts"] = {name: int(n or 0) for name, n in zip(QUADRANTS, counts, strict=True)}
    half = max(sample // 2, 1)
    ids: list[uuid.UUID] = []
    for order in (CustomerScore.monetary.desc(), CustomerScore.service_cost.desc()):
        top = (
            select(CustomerScore.profile_id)
            .where(ws, customer)
            .order_by(order, CustomerScore.profile_id)
        )
        ids += list(session.scalars(top.limit(half if total > sample else sample)))
    chosen = list(dict.fromkeys(ids))[:sample]
    stmt = (
        select(
            CustomerScore.profile_id,
            CustomerScore.monetary,
            CustomerScore.service_cost,
            Profile.display_name,
            Profile.email,
        )
        .join(Profile, Profile.id == CustomerScore.profile_id)
        .where(ws, CustomerScore.profile_id.in_(chosen))
        .order_by(CustomerScore.monetary.desc(), CustomerScore.profile_id)
    )
    out["points"] = [
        {
            "profile_id": pid,
            "name": name or email or str(pid),
            "revenue": float(revenue),
            "cost": float(cost),
        }
        for pid, revenue, cost, name, email in session.execute(stmt)
    ]
    return out


def lifetime_values(
    session: Session, workspace_id: uuid.UUID, most: int = 20_000
) -> tuple[list[float], int]:
    """The customers' lifetime values for a histogram, and how many customers each value
    stands for: every value up to ``most`` customers, beyond that every k-th in order of
    value (so the shape of the spread is kept)."""
    where = (CustomerScore.workspace_id == workspace_id, CustomerScore.clv.is_not(None))
    n = int(session.scalar(select(func.count()).select_from(CustomerScore).where(*where)) or 0)
    if n <= most:
        values = session.scalars(select(CustomerScore.clv).where(*where))
        return [float(v) for v in values if v is not None], 1
    step = -(-n // most)
    ranked = (
        select(
            CustomerScore.clv.label("clv"),
            func.row_number().over(order_by=CustomerScore.clv).label("n"),
        )
        .where(*where)
        .subquery()
    )
    rows = session.scalars(select(ranked.c.clv).where((ranked.c.n - 1) % step == 0))
    return [float(v) for v in rows if v is not None], step
