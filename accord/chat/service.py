"""The visitor's side of live chat: starting a session (a visitor and its token), what
the visitor browses (pages, visits, referrer and UTM, cart), chatting into the inbox
(channel ``chat``), files, leave-a-message, rating and read receipts (the transcript is
:mod:`accord.chat.transcript`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session

from accord.chat.identity import contact_of, vouched
from accord.chat.models import ChatVisitor
from accord.chat.repository import TriggerRepository, VisitorRepository
from accord.govern.consent.policy import may_contact
from accord.inbox import csat, intake
from accord.inbox import files as uploads
from accord.inbox import service as inbox_service
from accord.inbox.context import Actor, InboxContext
from accord.inbox.intake import Inbound, NewAttachment
from accord.inbox.messages import add_message
from accord.inbox.models import Conversation, Message
from accord.inbox.repository import ConversationRepository
from accord.kit.errors import AccordError, invalid, unauthorized
from accord.kit.security import constant_time_equals, sign
from accord.kit.signals import after_commit
from accord.kit.time import utcnow
from accord.profile.queries import live_profile

VISIT_GAP = timedelta(minutes=30)
PAGES_KEPT = 25
PROACTIVE_WINDOW = timedelta(hours=2)
REPLAY_WINDOW = timedelta(minutes=30)  # how far back a page told late may be placed
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
MAX_BODY = 5000


@dataclass
class ChatContext:
    """An inbox context plus what chat needs besides: where files go, how big they may
    be, and how to tell the workspace's sockets and consoles after commit."""

    inbox: InboxContext
    data_dir: Path
    max_upload_bytes: int

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.inbox.workspace_id

    def tell(self, session: Session, payload: dict[str, Any]) -> None:
        """A chat update (typing, read, a new conversation for a visitor, a notice) for
        every worker's sockets and consoles, after commit."""
        publish, workspace_id = self.inbox.publish, self.workspace_id
        after_commit(session, lambda: publish(workspace_id, {"type": "chat", **payload}))


def visitor_token(secret_key: str, visitor_id: uuid.UUID) -> str:
    return "vt_" + sign(secret_key, f"chat-visitor:{visitor_id}")[:40]


def authenticate(
    session: Session, workspace_id: uuid.UUID, visitor_id: Any, token: Any, secret_key: str
) -> ChatVisitor:
    """The visitor a token was issued for, in the write key's workspace; anything else
    is refused alike, so nothing tells whether a visitor id exists."""
    try:
        vid = uuid.UUID(str(visitor_id))
    except ValueError:
        raise unauthorized("A valid visitor token is required") from None
    if not isinstance(token, str) or not constant_time_equals(
        visitor_token(secret_key, vid), token
    ):
        raise unauthorized("A valid visitor token is required")
    visitor = VisitorRepository.from_session(session).get(workspace_id, vid)
    if visitor is None:
        raise unauthorized("A valid visitor token is required")
    return visitor


def present(session: Session, workspace_id: uuid.UUID, visitor_id: uuid.UUID) -> ChatVisitor:
    """The visitor of an open socket, still there."""
    visitor = VisitorRepository.from_session(session).get(workspace_id, visitor_id)
    if visitor is None:
        raise unauthorized("The visitor is gone")
    return visitor


def heartbeat(
    session: Session, workspace_id: uuid.UUID, visitor_id: uuid.UUID, now: datetime
) -> None:
    """The widget is still open: one UPDATE, nothing read."""
    VisitorRepository.from_session(session).touch(workspace_id, visitor_id, now)


