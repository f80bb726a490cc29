"""Who wrote: an inbound message is a touchpoint like any other. It is recorded as an
event through the collection service and resolved by the identity graph straight away,
so the conversation it joins belongs to the same person as every other channel."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import service as collect
from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.govern.workspaces.models import Workspace
from accord.resolve import service as resolve

# The inbox's channels and the touchpoint channel each is recorded under.
EVENT_CHANNEL = {
    "email": "email",
    "web": "web",
    "phone": "call_center",
    "chat": "chat",
    "social": "social",
    "sms": "sms",
}


@dataclass
class Contact:
    """What an inbound message says about its sender."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    social: dict[str, str] = field(default_factory=dict)  # platform -> handle
    # False when nothing vouches for who this is (a chat visitor's typed details): only
    # the anonymous id is linked, and the message never joins anyone else's conversation.
    verified: bool = True
    # An address the sender gave to be answered at, shown but never linked to a profile.
    said_email: str | None = None
    # Set for a sender whose identities were vouched for (``type:value``): the message
    # joins only a conversation that already holds a message from one of them.
    vouched: frozenset[str] | None = None

    @property
    def traits(self) -> dict[str, Any]:
        """The identifiers this sender links in the identity graph."""
        out: dict[str, Any] = {}
        if not self.verified:
            return out
        if self.email:
            out["email"] = self.email
        if self.phone:
            out["phone"] = self.phone
        out.update(self.social)
        return out

    def display(self) -> str | None:
        if self.name:
            return self.name
        if self.email or self.said_email:
            return self.email or self.said_email
        if self.phone:
            return self.phone
        for platform, handle in self.social.items():
            return f"{platform}:{handle}"
        return None


def _key(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def recorded(session: Session, workspace_id: uuid.UUID, key: str) -> bool:
    """Whether the message with this ``key`` was recorded already (a redelivery)."""
    events = EventRepository.from_session(session)
    return events.by_message_id(workspace_id, f"inbox-{_key(key)}") is not None


def touchpoint_messages(
    *,
    channel: str,
    contact: Contact,
    event_name: str,
    properties: dict[str, Any],
    at: datetime,
    key: str,
) -> list[dict[str, Any]]:
    """A message's sender and the message as tracking messages (an identify with the
    sender's name when there is one, then the event). ``key`` makes a redelivered message
    the same event, whoever records it."""
    context: dict[str, Any] = {"channel": EVENT_CHANNEL.get(channel, channel)}
    if contact.traits:
        context["traits"] = contact.traits
    sender: dict[str, Any] = {}
    if contact.user_id:
        sender["userId"] = contact.user_id
    if contact.anonymous_id:
        sender["anonymousId"] = contact.anonymous_id
    messages: list[dict[str, Any]] = []
    if contact.name and contact.verified:
        traits = {**contact.traits, "name": contact.name}
        messages.append(
            {
                "type": "identify",
                "messageId": f"inbox-id-{_key(key)}",
                "traits": traits,
                "timestamp": at.isoformat(),
                "context": {"channel": context["channel"]},
                **sender,
            }
        )
    messages.append(
        {
            "type": "track",
            "event": event_name,
            "messageId": f"inbox-{_key(key)}",
            "properties": properties,
            "timestamp": at.isoformat(),
            "context": context,
            **sender,
        }
    )
    return messages


def record_touchpoint(
    session: Session,
    workspace: Workspace,
    *,
    channel: str,
    contact: Contact,
    event_name: str,
    properties: dict[str, Any],
    at: datetime,
    key: str,
) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """Record the message as an event of its sender and resolve it now; returns the
    person and the event. ``key`` makes a redelivered message the same event."""
    messages = touchpoint_messages(
        channel=channel,
        contact=contact,
        event_name=event_name,
        properties=properties,
        at=at,
        key=key,
    )
    profile_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    for event in accept_now(session, workspace, messages, source=f"inbox:{channel}", at=at):
        profile_id = event.profile_id or profile_id
        event_id = event.id
    return profile_id, event_id


def record_later(
    session: Session,
    workspace: Workspace,
    messages: list[dict[str, Any]],
    *,
    source: str,
    at: datetime,
) -> None:
    """Store touchpoints (``touchpoint_messages``) for the resolver to attribute in the
    background, as any tracked event is: many at once, without resolving each now."""
    if not messages:
        return
    collect.accept(
        session,
        workspace_id=workspace.id,
        source=source,
        region=workspace.default_region,
        messages=messages,
        received_at=at,
        field_prefix="",
        require_sender=False,
    )


def accept_now(
    session: Session,
    workspace: Workspace,
    messages: list[dict[str, Any]],
    *,
    source: str,
    at: datetime,
) -> list[Event]:
    """Store messages through the collection service and resolve them at once (a message
    already stored is found again), so their people reflect them in this transaction."""
    record_later(session, workspace, messages, source=source, at=at)
    session.flush()
    events = EventRepository.from_session(session)
    out = []
    for m in messages:
        event = events.by_message_id(workspace.id, str(m["messageId"]))
        if event is not None:
            resolve.resolve_now(session, workspace.id, event)
            out.append(event)
    return out
