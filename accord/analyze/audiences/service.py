"""Audiences' rules: destinations (a URL, a signing secret shown once and kept encrypted,
which segments and events, active or paused), every segment change turned into a
delivery for each destination that wants it, one attempt of a delivery with its back-off,
replays and test events. Services flush; the caller commits, and what must happen after
the commit (a job to enqueue) goes through ``Sender``."""

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
from accord.analyze.audiences.schemas import (
    EVENTS,
    KINDS,
    TEST,
    DestinationIn,
    DestinationUpdate,
)
from accord.analyze.segments.models import Segment, SegmentChange
from accord.analyze.segments.repository import SegmentRepository
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.kit.dialect import lock_workspace
from accord.kit.errors import conflict, invalid, not_found
from accord.kit.ids import id_at, new_id
from accord.kit.security import decrypt, encrypt, random_token
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


def new_secret() -> str:
    return "whsec_" + random_token(24)


def segment_filter(destination: Destination) -> list[uuid.UUID] | None:
    return [uuid.UUID(s) for s in destination.segment_ids] or None


# --- destinations ------------------------------------------------------------------------


def _check_segments(
    session: Session, workspace_id: uuid.UUID, ids: Collection[uuid.UUID] | None
) -> list[str]:
    repo = SegmentRepository.from_session(session)
    out: list[str] = []
    for segment_id in dict.fromkeys(ids or ()):
        if repo.get(workspace_id, segment_id) is None:
            raise invalid(
                f"No segment {segment_id} in this workspace",
                field="segment_ids",
                code="unknown_segment",
            )
        out.append(str(segment_id))
    return out


def _check_name(
    session: Session, workspace_id: uuid.UUID, name: str, current: Destination | None = None
) -> str:
    name = name.strip()
    if not name:
        raise invalid("A destination needs a name", field="name")
    other = DestinationRepository.from_session(session).by_name(workspace_id, name)
    if other is not None and (current is None or other.id != current.id):
        raise conflict(
            f"A destination named {name!r} exists", field="name", code="destination_exists"
        )
    return name


def create(
    session: Session,
    workspace_id: uuid.UUID,
    body: DestinationIn,
    actor: Principal,
    secret_key: str,
) -> tuple[Destination, str]:
    """A new destination and its signing secret (shown to the caller once). It sends the
    changes made from now on."""
    name = _check_name(session, workspace_id, body.name)
    url = webhooks.check_url(body.url)
    segments = _check_segments(session, workspace_id, body.segment_ids)
    secret = new_secret()
    start = new_id()
    row = DestinationRepository.from_session(session).add(
        Destination(
            workspace_id=workspace_id,
            name=name,
            url=url,
            secret_encrypted=encrypt(secret_key, secret, SECRET_PURPOSE),
            segment_ids=segments,
            events=list(dict.fromkeys(body.events)),
            status="active",
            since_id=start,
            cursor_id=start,
            created_by=actor.label[:200],
        )
    )
    audit.record(
        session,
        actor,
        "destination.create",
        target=str(row.id),
        data={"name": name, "url": url, "segment_ids": segments, "events": row.events},
    )
    return row, secret


def get(session: Session, workspace_id: uuid.UUID, destination_id: uuid.UUID) -> Destination:
    row = DestinationRepository.from_session(session).get(workspace_id, destination_id)
    if row is None:
        raise not_found("Destination", field="destination_id")
    return row


