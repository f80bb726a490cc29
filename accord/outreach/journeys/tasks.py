"""Journey jobs (registered by name in ``accord/jobs.py``): take due steps of a
workspace (scheduled at the earliest wake-up: nothing runs while people wait), act on
the signals resolution kept, send a journey's queued messages, and every minute the
sweep (what no job was started for: due steps, signals, messages, stale claims).

The listener keeps, in the transaction that resolved them, the events an active journey
of the workspace listens for (``journey_signals``), and once committed starts the job
that hears them."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.collect.models import Event
from accord.kit import changes
from accord.kit.db import read_only, transaction
from accord.kit.dialect import one_of
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.outreach import sending
from accord.outreach.job import Deployment
from accord.outreach.journeys import dates, delivery, engine
from accord.outreach.journeys.repository import JourneyRepository
from accord.outreach.models import Send
from accord.outreach.repository import SendRepository

log = logging.getLogger(__name__)
Enqueue = Callable[..., Any]


# The job engine's scheduler looks for due jobs once a second: a wake-up is scheduled
# that much early and waits out the rest, so steps are taken when their time comes
# rather than up to a second later.
EARLY = timedelta(seconds=1)


def wiring(enqueue: Enqueue) -> engine.Wiring:
    return engine.Wiring(
        wake=lambda workspace_id, at: enqueue(
            "journeys.advance", workspace_id, False, at, at=at - EARLY
        ),
        deliver=lambda journey_id: enqueue("journeys.deliver", journey_id),
        notify=lambda delivery_id: enqueue("audiences.deliver", delivery_id),
    )


HELPERS = 1  # workers that join a wake-up with more people due than one batch


def advance(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    helper: bool = False,
    not_before: datetime | None = None,
    *,
    enqueue: Enqueue,
) -> int:
    """Take the due steps of a workspace (from ``not_before``, waited for when the
    wake-up came early); a wake-up with more due than a batch asks one more worker to
    help (batches are locked apart)."""
    if not_before is not None:
        early = (not_before - utcnow()).total_seconds()
        if early > 0:
            time.sleep(min(early, EARLY.total_seconds()))

    def help_out() -> None:
        for _ in range(HELPERS):
            enqueue("journeys.advance", workspace_id, True)

    return engine.advance(
        factory, workspace_id, wiring(enqueue), on_full=None if helper else help_out
    )


def hear(factory: sessionmaker[Session], workspace_id: uuid.UUID, *, enqueue: Enqueue) -> int:
    moved = 0
    while True:
        with transaction(factory) as session:
            signals = JourneyRepository.from_session(session).take_signals(workspace_id)
            if not signals:
                break
            moved += engine.hear(session, workspace_id, signals)
    if moved:
        advance(factory, workspace_id, enqueue=enqueue)
    return moved


def segments(factory: sessionmaker[Session], workspace_id: uuid.UUID, *, enqueue: Enqueue) -> int:
    """Enter the people who entered the segments of segment-triggered journeys (after
    every commit that changed memberships, and every minute), then take their steps."""
    with transaction(factory) as session:
        entered = engine.enter_from_segments(session, workspace_id, utcnow())
    if entered:
        advance(factory, workspace_id, enqueue=enqueue)
    return entered


def on_dates(
    factory: sessionmaker[Session], *, enqueue: Enqueue, now: datetime | None = None
) -> int:
    """Every hour: enter the people whose date it is into date-triggered journeys (each
    workspace in a transaction of its own), then take their steps."""
    now = now or utcnow()
    with read_only(factory) as session:
        workspaces = JourneyRepository.from_session(session).with_active()
    entered = 0
    for workspace_id in workspaces:
        with transaction(factory) as session:
            here = dates.enter_on_dates(session, workspace_id, now)
        if here:
            entered += here
            advance(factory, workspace_id, enqueue=enqueue)
    return entered


def deliver(
    factory: sessionmaker[Session], journey_id: uuid.UUID, *, deployment: Deployment
) -> sending.Tally:
    try:
        return delivery.deliver(factory, journey_id, deployment)
    except RuntimeError as exc:
        log.warning("journey %s cannot send: %s", journey_id, exc)
        return sending.Tally()


def sweep(factory: sessionmaker[Session], *, enqueue: Enqueue, now: datetime | None = None) -> None:
    now = now or utcnow()
    before = now - sending.LEASE
    with transaction(factory) as session:
        repo = JourneyRepository.from_session(session)
        sends = SendRepository.from_session(session)
        due = repo.workspaces_due(now)
        heard = repo.workspaces_with_signals()
        journeys = repo.journeys_sending()
        triggered = repo.with_active()
        for journey_id in journeys:  # a sender that stopped: as for campaigns
            sending.recover_stale(sends, [Send.journey_id == journey_id], before)
    for workspace_id in heard:
        enqueue("journeys.hear", workspace_id)
    for workspace_id in triggered:
        enqueue("journeys.segments", workspace_id)
    for workspace_id in due:
        enqueue("journeys.advance", workspace_id)
    with read_only(factory) as session:
        repo = JourneyRepository.from_session(session)
        pending = [j for j in journeys if repo.sending_groups(j)]
    for journey_id in pending:
        enqueue("journeys.deliver", journey_id)


def listener(enqueue: Enqueue) -> changes.Listener:
    """Asks, for each change with events, which events the workspace's active journeys
    act on (one indexed query; the definitions are kept by version), so an event that
    arrives the moment a journey is published is heard."""
    heard: set[uuid.UUID] = set()

    def record(session: Session, change: changes.Changes) -> None:
        names = {t.removeprefix("event:") for t in change.topics if t.startswith("event:")}
        if not names or not change.events:
            return
        wanted = engine.listened(session, change.workspace_id) & names
        if not wanted:
            return
        ids = [e for events in change.events.values() for e in events]
        rows = session.execute(
            select(Event.id, Event.profile_id, Event.name, Event.properties, Event.timestamp).where(
                one_of(session, Event.id, ids), Event.name.in_(sorted(wanted))
            )
        )
        signals = [
            {
                "id": new_id(),
                "workspace_id": change.workspace_id,
                "profile_id": pid,
                "event_id": eid,
                "name": name,
                "properties": properties or {},
                "at": at,
            }
            for eid, pid, name, properties, at in rows
            if pid is not None
        ]
        if signals:
            JourneyRepository.from_session(session).add_signals(signals)
            heard.add(change.workspace_id)

    def committed(change: changes.Changes) -> None:
        if change.workspace_id in heard:
            heard.discard(change.workspace_id)
            enqueue("journeys.hear", change.workspace_id)

    return changes.Listener(committed=committed, record=record)
