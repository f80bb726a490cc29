"""The demo workspace's segments and computed traits: what a retailer would build
first. Idempotent: those that exist are left as they are."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.analyze.segments import computed, service
from accord.analyze.segments.repository import ComputedTraitRepository, SegmentRepository
from accord.analyze.segments.schemas import ComputedTraitIn
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import ALL_SCOPES

COMPUTED = [
    ComputedTraitIn(
        key="views_30d",
        name="Products viewed, 30 days",
        event="Product Viewed",
        aggregate="count",
        window_days=30,
    ),
    ComputedTraitIn(
        key="favourite_category",
        name="Most viewed category",
        event="Product Viewed",
        aggregate="most_frequent",
        property="category",
    ),
]

SEGMENTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "Cart abandoners this week",
        "Started a checkout in the last 7 days and did not order within the hour.",
        {
            "kind": "sequence",
            "first": {"name": "Checkout Started"},
            "then": {"name": "Order Completed"},
            "within": {"hours": 1},
            "lookback": {"days": 7},
        },
    ),
    (
        "Lapsed VIPs",
        "Spent $500 or more, but no order in the last 120 days.",
        {
            "kind": "all",
            "conditions": [
                {"kind": "value", "field": "revenue", "op": "gte", "value": 500},
                {
                    "kind": "event",
                    "name": "Order Completed",
                    "count": {"op": "eq", "value": 0},
                    "within": {"days": 120},
                },
            ],
        },
    ),
    (
        "First-time buyers",
        "Exactly one order, placed in the last 90 days.",
        {
            "kind": "all",
            "conditions": [
                {"kind": "value", "field": "order_count", "op": "eq", "value": 1},
                {"kind": "value", "field": "last_order_at", "op": "within_last", "value": 90},
            ],
        },
    ),
    (
        "Unhappy customers",
        "Rated a conversation 2 or less in the last 90 days, or had an order refunded in the"
        " last 30.",
        {
            "kind": "any",
            "conditions": [
                {
                    "kind": "service",
                    "fact": "csat",
                    "op": "lte",
                    "value": 2,
                    "within": {"days": 90},
                },
                {"kind": "event", "name": "Order Refunded", "within": {"days": 30}},
            ],
        },
    ),
    (
        "Tent shoppers",
        "Viewed camping products at least twice in the last 14 days.",
        {
            "kind": "event",
            "name": "Product Viewed",
            "where": [{"property": "category", "op": "eq", "value": "Camping"}],
            "count": {"op": "gte", "value": 2},
            "within": {"days": 14},
        },
    ),
    (
        "Reachable by email marketing",
        "Granted email marketing.",
        {"kind": "consent", "channel": "email", "purpose": "marketing", "status": "granted"},
    ),
]


def ensure_segments(session: Session, workspace_id: uuid.UUID, engine: service.Engine) -> int:
    """Create (and build) the demo's segments that do not exist yet; returns how many."""
    actor = Principal(
        workspace_id=workspace_id, kind="cli", label="demo", scopes=frozenset(map(str, ALL_SCOPES))
    )
    traits = ComputedTraitRepository.from_session(session)
    for trait in COMPUTED:
        if traits.get(workspace_id, trait.key) is None:
            computed.create(session, workspace_id, trait, actor)
    repo = SegmentRepository.from_session(session)
    made = 0
    for name, description, definition in SEGMENTS:
        if repo.by_name(workspace_id, name) is not None:
            continue
        row = service.save(
            session,
            workspace_id,
            name=name,
            definition=definition,
            description=description,
            actor=actor,
        )
        service.build(session, engine, row)
        made += 1
    return made
