"""What the models learn from: each live person's behaviour, value and service history as
of one or more moments (cutoffs), read in one pass over each source table.

For every cutoff ``k`` the query computes, per person, only from what happened before it:

- orders (not cancelled; net of refunds): ``orders``, ``days`` (distinct days with an
  order: the purchases BG/NBD counts, several orders on one day being one purchase),
  ``revenue``, ``first_order`` and ``last_order`` (days since the epoch), ``refunds``
  (orders with money returned), ``order_channels`` (distinct channels bought on);
- activity: ``events_recent`` (events in the ``recent`` days before the cutoff) and
  ``last_event``;
- service (from the provider the edge hands over, see ``ServiceFeatures``):
  ``conversations``, ``conversations_recent``, ``low_csat`` and ``reopened``, and at the
  last cutoff the conversations by channel (``channel:<name>``) that price the cost to
  serve.

Aggregates run in the database (one grouped scan per source); the rows are streamed in
chunks into arrays (``Frame``), one row per person. A person's label for the period
between two cutoffs is the difference of their ``orders``."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.kit.dialect import epoch_days, read_numbers
from accord.kit.planning import planner
from accord.profile.models import Order, Profile

CHUNK = 50_000
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ORDER_FEATURES = (
    "orders",
    "days",
    "revenue",
    "first_order",
    "last_order",
    "refunds",
    "order_channels",
)
EVENT_FEATURES = ("events_recent", "last_event")
COUNTED = ("orders", "days", "revenue", "refunds", "order_channels", "events_recent")  # 0 if none
MOMENTS = ("first_order", "last_order", "last_event")  # read as days since 1970


class ServiceFeatures(Protocol):
    """Customer service history per person as of each cutoff (the inbox provides it):
    a grouped query with ``profile_id`` and, for each cutoff ``k`` and each of ``names``,
    a column ``<name>_<k>``, then one ``channel:<channel>`` column per channel of
    ``channels`` counted up to the last cutoff."""

    names: tuple[str, ...]
    channels: tuple[str, ...]

    def query(
        self, workspace_id: uuid.UUID, cutoffs: Sequence[datetime], recent: timedelta
    ) -> Select[Any]: ...


def days_since_epoch(value: datetime | None) -> float:
    return np.nan if value is None else (value - EPOCH).total_seconds() / 86400.0


@dataclass
class Frame:
    """Features of ``ids`` (one row each) at each of ``cutoffs``: ``data[name]`` has shape
    (people, cutoffs); ``channels[name]`` (people,) the conversations by channel."""

    ids: list[uuid.UUID]
    cutoffs: list[datetime]
    data: dict[str, np.ndarray] = field(default_factory=dict)
    channels: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def at(self, name: str, k: int) -> np.ndarray:
        return self.data[name][:, k]

    def cutoff_day(self, k: int) -> float:
        return days_since_epoch(self.cutoffs[k])


def _orders(workspace_id: uuid.UUID, cutoffs: Sequence[datetime]) -> Select[Any]:
    net = Order.total - Order.refunded
    cols: list[Any] = [Order.profile_id.label("profile_id")]
    for k, c in enumerate(cutoffs):
        before = Order.placed_at < c
        cols += [
            func.sum(case((before, 1), else_=0)).label(f"orders_{k}"),
            func.count(func.distinct(case((before, func.date(Order.placed_at))))).label(
                f"days_{k}"
            ),
            func.sum(case((before, net), else_=0)).label(f"revenue_{k}"),
            func.min(case((before, Order.placed_at))).label(f"first_order_{k}"),
            func.max(case((before, Order.placed_at))).label(f"last_order_{k}"),
            func.sum(case(((before & (Order.refunded > 0)), 1), else_=0)).label(f"refunds_{k}"),
            func.count(func.distinct(case((before, Order.channel)))).label(f"order_channels_{k}"),
        ]
    return (
        select(*cols)
        .where(
            Order.workspace_id == workspace_id,
            Order.profile_id.is_not(None),
            Order.status != "cancelled",
            Order.placed_at < max(cutoffs),
        )
        .group_by(Order.profile_id)
    )


def _within(column: Any, start: datetime, end: datetime) -> Any:
    return (column >= start) & (column < end)


def _events(
    workspace_id: uuid.UUID, cutoffs: Sequence[datetime], recent: timedelta, lookback: timedelta
) -> Select[Any]:
    cols: list[Any] = [Event.profile_id.label("profile_id")]
    for k, c in enumerate(cutoffs):
        cols += [
            func.sum(case((_within(Event.timestamp, c - recent, c), 1), else_=0)).label(
                f"events_recent_{k}"
            ),
            func.max(case((Event.timestamp < c, Event.timestamp))).label(f"last_event_{k}"),
        ]
    return (
        select(*cols)
        .where(
            Event.workspace_id == workspace_id,
            Event.profile_id.is_not(None),
            Event.timestamp >= min(cutoffs) - lookback,
            Event.timestamp < max(cutoffs),
        )
        .group_by(Event.profile_id)
    )


def extract(
    session: Session,
    workspace_id: uuid.UUID,
    cutoffs: Sequence[datetime],
    *,
    service: ServiceFeatures | None = None,
    recent: timedelta = timedelta(days=90),
    lookback: timedelta = timedelta(days=365),
    progress: Callable[[int], None] | None = None,
) -> Frame:
    """Every live person of the workspace with their features at each cutoff (ascending).
    ``progress(rows)`` hears of each chunk read."""
    cutoffs = sorted(cutoffs)
    orders = _orders(workspace_id, cutoffs).subquery("o")
    events = _events(workspace_id, cutoffs, recent, lookback).subquery("e")
    cols: list[Any] = [Profile.id]
    layout: list[tuple[str, int]] = []  # the feature and cutoff of each column after the id

    def add(sub: Any, names: Sequence[str]) -> None:
        for k in range(len(cutoffs)):
            for n in names:
                column = sub.c[f"{n}_{k}"]
                cols.append(epoch_days(session, column) if n in MOMENTS else column)
                layout.append((n, k))

    joins: list[tuple[Any, Any]] = [
        (orders, orders.c.profile_id == Profile.id),
        (events, events.c.profile_id == Profile.id),
    ]
    add(orders, ORDER_FEATURES)
    add(events, EVENT_FEATURES)
    counted = list(COUNTED)
    channels: tuple[str, ...] = ()
    if service is not None:
        served = service.query(workspace_id, cutoffs, recent).subquery("s")
        joins.append((served, served.c.profile_id == Profile.id))
        add(served, service.names)
        counted += service.names
        channels = service.channels
        cols += [served.c[f"channel:{c}"] for c in channels]
    stmt = select(*cols).select_from(Profile)
    for sub, on in joins:
        stmt = stmt.outerjoin(sub, on)
    stmt = stmt.where(Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None))

    # Whole tables are grouped: sequential scans and sorts, shared among parallel workers
    # where the server has them (the planner's default costs keep a sort of the orders to
    # one process), not a walk of the orders in each person's index order (the heap is in
    # time order), nor seconds of compiling.
    settings = {"enable_indexscan": "off", "enable_bitmapscan": "off", "jit": "off"}
    settings |= {"parallel_setup_cost": "0", "parallel_tuple_cost": "0.0001"}
    with planner(session, **settings):
        ids, matrix = read_numbers(session, stmt, chunk=CHUNK, progress=progress)
    frame = Frame(ids=ids, cutoffs=list(cutoffs))
    for j, (base, k) in enumerate(layout):
        frame.data.setdefault(base, np.empty((len(ids), len(cutoffs))))[:, k] = matrix[:, j]
    for j, channel in enumerate(channels):
        frame.channels[channel] = np.nan_to_num(matrix[:, len(layout) + j])
    for name in counted:
        frame.data[name] = np.nan_to_num(frame.data[name])
    return frame
