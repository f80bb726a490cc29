"""Service figures over time (both databases): each figure lands in the day or week it
happened, filters narrow them, the agent who did the work gets the credit (a transfer
does not move it), chat abandonment, costs from the workspace's settings, and the
per-agent report credits the same way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access.models import User
from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox import csat, intake, metrics, metrics_costs, service
from accord.inbox.context import Actor, InboxContext
from accord.inbox.intake import Inbound
from accord.inbox.messages import add_message
from accord.inbox.metrics_trends import Filters, trends
from accord.inbox.models import Conversation, Team
from accord.inbox.people import Contact
from accord.kit.errors import AccordError
from accord.kit.time import utcnow
from tests.helpers import add_user


def _agent(session: Session, workspace: ProvisionedWorkspace, email: str) -> Actor:
    add_user(session, workspace, email, "agent")
    user = session.scalars(select(User).where(User.email == email)).one()
    return Actor(user.id, user.name or user.email)


class Story:
    """Seven conversations over three days (see ``story``)."""

    def __init__(self, session: Session, workspace: ProvisionedWorkspace) -> None:
        self.session = session
        self.ws = workspace.workspace.id
        self.ctx = InboxContext.load(session, self.ws, secret_key="k" * 40, base_url="http://t")
        self.ana = _agent(session, workspace, "ana@acme-support.com")
        self.ben = _agent(session, workspace, "ben@acme-support.com")
        self.vip = Team(workspace_id=self.ws, name="VIP desk")
        self.support = Team(workspace_id=self.ws, name="Support")
        session.add_all([self.vip, self.support])
        session.flush()
        today = utcnow().astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        self.d0 = today - timedelta(days=9)
        self.now = utcnow()

    def open(self, channel: str, at: datetime, n: int, **extra: object) -> Conversation:
        got = intake.receive(
            self.session,
            self.ctx,
            Inbound(
                channel=channel,
                contact=Contact(email=f"customer{n}@example.com", name=f"Customer {n}"),
                body="Help, please",
                subject=f"Issue {n}",
                at=at,
                **extra,  # type: ignore[arg-type]
            ),
        )
        return got.conversation

    def chat_answer(self, c: Conversation, agent: Actor, at: datetime) -> None:
        add_message(
            self.session,
            self.ctx,
            c,
            direction="out",
            channel="chat",
            body="Hi! Looking now.",
            author=agent,
            answers=True,
            at=at,
        )

    def resolve(self, c: Conversation, agent: Actor, at: datetime) -> None:
        service.set_status(self.session, self.ctx, c, "resolved", agent, at=at)

    def rate(self, c: Conversation, score: int, at: datetime) -> None:
        csat.record(self.session, self.ctx, c, score, None)
        c.csat_at = at


def story(session: Session, workspace: ProvisionedWorkspace) -> Story:
    s = Story(session, workspace)
    d0, h = s.d0, timedelta(hours=1)
    d1, d2 = d0 + timedelta(days=1), d0 + timedelta(days=2)
    # c1, email, day 0: Ana answers in 30 min and hands it to Ben, who answers and
    # resolves it 3 h after it came; the customer rates it 5.
    c1 = s.open("email", d0 + 10 * h, 1)
    service.reply(
        session,
        s.ctx,
        c1,
        s.ana,
        "Looking into it",
        channel="email",
        at=c1.created_at + timedelta(minutes=30),
    )
    service.transfer(session, s.ctx, c1, s.ana, user_id=s.ben.user_id)
    service.reply(
        session, s.ctx, c1, s.ben, "Sent a new one", channel="email", at=c1.created_at + 2 * h
    )
    s.resolve(c1, s.ben, c1.created_at + 3 * h)
    s.rate(c1, 5, c1.created_at + 4 * h)
    # c2, chat, day 0: Ben answers in 2 minutes and resolves it in 10; rated 2.
    c2 = s.open("chat", d0 + 11 * h, 2)
    s.chat_answer(c2, s.ben, c2.created_at + timedelta(minutes=2))
    s.resolve(c2, s.ben, c2.created_at + timedelta(minutes=10))
    s.rate(c2, 2, c2.created_at + h)
    # c3, chat, day 1: nobody answers (abandoned).
    s.open("chat", d1 + 9 * h, 3)
    # c4, chat, day 1: Ana answers after 20 minutes (abandoned: too late), resolves it,
    # and it is reopened later.
    c4 = s.open("chat", d1 + 10 * h, 4)
    s.chat_answer(c4, s.ana, c4.created_at + timedelta(minutes=20))
    s.resolve(c4, s.ana, c4.created_at + timedelta(minutes=30))
    service.set_status(session, s.ctx, c4, "open", s.ana)
    # c5, email, day 2, high priority in the VIP desk: Ben answers in 1 h, resolves in 2.
    c5 = s.open("email", d2 + 9 * h, 5, priority="high")
    c5.team_id = s.vip.id
    service.reply(session, s.ctx, c5, s.ben, "On it", channel="email", at=c5.created_at + h)
    s.resolve(c5, s.ben, c5.created_at + 2 * h)
    # c6, chat, day 2: a message left while no agent was online (not a live chat).
    s.open("chat", d2 + 12 * h, 6, tags=["offline"])
    # c7, chat, a minute ago: still inside the wait, neither answered nor abandoned.
    s.open("chat", s.now - timedelta(minutes=1), 7)
    for c in session.scalars(select(Conversation).where(Conversation.workspace_id == s.ws)):
        c.team_id = s.vip.id if c.id == c5.id else s.support.id
    session.flush()
    return s


def _point(result: object, day: datetime) -> object:
    return next(p for p in result.points if p.period == day.date())  # type: ignore[attr-defined]


def test_each_figure_lands_on_its_day(session: Session, workspace: ProvisionedWorkspace) -> None:
    s = story(session, workspace)
    result = trends(session, s.ws, Filters.of(days=30, now=s.now), now=s.now)
    assert result.bucket == "day"
    assert len(result.points) in (30, 31)
    d0 = _point(result, s.d0)
    assert d0.conversations == 2  # type: ignore[attr-defined]
    assert d0.channels == {"chat": 1, "email": 1}  # type: ignore[attr-defined]
    assert d0.first_responses == 2  # type: ignore[attr-defined]
    assert d0.first_response_p50_seconds == pytest.approx(960, abs=1)  # type: ignore[attr-defined]
    assert d0.resolved == 2  # type: ignore[attr-defined]
    assert d0.resolution_p50_seconds == pytest.approx(5700, abs=1)  # type: ignore[attr-defined]
    assert d0.first_contact_resolution_rate == 0.5  # type: ignore[attr-defined]
    assert (d0.resolutions, d0.reopen_rate) == (2, 0.0)  # type: ignore[attr-defined]
    assert (d0.csat_responses, d0.csat_average, d0.csat_satisfied_rate) == (2, 3.5, 0.5)  # type: ignore[attr-defined]
    assert (d0.chats, d0.chats_abandoned, d0.chat_abandonment_rate) == (1, 0, 0.0)  # type: ignore[attr-defined]

    d1 = _point(result, s.d0 + timedelta(days=1))
    assert d1.conversations == 2  # type: ignore[attr-defined]
    assert d1.first_response_p50_seconds == pytest.approx(1200, abs=1)  # type: ignore[attr-defined]
    assert d1.resolved == 0  # type: ignore[attr-defined]  # c4 was reopened
    assert (d1.resolutions, d1.reopened, d1.reopen_rate) == (1, 1, 1.0)  # type: ignore[attr-defined]
    assert (d1.chats, d1.chats_abandoned, d1.chat_abandonment_rate) == (2, 2, 1.0)  # type: ignore[attr-defined]

    d2 = _point(result, s.d0 + timedelta(days=2))
    assert d2.resolution_p50_seconds == pytest.approx(7200, abs=1)  # type: ignore[attr-defined]
    assert d2.first_contact_resolution_rate == 1.0  # type: ignore[attr-defined]
    assert d2.chats == 0  # type: ignore[attr-defined]  # a message left offline is no live chat

    today = result.points[-1]
    assert today.conversations == 1
    assert today.chats == 0  # still waiting: not counted yet

    totals = result.totals
    assert totals.conversations == 7
    assert totals.first_responses == 4
    assert totals.first_response_p50_seconds == pytest.approx((1200 + 1800) / 2, abs=1)
    assert totals.resolved == 3
    assert totals.resolution_p50_seconds == pytest.approx(7200, abs=1)
    assert totals.chats == 3
    assert totals.chats_abandoned == 2
    assert totals.csat_average == 3.5
    # Empty days are there, with nothing in them.
    quiet = result.points[0]
    assert quiet.conversations == 0
    assert quiet.first_response_p50_seconds is None


def test_filters_narrow_every_figure(session: Session, workspace: ProvisionedWorkspace) -> None:
    s = story(session, workspace)

    def totals(**given: object) -> object:
        return trends(session, s.ws, Filters.of(days=30, now=s.now, **given), now=s.now).totals  # type: ignore[arg-type]

    vip = totals(team_id=s.vip.id)
    assert (vip.conversations, vip.resolved, vip.first_responses) == (1, 1, 1)  # type: ignore[attr-defined]
    assert totals(priority="high").conversations == 1  # type: ignore[attr-defined]
    chat = totals(channel="chat")
    assert chat.conversations == 5  # type: ignore[attr-defined]
    assert chat.channels == {"chat": 5}  # type: ignore[attr-defined]
    assert totals(channel="social").conversations == 0  # type: ignore[attr-defined]
    # A shorter period leaves the older days out.
    recent = trends(session, s.ws, Filters.of(days=3, now=s.now), now=s.now)
    assert recent.totals.conversations == 1
    with pytest.raises(AccordError):
        Filters.of(channel="fax")
    with pytest.raises(AccordError):
        Filters.of(days=0)
    assert Filters.of(days=90).bucket == "week"
    assert Filters.of(days=90, bucket="day").bucket == "day"


def test_the_agent_who_did_the_work_gets_the_credit(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    s = story(session, workspace)

    def mine(agent: Actor) -> object:
        f = Filters.of(days=30, now=s.now, agent_id=agent.user_id)
        return trends(session, s.ws, f, now=s.now)

    ana = mine(s.ana)
    # Ana sent the first responses of c1 (then transferred it) and c4.
    assert ana.totals.first_responses == 2  # type: ignore[attr-defined]
    assert ana.totals.first_response_p50_seconds == pytest.approx(1500, abs=1)  # type: ignore[attr-defined]
    # She resolved c4 only, which was reopened; c1's resolution is Ben's.
    assert ana.totals.resolved == 0  # type: ignore[attr-defined]
    assert (ana.totals.resolutions, ana.totals.reopened) == (1, 1)  # type: ignore[attr-defined]
    assert ana.totals.csat_responses == 0  # type: ignore[attr-defined]
    assert ana.totals.conversations == 2  # type: ignore[attr-defined]  # c1 and c4
    assert ana.totals.agent_replies == 2  # type: ignore[attr-defined]
    assert ana.totals.chats is None  # type: ignore[attr-defined]  # abandonment is no agent's

    ben = mine(s.ben)
    assert ben.totals.first_responses == 2  # type: ignore[attr-defined]  # c2 and c5
    assert ben.totals.resolved == 3  # type: ignore[attr-defined]  # c1 (after the transfer), c2, c5
    assert ben.totals.csat_average == 3.5  # type: ignore[attr-defined]
    assert ben.totals.conversations == 3  # type: ignore[attr-defined]

    # The per-agent report credits the same way (it used to credit the holder).
    report = metrics.report(session, s.ws, "agent", s.now - timedelta(days=30), None)
    rows = {g.key: g for g in report.groups}
    ana_row, ben_row = rows[str(s.ana.user_id)], rows[str(s.ben.user_id)]
    assert ana_row.conversations == 2
    assert ana_row.replies == 2
    assert ana_row.resolved == 0
    assert ana_row.first_response_p50_seconds is not None
    assert ben_row.resolved == 3
    assert ben_row.replies == 3
    assert ben_row.csat_average == 3.5
    # Unanswered conversations belong to nobody.
    assert rows[None].conversations == 3


def test_costs_come_from_the_workspace_settings(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    s = story(session, workspace)
    result = trends(session, s.ws, Filters.of(days=30, now=s.now), now=s.now)
    assert not result.costs_configured
    assert result.totals.cost == 0
    metrics_costs.save(
        session,
        s.ws,
        {
            "currency": "EUR",
            "per_conversation": {"email": "1.50", "chat": "0.50"},
            "agent_hourly": "30",
            "reply_minutes": {"email": 6, "chat": 3},
        },
        actor=Principal.cli(s.ws),
    )
    result = trends(session, s.ws, Filters.of(days=30, now=s.now), now=s.now)
    assert result.currency == "EUR"
    assert result.costs_configured
    d0 = _point(result, s.d0)
    # Fixed 1.50 + 0.50, two email replies (12 min) and one chat reply (3 min) at 30/h.
    assert d0.cost == 9.5  # type: ignore[attr-defined]
    assert d0.cost_by_channel == {"chat": 2.0, "email": 7.5}  # type: ignore[attr-defined]
    assert d0.cost_per_conversation == 4.75  # type: ignore[attr-defined]
    assert d0.agent_hours == 0.25  # type: ignore[attr-defined]
    # An agent's cost is their own replies' time, without the channels' fixed costs.
    ben = trends(session, s.ws, Filters.of(days=30, now=s.now, agent_id=s.ben.user_id), now=s.now)
    assert _point(ben, s.d0).cost == 4.5  # type: ignore[attr-defined]


def test_cost_settings_are_validated_versioned_and_audited(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ws = workspace.workspace.id
    actor = Principal.cli(ws)
    value, version = metrics_costs.with_version(session, ws)
    assert (value.currency, value.agent_hourly, version) == ("USD", Decimal("0"), 0)
    assert value.minutes("chat") == 3.0
    for bad, field in (
        ({"currency": "euro"}, "currency"),
        ({"per_conversation": {"fax": 1}}, "per_conversation"),
        ({"per_conversation": {"email": -1}}, "per_conversation"),
        ({"agent_hourly": -5}, "agent_hourly"),
        ({"reply_minutes": {"chat": 9999}}, "reply_minutes"),
        ({"surprise": 1}, "surprise"),
    ):
        with pytest.raises(AccordError) as refused:
            metrics_costs.save(session, ws, bad, actor=actor)
        assert refused.value.status == 422
        assert (refused.value.field or "").startswith(field), (bad, refused.value.field)
    saved, version = metrics_costs.save(session, ws, {"agent_hourly": "25.5"}, actor=actor)
    assert (saved.agent_hourly, version) == (Decimal("25.5"), 1)
    with pytest.raises(AccordError) as stale:
        metrics_costs.save(session, ws, {"agent_hourly": "20"}, actor=actor, expected_version=0)
    assert stale.value.code == "settings_version_conflict"


def test_week_buckets_start_on_monday(session: Session, workspace: ProvisionedWorkspace) -> None:
    s = story(session, workspace)
    result = trends(session, s.ws, Filters.of(days=120, now=s.now), now=s.now)
    assert result.bucket == "week"
    assert all(p.period.weekday() == 0 for p in result.points)
    assert sum(p.conversations for p in result.points) == 7
    monday = (s.d0 - timedelta(days=s.d0.weekday())).date()
    week = next(p for p in result.points if p.period == monday)
    assert week.conversations >= 2
    assert uuid.UUID(str(s.ws))
