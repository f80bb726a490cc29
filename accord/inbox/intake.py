"""Inbound messages from every channel: who sent it (the identity graph decides), which
conversation it continues (the email thread, else the person's open conversation, else
one resolved within the reopen window), or a new conversation routed to a team and an
agent with its SLA clocks started."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from accord.inbox import routing
from accord.inbox.context import SYSTEM, Actor, InboxContext
from accord.inbox.messages import add_message, preview_of
from accord.inbox.models import Attachment, Conversation, Message
from accord.inbox.people import Contact, record_touchpoint
from accord.inbox.repository import ACTIVE, ConversationRepository, MessageRepository
from accord.inbox.rules import PRIORITIES, priority_rank
from accord.kit.dialect import lock_workspace
from accord.kit.errors import invalid
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.profile.queries import live_profile

EVENT_NAMES = {
    "email": "Email Received",
    "web": "Contact Form Submitted",
    "phone": "Call",
    "chat": "Chat Message Received",
    "social": "Social Message Received",
    "sms": "SMS Received",
}


@dataclass
class NewAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass
class Inbound:
    channel: str
    contact: Contact
    body: str
    subject: str | None = None
    html: str | None = None
    quoted: str | None = None
    external_id: str | None = None
    references: list[str] = field(default_factory=list)
    at: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    attachments: list[NewAttachment] = field(default_factory=list)
    properties: dict[str, Any] = field(default_factory=dict)
    priority: str | None = None
    skills: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    direction: str = "in"  # an outbound call is logged as "out"
    author: Actor | None = None
    # The conversation the channel already has open with this sender (a chat visitor's);
    # it wins over the person's other conversations while within the reopen window.
    conversation_id: uuid.UUID | None = None
    # The touchpoint's event name, when not the channel's usual one (a social mention).
    event_name: str | None = None


@dataclass
class Received:
    conversation: Conversation
    message: Message
    created: bool
    duplicate: bool = False
    reopened: bool = False


def _person(
    session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID | None
) -> Profile | None:
    if profile_id is None:
        return None
    return live_profile(session, workspace_id, profile_id)


def _threaded(session: Session, ctx: InboxContext, references: list[str]) -> Conversation | None:
    if not references:
        return None
    found = MessageRepository.from_session(session).by_external_ids(ctx.workspace_id, references)
    if not found:
        return None
    order = {ref: i for i, ref in enumerate(references)}
    found.sort(key=lambda m: order.get(m.external_id or "", len(order)))
    return ConversationRepository.from_session(session).get(
        ctx.workspace_id, found[0].conversation_id
    )


def _within_window(ctx: InboxContext, conversation: Conversation, now: datetime) -> bool:
    if conversation.status in ACTIVE:
        return True
    resolved = conversation.resolved_at or conversation.last_message_at
    return now - resolved <= ctx.settings.reopen_window


def find_conversation(
    session: Session, ctx: InboxContext, person: Profile | None, inbound: Inbound, now: datetime
) -> Conversation | None:
    threaded = _threaded(session, ctx, inbound.references)
    if threaded is not None:
        return threaded if _within_window(ctx, threaded, now) else None
    if person is None or not inbound.contact.verified:
        return None
    repo = ConversationRepository.from_session(session)
    mine = repo.of_person(ctx.workspace_id, repo.person_ids(ctx.workspace_id, person.id))
    if mine:
        joinable = _joinable(session, mine, inbound.contact.vouched)
        mine = [c for c in mine if c.id in joinable]
    active = [c for c in mine if c.status in ACTIVE]
    if active:
        if inbound.channel == "sms":
            # A text answers the conversation texts were last exchanged in, when one is
            # open; anything else joins the newest open conversation.
            return next((c for c in active if c.last_channel == "sms"), active[0])
        return active[0]
    recent = [c for c in mine if _within_window(ctx, c, now)]
    return recent[0] if recent else None


def _joinable(
    session: Session, conversations: list[Conversation], vouched: frozenset[str] | None
) -> set[uuid.UUID]:
    """Of a person's conversations, those a new message of theirs may join.

    A chat whose visitor nobody vouched for is theirs alone: the person it resolved to
    may have been claimed through the public tracking API, so another channel's message
    (and the agents' answers to it) must not land where that visitor reads. A sender
    vouched for (``vouched``) joins only a conversation holding an inbound message from
    one of the same identities: an email from that address, or a chat message vouched
    for the same user or email."""
    emails = {v.split(":", 1)[1] for v in vouched or () if v.startswith("email:")}
    trusted: set[uuid.UUID] = set()
    sure: set[uuid.UUID] = set()
    for cid, address, meta in MessageRepository.from_session(session).inbound_senders(
        [c.id for c in conversations]
    ):
        if not meta.get("unverified"):
            trusted.add(cid)
        if vouched and (
            (address or "").lower() in emails or vouched & set(meta.get("vouched") or [])
        ):
            sure.add(cid)
    if vouched is not None:
        return sure
    return {c.id for c in conversations if c.channel != "chat" or c.id in trusted}


def open_conversation(
    session: Session,
    ctx: InboxContext,
    *,
    channel: str,
    subject: str,
    person: Profile | None,
    contact_name: str | None,
    at: datetime,
    priority: str | None = None,
    skills: list[str] | None = None,
    tags: list[str] | None = None,
    actor: Actor = SYSTEM,
) -> Conversation:
    """A new conversation, routed to a team and an agent, SLA clocks running."""
    lock_workspace(session, ctx.workspace_id, "inbox")
    repo = ConversationRepository.from_session(session)
    conversation = Conversation(
        id=new_id(),
        workspace_id=ctx.workspace_id,
        number=repo.next_number(ctx.workspace_id),
        profile_id=person.id if person else None,
        subject=subject[:300],
        status="open",
        priority=priority if priority in PRIORITIES else "normal",
        tags=list(dict.fromkeys(tags or [])),
        channel=channel,
        last_channel=channel,
        contact_name=(person.display_name if person and person.display_name else contact_name),
        last_message_at=at,
        created_at=at,
        updated_at=at,
        message_count=0,
        reopen_count=0,
    )
    session.add(conversation)
    ctx.log(session, conversation, "created", actor, channel=channel, at=at)
    team = routing.choose_team(session, ctx.settings, conversation, person)
    if team is not None:
        conversation.team_id = team.id
        agent = routing.choose_agent(session, team, at, skills or [])
        if agent is not None:
            conversation.assignee_id = agent
            ctx.log(
                session,
                conversation,
                "assigned",
                SYSTEM,
                data={"to": str(agent), "team": str(team.id), "rule": team.routing},
                at=at,
            )
        else:
            ctx.log(session, conversation, "queued", SYSTEM, data={"team": str(team.id)}, at=at)
    routing.apply_sla(session, conversation, at)
    return conversation


def store_attachments(
    session: Session, data_dir: Path, message: Message, files: list[NewAttachment]
) -> list[Attachment]:
    out = []
    for f in files:
        digest = hashlib.sha256(f.data).hexdigest()
        path = attachment_path(data_dir, digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(f.data)
            tmp.replace(path)
        row = Attachment(
            workspace_id=message.workspace_id,
            message_id=message.id,
            filename=Path(f.filename or "attachment").name[:255] or "attachment",
            content_type=(f.content_type or "application/octet-stream")[:120],
            size=len(f.data),
            sha256=digest,
        )
        session.add(row)
        out.append(row)
    return out


def attachment_path(data_dir: Path, digest: str) -> Path:
    return data_dir / "attachments" / digest[:2] / digest


def receive(
    session: Session, ctx: InboxContext, inbound: Inbound, data_dir: Path | None = None
) -> Received:
    """Take one inbound message. Idempotent: a message whose channel id was already
    stored returns the stored one."""
    if inbound.channel not in EVENT_NAMES:
        raise invalid(f"Unknown channel {inbound.channel!r}", field="channel")
    messages = MessageRepository.from_session(session)
    if inbound.external_id:
        existing = messages.by_external_ids(ctx.workspace_id, [inbound.external_id])
        if existing:
            conv = ConversationRepository.from_session(session).get(
                ctx.workspace_id, existing[0].conversation_id
            )
            assert conv is not None
            return Received(conv, existing[0], created=False, duplicate=True)
    now = utcnow()
    at = min(inbound.at or now, now)
    key = inbound.external_id or f"{inbound.channel}:{uuid.uuid4()}"
    props = {
        "channel": inbound.channel,
        **({"subject": inbound.subject} if inbound.subject else {}),
        **inbound.properties,
    }
    profile_id, event_id = record_touchpoint(
        session,
        ctx.workspace,
        channel=inbound.channel,
        contact=inbound.contact,
        event_name=inbound.event_name or EVENT_NAMES[inbound.channel],
        properties=props,
        at=at,
        key=key,
    )
    person = _person(session, ctx.workspace_id, profile_id)
    conversation = None
    if inbound.conversation_id is not None:
        hinted = ConversationRepository.from_session(session).get(
            ctx.workspace_id, inbound.conversation_id
        )
        if hinted is not None and _within_window(ctx, hinted, now):
            conversation = hinted
    if conversation is None:
        conversation = find_conversation(session, ctx, person, inbound, now)
    created = conversation is None
    reopened = False
    if conversation is None:
        conversation = open_conversation(
            session,
            ctx,
            channel=inbound.channel,
            subject=inbound.subject or preview_of(inbound.body)[:80] or "(no subject)",
            person=person,
            contact_name=inbound.contact.display(),
            at=at,
            priority=inbound.priority,
            skills=inbound.skills,
            tags=inbound.tags,
        )
    else:
        if conversation.profile_id is None and person is not None:
            conversation.profile_id = person.id
        if inbound.priority and priority_rank(inbound.priority) > priority_rank(
            conversation.priority
        ):
            conversation.priority = inbound.priority
        if conversation.status == "resolved":
            reopened = True
            conversation.status = "open"
            conversation.resolved_at = None
            conversation.reopen_count += 1
            ctx.log(session, conversation, "reopened", SYSTEM, channel=inbound.channel, at=at)
            routing.apply_sla(session, conversation, at)
        elif conversation.status in ("pending", "snoozed") and inbound.direction == "in":
            ctx.log(
                session,
                conversation,
                "status_changed",
                SYSTEM,
                data={"from": conversation.status, "to": "open", "why": "customer replied"},
                at=at,
            )
            conversation.status = "open"
            conversation.snoozed_until = None
    message = add_message(
        session,
        ctx,
        conversation,
        direction=inbound.direction,
        channel=inbound.channel,
        body=inbound.body,
        at=at,
        author=inbound.author,
        author_name=inbound.author.name if inbound.author else inbound.contact.display(),
        address=inbound.contact.email or inbound.contact.said_email or inbound.contact.phone,
        subject=inbound.subject,
        html=inbound.html,
        quoted=inbound.quoted,
        external_id=inbound.external_id,
        in_reply_to=inbound.references[0] if inbound.references else None,
        event_id=event_id,
        meta=inbound.meta,
        answers=inbound.direction == "out",  # a call back logged by the agent on it
        publish="created" if created else "message",
        files=len(inbound.attachments) if data_dir is not None else 0,
    )
    session.flush()
    if inbound.attachments and data_dir is not None:
        store_attachments(session, data_dir, message, inbound.attachments)
    return Received(conversation, message, created=created, reopened=reopened)
