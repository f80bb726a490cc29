"""What agents do to a conversation: reply on any channel the customer can be reached
on, leave internal notes, assign, transfer, change status, priority and tags. Each
action is an event in the conversation's log."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.govern.access.repository import MembershipRepository
from accord.govern.access.scopes import Role
from accord.govern.consent.policy import Ask, decide
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import stored
from accord.inbox import routing
from accord.inbox.context import SYSTEM, Actor, InboxContext
from accord.inbox.csat import request_survey
from accord.inbox.messages import add_message
from accord.inbox.models import CannedResponse, Conversation, Message, Team
from accord.inbox.repository import ConversationRepository, MessageRepository, TeamRepository
from accord.inbox.rules import PRIORITIES, STATUSES
from accord.kit.errors import conflict, invalid, not_found
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.profile.queries import live_profile
from accord.profile.repository import OrderRepository
from accord.resolve.repository import IdentifierRepository

# What Accord can deliver a written reply on: email, text messages and social posts (the
# outbox, then the workspace's relay, SMS provider or the network the mention came from:
# accord.social.delivery) and a live chat (the visitor's socket). A phone is answered by
# calling back (logged, or scheduled as a callback: accord.inbox.calls).
REPLY_CHANNELS = ("email", "sms", "chat", "social")
QUEUED_CHANNELS = ("email", "sms", "social")  # sent by the outbox after commit
MAX_TEXT = 1600  # the longest text message a provider takes
# Who may take conversations (be assigned, transferred to, join a team): an analyst
# reads only.
TAKERS = frozenset({Role.ADMIN.value, Role.AGENT.value})


def can_take(role: str) -> bool:
    return role in TAKERS


def get(session: Session, workspace_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation:
    row = ConversationRepository.from_session(session).get(workspace_id, conversation_id)
    if row is None:
        raise not_found("Conversation", field="conversation_id")
    return row


def person_of(session: Session, conversation: Conversation) -> Profile | None:
    if conversation.profile_id is None:
        return None
    return live_profile(session, conversation.workspace_id, conversation.profile_id)


@dataclass
class Reach:
    """Where the customer can be answered: ``addresses`` holds the channels a reply can be
    delivered on with the address on each, ``blocked`` the channels they have an
    address on but must not be sent to, and why (consent), and ``phone`` the number to
    call them back on (None when there is none or they may not be called)."""

    addresses: dict[str, str]
    default: str | None
    blocked: dict[str, str]
    phone: str | None = None

    def refusal(self) -> str | None:
        """Why no reply can go out, in the customer's terms (None when one can)."""
        if self.addresses:
            return None
        if self.blocked:
            return "; ".join(dict.fromkeys(self.blocked.values()))
        return None


def can_text(workspace: Workspace) -> bool:
    """Whether the workspace has an SMS provider to send texts through: an account, its
    token, and a number or messaging service to send from (as ``channels/sms.of`` asks)."""
    provider = stored(workspace, "sms")
    sender = provider.get("from_number") or provider.get("messaging_service_sid")
    return bool(provider.get("auth_token_encrypted") and provider.get("account_sid") and sender)


