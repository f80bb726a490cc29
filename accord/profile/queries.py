"""Reading people: by id (following merges), by identifier, by search, their timeline."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.collect.identifiers import InvalidIdentifier
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import invalid, not_found
from accord.profile.models import Profile
from accord.profile.repository import OrderRepository, ProfileEventRepository, ProfileRepository
from accord.profile.schemas import (
    IdentifierRead,
    OrderRead,
    ProfileRead,
    ProfileSummary,
    Timeline,
    TimelineItem,
    TraitRead,
)
from accord.resolve.repository import IdentifierRepository

MAX_HOPS = 32


def live_profile(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> Profile:
    """The person, following a merged profile's tombstone to its survivor."""
    repo = ProfileRepository.from_session(session)
    profile = repo.get(workspace_id, profile_id)
    hops = 0
    while profile is not None and profile.merged_into_id is not None and hops < MAX_HOPS:
        profile = repo.get(workspace_id, profile.merged_into_id)
        hops += 1
    if profile is None:
        raise not_found("Profile", field="profile_id")
    return profile


def search(
    session: Session, workspace_id: uuid.UUID, q: str | None, *, limit: int, offset: int
) -> list[Profile]:
    """People by name, email or phone prefix (a phone typed without its country code
    matches the workspace's own)."""
    workspace = session.get(Workspace, workspace_id)
    region = workspace.default_region if workspace else "US"
    return ProfileRepository.from_session(session).search(
        workspace_id, q, limit=limit, offset=offset, country_code=ids.calling_code(region)
    )


def summary(p: Profile) -> ProfileSummary:
    return ProfileSummary(
        id=p.id,
        display_name=p.display_name,
        email=p.email,
        phone=p.phone,
        first_seen_at=p.first_seen_at,
        last_seen_at=p.last_seen_at,
        order_count=p.order_count,
        revenue=p.revenue,
    )


def full(session: Session, p: Profile, requested: uuid.UUID | None = None) -> ProfileRead:
    identifiers = IdentifierRepository.from_session(session).of_profile(p.id)
    computed: dict[str, Any] = {
        "first_seen": p.first_seen_at,
        "last_seen": p.last_seen_at,
        "channels": sorted((p.stats.get("channels") or {}).keys()),
        "channel_counts": p.stats.get("channels") or {},
        "event_count": p.stats.get("event_count", 0),
        "order_count": p.order_count,
        "revenue": str(p.revenue),
        "average_order_value": p.stats.get("average_order_value"),
        "last_order_at": p.stats.get("last_order_at"),
        "preferred_channel": p.stats.get("preferred_channel"),
    }
    return ProfileRead(
        **summary(p).model_dump(),
        identifiers=[
            IdentifierRead(
                type=i.type,
                value=i.value,
                source=i.source,
                first_seen_at=i.created_at,
                last_seen_at=i.last_seen_at,
            )
            for i in identifiers
        ],
        traits={k: v["value"] for k, v in sorted(p.traits.items())},
        trait_sources={k: TraitRead(**v) for k, v in sorted(p.traits.items())},
        computed=computed,
        merged_into=p.id if requested is not None and requested != p.id else None,
    )


def parse_lookup(
    *,
    email: str | None,
    phone: str | None,
    user_id: str | None,
    anonymous_id: str | None,
    identifier: str | None,
    region: str,
) -> tuple[str, str]:
    given = [
        (ids.EMAIL, email, "email"),
        (ids.PHONE, phone, "phone"),
        (ids.USER_ID, user_id, "user_id"),
        (ids.ANONYMOUS_ID, anonymous_id, "anonymous_id"),
    ]
    chosen = [(t, v, f) for t, v, f in given if v]
    if identifier:
        type_name, sep, value = identifier.partition(":")
        if not sep or not value:
            raise invalid("identifier is TYPE:VALUE, e.g. loyalty_card:12345", field="identifier")
        chosen.append((type_name.strip().lower(), value, "identifier"))
    if len(chosen) != 1:
        raise invalid(
            "Give exactly one of email, phone, user_id, anonymous_id or identifier",
            field="email",
            code="one_lookup_key",
        )
    type_name, raw, field = chosen[0]
    try:
        return type_name, ids.normalize(type_name, raw, region=region)
    except InvalidIdentifier as exc:
        raise invalid(str(exc), field=field) from None


def lookup(session: Session, workspace_id: uuid.UUID, type_name: str, value: str) -> Profile:
    found = IdentifierRepository.from_session(session).find(workspace_id, [(type_name, value)])
    ident = found.get((type_name, value))
    if ident is None or ident.profile_id is None:
        raise not_found("Profile with that identifier", field=type_name)
    return live_profile(session, workspace_id, ident.profile_id)


def encode_cursor(ts: datetime, event_id: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(f"{ts.isoformat()}|{event_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        ts, event_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(ts), uuid.UUID(event_id)
    except (ValueError, UnicodeDecodeError):
        raise invalid("cursor is not one this API gave out", field="cursor") from None


def timeline(
    session: Session,
    profile: Profile,
    *,
    limit: int,
    cursor: str | None,
    types: list[str] | None,
    channels: list[str] | None,
    name: str | None,
) -> Timeline:
    rows = ProfileEventRepository.from_session(session).timeline(
        profile.id,
        limit=limit + 1,
        before=decode_cursor(cursor) if cursor else None,
        types=types,
        channels=channels,
        name=name,
    )
    page, more = rows[:limit], len(rows) > limit
    return Timeline(
        items=[
            TimelineItem(
                id=e.id,
                message_id=e.message_id,
                type=e.type,
                name=e.name,
                channel=e.channel,
                source=e.source,
                timestamp=e.timestamp,
                properties=e.properties,
                traits=e.traits,
                context=e.context,
            )
            for e in page
        ],
        next_cursor=encode_cursor(page[-1].timestamp, page[-1].id) if more and page else None,
    )


def orders(session: Session, profile: Profile, limit: int = 20) -> list[OrderRead]:
    return [
        OrderRead(
            order_id=o.order_id,
            placed_at=o.placed_at,
            channel=o.channel,
            store=o.store,
            currency=o.currency,
            total=o.total,
            refunded=o.refunded,
            status=o.status,
            items=o.items,
        )
        for o in OrderRepository.from_session(session).recent(profile.id, limit)
    ]
