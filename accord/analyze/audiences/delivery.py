"""Deliveries: every segment change a destination wants becomes a delivery (its signed
body made once, so a retry or a replay sends the same bytes), and one attempt of a
delivery: claimed in a transaction, sent outside it, logged in another, with back-off
after a failure and a limit of attempts. Services flush; the caller commits, and what
must happen after the commit (a job to enqueue) goes through ``Sender``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from accord.analyze.audiences import webhooks
from accord.analyze.audiences.models import Delivery, Destination
from accord.analyze.audiences.repository import OPEN, DeliveryRepository, DestinationRepository
from accord.analyze.audiences.schemas import EVENTS, KINDS, TEST
from accord.analyze.segments.models import Segment, SegmentChange
from accord.govern.access.principal import Principal
from accord.govern.audit import access
from accord.kit.dialect import lock_workspace
from accord.kit.ids import id_at, new_id
from accord.kit.security import decrypt
from accord.kit.signals import after_commit
from accord.kit.time import utcnow
from accord.profile.models import Profile

SECRET_PURPOSE = "audience-webhook"  # noqa: S105 - what the key is derived for
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30  # then 1, 2, 4, 8, 16 and 32 minutes: about an hour in all
BACKOFF_CAP_SECONDS = 3600
LEASE_SECONDS = 60  # an attempt that died with its process is taken up again after this
# Changes are read again this far behind the cursor: a transaction that wrote its changes
# before another but committed after it is not missed (deliveries are made once each).
LOOKBACK_SECONDS = 300
PAGE = 1000
GRACE_SECONDS = 60  # a delivery this late for its attempt lost its job: the sweep sends it
KEEP_DAYS = 30  # delivered and failed deliveries are kept this long


@dataclass(frozen=True)
class Sender:
    """The job engine as audiences need it, passed in by the edge: a dispatch of a
    workspace's changes, and a delivery's attempt now or at a time."""

    dispatch: Callable[[uuid.UUID], None] | None = None
    deliver: Callable[[uuid.UUID, datetime | None], None] | None = None

    def dispatch_after_commit(self, session: Session, workspace_id: uuid.UUID) -> None:
        if self.dispatch is not None:
            dispatch = self.dispatch
            after_commit(session, lambda: dispatch(workspace_id))

    def deliver_after_commit(self, session: Session, ids: Collection[uuid.UUID]) -> None:
        if self.deliver is not None and ids:
            deliver, todo = self.deliver, list(ids)

            def send() -> None:
                for delivery_id in todo:
                    deliver(delivery_id, None)

            after_commit(session, send)


def segment_filter(destination: Destination) -> list[uuid.UUID] | None:
    return [uuid.UUID(s) for s in destination.segment_ids] or None


# --- segment changes become deliveries ---------------------------------------------------


def payload(
    delivery_id: uuid.UUID,
    event: str,
    at: datetime,
    segment: Segment | None,
    person: Profile | None,
) -> str:
    """The JSON body of a delivery, as signed and sent."""
    data = {
        "id": str(delivery_id),
        "event": event,
        "timestamp": at.isoformat(),
        "segment": {"id": str(segment.id), "name": segment.name} if segment else None,
        "person": (
            {"id": str(person.id), "email": person.email, "name": person.display_name}
            if person
            else None
        ),
    }
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def _lower_bound(destination: Destination) -> uuid.UUID:
    seconds = (destination.cursor_id.int >> 80) / 1000 - LOOKBACK_SECONDS
    return max(destination.since_id, id_at(max(seconds, 0)))


def dispatch(
    session: Session, workspace_id: uuid.UUID, sender: Sender, now: datetime | None = None
) -> int:
    """Turn the workspace's segment changes each active destination has not yet seen into
    deliveries (one per destination and change, whatever runs at once), advance the
    cursors, and have each delivery sent after the commit. Returns how many were made."""
    repo = DestinationRepository.from_session(session)
    if not repo.active(workspace_id):
        return 0
    lock_workspace(session, workspace_id, "audiences.dispatch")
    deliveries = DeliveryRepository.from_session(session)
    now = now or utcnow()
    segments: dict[uuid.UUID, Segment] | None = None
    made: list[uuid.UUID] = []
    for destination in repo.active(workspace_id):
        kinds = [KINDS[e] for e in destination.events if e in KINDS]
        if not kinds:
            continue
        after = _lower_bound(destination)
        while True:
            changes = repo.changes(workspace_id, after, kinds, segment_filter(destination), PAGE)
            if not changes:
                break
            seen = deliveries.sent_changes(destination.id, [c.id for c in changes])
            fresh = [c for c in changes if c.id not in seen]
            if fresh:
                if segments is None:
                    segments = repo.segments(workspace_id)
                people = repo.people({c.profile_id for c in fresh})
                rows = [_delivery(destination, c, segments, people, now) for c in fresh]
                deliveries.add_many(rows)
                made.extend(r.id for r in rows)
                _note_access(session, destination, people)
            after = changes[-1].id
            if len(changes) < PAGE:
                break
        if after > destination.cursor_id:
            repo.set_cursor(destination.id, after)
    sender.deliver_after_commit(session, made)
    return len(made)


def _note_access(
    session: Session, destination: Destination, people: dict[uuid.UUID, Profile]
) -> None:
    """Each person whose email and name a delivery carries out has it in their access
    log, the destination as the actor (once per ten minutes, as every read)."""
    actor = Principal(
        workspace_id=destination.workspace_id,
        kind="destination",
        label=f"destination {destination.name}",
    )
    for profile_id in sorted(people):
        access.record(session, actor, profile_id, "export", via="api")


def _delivery(
    destination: Destination,
    change: SegmentChange,
    segments: dict[uuid.UUID, Segment],
    people: dict[uuid.UUID, Profile],
    now: datetime,
) -> Delivery:
    delivery_id = new_id()
    event = EVENTS[change.kind]
    return Delivery(
        id=delivery_id,
        workspace_id=destination.workspace_id,
        destination_id=destination.id,
        change_id=change.id,
        segment_id=change.segment_id,
        profile_id=change.profile_id,
        event=event,
        body=payload(
            delivery_id,
            event,
            change.at,
            segments.get(change.segment_id),
            people.get(change.profile_id),
        ),
        status="pending",
        attempts=0,
        replays=0,
        next_attempt_at=now,
    )


def for_person(
    session: Session,
    destination: Destination,
    person: Profile,
    event: str,
    about: dict[str, Any],
    now: datetime,
) -> uuid.UUID:
    """A delivery about one person that another package decided on (a journey's step):
    its body the event, ``about`` and the person, made once and signed as any other;
    the caller has it sent after its commit. Returns its id."""
    delivery_id = new_id()
    data = {
        "id": str(delivery_id),
        "event": event,
        "timestamp": now.isoformat(),
        **about,
        "person": {
            "id": str(person.id),
            "email": person.email,
            "phone": person.phone,
            "name": person.display_name,
        },
    }
    DeliveryRepository.from_session(session).add_many(
        [
            Delivery(
                id=delivery_id,
                workspace_id=destination.workspace_id,
                destination_id=destination.id,
                profile_id=person.id,
                event=event[:40],
                body=json.dumps(data, separators=(",", ":"), ensure_ascii=False),
                status="pending",
                attempts=0,
                replays=0,
                next_attempt_at=now,
            )
        ]
    )
    _note_access(session, destination, {person.id: person})
    return delivery_id


# --- one attempt ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What one attempt sends, read in a transaction and sent outside it."""

    delivery_id: uuid.UUID
    url: str
    secret: str
    body: str
    event: str


def backoff(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt."""
    return timedelta(seconds=min(BACKOFF_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS))


def claim(
    session: Session, delivery_id: uuid.UUID, secret_key: str, now: datetime
) -> Attempt | None:
    """The attempt to make now, or None: gone, already sent or being sent, not yet due,
    or its destination paused (it then waits for the resume)."""
    deliveries = DeliveryRepository.from_session(session)
    delivery = deliveries.get(delivery_id)
    if delivery is None or delivery.status not in OPEN:
        return None
    destination = session.get(Destination, delivery.destination_id)
    if destination is None:
        return None
    if destination.status != "active" and delivery.event != TEST:
        if delivery.status != "sending":
            delivery.status, delivery.next_attempt_at = "pending", None
            session.flush()
        return None
    if not deliveries.claim(delivery.id, now, now + timedelta(seconds=LEASE_SECONDS)):
        return None
    secret = decrypt(secret_key, destination.secret_encrypted, SECRET_PURPOSE)
    if secret is None:
        session.refresh(delivery)
        record(
            session,
            delivery.id,
            webhooks.Outcome(False, None, "the signing secret cannot be read: rotate it"),
            now,
            final=True,
        )
        return None
    return Attempt(delivery.id, destination.url, secret, delivery.body, delivery.event)


def record(
    session: Session,
    delivery_id: uuid.UUID,
    outcome: webhooks.Outcome,
    now: datetime,
    *,
    final: bool = False,
) -> datetime | None:
    """Log an attempt; returns when to try again (None: delivered, or given up)."""
    delivery = DeliveryRepository.from_session(session).get(delivery_id)
    if delivery is None:
        return None
    delivery.attempts += 1
    delivery.last_attempt_at = now
    delivery.last_status_code = outcome.status_code
    delivery.last_error = outcome.error
    if outcome.delivered:
        delivery.status, delivery.delivered_at, delivery.next_attempt_at = "delivered", now, None
    elif final or delivery.attempts >= MAX_ATTEMPTS:
        delivery.status, delivery.next_attempt_at = "failed", None
    else:
        delivery.status = "retrying"
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    session.flush()
    return delivery.next_attempt_at


# --- the sweep ------------------------------------------------------------------------------


def due(session: Session, now: datetime | None = None, limit: int = 1000) -> list[uuid.UUID]:
    """Deliveries whose attempt is overdue (a lost job, a sender that died)."""
    now = now or utcnow()
    return DeliveryRepository.from_session(session).due(
        now - timedelta(seconds=GRACE_SECONDS), limit
    )


def prune(session: Session, now: datetime | None = None) -> int:
    """Delivered and failed deliveries older than ``KEEP_DAYS`` leave the log."""
    cutoff = (now or utcnow()) - timedelta(days=KEEP_DAYS)
    return DeliveryRepository.from_session(session).prune(id_at(cutoff.timestamp()), cutoff)
