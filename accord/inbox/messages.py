"""The one write path of a conversation's messages. Whatever adds a message (a customer
writing in on any channel, an agent's reply, a note, a logged call, a survey or a
transcript sent by email, a chat's proactive or agent-started message) goes through
:func:`add_message`, which builds and adds the row and keeps what the conversation
derives from its messages consistent:

- a message of the exchange (in or out, not a note, not an automated email) counts in
  ``message_count``, sets ``last_channel`` and, when it is the newest, moves
  ``last_message_at`` and the ``preview``;
- a customer's message starts the customer waiting (the next-response clock), an
  agent's answer stops the first-response clock and the waiting (``answers``);
- a note only marks the conversation changed; an automated email changes nothing on it;
- the message is logged in the conversation's event log, a queued email kicks the
  outbox after commit, and ``publish`` tells open consoles and chat sockets after
  commit.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.inbox import routing
from accord.inbox.context import Actor, InboxContext
from accord.inbox.models import Conversation, Message
from accord.kit.ids import new_id
from accord.kit.time import utcnow

PREVIEW = 160
DIRECTIONS = ("in", "out", "note")
DEFAULT_EVENTS = {"in": "message_in", "out": "message_out", "note": "note"}


def preview_of(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1] + "…"


def add_message(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    *,
    direction: str,
    channel: str,
    body: str,
    at: datetime | None = None,
    author: Actor | None = None,
    author_name: str | None = None,
    address: str | None = None,
    subject: str | None = None,
    html: str | None = None,
    quoted: str | None = None,
    external_id: str | None = None,
    in_reply_to: str | None = None,
    delivery: str | None = None,
    event_id: uuid.UUID | None = None,
    meta: dict[str, Any] | None = None,
    automated: bool = False,
    answers: bool = False,
    event: str | None = None,
    event_data: dict[str, Any] | None = None,
    logged_at: datetime | None = None,
    publish: str | None = None,
    files: int = 0,
) -> Message:
    """Add one message to ``conversation`` (see the module's docstring).

    ``author`` is who wrote it: an agent (an ``Actor`` with a user), the system, or
    None for the customer; ``author_name`` overrides the name shown (the customer's, or
    the support name of an automated email). ``automated`` marks an email the system
    sends about the conversation (a survey, a transcript): kept in the thread, not part
    of the exchange. ``answers`` marks an agent's answer to the customer. ``event`` and
    ``event_data`` name the log entry (by default ``message_in``, ``message_out`` or
    ``note`` with the message's id), logged at the message's time unless ``logged_at``
    says otherwise. ``publish`` is what open consoles are told once committed (None:
    the caller tells them itself), with ``files`` attached files."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {DIRECTIONS}, not {direction!r}")
    at = at or utcnow()
    message = Message(
        id=new_id(),
        workspace_id=conversation.workspace_id,
        conversation_id=conversation.id,
        direction=direction,
        channel=channel,
        author_id=author.user_id if author is not None else None,
        author_name=author_name if author_name is not None else (author.name if author else None),
        address=address,
        subject=subject,
        body=body,
        body_html=html,
        quoted=quoted,
        external_id=external_id,
        in_reply_to=in_reply_to,
        delivery=delivery,
        event_id=event_id,
        meta=dict(meta or {}),
        created_at=at,
    )
    session.add(message)
    if direction == "note":
        conversation.updated_at = utcnow()
    elif not automated:
        _touch(conversation, message)
        if direction == "in":
            _waiting(session, conversation, at)
        elif answers and author is not None:
            mark_answered(session, ctx, conversation, author, channel, at)
    ctx.log(
        session,
        conversation,
        event or DEFAULT_EVENTS[direction],
        author,
        channel=None if direction == "note" else channel,
        data={"message": str(message.id)} if event_data is None else event_data,
        at=logged_at or at,
    )
    if delivery == "queued":
        ctx.queue_outbound(session)
    if publish is not None:
        ctx.changed(session, conversation, publish, message, files=files)
    return message


def _touch(conversation: Conversation, message: Message) -> None:
    """A message of the exchange: counted, and the newest one shows in the inbox."""
    conversation.last_channel = message.channel
    if message.created_at >= conversation.last_message_at:
        conversation.last_message_at = message.created_at
        conversation.preview = preview_of(message.body)
    conversation.message_count += 1
    conversation.updated_at = utcnow()


def _waiting(session: Session, conversation: Conversation, at: datetime) -> None:
    """The customer wrote: they wait from their first unanswered message on."""
    if conversation.waiting_since is None:
        conversation.waiting_since = at
        routing.restart_next_response(session, conversation)


def mark_answered(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    actor: Actor,
    channel: str,
    at: datetime,
) -> None:
    """An agent answered: the first-response clock stops (once), the customer is no
    longer waiting, and an unassigned conversation becomes the agent's."""
    if actor.user_id is None:
        return
    if conversation.first_response_at is None:
        conversation.first_response_at = at
        ctx.log(
            session,
            conversation,
            "first_response",
            actor,
            channel=channel,
            data={"seconds": (at - conversation.created_at).total_seconds()},
            at=at,
        )
    if conversation.assignee_id is None:
        conversation.assignee_id = actor.user_id
        ctx.log(session, conversation, "assigned", actor, data={"to": str(actor.user_id)}, at=at)
    conversation.waiting_since = None
    routing.restart_next_response(session, conversation)