def update(
    session: Session,
    destination: Destination,
    body: DestinationUpdate,
    actor: Principal,
    sender: Sender,
) -> Destination:
    """Change a destination; pausing stops its deliveries (they wait), resuming sends what
    waited and the changes made meanwhile."""
    changed: dict[str, Any] = {}
    given = body.model_fields_set
    if body.name is not None:
        destination.name = _check_name(session, destination.workspace_id, body.name, destination)
        changed["name"] = destination.name
    if body.url is not None:
        destination.url = webhooks.check_url(body.url)
        changed["url"] = destination.url
    if "segment_ids" in given:
        ids = _check_segments(session, destination.workspace_id, body.segment_ids)
        destination.segment_ids = ids
        changed["segment_ids"] = ids
    if body.events is not None:
        destination.events = list(dict.fromkeys(body.events))
        changed["events"] = destination.events
    resumed = body.status == "active" and destination.status != "active"
    if body.status is not None and body.status != destination.status:
        destination.status = body.status
        changed["status"] = body.status
    if not changed:
        return destination
    destination.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "destination.update", target=str(destination.id), data=changed)
    if resumed:
        sender.dispatch_after_commit(session, destination.workspace_id)
        waiting = DeliveryRepository.from_session(session).waiting(destination.id)
        sender.deliver_after_commit(session, waiting)
    return destination


def delete(session: Session, destination: Destination, actor: Principal) -> None:
    audit.record(
        session,
        actor,
        "destination.delete",
        target=str(destination.id),
        data={"name": destination.name},
    )
    DestinationRepository.from_session(session).remove(destination)


def rotate_secret(
    session: Session, destination: Destination, actor: Principal, secret_key: str
) -> str:
    """A new signing secret; the old one stops signing at once."""
    secret = new_secret()
    destination.secret_encrypted = encrypt(secret_key, secret, SECRET_PURPOSE)
    destination.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "destination.rotate_secret", target=str(destination.id))
    return secret


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
            after = changes[-1].id
            if len(changes) < PAGE:
                break
        if after > destination.cursor_id:
            repo.set_cursor(destination.id, after)
    sender.deliver_after_commit(session, made)
    return len(made)


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


# --- replays, tests and the sweep --------------------------------------------------------


def replay(
    session: Session,
    destination: Destination,
    delivery_id: uuid.UUID,
    actor: Principal,
    sender: Sender,
) -> Delivery:
    """Send a delivery again (same id and body), with a full set of attempts."""
    delivery = DeliveryRepository.from_session(session).of_destination(destination, delivery_id)
    if delivery is None:
        raise not_found("Delivery", field="delivery_id")
    if delivery.status == "sending" and (delivery.next_attempt_at or utcnow()) > utcnow():
        raise conflict(
            "The delivery is being sent now", field="delivery_id", code="delivery_in_flight"
        )
    delivery.status = "pending"
    delivery.attempts = 0
    delivery.replays += 1
    delivery.next_attempt_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "destination.replay",
        target=str(destination.id),
        data={"delivery_id": str(delivery.id), "event": delivery.event},
    )
    sender.deliver_after_commit(session, [delivery.id])
    return delivery


def send_test(
    session: Session, destination: Destination, actor: Principal, sender: Sender
) -> Delivery:
    """A test event (no person, no segment) to the destination, paused or not."""
    now = utcnow()
    delivery_id = new_id()
    delivery = Delivery(
        id=delivery_id,
        workspace_id=destination.workspace_id,
        destination_id=destination.id,
        event=TEST,
        body=payload(delivery_id, TEST, now, None, None),
        status="pending",
        attempts=0,
        replays=0,
        next_attempt_at=now,
    )
    DeliveryRepository.from_session(session).add_many([delivery])
    audit.record(session, actor, "destination.test", target=str(destination.id))
    sender.deliver_after_commit(session, [delivery.id])
    return delivery


def due(session: Session, now: datetime | None = None, limit: int = 1000) -> list[uuid.UUID]:
    """Deliveries whose attempt is overdue (a lost job, a sender that died)."""
    now = now or utcnow()
    return DeliveryRepository.from_session(session).due(
        now - timedelta(seconds=GRACE_SECONDS), limit
    )


def prune(session: Session, now: datetime | None = None) -> int:
    """Delivered and failed deliveries older than ``KEEP_DAYS`` leave the log."""
    cutoff = (now or utcnow()) - timedelta(days=KEEP_DAYS)
    return DeliveryRepository.from_session(session).prune(id_at(cutoff.timestamp()))
