"""Conversations for the demo workspace: the retailer's support inbox with teams, an SLA,
canned responses and a few dozen customer issues across the web form, email, phone, chat,
social and text messages, at every stage (waiting, answered, transferred, resolved with a survey
answer). Created through the inbox services, as real traffic would be."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.channels import mailbox
from accord.govern.access.models import User
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.inbox import csat, service
from accord.inbox.context import Actor, InboxContext
from accord.inbox.intake import Inbound, receive
from accord.inbox.models import CannedResponse, Conversation, SlaPolicy, Team, TeamMember
from accord.inbox.people import Contact
from accord.inbox.setup import save_inbox_settings
from accord.kit.time import utcnow
from accord.profile.models import Profile

AGENTS = ("maya.lopez@demo.accord.test", "sam.okafor@demo.accord.test")
ISSUES = [
    ("Where is my order?", "Hi, I ordered a sleeping bag last week and the tracking hasn't moved."),
    ("Wrong size boots", "The hiking boots I got are a 42 but I ordered a 43. Can I swap them?"),
    ("Tent pole snapped", "One of the poles of my tent snapped on the first trip."),
    ("Refund not received", "I returned a jacket two weeks ago and haven't seen the refund."),
    ("Store opening hours", "Is the Portland store open on Sunday morning?"),
    ("Loyalty points missing", "My last store purchase did not add points to my loyalty card."),
    ("Discount code not working", "The code from your newsletter is rejected at checkout."),
    ("Damaged parcel", "The box arrived crushed and the stove is dented."),
]
REPLIES = [
    "Thanks for reaching out! I'm looking into this now.",
    "Sorry about that. I've arranged a replacement; you'll get a shipping email today.",
    "I've checked with the warehouse: it left yesterday and should arrive within two days.",
    "Your refund was issued this morning; banks take 3-5 working days to show it.",
]
CHANNELS = ["web", "email", "email", "phone", "chat", "social", "sms"]


def already_loaded(session: Session, workspace_id: uuid.UUID) -> bool:
    stmt = (
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.workspace_id == workspace_id)
    )
    return bool(session.scalar(stmt))


def _setup(session: Session, workspace: Workspace, agents: list[User], secret_key: str) -> None:
    support = Team(
        workspace_id=workspace.id,
        name="Support",
        routing="round_robin",
        business_hours={
            "timezone": "America/Los_Angeles",
            "days": {d: ["08:00", "20:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
        },
    )
    vip = Team(
        workspace_id=workspace.id, name="VIP desk", routing="least_loaded", is_priority_queue=True
    )
    session.add_all([support, vip])
    session.flush()
    for agent in agents:
        session.add(TeamMember(workspace_id=workspace.id, team_id=support.id, user_id=agent.id))
    session.add(TeamMember(workspace_id=workspace.id, team_id=vip.id, user_id=agents[0].id))
    session.add_all(
        [
            SlaPolicy(
                workspace_id=workspace.id,
                name="Standard",
                first_response_minutes=240,
                next_response_minutes=480,
                resolution_minutes=2880,
                business_hours=True,
            ),
            SlaPolicy(
                workspace_id=workspace.id,
                name="Urgent",
                priority="high",
                first_response_minutes=30,
                next_response_minutes=60,
                resolution_minutes=480,
                business_hours=False,
            ),
            CannedResponse(
                workspace_id=workspace.id,
                shortcut="thanks",
                title="Thanks for waiting",
                body="Hi {{first_name}}, thanks for your patience. {{agent_name}} here.",
            ),
            CannedResponse(
                workspace_id=workspace.id,
                shortcut="order",
                title="About your last order",
                body="Hi {{first_name}}, I can see your {{last_order}}. Let me check its status.",
            ),
        ]
    )
    actor = Principal.cli(workspace.id)
    save_inbox_settings(
        session,
        workspace.id,
        {
            "default_team": "Support",
            "vip_rules": [{"field": "revenue", "op": ">=", "value": 1500}],
            "reopen_window_hours": 168,
        },
        actor=actor,
    )
    mailbox.save(
        session,
        workspace.id,
        {"address": "help@northwind-outdoor.com", "name": "Northwind Support"},
        secret_key,
        actor=actor,
    )


def _contact(profile: Profile, channel: str) -> Contact:
    if channel in ("phone", "sms") and profile.phone:
        return Contact(phone=profile.phone, name=profile.display_name)
    if channel == "social":
        handle = (profile.display_name or "fan").lower().replace(" ", "_")
        return Contact(social={"twitter": handle}, email=profile.email, name=profile.display_name)
    return Contact(email=profile.email, phone=profile.phone, name=profile.display_name)


def load_conversations(
    session: Session, workspace_id: uuid.UUID, *, secret_key: str, base_url: str, count: int = 60
) -> int:
    """Create the demo inbox once; returns how many conversations were made."""
    if already_loaded(session, workspace_id):
        return 0
    workspace = session.get(Workspace, workspace_id)
    assert workspace is not None
    agents = list(session.scalars(select(User).where(User.email.in_(AGENTS)).order_by(User.email)))
    if not agents:
        return 0
    _setup(session, workspace, agents, secret_key)
    ctx = InboxContext.load(session, workspace_id, secret_key=secret_key, base_url=base_url)
    people = list(
        session.scalars(
            select(Profile)
            .where(
                Profile.workspace_id == workspace_id,
                Profile.merged_into_id.is_(None),
                Profile.email.is_not(None),
            )
            .order_by(Profile.revenue.desc(), Profile.id)
            .limit(count * 2)
        )
    )
    rng = random.Random(7)
    now = utcnow()
    made = 0
    for i, person in enumerate(people[:count]):
        channel = CHANNELS[i % len(CHANNELS)]
        if channel == "sms" and not person.phone:
            channel = "email"
        subject, text = ISSUES[rng.randrange(len(ISSUES))]
        start = now - timedelta(hours=rng.uniform(0.5, 24 * 12))
        got = receive(
            session,
            ctx,
            Inbound(
                channel=channel,
                contact=_contact(person, channel),
                body=text if channel != "phone" else f"Inbound call · 3m 10s\n{text}",
                subject=subject,
                external_id=f"demo-{i}",
                at=start,
                meta={"duration_seconds": 190} if channel == "phone" else {},
            ),
        )
        made += 1
        stage = rng.random()
        if channel == "sms":
            # The demo has no SMS provider: its texts wait for an answer (the conversation
            # page says texting needs one and offers email).
            stage = 0.0
        _play(session, ctx, got.conversation, agents, stage, start, now, rng)
    return made


def _play(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    agents: list[User],
    stage: float,
    start: datetime,
    now: datetime,
    rng: random.Random,
) -> None:
    """Move a conversation along: left waiting, answered, transferred or resolved."""
    if stage < 0.25:
        return  # still waiting for a first answer
    agent = next((a for a in agents if a.id == conversation.assignee_id), agents[0])
    actor = Actor(agent.id, agent.name or agent.email)
    answered = min(start + timedelta(minutes=rng.uniform(5, 300)), now)
    where = service.reach(session, conversation, service.person_of(session, conversation))
    channel = where.default
    if channel is None:
        return
    message = service.reply(
        session,
        ctx,
        conversation,
        actor,
        REPLIES[rng.randrange(len(REPLIES))],
        channel=channel,
        at=answered,
    )
    if message.delivery == "queued":
        message.delivery = "sent"
        message.external_id = f"<demo-{message.id}@northwind-outdoor.com>"
    if stage < 0.45:
        return
    if stage < 0.6:
        other = agents[1] if agent.id == agents[0].id and len(agents) > 1 else agents[0]
        service.transfer(
            session,
            ctx,
            conversation,
            actor,
            user_id=other.id,
            note_text="Customer wants a replacement; can you check stock at the warehouse?",
        )
        return
    resolved = min(answered + timedelta(hours=rng.uniform(0.5, 30)), now)
    service.set_status(session, ctx, conversation, "resolved", actor, at=resolved)
    for survey in session.new:
        if getattr(survey, "meta", None) == {"kind": "csat_survey"}:
            survey.delivery = "sent"
    if rng.random() < 0.7:
        score = rng.choices([5, 4, 3, 2, 1], weights=[50, 25, 10, 8, 7])[0]
        comment = {5: "Great help, thanks!", 4: "Quick answer.", 1: "Took too long."}.get(score)
        csat.record(session, ctx, conversation, score, comment)
        conversation.csat_at = resolved + timedelta(hours=2)
