"""Data portability: every person with identifiers, traits and computed values, as JSON
lines or CSV, streamed in batches (what other tools load, and what a customer may ask
for)."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy.orm import Session

from accord.kit import csvsafe
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository
from accord.resolve.repository import IdentifierRepository

FORMATS = ("jsonl", "csv")
CSV_COLUMNS = [
    "id",
    "display_name",
    "email",
    "phone",
    "first_seen",
    "last_seen",
    "order_count",
    "revenue",
    "average_order_value",
    "preferred_channel",
    "channels",
    "identifiers",
    "traits",
]


def record(p: Profile, identifiers: list[dict[str, str]]) -> dict[str, Any]:
    stats = p.stats or {}
    return {
        "id": str(p.id),
        "display_name": p.display_name,
        "identifiers": identifiers,
        "traits": {k: v["value"] for k, v in sorted((p.traits or {}).items())},
        "computed": {
            "first_seen": p.first_seen_at.isoformat() if p.first_seen_at else None,
            "last_seen": p.last_seen_at.isoformat() if p.last_seen_at else None,
            "channels": sorted((stats.get("channels") or {}).keys()),
            "order_count": p.order_count,
            "revenue": str(p.revenue),
            "average_order_value": stats.get("average_order_value"),
            "last_order_at": stats.get("last_order_at"),
            "preferred_channel": stats.get("preferred_channel"),
        },
    }


def records(
    session: Session, workspace_id: uuid.UUID, batch: int = 500
) -> Iterator[dict[str, Any]]:
    chunk: list[Profile] = []
    for p in ProfileRepository.from_session(session).all_live(workspace_id, batch=batch):
        chunk.append(p)
        if len(chunk) >= batch:
            yield from _emit(session, chunk)
            chunk = []
    yield from _emit(session, chunk)


def _emit(session: Session, chunk: list[Profile]) -> Iterator[dict[str, Any]]:
    if not chunk:
        return
    idents = IdentifierRepository.from_session(session).values_of([p.id for p in chunk])
    for p in chunk:
        yield record(p, [{"type": t, "value": v} for t, v in idents[p.id]])


def csv_row(rec: dict[str, Any]) -> list[Any]:
    c = rec["computed"]
    traits = rec["traits"]
    return [
        rec["id"],
        rec["display_name"] or "",
        traits.get("email", ""),
        traits.get("phone", ""),
        c["first_seen"] or "",
        c["last_seen"] or "",
        c["order_count"],
        c["revenue"],
        c["average_order_value"] or "",
        c["preferred_channel"] or "",
        " ".join(c["channels"]),
        " ".join(f"{i['type']}:{i['value']}" for i in rec["identifiers"]),
        json.dumps(traits, default=str, sort_keys=True),
    ]


def stream(session: Session, workspace_id: uuid.UUID, fmt: str) -> Iterator[str]:
    """The export as text chunks in ``fmt`` (jsonl or csv)."""
    if fmt == "jsonl":
        for rec in records(session, workspace_id):
            yield json.dumps(rec, default=str) + "\n"
        return
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(CSV_COLUMNS)
    for n, rec in enumerate(records(session, workspace_id), start=1):
        writer.writerow(csvsafe.row(csv_row(rec)))
        if n % 200 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()
