"""Reading outreach for pages and the API: campaigns with their counts, a campaign's
sends, a person's messages."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.outreach.models import Campaign, Send
from accord.outreach.repository import CampaignRepository, SendRepository
from accord.outreach.schemas import SendRead


def campaigns(
    session: Session, workspace_id: uuid.UUID, status: str | None = None
) -> list[Campaign]:
    return CampaignRepository.from_session(session).all(workspace_id, status)


def counts(session: Session, campaign_id: uuid.UUID) -> dict[str, int]:
    return SendRepository.from_session(session).counts(campaign_id)


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