def reach(session: Session, conversation: Conversation, person: Profile | None) -> Reach:
    addresses: dict[str, str] = {}
    blocked: dict[str, str] = {}
    phone: str | None = None
    latest = MessageRepository.from_session(session).last_inbound_each(conversation.id)
    workspace = session.get(Workspace, conversation.workspace_id)
    assert workspace is not None
    last_email, last_call = latest.get("email"), latest.get("phone")
    # A social post is answered through its network when the listening source that heard
    # it can reply (its message says so: ``replyable``).
    last_social = latest.get("social")
    if last_social is not None and (last_social.meta or {}).get("replyable"):
        addresses["social"] = str((last_social.meta or {}).get("handle") or last_social.address)
    # A text can be sent once the workspace has an SMS provider (``channels/sms.py``).
    texting = can_text(workspace)
    last_text = latest.get("sms") if texting else None
    if last_email is not None and last_email.address:
        addresses["email"] = last_email.address
    if last_text is not None and last_text.address:
        addresses["sms"] = last_text.address
    if last_call is not None and last_call.address:
        phone = last_call.address
    if person is not None:
        for ident in IdentifierRepository.from_session(session).of_profile(person.id):
            if ident.type == ids.EMAIL:
                addresses.setdefault("email", ident.value)
            elif ident.type == ids.PHONE:
                phone = phone or ident.value
                if texting:
                    addresses.setdefault("sms", ident.value)
    last_in = max(latest.values(), key=lambda m: (m.created_at, m.id), default=None)
    # A live chat is answered on the chat; a message left while nobody was online
    # (offline) is answered by email.
    offline = last_in is not None and bool((last_in.meta or {}).get("offline"))
    said = last_in.address if last_in is not None and last_in.channel == "chat" else None
    if said and "@" in said:
        # The address a chat visitor gave: the one to answer a message left offline at.
        if offline:
            addresses["email"] = said
        else:
            addresses.setdefault("email", said)
    if last_in is not None and last_in.channel == "chat" and not offline:
        addresses["chat"] = "chat"
    elif last_in is None and conversation.channel == "chat":
        addresses["chat"] = "chat"  # a chat an agent started with a visitor
    asks = [
        Ask(c, "service", a if c not in ("chat", "social") else None) for c, a in addresses.items()
    ]
    if phone:
        asks.append(Ask("phone", "service", phone))
    for ask, decision in zip(asks, decide(session, workspace, person, asks), strict=True):
        if not decision.allowed:
            blocked[ask.channel] = decision.reason
            if ask.channel == "phone":
                phone = None
    for channel in blocked:
        addresses.pop(channel, None)
    last = last_in.channel if last_in is not None else conversation.last_channel
    preferred = "email" if offline else {"web": "email"}.get(last, last)
    default = preferred if preferred in addresses else next(iter(addresses), None)
    return Reach(addresses, default, blocked, phone)


def _trait(traits: dict[str, Any], name: str) -> Any:
    value = traits.get(name)
    return value.get("value") if isinstance(value, dict) else value


def reply(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    actor: Actor,
    body: str,
    *,
    channel: str | None = None,
    status: str | None = None,
    at: datetime | None = None,
    private: bool = False,
) -> Message:
    """Answer the customer in writing, on a channel Accord delivers: email, text messages
    and social replies go out through the outbox after commit, a chat to the visitor's
    socket. A phone is answered by calling back (:mod:`accord.inbox.calls`). A social
    reply answers the latest post under it, or (``private``) by a direct message. Refused,
    saying why, when the customer must not be contacted (``doNotContact``, a bounced
    address) or cannot be reached."""
    body = body.strip()
    if not body:
        raise invalid("A reply needs a body", field="body")
    person = person_of(session, conversation)
    where = reach(session, conversation, person)
    if channel is not None and channel not in REPLY_CHANNELS:
        instead = (
            "call them back (log the call or schedule a callback)"
            if channel == "phone"
            else "answer by email, text message, chat or a social reply"
        )
        raise invalid(
            f"Accord cannot deliver a reply by {channel}: {instead}",
            field="channel",
            code="not_deliverable",
        )
    channel = channel or where.default
    if channel is None:
        refusal = where.refusal()
        if refusal:
            raise conflict(f"Cannot reply: {refusal}", field="channel", code="no_consent")
        raise invalid(
            "The customer has no email address and no open chat to answer on"
            + ("; call them back (log the call or schedule a callback)" if where.phone else ""),
            field="channel",
            code="unreachable",
        )
    if channel in where.blocked:
        raise conflict(
            f"Cannot send by {channel}: {where.blocked[channel]}",
            field="channel",
            code="no_consent",
        )
    if channel not in where.addresses:
        raise invalid(
            f"The customer has no {channel} address; reachable: "
            + (", ".join(where.addresses) or "none"),
            field="channel",
            code="unreachable",
        )
    if channel == "sms" and len(body) > MAX_TEXT:
        raise invalid(
            f"A text message holds at most {MAX_TEXT} characters ({len(body)} given)",
            field="body",
            code="too_long",
        )
    meta: dict[str, Any] | None = None
    if channel == "social":
        meta = _social_reply(session, conversation, body, private)
    elif private:
        raise invalid("Only a social reply can be private", field="private")
    now = at or utcnow()
    last_email = (
        MessageRepository.from_session(session).last_inbound(conversation.id, "email")
        if channel == "email"
        else None
    )
    message = add_message(
        session,
        ctx,
        conversation,
        direction="out",
        channel=channel,
        body=body,
        at=now,
        author=actor,
        address=where.addresses[channel],
        subject=_reply_subject(conversation.subject) if channel == "email" else None,
        in_reply_to=last_email.external_id if last_email is not None else None,
        delivery="queued" if channel in QUEUED_CHANNELS else "sent",
        answers=True,
        meta=meta,
    )
    if status:
        set_status(session, ctx, conversation, status, actor, at=now)
    ctx.changed(session, conversation, "message", message)
    return message


