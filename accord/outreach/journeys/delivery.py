"""Sending a journey's queued messages: each email or text step of each version is a
source of its own on the send queue (the same claims, consent, caps, holds, quiet hours,
never twice as a campaign's)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from accord.govern.workspaces.models import Workspace
from accord.kit.db import read_only
from accord.outreach import sending
from accord.outreach import settings as outreach_settings
from accord.outreach.job import Deployment, Job, StepSource, transport_of
from accord.outreach.journeys.definition import MESSAGES
from accord.outreach.journeys.engine import definition_of
from accord.outreach.journeys.models import Journey
from accord.outreach.journeys.repository import JourneyRepository
from accord.outreach.models import Send
from accord.outreach.templates import Compiled, Content


def jobs(session: Session, journey_id: uuid.UUID, deployment: Deployment) -> list[Job]:
    journey = session.get(Journey, journey_id)
    if journey is None or journey.status not in ("active", "paused"):
        return []
    workspace = session.get(Workspace, journey.workspace_id)
    assert workspace is not None
    settings = outreach_settings.read(workspace)
    out = []
    for version, step_id, first in JourneyRepository.from_session(session).sending_groups(
        journey_id
    ):
        step = definition_of(session, journey_id, version).step(step_id)
        channel = MESSAGES[step.kind]
        box, provider = transport_of(workspace, channel, deployment)
        content = Content(channel, step.subject or "", step.html or "", step.text or "")
        out.append(
            Job(
                StepSource(journey_id, channel, step.purpose),
                workspace,
                Compiled(content),
                settings,
                box,
                deployment,
                first + timedelta(days=settings.hold_days),
                [Send.journey_id == journey_id, Send.version == version, Send.step == step_id],
                provider,
            )
        )
    return out


def deliver(
    factory: sessionmaker[Session], journey_id: uuid.UUID, deployment: Deployment
) -> sending.Tally:
    with read_only(factory) as session:
        todo = jobs(session, journey_id, deployment)
        session.expunge_all()
    total = sending.Tally()
    for job in todo:
        tally = sending.run_job(factory, job)
        for name, value in vars(tally).items():
            setattr(total, name, getattr(total, name) + value)
    return total
