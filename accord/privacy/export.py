"""A person's data as one zip: ``person.json`` (the shape ``export_schema.json`` documents,
also in the zip), their attachments as files under ``attachments/``, and a README. The
zip is written as it is sent: entries go out in chunks as they are made, events are read
a chunk at a time, and no more than one chunk and one attachment are held in memory."""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.govern.audit import access
from accord.govern.workspaces.models import Workspace
from accord.inbox.intake import attachment_path
from accord.kit import jsonio
from accord.kit.time import utcnow
from accord.privacy.models import PrivacyRequest
from accord.privacy.repository import SubjectRepository
from accord.privacy.subject import Subject

SCHEMA_PATH = Path(__file__).with_name("export_schema.json")
FORMAT = "accord.person-export"
VERSION = 1
CHUNK_BYTES = 256 * 1024
README = """This archive holds the personal data {workspace} keeps about one person.

person.json          everything, in the shape export_schema.json describes (JSON Schema)
export_schema.json   what each field of person.json means
attachments/         the files the person sent or received, named in person.json

Generated {at} for request {request}.
"""


class _Sink:
    """Where the zip writes: bytes wait here until they are sent."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


@dataclass
class Contents:
    """What an export held, for its request's receipt."""

    counts: dict[str, int] = field(default_factory=dict)
    files: int = 0
    missing_files: int = 0
    bytes: int = 0

    def as_receipt(self) -> dict[str, Any]:
        return {
            "counts": dict(sorted(self.counts.items())),
            "files": self.files,
            "missing_files": self.missing_files,
            "bytes": self.bytes,
        }


def _dump(value: Any) -> bytes:
    return jsonio.dumps(value).encode()


def stream(
    session: Session,
    workspace: Workspace,
    request: PrivacyRequest,
    subject: Subject,
    *,
    data_dir: Path | None,
    contents: Contents,
) -> Iterator[bytes]:
    """The zip, chunk by chunk; ``contents`` is filled in as it is written."""
    sink = _Sink()
    # The fastest deflate: person.json is mostly JSON keys, which any level packs well.
    zf = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)

    def drain(force: bool = False) -> Iterator[bytes]:
        if sink.buffer and (force or len(sink.buffer) >= CHUNK_BYTES):
            chunk = sink.take()
            contents.bytes += len(chunk)
            yield chunk

    now = utcnow()
    zf.writestr(
        "README.txt",
        README.format(workspace=workspace.name, at=now.isoformat(), request=request.id),
    )
    zf.write(SCHEMA_PATH, "export_schema.json")
    files: list[tuple[str, Path]] = []
    with zf.open("person.json", "w", force_zip64=True) as out:
        for part in _person(session, workspace, request, subject, data_dir, contents, files, now):
            out.write(part)
            yield from drain()
    for name, path in files:
        zf.write(path, name, compress_type=zipfile.ZIP_STORED)
        contents.files += 1
        yield from drain()
    zf.close()
    yield from drain(force=True)