def start(
    session: Session,
    workspace_id: uuid.UUID,
    secret_key: str,
    *,
    anonymous_id: str,
    visitor_id: Any = None,
    token: Any = None,
    country: str | None = None,
    user_agent: str | None = None,
    now: datetime | None = None,
) -> ChatVisitor:
    """The visitor a valid token names, else this anonymous id's visitor that holds
    nothing yet, else a new one. A new visit starts after 30 minutes away."""
    now = now or utcnow()
    visitor: ChatVisitor | None = None
    if visitor_id and token:
        try:
            visitor = authenticate(session, workspace_id, visitor_id, token, secret_key)
        except AccordError:
            visitor = None
    anonymous_id = (anonymous_id or "").strip()[:200]
    if not anonymous_id:
        raise invalid("The widget must send its anonymous id", field="anonymousId")
    if visitor is None:
        # A page left before the widget heard back made a visitor no browser holds the
        # token of; it is taken up again rather than left as a second, empty visitor.
        visitor = VisitorRepository.from_session(session).unclaimed(
            workspace_id, anonymous_id, now - VISIT_GAP
        )
    if visitor is None:
        visitor = ChatVisitor(
            id=uuid.uuid4(),
            workspace_id=workspace_id,
            anonymous_id=anonymous_id,
            traits={},
            pages=[],
            utm={},
            visits=1,
            visit_started_at=now,
            last_seen_at=now,
            visit_pages=0,
            page_views=0,
            cart_value=Decimal("0"),
            created_at=now,
        )
        session.add(visitor)
    elif now - visitor.last_seen_at > VISIT_GAP:
        visitor.visits += 1
        visitor.visit_started_at = now
        visitor.visit_pages = 0
        visitor.pages = []
        visitor.referrer = None
        visitor.utm = {}
    visitor.last_seen_at = now
    if country and len(country) == 2 and country.isalpha():
        visitor.country = country.upper()
    if user_agent:
        visitor.user_agent = user_agent[:300]
    session.flush()
    return visitor


