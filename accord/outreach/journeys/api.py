"""/api/v1/outreach/journeys: journeys (from a ready-made template or a definition),
publishing, pausing, resuming, archiving, entering people by hand, who is where, the
funnel and the goal against the holdout; a person's journeys."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy.orm import Session

from accord.govern.access.deps import AnalyticsReader, OutreachWriter, ProfilesReader
from accord.kit.deps import DbSession
from accord.kit.schemas import DataList
from accord.kit.signals import after_commit
from accord.outreach.journeys import queries, service
from accord.outreach.journeys.library import TEMPLATES
from accord.outreach.journeys.schemas import (
    EnterIn,
    EntryRead,
    JourneyIn,
    JourneyRead,
    JourneyReport,
    JourneyUpdate,
    TemplateRead,
)

router = APIRouter(prefix="/api/v1/outreach", tags=["journeys"])


def _advance_soon(request: Request, session: Session, workspace_id: uuid.UUID) -> None:
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is not None:
        after_commit(session, lambda: jobs.enqueue("journeys.advance", workspace_id))


@router.get("/journey-templates", response_model=DataList[TemplateRead])
def journey_templates(principal: AnalyticsReader) -> dict[str, Any]:
    """Ready-made journeys: cart abandonment, welcome, post-purchase, win-back,
    birthday."""
    return {
        "data": [
            TemplateRead(
                key=k, name=t["name"], description=t["description"], definition=t["definition"]
            )
            for k, t in TEMPLATES.items()
        ]
    }


@router.get("/journeys", response_model=DataList[JourneyRead])
def list_journeys(session: DbSession, principal: AnalyticsReader) -> dict[str, Any]:
    rows = queries.journeys(session, principal.workspace_id)
    return {"data": [queries.journey_read(session, j) for j in rows]}


@router.post("/journeys", response_model=JourneyRead, status_code=201)
def create_journey(body: JourneyIn, session: DbSession, principal: OutreachWriter) -> JourneyRead:
    journey = service.create(
        session, principal, name=body.name, definition=body.definition, template=body.template
    )
    return queries.journey_read(session, journey)


@router.get("/journeys/{journey_id}", response_model=JourneyRead)
def get_journey(
    journey_id: uuid.UUID, session: DbSession, principal: AnalyticsReader
) -> JourneyRead:
    return queries.journey_read(session, service.get(session, principal.workspace_id, journey_id))


@router.patch("/journeys/{journey_id}", response_model=JourneyRead)
def update_journey(
    journey_id: uuid.UUID, body: JourneyUpdate, session: DbSession, principal: OutreachWriter
) -> JourneyRead:
    journey = service.update(
        session, principal, journey_id, name=body.name, definition=body.definition
    )
    return queries.journey_read(session, journey)


@router.post("/journeys/{journey_id}/publish", response_model=JourneyRead)
def publish_journey(
    journey_id: uuid.UUID, session: DbSession, principal: OutreachWriter
) -> JourneyRead:
    """The definition becomes the version new entrants take; the journey is active."""
    return queries.journey_read(session, service.publish(session, principal, journey_id))


@router.post("/journeys/{journey_id}/pause", response_model=JourneyRead)
def pause_journey(
    journey_id: uuid.UUID, session: DbSession, principal: OutreachWriter
) -> JourneyRead:
    return queries.journey_read(
        session, service.set_status(session, principal, journey_id, "paused")
    )


@router.post("/journeys/{journey_id}/resume", response_model=JourneyRead)
def resume_journey(
    journey_id: uuid.UUID, request: Request, session: DbSession, principal: OutreachWriter
) -> JourneyRead:
    journey = service.set_status(session, principal, journey_id, "active")
    _advance_soon(request, session, principal.workspace_id)
    return queries.journey_read(session, journey)


@router.post("/journeys/{journey_id}/archive", response_model=JourneyRead)
def archive_journey(
    journey_id: uuid.UUID, session: DbSession, principal: OutreachWriter
) -> JourneyRead:
    """Ends every unfinished entry; nobody enters any more."""
    return queries.journey_read(
        session, service.set_status(session, principal, journey_id, "archived")
    )


@router.post("/journeys/{journey_id}/enter", response_model=DataList[EntryRead], status_code=201)
def enter_journey(
    journey_id: uuid.UUID,
    body: EnterIn,
    request: Request,
    session: DbSession,
    principal: OutreachWriter,
) -> dict[str, Any]:
    """Put people into the journey by hand (those its re-entry rule lets in)."""
    entries = service.enter_people(session, principal, journey_id, body.profile_ids)
    _advance_soon(request, session, principal.workspace_id)
    return {"data": [EntryRead.model_validate(e) for e in entries]}


@router.get("/journeys/{journey_id}/entries", response_model=DataList[EntryRead])
def journey_entries(
    journey_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: uuid.UUID | None = None,
) -> dict[str, Any]:
    journey = service.get(session, principal.workspace_id, journey_id)
    rows = queries.entries(session, journey.id, status, limit, after)
    return {"data": [EntryRead.model_validate(e) for e in rows]}


@router.get("/journeys/{journey_id}/report", response_model=JourneyReport)
def journey_report(
    journey_id: uuid.UUID, session: DbSession, principal: AnalyticsReader
) -> JourneyReport:
    """Who is where, how many reached each step, the messages' outcomes, and the goal
    against the holdout with the difference's 95% interval."""
    return queries.report(session, service.get(session, principal.workspace_id, journey_id))


@router.get("/people/{profile_id}/journeys", response_model=DataList[EntryRead])
def person_journeys(
    profile_id: uuid.UUID, session: DbSession, principal: ProfilesReader
) -> dict[str, Any]:
    """The journeys a person is in or went through, and where they are."""
    rows = queries.of_person(session, principal.workspace_id, profile_id)
    return {"data": [EntryRead.model_validate(e) for e in rows]}
