"""The phone: call events become messages of the caller's conversation, and the screen
pop tells the agent who is calling, what they have open, why they are probably calling
and where the call should go."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.collect.identifiers import InvalidIdentifier
from accord.collect.models import Event
from accord.customers.context import context_by_identifier
from accord.govern.workspaces.models import Workspace
from accord.inbox import queries as inbox_queries
from accord.inbox.models import Conversation, Team
from accord.inbox.queries import conversations_of
from accord.inbox.repository import ACTIVE
from accord.inbox.rules import InboxSettings
from accord.kit.errors import invalid
from accord.kit.time import utcnow
from accord.profile.models import Order, Profile

TROUBLE = ("delay", "late", "failed", "cancel", "refund", "return", "damaged", "missing")


class OrderBrief(BaseModel):
    order_id: str
    placed_at: datetime
    channel: str
    store: str | None
    total: float
    currency: str
    status: str


class ConversationBrief(BaseModel):
    id: uuid.UUID
    number: int
    subject: str
    status: str
    priority: str
    last_channel: str
    assignee_id: uuid.UUID | None
    team_id: uuid.UUID | None
    last_message_at: datetime


class Route(BaseModel):
    team_id: uuid.UUID | None
    team: str | None
    agent_id: uuid.UUID | None
    why: str


class ScreenPop(BaseModel):
    phone: str
    known: bool
    profile_id: uuid.UUID | None
    name: str | None
    email: str | None
    vip: bool
    traits: dict[str, Any]
    order_count: int
    revenue: float
    recent_orders: list[OrderBrief]
    open_conversations: list[ConversationBrief]
    recent_activity: list[dict[str, Any]]
    likely_reason: str | None
    route: Route


def _brief(c: Conversation) -> ConversationBrief:
    return ConversationBrief.model_validate(c, from_attributes=True)


def _order_brief(o: Order) -> OrderBrief:
    return OrderBrief(
        order_id=o.order_id,
        placed_at=o.placed_at,
        channel=o.channel,
        store=o.store,
        total=float(o.total),
        currency=o.currency,
        status=o.status,
    )


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{max(minutes, 1)} minutes ago"
    if minutes < 48 * 60:
        return f"{minutes // 60} hours ago"
    return f"{minutes // 1440} days ago"


def likely_reason(
    now: datetime,
    open_conversations: list[Conversation],
    orders: list[Order],
    events: list[Event],
) -> str | None:
    """What just happened to this person, most telling first."""
    for e in events:
        name = (e.name or "").lower()
        if e.timestamp >= now - timedelta(days=14) and any(w in name for w in TROUBLE):
            return f"{e.name} {_ago(now - e.timestamp)}"
    if open_conversations:
        c = open_conversations[0]
        return f"Following up on open conversation #{c.number}: {c.subject}"
    if orders and orders[0].placed_at >= now - timedelta(days=2):
        o = orders[0]
        return f"Order {o.order_id} placed {_ago(now - o.placed_at)}"
    return None


def suggest_route(
    session: Session,
    workspace_id: uuid.UUID,
    settings: InboxSettings,
    profile: Profile | None,
    open_conversations: list[Conversation],
    orders: list[Order],
) -> Route:
    """Where a call should go: the team of an open conversation, the priority queue for
    a VIP, the branch they buy at, else the phone team (or the default team); an unknown
    caller goes the last way."""
    teams = inbox_queries.teams(session, workspace_id)
    names = {t.id: t.name for t in teams}
    if open_conversations and open_conversations[0].team_id is not None:
        c = open_conversations[0]
        team_id = open_conversations[0].team_id
        return Route(
            team_id=team_id,
            team=names.get(team_id),
            agent_id=c.assignee_id,
            why=f"has conversation #{c.number} open",
        )
    if settings.is_vip(profile):
        queue = next((t for t in teams if t.is_priority_queue), None)
        if queue is not None:
            return Route(team_id=queue.id, team=queue.name, agent_id=None, why="VIP customer")
    stores = Counter(o.store for o in orders if o.store)
    if stores:
        store = stores.most_common(1)[0][0]
        branch = next((t for t in teams if store and store.lower() in t.name.lower()), None)
        if branch is not None:
            return Route(team_id=branch.id, team=branch.name, agent_id=None, why=f"buys at {store}")
        return Route(team_id=None, team=store, agent_id=None, why=f"local branch: buys at {store}")
    wanted = settings.channel_teams.get("phone") or settings.default_team
    team: Team | None = next(
        (t for t in teams if wanted and t.name.lower() == wanted.lower()), None
    )
    team = team or next((t for t in teams if not t.is_priority_queue), None)
    return Route(
        team_id=team.id if team else None,
        team=team.name if team else None,
        agent_id=None,
        why="default team",
    )


def screen_pop(session: Session, workspace: Workspace, phone: str) -> ScreenPop:
    try:
        number = ids.normalize(ids.PHONE, phone, region=workspace.default_region)
    except InvalidIdentifier as exc:
        raise invalid(f"{phone!r} is not a phone number", field="phone") from exc
    settings = InboxSettings.of(workspace)
    customer = context_by_identifier(session, workspace.id, ids.PHONE, number, orders=5, events=10)
    profile = customer.profile if customer is not None else None
    now = utcnow()
    if profile is None:
        return ScreenPop(
            phone=number,
            known=False,
            profile_id=None,
            name=None,
            email=None,
            vip=False,
            traits={},
            order_count=0,
            revenue=0.0,
            recent_orders=[],
            open_conversations=[],
            recent_activity=[],
            likely_reason=None,
            route=suggest_route(session, workspace.id, settings, None, [], []),
        )
    assert customer is not None
    mine = conversations_of(session, workspace.id, profile.id)
    active = [c for c in mine if c.status in ACTIVE]
    orders = customer.orders
    events = customer.recent_events
    traits = customer.traits
    return ScreenPop(
        phone=number,
        known=True,
        profile_id=profile.id,
        name=profile.display_name,
        email=profile.email,
        vip=settings.is_vip(profile),
        traits=traits,
        order_count=profile.order_count,
        revenue=float(profile.revenue),
        recent_orders=[_order_brief(o) for o in orders],
        open_conversations=[_brief(c) for c in active],
        recent_activity=[
            {"at": e.timestamp, "type": e.type, "name": e.name, "channel": e.channel}
            for e in events
        ],
        likely_reason=likely_reason(now, active, orders, events),
        route=suggest_route(session, workspace.id, settings, profile, active, orders),
    )