def _person(
    session: Session,
    workspace: Workspace,
    request: PrivacyRequest,
    subject: Subject,
    data_dir: Path | None,
    contents: Contents,
    files: list[tuple[str, Path]],
    now: Any,
) -> Iterator[bytes]:
    repo = SubjectRepository.from_session(session)
    people = subject.profile_ids
    head = {
        "format": FORMAT,
        "version": VERSION,
        "generated_at": now,
        "workspace": {"id": workspace.id, "name": workspace.name},
        "request": {
            "id": request.id,
            "kind": request.kind,
            "identifier": {"type": request.identifier_type, "value": request.identifier_value},
            "received_at": request.created_at,
            "due_at": request.due_at,
        },
        "person": {"id": subject.live_id, "profile_ids": people},
    }
    yield _dump(head)[:-1]

    def section(name: str, rows: list[dict[str, Any]]) -> bytes:
        contents.counts[name] = len(rows)
        return b"," + _dump(name) + b":" + _dump(rows)

    yield section("profiles", [_profile(p) for p in repo.profiles(people)])
    idents = repo.identifiers_of(people) if people else []
    yield section("identifiers", [_identifier(i) for i in idents])
    records, states = repo.consent(people) if people else ([], [])
    contents.counts["consent_records"] = len(records)
    yield b',"consent":' + _dump(
        {"states": [_state(s) for s in states], "records": [_consent(r) for r in records]}
    )
    merges = repo.merges(subject.workspace_id, people) if people else []
    candidates = repo.candidates(subject.workspace_id, people) if people else []
    contents.counts["merges"] = len(merges)
    contents.counts["match_candidates"] = len(candidates)
    yield b',"identity":' + _dump(
        {
            "merges": [_merge(m) for m in merges],
            "match_candidates": [_candidate(c) for c in candidates],
        }
    )
    orders = repo.orders_of(people, sorted(subject.event_ids))
    yield section("orders", [_order(o) for o in orders])
    conversation_ids = repo.conversation_ids(subject.workspace_id, people) if people else set()
    anonymous = [v for t, v in subject.pairs if t == "anonymous_id"]
    visitors = repo.visitors(subject.workspace_id, anonymous, sorted(conversation_ids))
    conversation_ids |= {v.conversation_id for v in visitors if v.conversation_id is not None}
    conversations = []
    messages = 0
    for c in repo.conversations(sorted(conversation_ids)):
        rows = repo.messages(c.id)
        messages += len(rows)
        by_message: dict[Any, list[dict[str, Any]]] = {}
        for a in repo.attachments([m.id for m in rows]):
            name = f"attachments/{a.id}/{_safe(a.filename)}"
            path = attachment_path(data_dir, a.sha256) if data_dir is not None else None
            present = path is not None and path.exists()
            if present and path is not None:
                files.append((name, path))
            else:
                contents.missing_files += 1
            by_message.setdefault(a.message_id, []).append(
                _attachment(a, name if present else None)
            )
        conversations.append(
            _conversation(
                c,
                [_message(m, by_message.get(m.id, [])) for m in rows],
                repo.conversation_log(c.id),
            )
        )
    contents.counts["messages"] = messages
    contents.counts["attachments"] = len(files) + contents.missing_files
    yield section("conversations", conversations)
    yield section("chat_visitors", [_visitor(v) for v in visitors])
    mentions = repo.social_mentions(subject.workspace_id, people, subject.values(ids.SOCIAL))
    yield section("social_mentions", [_mention(m) for m in mentions])
    log = access.of_person(session, subject.workspace_id, people, limit=None) if people else []
    yield section("access_log", [_access(e) for e in log])
    yield b',"events":['
    count = 0
    for event in repo.events(sorted(subject.event_ids)):
        yield (b"," if count else b"") + _dump(_event(event))
        count += 1
    contents.counts["events"] = count
    yield b"]}"


def _safe(filename: str) -> str:
    name = "".join(c if c.isalnum() or c in "._- " else "_" for c in filename).strip(" .")
    return name[:120] or "file"


def _profile(p: Any) -> dict[str, Any]:
    return {
        "id": p.id,
        "merged_into_id": p.merged_into_id,
        "created_at": p.created_at,
        "updated_at": p.updated_at,
        "display_name": p.display_name,
        "email": p.email,
        "phone": p.phone,
        "traits": p.traits or {},
        "computed": p.stats or {},
        "first_seen_at": p.first_seen_at,
        "last_seen_at": p.last_seen_at,
        "order_count": p.order_count,
        "revenue": p.revenue,
    }


def _identifier(i: Any) -> dict[str, Any]:
    return {
        "type": i.type,
        "value": i.value,
        "source": i.source,
        "blocked": i.blocked,
        "profile_id": i.profile_id,
        "first_seen_at": i.created_at,
        "last_seen_at": i.last_seen_at,
    }


def _state(s: Any) -> dict[str, Any]:
    return {
        "channel": s.channel,
        "purpose": s.purpose,
        "status": s.status,
        "source": s.source,
        "recorded_at": s.recorded_at,
        "expires_at": s.expires_at,
        "record_id": s.record_id,
    }


def _consent(r: Any) -> dict[str, Any]:
    return {
        "id": r.id,
        "channel": r.channel,
        "purpose": r.purpose,
        "status": r.status,
        "legal_basis": r.legal_basis,
        "source": r.source,
        "recorded_at": r.recorded_at,
        "expires_at": r.expires_at,
        "recorded_by": r.recorded_by,
        "reason": r.reason,
        "ip": r.ip,
        "user_agent": r.user_agent,
        "notice_version": r.notice_version,
        "evidence": r.evidence or {},
        "voided_at": r.voided_at,
    }


