"""The read side of the customer: search, the Customer 360 view, look-up by any
identifier, the timeline and orders."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.collect.identifiers import InvalidIdentifier
from accord.customers.context import CustomerContext, context_of
from accord.customers.schemas import (
    IdentifierRead,
    OrderRead,
    ProfileRead,
    Timeline,
    TimelineItem,
    TraitRead,
)
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import invalid, not_found
from accord.profile.models import Profile
from accord.profile.queries import live_profile, summary
from accord.profile.repository import OrderRepository, ProfileEventRepository, ProfileRepository
from accord.resolve.repository import IdentifierRepository


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


def full(session: Session, p: Profile, requested: uuid.UUID | None = None) -> ProfileRead:
    """The Customer 360 view of a live person."""
    return view(context_of(session, p, orders=0), requested)


def view(ctx: CustomerContext, requested: uuid.UUID | None = None) -> ProfileRead:
    p = ctx.profile
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
            for i in ctx.identifiers
        ],
        traits=ctx.traits,
        trait_sources={k: TraitRead(**v) for k, v in sorted(p.traits.items())},
        computed=ctx.value,
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
        data=[
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


def count(session: Session, workspace_id: uuid.UUID) -> int:
    """How many people the workspace knows."""
    return ProfileRepository.from_session(session).count(workspace_id)


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
