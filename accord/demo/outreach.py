"""The demo workspace's outreach: a campaign sent a week ago with its results, and a
cart-abandonment journey running. Idempotent: nothing is made twice.

The campaign went to the segment of people reachable by email marketing. Its sends
are planned by the outreach service (the holdout drawn as for any campaign) and decided
by the consent registry as the send queue would decide them; the demo has no mail relay,
so the allowed ones are recorded sent at the time of the campaign, and opens and clicks
are drawn at rates typical of retail email (about 38% and 9%). Conversions and revenue in
its report come from the demo's own orders."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.segments.repository import SegmentRepository
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import ALL_SCOPES
from accord.govern.consent.policy import Ask, decide_many
from accord.govern.workspaces.models import Workspace
from accord.kit.time import utcnow
from accord.outreach import service as campaigns
from accord.outreach import settings as outreach_settings
from accord.outreach.journeys import engine
from accord.outreach.journeys import service as journeys
from accord.outreach.journeys.repository import JourneyRepository
from accord.outreach.models import Send
from accord.outreach.repository import CampaignRepository, SendRepository
from accord.outreach.schemas import CampaignIn
from accord.profile.models import Profile

CAMPAIGN = "Spring sale"
JOURNEY = "Cart abandonment"
AUDIENCE = "Reachable by email marketing"
ABANDONERS = "Cart abandoners this week"
HTML = """<html><body>
<h1>Hello {{ person.first_name | default('there') }},</h1>
<p>The spring sale is on: tents, packs and boots at up to 30% off.</p>
<p><a href="https://demo-outfitters.example/spring">Shop the sale</a></p>
</body></html>"""


def _draw(send_id: uuid.UUID, what: str) -> float:
    digest = hashlib.blake2b(send_id.bytes + what.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def ensure_outreach(session: Session, workspace_id: uuid.UUID) -> str | None:
    actor = Principal(
        workspace_id=workspace_id, kind="cli", label="demo", scopes=frozenset(map(str, ALL_SCOPES))
    )
    said: list[str] = []
    if CampaignRepository.from_session(session).by_name(workspace_id, CAMPAIGN) is None:
        said.append(_campaign(session, actor))
    if JourneyRepository.from_session(session).by_name(workspace_id, JOURNEY) is None:
        said.append(_journey(session, actor))
    return "\n".join(said) or None


def _campaign(session: Session, actor: Principal) -> str:
    workspace = session.get(Workspace, actor.workspace_id)
    assert workspace is not None
    outreach_settings.save(
        session,
        workspace.id,
        {"postal_address": "Demo Outfitters, 200 Trailhead Way, Boulder CO 80302"},
        actor=actor,
    )
    segment = SegmentRepository.from_session(session).by_name(workspace.id, AUDIENCE)
    campaign = campaigns.create(
        session,
        actor,
        CampaignIn(
            name=CAMPAIGN,
            segment_id=segment.id if segment else None,
            subject="{{ person.first_name | default('Hello') }}, the spring sale is on",
            html=HTML,
            text="The spring sale is on: https://demo-outfitters.example/spring",
            holdout_percent=10,
        ),
    )
    if segment is None:
        return f"Demo campaign: {CAMPAIGN} (a draft: no audience segment)"
    at = utcnow() - timedelta(days=8)
    campaign.status, campaign.started_at = "sending", at
    campaign.audience = campaigns.plan(session, campaign, at)
    campaign.planned_at = at
    sends = list(session.scalars(select(Send).where(Send.campaign_id == campaign.id)))
    people = {
        p.id: p
        for p in session.scalars(
            select(Profile).where(Profile.id.in_([s.profile_id for s in sends]))
        )
    }
    asking = [s for s in sends if s.status == "queued" and s.profile_id in people]
    decisions = decide_many(
        session,
        workspace,
        [(people[s.profile_id], Ask("email", "marketing", s.address)) for s in asking],
        at=at,
    )
    outcomes = []
    for send, decision in zip(asking, decisions, strict=True):
        if not send.address:
            outcomes.append(
                {
                    "id": send.id,
                    "status": "refused",
                    "code": "no_address",
                    "reason": "the customer has no email address",
                }
            )
        elif not decision.allowed:
            outcomes.append(
                {
                    "id": send.id,
                    "status": "refused",
                    "code": decision.code,
                    "reason": decision.reason,
                }
            )
        else:
            sent = at + timedelta(seconds=int(_draw(send.id, "t") * 600))
            opened = _draw(send.id, "o") < 0.38
            clicked = opened and _draw(send.id, "c") < 0.24
            outcomes.append(
                {
                    "id": send.id,
                    "status": "sent",
                    "attempts": 1,
                    "sent_at": sent,
                    "message_id": f"<{send.id}@demo-outfitters.example>",
                    "opens": 1 if opened else 0,
                    "opened_at": sent + timedelta(hours=3) if opened else None,
                    "clicks": 1 if clicked else 0,
                    "clicked_at": sent + timedelta(hours=3, minutes=2) if clicked else None,
                }
            )
    SendRepository.from_session(session).settle(outcomes)
    campaign.status, campaign.finished_at = "sent", at + timedelta(minutes=15)
    session.flush()
    return f"Demo campaign: {CAMPAIGN}, sent to {campaign.audience} people a week ago"


def _journey(session: Session, actor: Principal) -> str:
    journey = journeys.create(session, actor, name=JOURNEY, template="cart_abandonment")
    journeys.publish(session, actor, journey.id)
    segment = SegmentRepository.from_session(session).by_name(actor.workspace_id, ABANDONERS)
    entered = 0
    if segment is not None:
        members = SegmentRepository.from_session(session).member_ids(segment.id)
        now = utcnow()
        for profile_id in sorted(members, key=str)[:200]:
            if engine.enter(session, journey, profile_id, now, {"by": "demo"}) is not None:
                entered += 1
    return f"Demo journey: {JOURNEY}, running with {entered} people in it"
