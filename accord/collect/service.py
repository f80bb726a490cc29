"""Accepting messages: validate each one, store the good ones durably (deduplicated by
messageId) and report every bad one with the field at fault."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import touch
from accord.collect.messages import Incoming, Invalid, parse_message
from accord.collect.repository import EventRepository
from accord.govern.consent import rules, suppression
from accord.govern.consent.settings import read as read_consent
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import FieldError
from accord.kit.ids import new_id, new_ids


@dataclass
class Accepted:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    # Calls that carried an identifier on the suppression list (an erased person's):
    # dropped, or stored aside as ``quarantined`` where the workspace keeps them.
    suppressed: int = 0
    errors: list[FieldError] = field(default_factory=list)


CONSENT_STATUSES = {
    "granted": "granted",
    "yes": "granted",
    "true": "granted",
    "1": "granted",
    "opt-in": "granted",
    "opt_in": "granted",
    "subscribed": "granted",
    "denied": "denied",
    "no": "denied",
    "false": "denied",
    "0": "denied",
    "opt-out": "denied",
    "opt_out": "denied",
    "withdrawn": "withdrawn",
    "unsubscribed": "withdrawn",
}


def consent_status(value: Any) -> str | None:
    """A consent value as given in a file or a call (yes/no, true/false, granted,
    unsubscribed...) as a status; None when it is blank. ValueError when it is none."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        return "granted" if value else "denied"
    status = CONSENT_STATUSES.get(str(value).strip().lower())
    if status is None:
        raise ValueError(f"{value!r} is not a consent value (yes/no, granted/denied/withdrawn)")
    return status


def consent_of(context: dict[str, Any], source: str = "tracking") -> dict[str, Any] | None:
    """The consent a call carried, with the IP and user agent as evidence: Segment's
    ``context.consent.categoryPreferences`` (a category name and whether it is allowed)
    and Accord's ``context.consent.statuses`` (``"email.marketing": "granted"``, what an
    import's ``consent:`` columns give). ValueError names a bad entry."""
    given = context.get("consent")
    if not isinstance(given, dict):
        return None
    out: dict[str, Any] = {}
    prefs = given.get("categoryPreferences")
    if isinstance(prefs, dict):
        categories = {str(k)[:100]: v for k, v in prefs.items() if isinstance(v, bool)}
        if categories:
            out["categories"] = categories
    statuses = given.get("statuses")
    if isinstance(statuses, dict):
        checked: dict[str, str] = {}
        for key, value in statuses.items():
            channel, _, purpose = str(key).partition(".")
            if channel not in (*rules.CHANNELS, rules.ALL) or purpose not in (
                *rules.PURPOSES,
                rules.ALL,
            ):
                raise ValueError(f"statuses.{key}: not channel.purpose (e.g. email.marketing)")
            status = consent_status(value)
            if status is not None:
                checked[f"{channel}.{purpose}"] = status
        if checked:
            out["statuses"] = checked
    if not out:
        return None
    out["source"] = "import" if source.startswith("import") else "tracking"
    for key, name in (("ip", "ip"), ("userAgent", "user_agent")):
        value = context.get(key)
        if isinstance(value, str) and value:
            out[name] = value[:400]
    return out


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
        "consent": m.consent,
        "touch": touch.bits(m.type, m.name, m.channel, m.context),
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
        try:
            incoming.consent = consent_of(incoming.context, source)
        except ValueError as exc:
            where = f"{path}.context.consent" if path else "context.consent"
            result.errors.append(FieldError(field=where, code="invalid", message=str(exc)))
            continue
        if incoming.message_id in seen:
            result.duplicates += 1
            continue
        seen.add(incoming.message_id)
        good.append(incoming)
    rows = [
        to_row(workspace_id, source, incoming, id)
        for incoming, id in zip(good, new_ids(len(good)), strict=True)
    ]
    rows = _suppress(session, workspace_id, good, rows, result)
    stored = EventRepository.from_session(session).insert_new(rows)
    result.stored = stored
    result.duplicates += len(rows) - stored
    return result


def _suppress(
    session: Session,
    workspace_id: uuid.UUID,
    good: list[Incoming],
    rows: list[dict[str, Any]],
    result: Accepted,
) -> list[dict[str, Any]]:
    """Calls that carry a suppressed identifier never reach resolution: they are dropped,
    or kept as ``quarantined`` (the consent settings' ``suppressed_events``)."""
    pairs = {(t, v) for m in good for t, v in m.identifiers}
    hit = suppression.suppressed(session, workspace_id, pairs) if pairs else set()
    if not hit:
        return rows
    workspace = session.get(Workspace, workspace_id)
    keep = workspace is not None and read_consent(workspace).suppressed_events == "quarantine"
    out: list[dict[str, Any]] = []
    for m, row in zip(good, rows, strict=True):
        if not any((t, v) in hit for t, v in m.identifiers):
            out.append(row)
            continue
        result.suppressed += 1
        if keep:
            out.append({**row, "status": "quarantined"})
    return out