def _social_reply(
    session: Session, conversation: Conversation, body: str, private: bool
) -> dict[str, Any]:
    """What the outbox needs to answer the latest post: which mention, how, and within
    the network's length (the listening package wrote both on the post's message)."""
    post = MessageRepository.from_session(session).last_inbound(conversation.id, "social")
    meta = (post.meta or {}) if post is not None else {}
    limit = int(meta.get("max_reply") or 0)
    if limit and len(body) > limit:
        raise invalid(
            f"A reply on {meta.get('network', 'this network')} holds at most {limit} "
            f"characters ({len(body)} given)",
            field="body",
            code="too_long",
        )
    return {"mention": meta.get("mention"), "network": meta.get("network"), "private": private}


def _reply_subject(subject: str) -> str:
    subject = subject or "Your message"
    return subject if subject.lower().startswith("re:") else f"Re: {subject}"


def note(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    actor: Actor,
    body: str,
    at: datetime | None = None,
) -> Message:
    body = body.strip()
    if not body:
        raise invalid("A note needs a body", field="body")
    return add_message(
        session,
        ctx,
        conversation,
        direction="note",
        channel="note",
        body=body,
        at=at,
        author=actor,
        publish="note",
    )


def _member(session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
    """The user may take conversations of this workspace (an admin or an agent)."""
    membership = MembershipRepository.from_session(session).get(workspace_id, user_id)
    if membership is None:
        raise invalid("That user is not a member of this workspace", field="assignee_id")
    if not can_take(membership.role):
        raise invalid(
            "That user cannot take conversations (an analyst reads only)",
            field="assignee_id",
            code="cannot_take",
        )


def assign(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    user_id: uuid.UUID | None,
    actor: Actor,
) -> None:
    if user_id == conversation.assignee_id:
        return
    if user_id is not None:
        _member(session, conversation.workspace_id, user_id)
    before = conversation.assignee_id
    conversation.assignee_id = user_id
    conversation.updated_at = utcnow()
    ctx.log(
        session,
        conversation,
        "assigned" if user_id else "unassigned",
        actor,
        data={"from": str(before) if before else None, "to": str(user_id) if user_id else None},
    )
    ctx.changed(session, conversation, "assigned")


def transfer(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    actor: Actor,
    *,
    team_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
    note_text: str | None = None,
) -> None:
    """Hand the conversation to another team or agent, with an internal note the receiver
    reads first. A transfer to a team without a named agent is routed within the team."""
    if team_id is None and user_id is None:
        raise invalid("Transfer to a team or an agent", field="team_id")
    before_team, before_agent = conversation.team_id, conversation.assignee_id
    team: Team | None = None
    if team_id is not None:
        team = TeamRepository.from_session(session).get(conversation.workspace_id, team_id)
        if team is None:
            raise not_found("Team", field="team_id")
        conversation.team_id = team.id
    if note_text and note_text.strip():
        note(session, ctx, conversation, actor, note_text)
    if user_id is None and team is not None:
        exclude = [before_agent] if before_agent else []
        user_id = routing.choose_agent(session, team, utcnow(), exclude=exclude)
    if user_id is not None:
        _member(session, conversation.workspace_id, user_id)
    conversation.assignee_id = user_id
    conversation.updated_at = utcnow()
    ctx.log(
        session,
        conversation,
        "transferred",
        actor,
        data={
            "from_team": str(before_team) if before_team else None,
            "to_team": str(conversation.team_id) if conversation.team_id else None,
            "from": str(before_agent) if before_agent else None,
            "to": str(user_id) if user_id else None,
            "note": (note_text or "").strip() or None,
        },
    )
    routing.apply_sla(session, conversation, conversation.created_at)
    ctx.changed(session, conversation, "transferred")


def set_status(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    status: str,
    actor: Actor,
    *,
    snooze_until: datetime | None = None,
    at: datetime | None = None,
) -> None:
    if status not in STATUSES:
        raise invalid(f"Status must be one of {', '.join(STATUSES)}", field="status")
    if status == "snoozed" and snooze_until is None:
        raise invalid("Snoozing needs a time to wake up", field="snooze_until")
    if status == conversation.status and status != "snoozed":
        return
    before = conversation.status
    now = at or utcnow()
    conversation.status = status
    conversation.snoozed_until = snooze_until if status == "snoozed" else None
    conversation.updated_at = now
    if status == "resolved":
        conversation.resolved_at = now
        conversation.waiting_since = None
        routing.restart_next_response(session, conversation)
        ctx.log(session, conversation, "resolved", actor, data={"from": before}, at=now)
        request_survey(session, ctx, conversation)
    elif before == "resolved":
        conversation.resolved_at = None
        conversation.reopen_count += 1
        ctx.log(session, conversation, "reopened", actor, data={"to": status})
        routing.apply_sla(session, conversation, now)
    else:
        data: dict[str, Any] = {"from": before, "to": status}
        if snooze_until is not None:
            data["until"] = snooze_until.isoformat()
        ctx.log(session, conversation, "status_changed", actor, data=data)
    ctx.changed(session, conversation, "status")


def set_priority(
    session: Session, ctx: InboxContext, conversation: Conversation, priority: str, actor: Actor
) -> None:
    if priority not in PRIORITIES:
        raise invalid(f"Priority must be one of {', '.join(PRIORITIES)}", field="priority")
    if priority == conversation.priority:
        return
    before = conversation.priority
    conversation.priority = priority
    ctx.log(session, conversation, "priority_changed", actor, data={"from": before, "to": priority})
    routing.apply_sla(session, conversation, conversation.created_at)
    ctx.changed(session, conversation, "priority")


def set_tags(
    session: Session, ctx: InboxContext, conversation: Conversation, tags: list[str], actor: Actor
) -> None:
    clean = list(dict.fromkeys(t.strip().lower()[:40] for t in tags if t.strip()))
    if clean == conversation.tags:
        return
    ctx.log(session, conversation, "tagged", actor, data={"from": conversation.tags, "to": clean})
    conversation.tags = clean
    ctx.changed(session, conversation, "tags")


def wake_snoozed(session: Session, ctx_for: Any, now: datetime | None = None) -> int:
    """Snoozed conversations whose time has come are open again."""
    now = now or utcnow()
    woken = 0
    for conversation in ConversationRepository.from_session(session).due_snoozes(now):
        ctx: InboxContext = ctx_for(conversation.workspace_id)
        conversation.status = "open"
        conversation.snoozed_until = None
        ctx.log(
            session,
            conversation,
            "status_changed",
            SYSTEM,
            data={"from": "snoozed", "to": "open", "why": "snooze ended"},
        )
        ctx.changed(session, conversation, "status")
        woken += 1
    return woken


PLACEHOLDERS = ("first_name", "last_name", "name", "email", "last_order", "agent_name", "number")


def render_canned(
    session: Session, canned: CannedResponse, conversation: Conversation, agent_name: str
) -> str:
    """Fill ``{{first_name}}``, ``{{last_order}}`` and the rest from the customer."""
    person = person_of(session, conversation)
    traits = person.traits if person else {}
    values = {
        "first_name": _first_name(person, traits),
        "last_name": _trait(traits, "lastName") or "",
        "name": (person.display_name if person else conversation.contact_name) or "",
        "email": (person.email if person else "") or "",
        "agent_name": agent_name,
        "number": str(conversation.number),
        "last_order": "",
    }
    if person is not None:
        orders = OrderRepository.from_session(session).recent(person.id, limit=1)
        if orders:
            o = orders[0]
            values["last_order"] = f"order {o.order_id} ({o.currency} {o.total:.2f})"
    text = canned.body
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value or "")).replace(
            "{{ " + key + " }}", str(value or "")
        )
    return text


def _first_name(person: Profile | None, traits: dict[str, Any]) -> str:
    if person is None:
        return ""
    return str(_trait(traits, "firstName") or (person.display_name or "").split(" ")[0])
