"""Tracked links and opens. A link in a sent email goes through ``/r/<token>``, which
records the click and redirects; a one-pixel image ``/o/<token>.gif`` records the open.
A token names the send (and for a link its URL) and is signed with the deployment's
secret key, so the redirect goes only where the email said. Each comes back on the
person's timeline as an event (``Email Link Clicked``, ``Email Opened``), accepted
through the collection service like any touchpoint; a click counts as an open too (the
images of many mail readers are blocked)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import service as collect
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import forbidden
from accord.kit.security import constant_time_equals, sign
from accord.outreach.models import Send
from accord.outreach.repository import SendRepository

OPENED = "Email Opened"
CLICKED = "Email Link Clicked"
SOURCE = "accord-outreach"
MAC = 24


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mint(secret_key: str, kind: str, payload: bytes) -> str:
    body = _b64(payload)
    return f"{body}.{sign(secret_key, f'{kind}|{body}')[:MAC]}"


def _read(secret_key: str, kind: str, token: str) -> bytes:
    body, _, mac = (token or "").partition(".")
    if not body or not constant_time_equals(sign(secret_key, f"{kind}|{body}")[:MAC], mac):
        raise forbidden("This link is not valid", code="bad_link")
    try:
        payload = _unb64(body)
    except ValueError:
        raise forbidden("This link is not valid", code="bad_link") from None
    if len(payload) < 16:
        raise forbidden("This link is not valid", code="bad_link")
    return payload


@dataclass(frozen=True)
class Links:
    """Makes the tracked URLs of one deployment."""

    base_url: str
    secret_key: str

    def click(self, send_id: uuid.UUID, url: str) -> str:
        token = _mint(self.secret_key, "click", send_id.bytes + url.encode())
        return f"{self.base_url.rstrip('/')}/r/{token}"

    def open(self, send_id: uuid.UUID) -> str:
        return f"{self.base_url.rstrip('/')}/o/{_mint(self.secret_key, 'open', send_id.bytes)}.gif"


def read_click(secret_key: str, token: str) -> tuple[uuid.UUID, str]:
    payload = _read(secret_key, "click", token)
    try:
        url = payload[16:].decode()
    except UnicodeDecodeError:
        raise forbidden("This link is not valid", code="bad_link") from None
    if not url.startswith(("http://", "https://")):
        raise forbidden("This link is not valid", code="bad_link")
    return uuid.UUID(bytes=payload[:16]), url


def read_open(secret_key: str, token: str) -> uuid.UUID:
    return uuid.UUID(bytes=_read(secret_key, "open", token.removesuffix(".gif"))[:16])


def _event(
    send: Send, name: str, message_id: str, at: datetime, **properties: str
) -> dict[str, Any]:
    traits = {"email": send.address} if send.channel == "email" else {"phone": send.address}
    return {
        "type": "track",
        "event": name,
        "messageId": message_id,
        "timestamp": at.isoformat(),
        "properties": {
            "send_id": str(send.id),
            "campaign_id": str(send.campaign_id) if send.campaign_id else None,
            "journey_id": str(send.journey_id) if send.journey_id else None,
            "step": send.step,
            "source": send.source_key.split(":", 1)[0],
            "channel": send.channel,
            **properties,
        },
        "context": {"traits": traits, "channel": send.channel},
    }


def _accept(session: Session, send: Send, message: dict[str, Any], at: datetime) -> None:
    workspace = session.get(Workspace, send.workspace_id)
    if workspace is None or not send.address:
        return
    collect.accept(
        session,
        workspace_id=workspace.id,
        source=SOURCE,
        region=workspace.default_region,
        messages=[message],
        received_at=at,
        field_prefix="",
        require_sender=False,
    )


def record_open(session: Session, send_id: uuid.UUID, at: datetime) -> bool:
    """An open of a sent email: counted, and the first one becomes an event (the
    event's message id is the send's, so later opens add none)."""
    send = session.get(Send, send_id)
    if send is None or send.status not in ("sent", "bounced", "complained"):
        return False
    first = send.opened_at is None
    SendRepository.from_session(session).count_open(send.id, at)
    if first:
        _accept(session, send, _event(send, OPENED, f"open-{send.id}", at), at)
    return first


def record_click(session: Session, send_id: uuid.UUID, url: str, at: datetime) -> bool:
    """A click of a tracked link: counted, and an event (one per link and minute: a
    mail scanner's or an impatient double click is one)."""
    send = session.get(Send, send_id)
    if send is None or send.status not in ("sent", "bounced", "complained"):
        return False
    first_open = send.opened_at is None
    SendRepository.from_session(session).count_click(send.id, at)
    key = hashlib.sha256(url.encode()).hexdigest()[:12]
    minute = int(at.timestamp() // 60)
    messages = [_event(send, CLICKED, f"click-{send.id}-{key}-{minute}", at, url=url)]
    if first_open:
        messages.append(_event(send, OPENED, f"open-{send.id}", at))
    for message in messages:
        _accept(session, send, message, at)
    return True
