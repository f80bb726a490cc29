"""A journey's actions besides messages, each taken in the transaction of its step:

- ``task``: a conversation in the inbox for an agent ("call this VIP"), on the channel
  they are to answer by, at the step's priority, routed like any other, with the step's
  text as its first note (both templates rendered for the person);
- ``webhook``: a signed ``Journey Step`` event about the person to one of the workspace's
  destinations (``analyze/audiences``), sent after the commit with its retries;
- ``audience``: an ``Audience Entered`` or ``Audience Exited`` event for a named audience
  to a destination (an ad network's sync, a CRM list). Adding asks the consent policy for
  advertising first; removing never waits for consent."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.analyze.audiences import delivery as audience_delivery
from accord.analyze.audiences.repository import DestinationRepository
from accord.analyze.audiences.schemas import ENTERED, EXITED
from accord.govern.consent.policy import may_contact
from accord.govern.workspaces.models import Workspace
from accord.inbox.context import Actor, InboxContext
from accord.inbox.intake import open_conversation
from accord.inbox.messages import add_message
from accord.outreach.journeys.definition import Step
from accord.outreach.journeys.models import Journey
from accord.outreach.templates import Compiled, Content, person_context
from accord.profile.models import Profile

STEP_EVENT = "Journey Step"


def _about(session: Session, journey_id: uuid.UUID, step: Step) -> dict[str, Any]:
    journey = session.get(Journey, journey_id)
    name = journey.name if journey is not None else str(journey_id)
    return {"id": str(journey_id), "name": name, "step": step.id, "step_name": step.name}


def open_task(
    session: Session,
    workspace: Workspace,
    journey_id: uuid.UUID,
    person: Profile,
    step: Step,
    now: Any,
) -> str:
    """Open the step's task for an agent; returns its conversation's number."""
    journey = _about(session, journey_id, step)
    context = person_context(person)
    context["workspace"] = {"name": workspace.name}
    rendered = Compiled(Content("task", step.subject or "", "", step.text or "")).render(context)
    ctx = InboxContext.load(session, workspace.id, secret_key="", base_url="")
    conversation = open_conversation(
        session,
        ctx,
        channel=step.via,
        subject=rendered.subject,
        person=person,
        contact_name=person.display_name,
        at=now,
        priority=step.priority,
        tags=["journey"],
        actor=Actor(None, f"Journey {journey['name']}"),
    )
    add_message(
        session,
        ctx,
        conversation,
        direction="note",
        channel="note",
        body=rendered.text.strip() or rendered.subject,
        at=now,
        author=Actor(None, f"Journey {journey['name']}"),
        publish="created",
    )
    session.flush()
    return f"conversation #{conversation.number}"


def to_destination(
    session: Session,
    workspace: Workspace,
    journey_id: uuid.UUID,
    person: Profile,
    step: Step,
    now: Any,
) -> tuple[str, str, uuid.UUID | None]:
    """The step's event to its destination: (outcome, detail, the delivery to send)."""
    assert step.destination_id is not None
    destination = DestinationRepository.from_session(session).get(workspace.id, step.destination_id)
    if destination is None or destination.status != "active":
        return "skipped", "the destination is gone or paused", None
    journey = _about(session, journey_id, step)
    if step.kind == "webhook":
        event, about = STEP_EVENT, {"journey": journey}
    else:
        adding = step.action == "add"
        if adding:
            decision = may_contact(session, workspace, person, "ads", "advertising")
            if not decision.allowed:
                return "refused", decision.reason, None
        name = step.audience or journey["name"]
        event = ENTERED if adding else EXITED
        about = {"audience": {"name": name, "journey": journey}}
    delivery_id = audience_delivery.for_person(session, destination, person, event, about, now)
    return "sent", f"{event} to {destination.name}", delivery_id
