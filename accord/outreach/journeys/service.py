"""Journeys' rules: a draft's definition is edited freely (validated on every save);
publishing makes it the version new entrants take (people already in finish theirs);
pausing stops everyone where they are, resuming goes on, archiving ends every unfinished
entry. People enter by the trigger (``engine.hear``) or by hand. Services flush; the
caller commits and starts the jobs."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from accord.analyze.audiences.repository import DestinationRepository
from accord.analyze.segments.repository import SegmentRepository
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.kit.errors import conflict, invalid, not_found
from accord.kit.ids import id_at, new_id
from accord.kit.time import utcnow
from accord.outreach.journeys import engine
from accord.outreach.journeys.definition import MESSAGES, Definition, parse
from accord.outreach.journeys.library import TEMPLATES
from accord.outreach.journeys.models import Journey, JourneyEntry, JourneyVersion
from accord.outreach.journeys.repository import JourneyRepository
from accord.outreach.templates import Compiled, Content
from accord.profile.queries import live_profile


def get(session: Session, workspace_id: uuid.UUID, journey_id: uuid.UUID) -> Journey:
    found = JourneyRepository.from_session(session).get(workspace_id, journey_id)
    if found is None:
        raise not_found("Journey", field="journey_id")
    return found


def check(session: Session, workspace_id: uuid.UUID, raw: Any) -> Definition:
    """A definition that validates, whose templates compile and whose segments and
    destinations exist."""
    definition = parse(raw)
    segments = SegmentRepository.from_session(session)
    asked = [definition.trigger.segment_id] + [
        s.condition.segment_id for s in definition.steps if s.condition is not None
    ]
    for segment_id in asked:
        if segment_id is not None and segments.get(workspace_id, segment_id) is None:
            raise invalid(
                f"No segment {segment_id} in this workspace",
                field="definition",
                code="unknown_segment",
            )
    destinations = DestinationRepository.from_session(session)
    for step in definition.steps:
        target = step.destination_id if step.kind in ("audience", "webhook") else None
        if target is not None and destinations.get(workspace_id, target) is None:
            raise invalid(
                f"step {step.id}: no destination {step.destination_id} in this workspace",
                field=f"definition.steps.{step.id}",
                code="unknown_destination",
            )
        if step.kind in (*MESSAGES, "task"):
            try:
                Compiled(Content(step.kind, step.subject or "", step.html or "", step.text or ""))
            except Exception as exc:
                message = getattr(exc, "message", str(exc))
                raise invalid(
                    f"step {step.id}: {message}",
                    field=f"definition.steps.{step.id}",
                    code="bad_template",
                ) from None
    return definition


def _name(session: Session, workspace_id: uuid.UUID, name: str, journey: Journey | None) -> str:
    name = name.strip()
    if not name:
        raise invalid("A journey needs a name", field="name")
    other = JourneyRepository.from_session(session).by_name(workspace_id, name)
    if other is not None and (journey is None or other.id != journey.id):
        raise conflict(f"A journey named {name!r} exists", field="name", code="journey_exists")
    return name


def create(
    session: Session,
    actor: Principal,
    *,
    name: str,
    definition: Any = None,
    template: str | None = None,
) -> Journey:
    if template is not None:
        if template not in TEMPLATES:
            raise invalid(f"No journey template {template!r}", field="template")
        definition = definition or TEMPLATES[template]["definition"]
    if definition is None:
        raise invalid("A journey needs a definition or a template", field="definition")
    parsed = check(session, actor.workspace_id, definition)
    journey = Journey(
        id=new_id(),
        workspace_id=actor.workspace_id,
        name=_name(session, actor.workspace_id, name, None),
        status="draft",
        definition=parsed.model_dump(mode="json", exclude_none=True),
        version=0,
        template=template,
        created_by=actor.label,
    )
    session.add(journey)
    session.flush()
    audit.record(session, actor, "journey.create", target=str(journey.id), data={})
    return journey


def update(
    session: Session,
    actor: Principal,
    journey_id: uuid.UUID,
    *,
    name: str | None = None,
    definition: Any = None,
) -> Journey:
    """Change the name or the definition being edited (an active journey's new
    definition takes effect when it is published again)."""
    journey = get(session, actor.workspace_id, journey_id)
    if journey.status == "archived":
        raise conflict(
            "An archived journey cannot be changed", field="status", code="journey_archived"
        )
    if name is not None:
        journey.name = _name(session, actor.workspace_id, name, journey)
    if definition is not None:
        parsed = check(session, actor.workspace_id, definition)
        journey.definition = parsed.model_dump(mode="json", exclude_none=True)
    journey.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "journey.update", target=str(journey.id), data={})
    return journey


def publish(session: Session, actor: Principal, journey_id: uuid.UUID) -> Journey:
    """The definition being edited becomes the version new entrants take; the journey
    is active."""
    journey = get(session, actor.workspace_id, journey_id)
    if journey.status == "archived":
        raise conflict(
            "An archived journey cannot be published", field="status", code="journey_archived"
        )
    parsed = check(session, actor.workspace_id, journey.definition)
    journey.version += 1
    JourneyRepository.from_session(session).add_version(
        JourneyVersion(
            journey_id=journey.id,
            version=journey.version,
            workspace_id=journey.workspace_id,
            definition=parsed.model_dump(mode="json", exclude_none=True),
            published_at=utcnow(),
            published_by=actor.label,
        )
    )
    journey.status = "active"
    journey.updated_at = utcnow()
    if parsed.trigger.kind == "segment" and journey.cursor_id is None:
        journey.cursor_id = id_at(journey.updated_at.timestamp())
    session.flush()
    audit.record(
        session, actor, "journey.publish", target=str(journey.id), data={"version": journey.version}
    )
    return journey


def set_status(session: Session, actor: Principal, journey_id: uuid.UUID, to: str) -> Journey:
    journey = get(session, actor.workspace_id, journey_id)
    allowed = {
        "paused": ("active",),
        "active": ("paused",),
        "archived": ("draft", "active", "paused"),
    }
    if journey.status not in allowed[to]:
        raise conflict(
            f"A journey that is {journey.status} cannot be {to}",
            field="status",
            code="journey_state",
        )
    journey.status = to
    if to == "archived":
        JourneyRepository.from_session(session).exit_unfinished(
            journey.id, f"the journey was archived by {actor.label}", utcnow()
        )
    session.flush()
    audit.record(session, actor, f"journey.{to}", target=str(journey.id), data={})
    return journey


def enter_people(
    session: Session, actor: Principal, journey_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]
) -> list[JourneyEntry]:
    """Put people into an active journey by hand (those its re-entry rule lets in)."""
    journey = get(session, actor.workspace_id, journey_id)
    if journey.status != "active":
        raise conflict(
            "Only an active journey takes people", field="status", code="journey_not_active"
        )
    now = utcnow()
    out = []
    for profile_id in dict.fromkeys(profile_ids):
        person = live_profile(session, actor.workspace_id, profile_id)
        if person is None:
            raise not_found("Person", field="profile_ids")
        entry = engine.enter(session, journey, person.id, now, {"by": actor.label})
        if entry is not None:
            out.append(entry)
    audit.record(
        session, actor, "journey.enter", target=str(journey.id), data={"entered": len(out)}
    )
    return out