def _merge(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "at": m.created_at,
        "survivor_id": m.survivor_id,
        "absorbed_id": m.absorbed_id,
        "rule": m.rule,
        "evidence": m.evidence or {},
        "undone_at": m.undone_at,
        "undone_by": m.undone_by,
    }


def _candidate(c: Any) -> dict[str, Any]:
    return {
        "id": c.id,
        "kind": c.kind,
        "status": c.status,
        "profile_a_id": c.profile_a_id,
        "profile_b_id": c.profile_b_id,
        "match_probability": c.match_probability,
        "evidence": c.evidence or {},
        "decided_at": c.decided_at,
        "decided_by": c.decided_by,
    }


def _order(o: Any) -> dict[str, Any]:
    return {
        "order_id": o.order_id,
        "placed_at": o.placed_at,
        "channel": o.channel,
        "store": o.store,
        "currency": o.currency,
        "total": o.total,
        "refunded": o.refunded,
        "status": o.status,
        "items": o.items or [],
        "event_id": o.event_id,
    }


def _attachment(a: Any, file: str | None) -> dict[str, Any]:
    return {
        "id": a.id,
        "filename": a.filename,
        "content_type": a.content_type,
        "size": a.size,
        "sha256": a.sha256,
        "file": file,
    }


def _message(m: Any, attachments: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": m.id,
        "at": m.created_at,
        "direction": m.direction,
        "channel": m.channel,
        "author_name": m.author_name,
        "address": m.address,
        "subject": m.subject,
        "body": m.body,
        "body_html": m.body_html,
        "quoted": m.quoted,
        "delivery": m.delivery,
        "meta": m.meta or {},
        "attachments": attachments,
    }


def _conversation(c: Any, messages: list[dict[str, Any]], log: list[Any]) -> dict[str, Any]:
    return {
        "id": c.id,
        "number": c.number,
        "subject": c.subject,
        "channel": c.channel,
        "status": c.status,
        "priority": c.priority,
        "tags": c.tags or [],
        "contact_name": c.contact_name,
        "created_at": c.created_at,
        "resolved_at": c.resolved_at,
        "csat_score": c.csat_score,
        "csat_comment": c.csat_comment,
        "transcript": c.channel == "chat",
        "messages": messages,
        "log": [
            {"kind": e.kind, "at": e.at, "channel": e.channel, "data": e.data or {}} for e in log
        ],
    }


def _visitor(v: Any) -> dict[str, Any]:
    return {
        "id": v.id,
        "anonymous_id": v.anonymous_id,
        "user_id": v.user_id,
        "name": v.name,
        "email": v.email,
        "traits": v.traits or {},
        "first_seen_at": v.created_at,
        "last_seen_at": v.last_seen_at,
        "visits": v.visits,
        "page_views": v.page_views,
        "pages": v.pages or [],
        "referrer": v.referrer,
        "utm": v.utm or {},
        "country": v.country,
        "user_agent": v.user_agent,
        "cart_value": v.cart_value,
        "cart_currency": v.cart_currency,
        "conversation_id": v.conversation_id,
        "verified_at": v.verified_at,
    }


def _mention(m: Any) -> dict[str, Any]:
    return {
        "id": m.id,
        "network": m.network,
        "url": m.url,
        "text": m.text,
        "title": m.title,
        "posted_at": m.posted_at,
        "author_handle": m.author_handle,
        "author_name": m.author_name,
        "followers": m.followers,
        "sentiment": m.sentiment,
        "intents": [i.get("kind") for i in m.intents or []],
        "decision": m.decision,
        "reason": m.reason,
        "conversation_id": m.conversation_id,
    }


def _access(e: Any) -> dict[str, Any]:
    return {
        "at": e.at,
        "actor": e.actor,
        "actor_kind": e.actor_kind,
        "action": e.action,
        "via": e.via,
    }


def _event(e: Any) -> dict[str, Any]:
    return {
        "id": e.id,
        "message_id": e.message_id,
        "type": e.type,
        "name": e.name,
        "channel": e.channel,
        "source": e.source,
        "timestamp": e.timestamp,
        "received_at": e.received_at,
        "user_id": e.user_id,
        "anonymous_id": e.anonymous_id,
        "identifiers": e.identifiers or [],
        "traits": e.traits,
        "properties": e.properties,
        "context": e.context,
        "profile_id": e.profile_id,
    }
