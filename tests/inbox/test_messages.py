"""The one write path of messages (both databases): whatever kind of message is added,
the conversation's counters stay right. A message of the exchange (in or out) counts and
the newest one sets the last message time and the preview; a note only marks the
conversation changed; an automated email (survey, transcript) changes nothing on it; a
customer's message starts the waiting, an agent's answer stops it and the first-response
clock, once."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.chat import service as chat
from accord.chat import transcript
from accord.chat.models import ChatTrigger, ChatTriggerShow, ChatVisitor
from accord.chat.service import ChatContext
from accord.govern.access.models import User
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox import csat, intake, service
from accord.inbox.context import Actor, InboxContext
from accord.inbox.intake import Inbound
from accord.inbox.messages import preview_of
from accord.inbox.models import Conversation, ConversationEvent, Message
from accord.inbox.people import Contact
from accord.kit.time import utcnow
from tests.helpers import add_user

AUTOMATED = ("csat_survey", "chat_transcript")


def _ctx(session: Session, workspace: ProvisionedWorkspace) -> InboxContext:
    return InboxContext.load(
        session, workspace.workspace.id, secret_key="k" * 40, base_url="http://test"
    )


def _agent(session: Session, workspace: ProvisionedWorkspace, email: str) -> Actor:
    add_user(session, workspace, email, "agent")
    user = session.scalars(select(User).where(User.email == email)).one()
    return Actor(user.id, user.name or user.email)


def _messages(session: Session, conversation: Conversation) -> list[Message]:
    stmt = select(Message).where(Message.conversation_id == conversation.id)
    return list(session.scalars(stmt.order_by(Message.created_at, Message.id)))


def _kinds(session: Session, conversation: Conversation) -> list[str]:
    stmt = select(ConversationEvent.kind).where(
        ConversationEvent.conversation_id == conversation.id
    )
    return list(session.scalars(stmt))


def _consistent(session: Session, conversation: Conversation) -> None:
    """What the conversation derives from its messages matches the messages."""
    session.flush()
    exchange = [
        m
        for m in _messages(session, conversation)
        if m.direction != "note" and (m.meta or {}).get("kind") not in AUTOMATED
    ]
    assert conversation.message_count == len(exchange)
    newest = max(exchange, key=lambda m: m.created_at)
    assert conversation.last_message_at == newest.created_at
    assert conversation.preview == preview_of(newest.body)


def test_each_kind_of_message_keeps_the_counters_right(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    ana = _agent(session, workspace, "ana@acme-support.com")
    start = utcnow() - timedelta(hours=2)
    got = intake.receive(
        session,
        ctx,
        Inbound(
            channel="email",
            contact=Contact(email="dana@example.com", name="Dana"),
            body="My tent pole snapped",
            subject="Tent pole",
            at=start,
        ),
    )
    c = got.conversation
    assert (c.message_count, c.last_message_at, c.waiting_since) == (1, start, start)
    assert c.first_response_at is None
    _consistent(session, c)

    # A message told late (older than the newest) counts, but the newest stays shown.
    older = start - timedelta(minutes=30)
    intake.receive(
        session,
        ctx,
        Inbound(
            channel="email",
            contact=Contact(email="dana@example.com"),
            body="Sent earlier, delivered late",
            at=older,
            conversation_id=c.id,
        ),
    )
    assert (c.message_count, c.last_message_at) == (2, start)
    assert c.preview == "My tent pole snapped"
    assert c.waiting_since == start  # waiting from the first unanswered message
    _consistent(session, c)

    # An agent's reply: counted, the clocks stop, the conversation becomes theirs.
    reply = service.reply(session, ctx, c, ana, "A new pole is on its way", channel="email")
    assert reply.delivery == "queued"
    assert c.message_count == 3
    assert c.first_response_at == reply.created_at
    assert c.waiting_since is None
    assert c.assignee_id == ana.user_id
    assert c.last_channel == "email"
    _consistent(session, c)

    # A note: not part of the exchange.
    before = (c.message_count, c.last_message_at, c.preview)
    service.note(session, ctx, c, ana, "Checked stock first")
    assert (c.message_count, c.last_message_at, c.preview) == before
    _consistent(session, c)

    # A logged call back by an agent: counted, and the first response stays the first.
    first = c.first_response_at
    intake.receive(
        session,
        ctx,
        Inbound(
            channel="phone",
            contact=Contact(email="dana@example.com", phone="+14155550134"),
            body="Called back",
            direction="out",
            author=ana,
            conversation_id=c.id,
        ),
    )
    assert c.message_count == 4
    assert c.last_channel == "phone"
    assert c.first_response_at == first
    _consistent(session, c)

    # Resolving sends the survey: an automated email, not counted.
    service.set_status(session, ctx, c, "resolved", ana)
    survey = [m for m in _messages(session, c) if (m.meta or {}).get("kind") == "csat_survey"]
    assert len(survey) == 1
    assert survey[0].delivery == "queued"
    assert c.message_count == 4
    _consistent(session, c)
    csat.record(session, ctx, c, 5, "Great")
    assert c.message_count == 4

    # The customer writes again: reopened, counted, waiting again.
    intake.receive(
        session,
        ctx,
        Inbound(channel="email", contact=Contact(email="dana@example.com"), body="Thanks!"),
    )
    assert c.status == "open"
    assert c.message_count == 5
    assert c.waiting_since is not None
    _consistent(session, c)
    kinds = _kinds(session, c)
    assert kinds.count("message_in") == 3
    assert kinds.count("message_out") == 2
    assert kinds.count("first_response") == 1
    assert kinds.count("note") == 1
    assert kinds.count("csat_requested") == 1


def test_chat_messages_keep_the_counters_right(
    session: Session, workspace: ProvisionedWorkspace, tmp_path: Path
) -> None:
    inbox = _ctx(session, workspace)
    ctx = ChatContext(inbox=inbox, data_dir=tmp_path, max_upload_bytes=1024 * 1024)
    ben = _agent(session, workspace, "ben@acme-support.com")
    visitor = ChatVisitor(
        id=uuid.uuid4(),
        workspace_id=workspace.workspace.id,
        anonymous_id="anon-counters",
        traits={},
        pages=[],
        utm={},
        current_url="https://shop.example/tents",
    )
    session.add(visitor)
    session.flush()

    # An agent starts a chat from the live visitors panel: counted, theirs, but the
    # customer has not written, so no first response yet.
    c = chat.start_chat(session, ctx, visitor, ben, "Can I help you choose a tent?")
    assert c.message_count == 1
    assert c.assignee_id == ben.user_id
    assert c.first_response_at is None
    assert c.last_channel == "chat"
    _consistent(session, c)

    # The visitor answers: counted, waiting.
    chat.send(session, ctx, visitor, "Yes, a two-person one")
    assert c.message_count == 2
    assert c.waiting_since is not None
    _consistent(session, c)

    # The transcript by email (to the address the site vouched for): automated, not
    # counted.
    visitor.verified_at, visitor.verified_email = utcnow(), "visitor@example.com"
    transcript.send(session, ctx, visitor, "visitor@example.com")
    assert c.message_count == 2
    _consistent(session, c)
    assert _kinds(session, c).count("transcript_sent") == 1


def test_a_proactive_message_answered_goes_first_and_counts(
    session: Session, workspace: ProvisionedWorkspace, tmp_path: Path
) -> None:
    inbox = _ctx(session, workspace)
    ctx = ChatContext(inbox=inbox, data_dir=tmp_path, max_upload_bytes=1024 * 1024)
    visitor = ChatVisitor(
        id=uuid.uuid4(),
        workspace_id=workspace.workspace.id,
        anonymous_id="anon-proactive",
        traits={},
        pages=[],
        utm={},
    )
    trigger = ChatTrigger(
        workspace_id=workspace.workspace.id,
        name="Welcome",
        event="page_view",
        action={"kind": "message", "body": "Need a hand?"},
    )
    session.add_all([visitor, trigger])
    session.flush()
    shown_at = utcnow() - timedelta(minutes=3)
    session.add(
        ChatTriggerShow(
            workspace_id=workspace.workspace.id,
            trigger_id=trigger.id,
            visitor_id=visitor.id,
            at=shown_at,
            message={"body": "Need a hand?", "author": "Sam"},
        )
    )
    session.flush()
    message = chat.send(session, ctx, visitor, "Where is my order?")
    c = session.get(Conversation, message.conversation_id)
    assert c is not None
    assert c.message_count == 2
    thread = _messages(session, c)
    assert [m.body for m in thread] == ["Need a hand?", "Where is my order?"]
    assert thread[0].author_name == "Sam"
    assert thread[0].created_at == shown_at
    assert c.preview == "Where is my order?"  # the newest message stays shown
    _consistent(session, c)
    kinds = _kinds(session, c)
    assert kinds.count("proactive_answered") == 1
    assert kinds.count("message_in") == 1
