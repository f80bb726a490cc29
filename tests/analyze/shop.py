"""A shop's history written straight into the tables (people, their order events and
orders, conversations), drawn from a buy-till-you-die process: each customer buys at
their own rate until they silently leave; a bad service experience makes leaving more
likely. Fast enough for hundreds of customers over two years in a test."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.inbox.models import Conversation
from accord.kit.ids import new_id
from accord.profile.models import Order, Profile


@dataclass
class Shop:
    people: list[uuid.UUID] = field(default_factory=list)
    unhappy: set[uuid.UUID] = field(default_factory=set)
    orders: int = 0


def seed_shop(
    session: Session,
    workspace_id: uuid.UUID,
    now: datetime,
    *,
    customers: int = 400,
    browsers: int = 60,
    days: int = 720,
    seed: int = 7,
) -> Shop:
    rng = random.Random(seed)
    shop = Shop()
    conversation_no = 0
    for i in range(customers + browsers):
        pid = new_id()
        shop.people.append(pid)
        joined = now - timedelta(days=rng.uniform(30, days))
        session.add(
            Profile(
                id=pid,
                workspace_id=workspace_id,
                traits={},
                stats={},
                display_name=f"Customer {i}",
                email=f"c{i}@shop.test",
                first_seen_at=joined,
                last_seen_at=joined,
                order_count=0,
                revenue=Decimal("0"),
            )
        )
        session.flush()
        if i >= customers:
            _event(session, workspace_id, pid, "Product Viewed", joined)
            continue
        unhappy = rng.random() < 0.25
        if unhappy:
            shop.unhappy.add(pid)
            conversation_no += 1
            when = joined + timedelta(days=rng.uniform(0, 60))
            if when < now:
                session.add(
                    Conversation(
                        id=new_id(),
                        workspace_id=workspace_id,
                        number=conversation_no,
                        profile_id=pid,
                        subject="Late delivery",
                        status="resolved",
                        channel=rng.choice(["email", "chat", "phone"]),
                        last_channel="email",
                        created_at=when,
                        last_message_at=when,
                        csat_score=rng.choice([1, 2]),
                        csat_at=when + timedelta(days=1),
                        reopen_count=rng.choice([0, 1]),
                    )
                )
        rate = rng.gammavariate(1.5, 1 / 40)  # purchases a day
        leave = 0.03 if not unhappy else 0.35  # chance of leaving after each purchase
        basket = rng.gammavariate(4, 15)
        t = joined
        while t < now:
            _order(session, workspace_id, pid, t, basket * rng.uniform(0.6, 1.4), rng)
            shop.orders += 1
            if rng.random() < leave:
                break
            t += timedelta(days=rng.expovariate(rate) + 1)
    session.flush()
    return shop


def _event(
    session: Session, workspace_id: uuid.UUID, pid: uuid.UUID, name: str, at: datetime
) -> Event:
    event = Event(
        id=new_id(),
        workspace_id=workspace_id,
        message_id=uuid.uuid4().hex,
        type="track",
        name=name,
        channel="web",
        source="test",
        identifiers=[],
        timestamp=at,
        received_at=at,
        status="resolved",
        profile_id=pid,
    )
    session.add(event)
    return event


def _order(
    session: Session,
    workspace_id: uuid.UUID,
    pid: uuid.UUID,
    at: datetime,
    total: float,
    rng: random.Random,
) -> None:
    event = _event(session, workspace_id, pid, "Order Completed", at)
    session.add(
        Order(
            id=new_id(),
            workspace_id=workspace_id,
            order_id=uuid.uuid4().hex[:16],
            event_id=event.id,
            profile_id=pid,
            placed_at=at,
            channel=rng.choice(["web", "web", "store", "app"]),
            currency="USD",
            total=Decimal(f"{total:.2f}"),
            refunded=Decimal("0"),
            status="placed",
            items=[],
        )
    )
