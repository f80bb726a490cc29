"""Reading outreach for pages and the API: campaigns with their counts, a campaign's
sends (with the people they went to), a person's messages."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.kit.dialect import one_of
from accord.outreach.models import Campaign, Send
from accord.outreach.repository import CampaignRepository, SendRepository
from accord.outreach.schemas import SendRead
from accord.profile.models import Profile


def campaigns(
    session: Session, workspace_id: uuid.UUID, status: str | None = None
) -> list[Campaign]:
    return CampaignRepository.from_session(session).all(workspace_id, status)


def counts(session: Session, campaign_id: uuid.UUID) -> dict[str, int]:
    return SendRepository.from_session(session).counts(campaign_id)


@dataclass
class Tally:
    """A campaign's sends counted by status, and how many of them were opened and
    clicked."""

    counts: dict[str, int] = field(default_factory=dict)
    opened: int = 0
    clicked: int = 0

    @property
    def sent(self) -> int:
        return self.counts.get("sent", 0)

    @property
    def open_rate(self) -> float | None:
        return self.opened / self.sent if self.sent else None

    @property
    def click_rate(self) -> float | None:
        return self.clicked / self.sent if self.sent else None


def tallies(session: Session, campaign_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Tally]:
    """The tally of each of several campaigns (the list of campaigns), in two grouped
    statements; a campaign without sends has an empty tally."""
    out = {cid: Tally() for cid in campaign_ids}
    if not out:
        return out
    among = one_of(session, Send.campaign_id, list(out))
    for cid, status, n in session.execute(
        select(Send.campaign_id, Send.status, func.count())
        .where(among)
        .group_by(Send.campaign_id, Send.status)
    ):
        if cid is not None:
            out[cid].counts[status] = int(n)
    for cid, opened, clicked in session.execute(
        select(Send.campaign_id, func.count(Send.opened_at), func.count(Send.clicked_at))
        .where(among)
        .group_by(Send.campaign_id)
    ):
        if cid is not None:
            out[cid].opened, out[cid].clicked = int(opened or 0), int(clicked or 0)
    return out


@dataclass(frozen=True)
class Recipient:
    """One send of a campaign with the name, email and phone of the person it is for."""

    send: Send
    name: str | None
    email: str | None
    phone: str | None

    # The names ``person_label`` reads.
    @property
    def display_name(self) -> str | None:
        return self.name


def recipients(
    session: Session,
    campaign_id: uuid.UUID,
    *,
    status: str | None = None,
    limit: int = 50,
    after: uuid.UUID | None = None,
) -> list[Recipient]:
    """A page of a campaign's sends in id order (``after`` the last one of the page
    before), each with its person's name and addresses."""
    stmt = (
        select(Send, Profile.display_name, Profile.email, Profile.phone)
        .join(Profile, Profile.id == Send.profile_id)
        .where(Send.campaign_id == campaign_id)
    )
    if status:
        stmt = stmt.where(Send.status == status)
    if after is not None:
        stmt = stmt.where(Send.id > after)
    rows = session.execute(stmt.order_by(Send.id).limit(limit))
    return [Recipient(s, name, email, phone) for s, name, email, phone in rows]


def names(
    session: Session, workspace_id: uuid.UUID, campaign_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, str]:
    """Campaigns' names by id (a person's messages name what sent them)."""
    if not campaign_ids:
        return {}
    rows = session.execute(
        select(Campaign.id, Campaign.name).where(
            Campaign.workspace_id == workspace_id,
            one_of(session, Campaign.id, list(campaign_ids)),
        )
    )
    return {cid: name for cid, name in rows}


def sends(
    session: Session,
    campaign_id: uuid.UUID,
    *,
    status: str | None = None,
    limit: int = 100,
    after: uuid.UUID | None = None,
) -> list[Send]:
    stmt = select(Send).where(Send.campaign_id == campaign_id)
    if status:
        stmt = stmt.where(Send.status == status)
    if after is not None:
        stmt = stmt.where(Send.id > after)
    return list(session.scalars(stmt.order_by(Send.id).limit(limit)))


def of_person(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[Send]:
    stmt = (
        select(Send)
        .where(Send.workspace_id == workspace_id, Send.profile_id == profile_id)
        .order_by(Send.id.desc())
        .limit(200)
    )
    return list(session.scalars(stmt))


def send_read(s: Send) -> SendRead:
    return SendRead(
        id=s.id,
        profile_id=s.profile_id,
        channel=s.channel,
        address=s.address,
        status=s.status,
        code=s.code,
        reason=s.reason,
        attempts=s.attempts,
        sent_at=s.sent_at,
        opened_at=s.opened_at,
        clicked_at=s.clicked_at,
        source=s.source_key,
    )