def page_view(
    visitor: ChatVisitor,
    url: str,
    title: str | None,
    referrer: str | None,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    url = (url or "")[:2000]
    if now - visitor.last_seen_at > VISIT_GAP:
        visitor.visits += 1
        visitor.visit_started_at = now
        visitor.visit_pages = 0
        visitor.pages = []
    if visitor.visit_pages == 0:
        site = urlsplit(url).netloc
        if referrer and urlsplit(referrer).netloc != site:
            visitor.referrer = referrer[:2000]
        query = parse_qs(urlsplit(url).query)
        visitor.utm = {k: query[k][0][:200] for k in UTM_KEYS if query.get(k)}
    if url != visitor.current_url or visitor.visit_pages == 0:
        visitor.visit_pages += 1
        visitor.page_views += 1
        visitor.page_started_at = now
        visitor.pages = [
            *visitor.pages[-(PAGES_KEPT - 1) :],
            {"url": url, "title": (title or "")[:300], "at": now.isoformat()},
        ]
    visitor.current_url = url
    visitor.current_title = (title or "")[:300] or None
    visitor.last_seen_at = now


def replayed_at(visitor: ChatVisitor, given: Any, now: datetime) -> datetime | None:
    """When a page told late was seen, by the browser's clock, kept between the visitor's
    last known moment (and at most half an hour back) and now; None if it is no time."""
    try:
        at = datetime.fromisoformat(str(given).replace("Z", "+00:00"))
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    floor = max(visitor.last_seen_at, now - REPLAY_WINDOW)
    return min(max(at, floor), now)


def set_cart(visitor: ChatVisitor, value: Any, currency: Any = None) -> None:
    try:
        amount = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise invalid("The cart value must be a number", field="value") from None
    if amount < 0 or amount > Decimal("999999999"):
        raise invalid("The cart value is out of range", field="value")
    visitor.cart_value = amount
    if isinstance(currency, str) and len(currency) == 3:
        visitor.cart_currency = currency.upper()


# --- chatting -----------------------------------------------------------------------------


def _join(visitor: ChatVisitor, conversation: Conversation, at: datetime) -> None:
    if visitor.conversation_id != conversation.id:
        visitor.conversation_id = conversation.id
        visitor.conversation_since = at


def send(
    session: Session,
    ctx: ChatContext,
    visitor: ChatVisitor,
    body: str,
    *,
    client_id: str | None = None,
    files: list[NewAttachment] | None = None,
) -> Message:
    """The visitor writes: an inbound chat message in the inbox, continuing the visitor's
    chat, else (only when vouched for) the person's open conversation, else opening one
    (see :mod:`accord.chat.identity`). A proactive message the
    visitor is answering goes into the thread first, as its agent wrote it."""
    body = (body or "").strip()
    files = files or []
    if not body and not files:
        raise invalid("A message needs text or a file", field="body")
    if len(body) > MAX_BODY:
        raise invalid(f"A message may be {MAX_BODY} characters", field="body")
    for f in files:
        check_file(ctx, f)
    now = utcnow()
    shows = TriggerRepository.from_session(session).open_shows(visitor.id, now - PROACTIVE_WINDOW)
    got = intake.receive(
        session,
        ctx.inbox,
        Inbound(
            channel="chat",
            contact=contact_of(visitor),
            body=body or ", ".join(f.filename for f in files),
            subject=None,
            external_id=f"chat:{visitor.id}:{client_id}" if client_id else None,
            attachments=files,
            meta={"visitor": str(visitor.id), "page": visitor.current_url, **_claim(visitor)},
            properties={"page": visitor.current_url} if visitor.current_url else {},
            conversation_id=visitor.conversation_id,
        ),
        ctx.data_dir,
    )
    if got.duplicate:
        return got.message
    conversation = got.conversation
    first_at = now
    for show in shows:
        show.accepted_at = now
        show.conversation_id = conversation.id
        message = show.message or {}
        if message.get("body") and show is shows[0]:
            first_at = min(first_at, show.at)
            add_message(
                session,
                ctx.inbox,
                conversation,
                direction="out",
                channel="chat",
                body=message["body"],
                at=show.at,
                author_name=message.get("author") or "Support",
                delivery="sent",
                meta={"proactive": str(show.trigger_id), "show": str(show.id)},
                event="proactive_answered",
                event_data={"trigger": str(show.trigger_id)},
                logged_at=now,
            )
    if visitor.conversation_id != conversation.id:
        visitor.conversation_id = conversation.id
        visitor.conversation_since = first_at
    if visitor.conversation_since is None or visitor.conversation_since > first_at:
        visitor.conversation_since = first_at
    if got.created or got.reopened:
        ctx.tell(
            session,
            {"what": "conversation", "visitor": str(visitor.id), "id": str(conversation.id)},
        )
    session.flush()
    return got.message


def _claim(visitor: ChatVisitor) -> dict[str, Any]:
    """What the message records of who sent it: the identities vouched for, or a mark
    that nobody vouched for them, so agents see it as a claim."""
    sure = vouched(visitor)
    return {"vouched": sorted(sure)} if sure else {"unverified": True}


def check_file(ctx: ChatContext, f: NewAttachment) -> None:
    uploads.check_file(f, ctx.max_upload_bytes)


def start_chat(
    session: Session, ctx: ChatContext, visitor: ChatVisitor, actor: Actor, body: str
) -> Conversation:
    """An agent opens a chat with a visitor on the site (from the live visitors panel)."""
    body = body.strip()
    if not body:
        raise invalid("Write the first message", field="body")
    now = utcnow()
    conversation = None
    if visitor.conversation_id is not None:
        found = ConversationRepository.from_session(session).get(
            ctx.workspace_id, visitor.conversation_id
        )
        if found is not None and found.status != "resolved":
            conversation = found
            may_contact(
                session,
                ctx.inbox.workspace,
                inbox_service.person_of(session, found),
                "chat",
                "service",
            ).permit()
    if conversation is None:
        profile_id = VisitorRepository.from_session(session).profile_of(
            ctx.workspace_id, visitor.anonymous_id
        )
        person = live_profile(session, ctx.workspace_id, profile_id) if profile_id else None
        # An agent reaching out to a visitor: the consent policy decides as for any send.
        may_contact(session, ctx.inbox.workspace, person, "chat", "service").permit()
        conversation = intake.open_conversation(
            session,
            ctx.inbox,
            channel="chat",
            subject=f"Chat on {urlsplit(visitor.current_url or '').path or 'the site'}",
            person=person,
            contact_name=visitor.name or visitor.email,
            at=now,
            actor=actor,
        )
        session.flush()
    add_message(
        session,
        ctx.inbox,
        conversation,
        direction="out",
        channel="chat",
        body=body,
        at=now,
        author=actor,
        delivery="sent",
        meta={"started_by_agent": True},
    )
    if conversation.assignee_id is None and actor.user_id is not None:
        conversation.assignee_id = actor.user_id
    _join(visitor, conversation, now)
    session.flush()
    ctx.tell(
        session, {"what": "conversation", "visitor": str(visitor.id), "id": str(conversation.id)}
    )
    ctx.inbox.changed(session, conversation, "message")
    return conversation


def leave_message(
    session: Session,
    ctx: ChatContext,
    visitor: ChatVisitor,
    *,
    name: str | None,
    email: str,
    body: str,
) -> Conversation:
    """No agent can answer now: the message goes to the inbox, marked offline, and the
    answer goes out by email."""
    body = (body or "").strip()
    if not body:
        raise invalid("Write your message", field="message")
    if "@" not in (email or "") or len(email) > 320:
        raise invalid("Leave an email address for the answer", field="email")
    visitor.email = email.strip()
    if name and name.strip():
        visitor.name = name.strip()[:200]
    got = intake.receive(
        session,
        ctx.inbox,
        Inbound(
            channel="chat",
            contact=contact_of(visitor),
            body=body[:MAX_BODY],
            subject="Message left on the chat",
            tags=["offline"],
            meta={
                "visitor": str(visitor.id),
                "offline": True,
                "page": visitor.current_url,
                **_claim(visitor),
            },
            conversation_id=visitor.conversation_id,
        ),
        ctx.data_dir,
    )
    _join(visitor, got.conversation, got.message.created_at)
    session.flush()
    return got.conversation


def chat_of(session: Session, ctx: ChatContext, visitor: ChatVisitor) -> Conversation:
    found = None
    if visitor.conversation_id is not None:
        found = ConversationRepository.from_session(session).get(
            ctx.workspace_id, visitor.conversation_id
        )
    if found is None:
        raise invalid("There is no chat yet", field="conversation")
    return found


def rate(
    session: Session, ctx: ChatContext, visitor: ChatVisitor, score: Any, comment: Any
) -> None:
    conversation = chat_of(session, ctx, visitor)
    try:
        value = int(score)
    except (TypeError, ValueError):
        raise invalid("The score must be 1 to 5", field="score") from None
    csat.record(session, ctx.inbox, conversation, value, str(comment or "") or None)


def read_by_visitor(session: Session, ctx: ChatContext, visitor: ChatVisitor) -> None:
    now = utcnow()
    visitor.visitor_read_at = now
    if visitor.conversation_id is not None:
        ctx.tell(
            session,
            {
                "what": "read",
                "by": "visitor",
                "visitor": str(visitor.id),
                "conversation": str(visitor.conversation_id),
                "at": now.isoformat(),
            },
        )


def read_by_agent(session: Session, ctx: ChatContext, conversation: Conversation) -> int:
    """An agent has the conversation open: its visitors see their messages as read."""
    now = utcnow()
    visitors = VisitorRepository.from_session(session).of_conversation(conversation.id)
    for visitor in visitors:
        visitor.agent_read_at = now
    if visitors:
        ctx.tell(
            session,
            {
                "what": "read",
                "by": "agent",
                "conversation": str(conversation.id),
                "at": now.isoformat(),
            },
        )
    return len(visitors)
