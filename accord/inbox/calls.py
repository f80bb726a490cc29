"""Answering on the phone. Accord cannot deliver a written reply by phone, so an agent
answers a caller by calling back: they log the call they made (an outbound call in the
thread, their answer to the customer, and a touchpoint on the person's timeline) or
schedule a callback (a note with the number and the time; the conversation is theirs,
tagged ``callback`` and snoozed until then, so it comes back to them when it is time).
Consent is checked as for every send."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from accord.inbox import service
from accord.inbox.context import Actor, InboxContext
from accord.inbox.messages import add_message
from accord.inbox.models import Conversation, Message
from accord.inbox.people import Contact, record_touchpoint
from accord.kit.errors import conflict, invalid
from accord.kit.time import utcnow

MAX_NOTES = 5000


def describe_call(
    direction: str,
    duration: int | None,
    disposition: str | None,
    notes: str | None,
) -> str:
    """How a call reads in the thread: its direction, length and outcome, then the notes."""
    kind = "Inbound call" if direction == "in" else "Outbound call"
    parts = [kind]
    if duration is not None:
        parts.append(f"{duration // 60}m {duration % 60:02d}s")
    if disposition:
        parts.append(disposition)
    head = " · ".join(parts)
    return f"{head}\n{notes.strip()}" if notes and notes.strip() else head


def _number(session: Session, conversation: Conversation) -> str:
    """The number to call the customer back on, or why there is none."""
    where = service.reach(session, conversation, service.person_of(session, conversation))
    if "phone" in where.blocked:
        raise conflict(f"Cannot call: {where.blocked['phone']}", field="phone", code="no_consent")
    if where.phone is None:
        raise invalid("The customer has no phone number to call", field="phone", code="unreachable")
    return where.phone


def log_call(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    actor: Actor,
    *,
    notes: str = "",
    minutes: float = 0,
    outcome: str = "",
    at: datetime | None = None,
) -> Message:
    """The agent called the customer back: the call is their answer in the thread."""
    if minutes < 0 or minutes > 24 * 60:
        raise invalid("The call lasted 0 to 1440 minutes", field="minutes")
    if len(notes) > MAX_NOTES:
        raise invalid(f"Notes may be {MAX_NOTES} characters", field="notes")
    phone = _number(session, conversation)
    now = at or utcnow()
    seconds = int(minutes * 60)
    outcome = outcome.strip()[:120]
    message = add_message(
        session,
        ctx,
        conversation,
        direction="out",
        channel="phone",
        body=describe_call("out", seconds, outcome or None, notes or None),
        at=now,
        author=actor,
        address=phone,
        answers=True,
        meta={"call": "out", "duration_seconds": seconds, "disposition": outcome or None},
    )
    _, message.event_id = record_touchpoint(
        session,
        ctx.workspace,
        channel="phone",
        contact=Contact(phone=phone),
        event_name="Call",
        properties={"direction": "out", "duration_seconds": seconds},
        at=now,
        key=f"logged-call:{message.id}",
    )
    ctx.changed(session, conversation, "message", message)
    return message


def schedule_callback(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    actor: Actor,
    *,
    when: datetime,
    notes: str = "",
) -> Message:
    """The agent will call the customer back at ``when``: a note saying so; the
    conversation is theirs, tagged ``callback`` and snoozed until then."""
    now = utcnow()
    if when <= now:
        raise invalid("Choose a time for the callback in the future", field="when")
    if len(notes) > MAX_NOTES:
        raise invalid(f"Notes may be {MAX_NOTES} characters", field="notes")
    phone = _number(session, conversation)
    text = f"Call back {phone} at {when.strftime('%Y-%m-%d %H:%M')} UTC"
    message = service.note(
        session, ctx, conversation, actor, f"{text}\n{notes.strip()}" if notes.strip() else text
    )
    if actor.user_id is not None:
        service.assign(session, ctx, conversation, actor.user_id, actor)
    service.set_tags(session, ctx, conversation, [*conversation.tags, "callback"], actor)
    service.set_status(session, ctx, conversation, "snoozed", actor, snooze_until=when)
    ctx.log(
        session,
        conversation,
        "callback_scheduled",
        actor,
        channel="phone",
        data={"phone": phone, "at": when.isoformat()},
    )
    return message
