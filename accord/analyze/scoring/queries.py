"""Reads of customer analytics for the API, the console and the 360: runs, a person's
scores, the dashboards' summary and the people most at risk."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.scoring import figures, rfm
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


def _figures(session: Session, workspace_id: uuid.UUID) -> dict[str, Any]:
    """The dashboards' figures of the last finished recompute (``figures.py``)."""
    done = latest(session, workspace_id)
    return dict((done.metrics or {}).get("dashboards") or {}) if done is not None else {}


def groups(session: Session, workspace_id: uuid.UUID) -> list[dict[str, Any]]:
    """People, net revenue and average lifetime value per RFM group, in the groups' order
    (as of the last recompute)."""
    found = _figures(session, workspace_id).get("groups") or {}
    out = []
    for key, label, description in rfm.GROUPS:
        entry = found.get(key) or {}
        average = entry.get("average_clv")
        out.append(
            {
                "key": key,
                "label": label,
                "description": description,
                "people": int(entry.get("people", 0)),
                "revenue": float(entry.get("revenue", 0.0)),
                "average_clv": None if average is None else float(average),
            }
        )
    return out


def _people(
    session: Session, workspace_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[CustomerScore, str]]:
    """The scores and names of ``ids`` that still have scores (an erased person has none)."""
    if not ids:
        return {}
    stmt = (
        select(CustomerScore, Profile.display_name, Profile.email)
        .join(Profile, Profile.id == CustomerScore.profile_id)
        .where(CustomerScore.workspace_id == workspace_id, CustomerScore.profile_id.in_(ids))
    )
    return {
        s.profile_id: (s, name or email or str(s.profile_id))
        for s, name, email in session.execute(stmt)
    }


def at_risk(session: Session, workspace_id: uuid.UUID, limit: int = 20) -> list[dict[str, Any]]:
    """The customers worth winning back first, as the last recompute ranked them
    (``figures.win_back``): likely to leave but probably still customers, by the revenue
    at stake."""
    ids = [uuid.UUID(i) for i in _figures(session, workspace_id).get("win_back") or []]
    found = _people(session, workspace_id, ids)
    rows = [found[i] for i in ids if i in found][:limit]
    return [{"score": s, "name": name} for s, name in rows]


# --- the console's dashboards -----------------------------------------------------------

QUADRANTS = figures.QUADRANTS


def value_and_cost(session: Session, workspace_id: uuid.UUID, sample: int = 500) -> dict[str, Any]:
    """The valuable-against-costly matrix of the last recompute (``figures.matrix``): the
    splits, how many customers each quadrant holds, and at most ``sample`` customers to
    plot, the most valuable and the most costly ones, with their names."""
    found = dict(_figures(session, workspace_id).get("matrix") or {})
    out: dict[str, Any] = {
        "customers": int(found.get("customers", 0)),
        "revenue_split": found.get("revenue_split"),
        "cost_split": found.get("cost_split"),
        "counts": {q: int((found.get("counts") or {}).get(q, 0)) for q in QUADRANTS},
        "points": [],
    }
    half = max(sample // 2, 1)
    ranked = [list(found.get(k) or []) for k in ("by_revenue", "by_cost")]
    points = list({p["profile_id"]: p for p in ranked[0][:half] + ranked[1][:half]}.values())
    if len(points) < sample:  # fewer customers than asked: all of them
        points = list({p["profile_id"]: p for p in ranked[0] + ranked[1]}.values())[:sample]
    names = _people(session, workspace_id, [uuid.UUID(p["profile_id"]) for p in points])
    out["points"] = sorted(
        (
            {
                "profile_id": pid,
                "name": names[pid][1],
                "revenue": float(p["revenue"]),
                "cost": float(p["cost"]),
            }
            for p in points
            if (pid := uuid.UUID(p["profile_id"])) in names
        ),
        key=lambda p: (-p["revenue"], str(p["profile_id"])),
    )
    return out


def lifetime_values(
    session: Session, workspace_id: uuid.UUID, most: int = 20_000
) -> tuple[list[float], int]:
    """The customers' lifetime values for a histogram, and how many customers each value
    stands for (``figures.spread``: every value up to 20,000 customers, beyond that every
    k-th in order of value)."""
    found = _figures(session, workspace_id).get("lifetime_values") or {}
    values = [float(v) for v in found.get("values") or []]
    step = int(found.get("step", 1))
    if len(values) > most:  # fewer asked for than kept
        every = -(-len(values) // most)
        values, step = values[::every], step * every
    return values, step
