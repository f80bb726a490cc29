"""What live chat's API and console read: the visitors on the site now, the visitors of
a conversation, the triggers. Reads only; the writes are in :mod:`accord.chat.service`,
:mod:`accord.chat.triggers` and the settings modules."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from accord.chat.models import ChatTrigger, ChatVisitor
from accord.chat.repository import TriggerRepository, VisitorRepository
from accord.chat.schemas import VisitorRead
from accord.kit.errors import not_found
from accord.kit.time import utcnow


def visitor_read(v: ChatVisitor, profile_id: uuid.UUID | None, now: datetime) -> VisitorRead:
    return VisitorRead(
        id=v.id,
        anonymous_id=v.anonymous_id,
        user_id=v.user_id,
        name=v.name,
        email=v.email,
        current_url=v.current_url,
        current_title=v.current_title,
        seconds_on_page=int((now - v.page_started_at).total_seconds()) if v.page_started_at else 0,
        pages_this_visit=v.visit_pages,
        pages=v.pages or [],
        visits=v.visits,
        returning=v.visits > 1,
        referrer=v.referrer,
        utm=v.utm or {},
        country=v.country,
        cart_value=v.cart_value,
        cart_currency=v.cart_currency,
        profile_id=profile_id,
        conversation_id=v.conversation_id,
        last_seen_at=v.last_seen_at,
    )


def online_visitors(
    session: Session, workspace_id: uuid.UUID, online_seconds: float
) -> list[VisitorRead]:
    """Visitors whose widget was heard from within ``online_seconds``, with the person
    each one is known as."""
    now = utcnow()
    repo = VisitorRepository.from_session(session)
    rows = repo.online(workspace_id, now - timedelta(seconds=online_seconds))
    # One row per browser: a page left before its widget heard back can leave a second
    # visitor of the same anonymous id; the one heard from last is the one on the site.
    latest: dict[str, ChatVisitor] = {}
    for v in rows:
        latest.setdefault(v.anonymous_id, v)
    rows = list(latest.values())
    profiles = repo.profiles_of(workspace_id, {v.anonymous_id for v in rows})
    return [visitor_read(v, profiles.get(v.anonymous_id), now) for v in rows]


def visitor(session: Session, workspace_id: uuid.UUID, visitor_id: uuid.UUID) -> ChatVisitor:
    row = VisitorRepository.from_session(session).get(workspace_id, visitor_id)
    if row is None:
        raise not_found("Visitor", field="visitor_id")
    return row


def visitors_of(
    session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID
) -> tuple[list[ChatVisitor], dict[str, uuid.UUID]]:
    """The visitors chatting in a conversation, and the person each anonymous id is."""
    repo = VisitorRepository.from_session(session)
    rows = repo.of_conversation(conversation_id)
    return rows, repo.profiles_of(workspace_id, {v.anonymous_id for v in rows})


def triggers(session: Session, workspace_id: uuid.UUID) -> list[ChatTrigger]:
    return TriggerRepository.from_session(session).all(workspace_id)


def trigger(session: Session, workspace_id: uuid.UUID, trigger_id: uuid.UUID) -> ChatTrigger:
    row = TriggerRepository.from_session(session).get(workspace_id, trigger_id)
    if row is None:
        raise not_found("Trigger", field="trigger_id")
    return row
