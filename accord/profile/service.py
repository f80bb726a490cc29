"""Keeping each person's golden record and computed values current, and reading them."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.collect.models import EventFacts
from accord.collect.orders import (
    MONEY_LIMIT,
    money,
    order_kind,
    quantity,
)
from accord.govern.workspaces.models import Workspace
from accord.kit.time import utcnow
from accord.profile import golden
from accord.profile.models import Order, Profile
from accord.profile.repository import OrderRepository, ProfileEventRepository
from accord.profile.settings import PROFILE

# Channels a customer reaches the business on; "api" and "import" are plumbing.
CUSTOMER_CHANNELS = ("web", "app", "store", "call_center", "email", "sms", "chat", "social")
# The display columns' sizes (Profile): the golden record keeps every value whole.
DISPLAY_NAME_LENGTH = 200
EMAIL_LENGTH = 255
PHONE_LENGTH = 32
# The largest figure a Numeric(14, 2) column holds.
MONEY_MAX = MONEY_LIMIT - Decimal("0.01")


@dataclass(frozen=True)
class ProfileContext:
    """What profile rules need to know about the workspace."""

    source_priority: Mapping[str, int]
    currency: str = "USD"
    region: str = "US"

    @classmethod
    def of(cls, workspace: Workspace) -> ProfileContext:
        return cls(
            source_priority=PROFILE.read(workspace).source_priority,
            region=workspace.default_region,
        )


def _clip(text: str | None, length: int) -> str | None:
    return text[:length] if text is not None and len(text) > length else text


def _display(
    traits: Mapping[str, Any], email: str | None, phone: str | None, region: str
) -> dict[str, Any]:
    """The columns the console lists and searches: name, email, and phone in E.164."""
    name = golden.display_name(traits)
    new_email = golden.value(traits, "email")
    new_phone = golden.value(traits, "phone")
    if new_phone:
        try:
            phone = ids.normalize(ids.PHONE, new_phone, region=region)
        except ids.InvalidIdentifier:
            phone = phone or str(new_phone).strip()
    # Traits are free text: the columns keep what fits, the golden record the whole.
    name = _clip(name, DISPLAY_NAME_LENGTH)
    return {
        "display_name": name,
        "search_name": _clip(name.lower(), DISPLAY_NAME_LENGTH) if name else None,
        "email": _clip(str(new_email).strip().lower() if new_email else email, EMAIL_LENGTH),
        "phone": _clip(phone, PHONE_LENGTH),
    }


def _refresh_display(profile: Profile, region: str) -> None:
    for key, value in _display(profile.traits, profile.email, profile.phone, region).items():
        setattr(profile, key, value)


def _preferred_channel(channels: Mapping[str, int]) -> str | None:
    inbound = {c: n for c, n in channels.items() if c in CUSTOMER_CHANNELS and n > 0}
    if not inbound:
        return None
    return sorted(inbound.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _set_order_stats(session: Session, profile: Profile) -> None:
    _put_order_stats(profile, *OrderRepository.from_session(session).totals(profile.id))


def _put_order_stats(profile: Profile, count: int, revenue: Decimal, last: datetime | None) -> None:
    profile.order_count = count
    profile.revenue = _capped(revenue)
    profile.stats = {**profile.stats, **_order_stats(count, revenue, last)}


def _capped(revenue: Decimal) -> Decimal:
    """Each order fits its column; so many that their sum would not are counted at the
    most."""
    return max(min(revenue, MONEY_MAX), -MONEY_MAX)


def _order_stats(count: int, revenue: Decimal, last: datetime | None) -> dict[str, Any]:
    return {
        "last_order_at": last.isoformat() if last else None,
        "average_order_value": (
            str((revenue / count).quantize(Decimal("0.01"))) if count else None
        ),
    }


def order_event_kind(event: EventFacts) -> str | None:
    return order_kind(event.type, event.name)


def record_order(session: Session, event: EventFacts, ctx: ProfileContext) -> Order | None:
    """Orders, refunds and cancellations (Segment's e-commerce spec names)."""
    kind = order_event_kind(event)
    props = event.properties or {}
    order_id = props.get("order_id") or props.get("orderId")
    if kind is None or not order_id:
        return None
    orders = OrderRepository.from_session(session)
    order = orders.get(event.workspace_id, str(order_id))
    if kind == "placed":
        if order is not None:
            return order
        raw_products = props.get("products")
        products: list[Any] = raw_products if isinstance(raw_products, list) else []
        total = money(props.get("total"))
        if total is None:
            total = money(props.get("revenue"))
        if total is None:
            total = sum(
                (
                    (money(p.get("price")) or Decimal(0)) * quantity(p.get("quantity"))
                    for p in products
                    if isinstance(p, dict)
                ),
                Decimal(0),
            )
        return orders.add(
            Order(
                workspace_id=event.workspace_id,
                order_id=str(order_id),
                event_id=event.id,
                profile_id=event.profile_id,
                placed_at=event.timestamp,
                channel=event.channel,
                store=str(props["store"]) if props.get("store") else None,
                currency=str(props.get("currency") or ctx.currency)[:3].upper(),
                total=total,
                items=[p for p in products if isinstance(p, dict)],
            )
        )
    if order is None:
        return None
    if kind == "cancelled":
        order.status = "cancelled"
    else:
        amount = money(props.get("total")) or money(props.get("amount")) or order.total
        order.refunded = min(order.total, order.refunded + amount)
        order.status = "refunded" if order.refunded >= order.total else "partially_refunded"
    session.flush()
    if order.profile_id is not None and order.profile_id != event.profile_id:
        # Refunded or cancelled from another person's event: the buyer's figures change.
        buyer = session.get(Profile, order.profile_id)
        if buyer is not None:
            _set_order_stats(session, buyer)
            buyer.updated_at = utcnow()
    return order


@dataclass
class Fold:
    """What newly resolved events add to one person, kept until the batch writes: the
    count per channel, first and last seen, the best value of each trait. Folding is
    free of order, so applying a fold equals applying its events one at a time."""

    events: int = 0
    channels: Counter[str] = field(default_factory=Counter)
    first: datetime | None = None
    last: datetime | None = None
    traits: dict[str, Any] = field(default_factory=dict)

    def add(self, event: EventFacts, ctx: ProfileContext) -> None:
        self.events += 1
        self.channels[event.channel] += 1
        at = event.timestamp
        if self.first is None or at < self.first:
            self.first = at
        if self.last is None or at > self.last:
            self.last = at
        if event.traits:
            contribution = golden.Contribution(event.traits, event.source, at, event.message_id)
            golden.apply(self.traits, contribution, ctx.source_priority)


def fold_values(profile: Profile, fold: Fold, ctx: ProfileContext) -> dict[str, Any]:
    """The person's computed values with newly resolved events folded in (the common,
    incremental path); the caller sets them."""
    out: dict[str, Any] = {}
    if fold.traits:
        traits = golden.combine(profile.traits, fold.traits, ctx.source_priority)
        if traits != profile.traits:
            out["traits"] = traits
            out.update(_display(traits, profile.email, profile.phone, ctx.region))
    out.update(count_values(profile, fold))
    return out


class Counted(Protocol):
    """What counting events on a person reads of it."""

    @property
    def stats(self) -> dict[str, Any]: ...
    @property
    def first_seen_at(self) -> datetime | None: ...
    @property
    def last_seen_at(self) -> datetime | None: ...


def count_values(profile: Counted, fold: Fold) -> dict[str, Any]:
    """The person's event counts, channels and first and last seen with a fold's events
    counted in (its traits aside): ``stats`` and ``updated_at`` always, the times when
    they move."""
    stats = dict(profile.stats)
    channels = dict(stats.get("channels") or {})
    for channel, n in fold.channels.items():
        channels[channel] = int(channels.get(channel, 0)) + n
    stats["channels"] = channels
    stats["event_count"] = int(stats.get("event_count", 0)) + fold.events
    stats["preferred_channel"] = _preferred_channel(channels)
    out: dict[str, Any] = {"stats": stats}
    if fold.first is not None and (
        profile.first_seen_at is None or fold.first < profile.first_seen_at
    ):
        out["first_seen_at"] = fold.first
    if fold.last is not None and (profile.last_seen_at is None or fold.last > profile.last_seen_at):
        out["last_seen_at"] = fold.last
    out["updated_at"] = utcnow()
    return out


def apply_order(session: Session, profile: Profile, event: EventFacts, ctx: ProfileContext) -> None:
    """An order, refund or cancellation event updates its person's order figures."""
    if record_order(session, event, ctx) is not None:
        _set_order_stats(session, profile)
        profile.updated_at = utcnow()


def recompute(session: Session, profile: Profile, ctx: ProfileContext) -> None:
    """Rebuild the golden record and every computed value from the person's events."""
    recompute_many(session, [profile], ctx)


def recompute_many(session: Session, people: list[Profile], ctx: ProfileContext) -> None:
    """``recompute`` for several people, reading their events and orders together."""
    rows = recomputed(session, [p.id for p in people], ctx)
    for profile in people:
        for key, value in rows[profile.id].items():
            setattr(profile, key, value)


def recomputed(
    session: Session, ids: list[uuid.UUID], ctx: ProfileContext
) -> dict[uuid.UUID, dict[str, Any]]:
    """What ``recompute`` would set on each of these people (every ``COMPUTED`` column
    but the id), read together, as plain values to write in one statement."""
    events = ProfileEventRepository.from_session(session)
    contributions = events.contributions_of(ids)
    channel_rows = events.channel_stats_of(ids)
    totals = OrderRepository.from_session(session).totals_of(ids)
    now = utcnow()
    out: dict[uuid.UUID, dict[str, Any]] = {}
    for pid in ids:
        traits = golden.compute(
            (golden.Contribution(t, s, ts, m) for t, s, ts, m in contributions.get(pid, [])),
            ctx.source_priority,
        )
        rows = channel_rows.get(pid, [])
        channels = {c: n for c, n, _, _ in rows}
        count, revenue, last = totals.get(pid, (0, Decimal(0), None))
        out[pid] = {
            "traits": traits,
            "stats": {
                "channels": channels,
                "event_count": sum(channels.values()),
                "preferred_channel": _preferred_channel(channels),
                **_order_stats(count, revenue, last),
            },
            **_display(traits, None, None, ctx.region),
            "first_seen_at": min((lo for _, _, lo, _ in rows), default=None),
            "last_seen_at": max((hi for _, _, _, hi in rows), default=None),
            "order_count": count,
            "revenue": _capped(revenue),
            "updated_at": now,
        }
    return out
