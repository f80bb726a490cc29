"""A person's context: who they are (identifiers, golden record), what they are worth
(orders, value) and what they did lately, read once for every place an agent or a page
needs it: the Customer 360, the conversation's sidebar and the call screen pop. The
conversations they have are the inbox's to add."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.profile.models import Order, Profile
from accord.profile.queries import live_profile
from accord.profile.repository import OrderRepository, ProfileEventRepository
from accord.resolve.models import Identifier
from accord.resolve.repository import IdentifierRepository


@dataclass(frozen=True)
class CustomerContext:
    profile: Profile
    identifiers: list[Identifier]
    orders: list[Order]  # the most recent first
    recent_events: list[Event]  # the most recent first

    @property
    def traits(self) -> dict[str, Any]:
        """The golden record: the winning value of each trait."""
        return {
            k: v.get("value")
            for k, v in sorted((self.profile.traits or {}).items())
            if isinstance(v, dict)
        }

    @property
    def value(self) -> dict[str, Any]:
        """The computed values kept on the profile."""
        p = self.profile
        stats = p.stats or {}
        return {
            "first_seen": p.first_seen_at,
            "last_seen": p.last_seen_at,
            "channels": sorted((stats.get("channels") or {}).keys()),
            "channel_counts": stats.get("channels") or {},
            "event_count": stats.get("event_count", 0),
            "order_count": p.order_count,
            "revenue": str(p.revenue),
            "average_order_value": stats.get("average_order_value"),
            "last_order_at": stats.get("last_order_at"),
            "preferred_channel": stats.get("preferred_channel"),
        }


def context_of(
    session: Session, profile: Profile, *, orders: int = 5, events: int = 0
) -> CustomerContext:
    """The context of a live person already read."""
    return CustomerContext(
        profile=profile,
        identifiers=IdentifierRepository.from_session(session).of_profile(profile.id),
        orders=OrderRepository.from_session(session).recent(profile.id, orders) if orders else [],
        recent_events=(
            ProfileEventRepository.from_session(session).timeline(profile.id, limit=events)
            if events
            else []
        ),
    )


def customer_context(
    session: Session,
    workspace_id: uuid.UUID,
    profile_id: uuid.UUID,
    *,
    orders: int = 5,
    events: int = 0,
) -> CustomerContext:
    """The context of the person behind ``profile_id`` (followed to the survivor of any
    merge): identifiers, the ``orders`` most recent orders and the ``events`` most recent
    events."""
    return context_of(
        session, live_profile(session, workspace_id, profile_id), orders=orders, events=events
    )


def context_by_identifier(
    session: Session,
    workspace_id: uuid.UUID,
    type_name: str,
    value: str,
    *,
    orders: int = 5,
    events: int = 0,
) -> CustomerContext | None:
    """The context of whoever holds this (normalized) identifier, or None when nobody
    does (an unknown caller)."""
    found = IdentifierRepository.from_session(session).find(workspace_id, [(type_name, value)])
    ident = found.get((type_name, value))
    if ident is None or ident.profile_id is None or ident.blocked:
        return None
    return customer_context(session, workspace_id, ident.profile_id, orders=orders, events=events)
