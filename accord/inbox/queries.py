"""What the inbox's API and console read: the inbox views, a conversation with its thread,
files, log and customer, the counts of the views, teams, policies and canned responses.
Reads only; the writes are in :mod:`accord.inbox.service` and :mod:`accord.inbox.setup`."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.customers.context import context_of
from accord.inbox import routing
from accord.inbox.models import (
    AgentState,
    Attachment,
    CannedResponse,
    Conversation,
    ConversationEvent,
    Message,
    SlaPolicy,
    Team,
)
from accord.inbox.repository import (
    CannedRepository,
    ConversationRepository,
    EventLogRepository,
    InboxFilter,
    MessageRepository,
    TeamRepository,
)
from accord.inbox.service import Reach, person_of, reach
from accord.kit.errors import not_found
from accord.kit.time import utcnow
from accord.profile.models import Profile


def by_number(session: Session, workspace_id: uuid.UUID, number: int) -> Conversation:
    row = ConversationRepository.from_session(session).by_number(workspace_id, number)
    if row is None:
        raise not_found("Conversation", field="number")
    return row


def list_conversations(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    user_id: uuid.UUID | None,
    view: str = "all",
    status: str | None = None,
    channel: str | None = None,
    priority: str | None = None,
    sla: str | None = None,
    profile_id: uuid.UUID | None = None,
    q: str | None = None,
    limit: int = 50,
    before: tuple[datetime, uuid.UUID] | None = None,
    now: datetime | None = None,
) -> list[Conversation]:
    """A page of an inbox view, newest first; ``before`` continues after a row."""
    repo = ConversationRepository.from_session(session)
    teams = TeamRepository.from_session(session).teams_of(workspace_id, user_id) if user_id else ()
    f = InboxFilter(
        view=view,
        user_id=user_id,
        team_ids=teams,
        status=status,
        channel=channel,
        priority=priority,
        sla=sla,
        profile_ids=repo.person_ids(workspace_id, profile_id) if profile_id else (),
        q=q,
    )
    now = now or utcnow()
    return repo.inbox(
        workspace_id, f, now=now, soon=now + routing.DUE_SOON, limit=limit, before=before
    )


def people(
    session: Session, workspace_id: uuid.UUID, profile_ids: Collection[uuid.UUID | None]
) -> dict[uuid.UUID, Profile]:
    """The person behind each of these profile ids (merged ones followed to their
    survivor), to name them on a page of conversations or visitors."""
    return ConversationRepository.from_session(session).people(
        workspace_id, {p for p in profile_ids if p is not None}
    )


def counts(session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID | None) -> dict[str, int]:
    """Open conversations in the views: mine, unassigned and all."""
    return ConversationRepository.from_session(session).counts(workspace_id, user_id)


def thread(session: Session, conversation: Conversation) -> list[Message]:
    return MessageRepository.from_session(session).thread(conversation.id)


def events(session: Session, conversation: Conversation) -> list[ConversationEvent]:
    return EventLogRepository.from_session(session).of(conversation.id)


@dataclass
class ConversationView:
    """A conversation as the console shows it: the thread with its files, the log, and
    the customer (how to reach them, their other conversations, identifiers, orders)."""

    conversation: Conversation
    thread: list[Message]
    files: dict[uuid.UUID, list[Attachment]]
    events: list[ConversationEvent]
    person: Profile | None
    reach: Reach
    history: list[Conversation] = field(default_factory=list)
    identifiers: list[Any] = field(default_factory=list)
    orders: list[Any] = field(default_factory=list)


def conversation_view(session: Session, conversation: Conversation) -> ConversationView:
    messages = MessageRepository.from_session(session)
    rows = messages.thread(conversation.id)
    files: dict[uuid.UUID, list[Attachment]] = {}
    for a in messages.attachments([m.id for m in rows]):
        files.setdefault(a.message_id, []).append(a)
    person = person_of(session, conversation)
    out = ConversationView(
        conversation=conversation,
        thread=rows,
        files=files,
        events=[],
        person=person,
        reach=reach(session, conversation, person),
    )
    if person is not None:
        out.history = [
            c
            for c in conversations_of(session, conversation.workspace_id, person.id, limit=10)
            if c.id != conversation.id
        ]
        customer = context_of(session, person, orders=5)
        out.identifiers = customer.identifiers
        out.orders = customer.orders
    out.events = EventLogRepository.from_session(session).of(conversation.id)
    return out


def conversations_of(
    session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID, *, limit: int = 50
) -> list[Conversation]:
    """A person's conversations (those of profiles merged into them too), latest first."""
    repo = ConversationRepository.from_session(session)
    return repo.of_person(workspace_id, repo.person_ids(workspace_id, profile_id), limit)


def attachment(session: Session, workspace_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment:
    row = MessageRepository.from_session(session).attachment(workspace_id, attachment_id)
    if row is None:
        raise not_found("Attachment", field="attachment_id")
    return row


def teams(session: Session, workspace_id: uuid.UUID) -> list[Team]:
    return TeamRepository.from_session(session).all(workspace_id)


def team_members(session: Session, team: Team) -> list[uuid.UUID]:
    return [m.user_id for m in TeamRepository.from_session(session).members(team.id)]


def teams_with_members(
    session: Session, workspace_id: uuid.UUID
) -> list[tuple[Team, list[uuid.UUID]]]:
    return [(t, team_members(session, t)) for t in teams(session, workspace_id)]


def agent_states(session: Session, workspace_id: uuid.UUID) -> dict[uuid.UUID, AgentState]:
    return TeamRepository.from_session(session).agent_states(workspace_id)


def policies(session: Session, workspace_id: uuid.UUID) -> list[SlaPolicy]:
    return TeamRepository.from_session(session).policies(workspace_id)


def canned_responses(session: Session, workspace_id: uuid.UUID) -> list[CannedResponse]:
    return CannedRepository.from_session(session).all(workspace_id)


def canned_response(
    session: Session, workspace_id: uuid.UUID, canned_id: uuid.UUID
) -> CannedResponse:
    row = CannedRepository.from_session(session).get(workspace_id, canned_id)
    if row is None:
        raise not_found("Canned response", field="canned_id")
    return row
