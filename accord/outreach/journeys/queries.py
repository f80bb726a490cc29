"""Reading journeys for pages and the API: the list, who is where, the report."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.outreach.journeys.definition import parse
from accord.outreach.journeys.models import Journey, JourneyEntry
from accord.outreach.journeys.repository import JourneyRepository
from accord.outreach.journeys.schemas import JourneyRead, JourneyReport, StepCount
from accord.outreach.models import Send
from accord.outreach.report import proportion_lift


def journey_read(session: Session, journey: Journey) -> JourneyRead:
    out = JourneyRead.model_validate(journey)
    out.people = JourneyRepository.from_session(session).statuses(journey.id)
    return out


def journeys(session: Session, workspace_id: uuid.UUID) -> list[Journey]:
    return JourneyRepository.from_session(session).all(workspace_id)


def entries(
    session: Session,
    journey_id: uuid.UUID,
    status: str | None = None,
    limit: int = 100,
    after: uuid.UUID | None = None,
) -> list[JourneyEntry]:
    return JourneyRepository.from_session(session).entries(journey_id, status, limit, after)


def of_person(
    session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID
) -> list[JourneyEntry]:
    return JourneyRepository.from_session(session).of_person(workspace_id, profile_id)


def report(session: Session, journey: Journey) -> JourneyReport:
    """Who is where, how many reached each step, the messages' outcomes, and the goal
    against the holdout with the difference's 95% interval."""
    repo = JourneyRepository.from_session(session)
    definition = parse(journey.definition)
    reached = repo.funnel(journey.id)
    messages = {
        status: int(n)
        for status, n in session.execute(
            select(Send.status, func.count())
            .where(Send.journey_id == journey.id)
            .group_by(Send.status)
        )
    }
    n_t, g_t, n_c, g_c = repo.goal_split(journey.id)
    return JourneyReport(
        journey_id=journey.id,
        people=repo.statuses(journey.id),
        funnel=[
            StepCount(step=s.id, kind=s.kind, name=s.name, reached=reached.get(s.id, 0))
            for s in definition.steps
        ],
        messages=messages,
        goal=definition.goal.event if definition.goal else None,
        entered=n_t,
        reached_goal=g_t,
        holdout=n_c,
        holdout_reached_goal=g_c,
        conversion=proportion_lift(g_t, n_t, g_c, n_c),
    )


def by_ids(
    session: Session, workspace_id: uuid.UUID, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Journey]:
    """The workspace's journeys among ``ids``, by id (a person's journeys on the 360)."""
    if not ids:
        return {}
    rows = session.scalars(
        select(Journey).where(Journey.workspace_id == workspace_id, Journey.id.in_(ids))
    )
    return {j.id: j for j in rows}
