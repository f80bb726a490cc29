"""Accepting messages: validate each one, store the good ones durably (deduplicated by
messageId) and report every bad one with the field at fault."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.collect.messages import Incoming, Invalid, parse_message
from accord.collect.repository import EventRepository
from accord.kit.errors import FieldError
from accord.kit.ids import new_id, new_ids


@dataclass
class Accepted:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    errors: list[FieldError] = field(default_factory=list)


def to_row(
    workspace_id: uuid.UUID, source: str, m: Incoming, id: uuid.UUID | None = None
) -> dict[str, Any]:
    return {
        "id": id or new_id(),
        "workspace_id": workspace_id,
        "message_id": m.message_id,
        "type": m.type,
        "name": m.name,
        "user_id": m.user_id,
        "anonymous_id": m.anonymous_id,
        "channel": m.channel,
        "source": source,
        "identifiers": m.identifiers,
        "traits": m.traits,
        "properties": m.properties,
        "context": m.context,
        "timestamp": m.timestamp,
        "sent_at": m.sent_at,
        "received_at": m.received_at,
        "status": "pending",
        "profile_id": None,
        "primary_identifier_id": None,
    }


def accept(
    session: Session,
    *,
    workspace_id: uuid.UUID,
    source: str,
    region: str,
    messages: list[Any],
    received_at: datetime,
    forced_type: str | None = None,
    field_prefix: str = "batch",
    defaults: dict[str, Any] | None = None,
    ip: str | None = None,
    require_sender: bool = True,
    small_body: bool = False,
    scan: bool = True,
) -> Accepted:
    """Validate and store messages. ``scan`` walks every string of each message for what
    no column can hold (NUL characters, lone surrogates) and for nesting too deep; the
    tracking API turns it off for a body whose raw bytes could hold none of it
    (``kit.textcheck``), callers without raw bytes keep it on."""
    result = Accepted(received=len(messages))
    good: list[Incoming] = []
    seen: set[str] = set()
    for i, raw in enumerate(messages):
        path = f"{field_prefix}[{i}]" if field_prefix else ""
        try:
            incoming = parse_message(
                raw,
                field=path,
                received_at=received_at,
                region=region,
                forced_type=forced_type,
                defaults=defaults,
                require_sender=require_sender,
                small_body=small_body,
                scan=scan,
            )
        except Invalid as exc:
            result.errors.append(exc.error)
            continue
        if ip and "ip" not in incoming.context:
            incoming.context = {**incoming.context, "ip": ip}
        if incoming.message_id in seen:
            result.duplicates += 1
            continue
        seen.add(incoming.message_id)
        good.append(incoming)
    rows = [
        to_row(workspace_id, source, incoming, id)
        for incoming, id in zip(good, new_ids(len(good)), strict=True)
    ]
    stored = EventRepository.from_session(session).insert_new(rows)
    result.stored = stored
    result.duplicates += len(rows) - stored
    return result
