"""Outreach jobs, run by the job engine (registered by name in ``accord/jobs.py``):
send a campaign's due messages (started at launch, one job per sender), and every
minute the sweep: stale claims of a stopped worker recovered, scheduled campaigns
started when their time comes, campaigns with sends due again (retries, holds, quiet
hours) sent, finished ones marked sent."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.kit.db import read_only, transaction
from accord.kit.time import utcnow
from accord.outreach import sending, service
from accord.outreach.job import Deployment
from accord.outreach.models import Campaign
from accord.outreach.repository import CampaignRepository, SendRepository

log = logging.getLogger(__name__)
Enqueue = Callable[..., Any]


def deliver(
    factory: sessionmaker[Session],
    campaign_id: uuid.UUID,
    *,
    deployment: Deployment,
) -> sending.Tally:
    """Send what is due of one campaign; mark it sent when nothing is left waiting."""
    try:
        tally = sending.deliver(factory, campaign_id, deployment)
    except RuntimeError as exc:  # no relay: the campaign waits, paused, with why
        log.warning("campaign %s cannot send: %s", campaign_id, exc)
        with transaction(factory) as session:
            campaign = session.get(Campaign, campaign_id)
            if campaign is not None and campaign.status == "sending":
                campaign.status = "paused"
        return sending.Tally()
    with transaction(factory) as session:
        service.finish_if_done(session, campaign_id)
    return tally


def sweep(
    factory: sessionmaker[Session],
    *,
    enqueue: Enqueue,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Every minute; returns the campaigns it started a delivery of."""
    now = now or utcnow()
    touched = set(sending.recover(factory, now))
    with transaction(factory) as session:
        due = CampaignRepository.from_session(session).due(now)
        for _, campaign_id in due:
            campaign = session.get(Campaign, campaign_id)
            if campaign is not None and campaign.status == "scheduled":
                service.start(session, campaign, now)
                touched.add(campaign_id)
    started: list[uuid.UUID] = []
    with read_only(factory) as session:
        repo = SendRepository.from_session(session)
        for _, campaign_id in due:
            next_due = repo.next_due(campaign_id)
            if campaign_id in touched or next_due is None or next_due <= now:
                started.append(campaign_id)
    for campaign_id in started:
        enqueue("outreach.deliver", campaign_id)
    return started
