"""Audiences' rules for destinations: a URL, a signing secret shown once and kept
encrypted, which segments and events, active or paused; their delivery log, replays and
test events (``delivery.py`` turns segment changes into deliveries and makes each
attempt). Services flush; the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy.orm import Session

from accord.analyze.audiences import webhooks
from accord.analyze.audiences.delivery import SECRET_PURPOSE, Sender, payload, segment_filter
from accord.analyze.audiences.models import Delivery, Destination
from accord.analyze.audiences.repository import DeliveryRepository, DestinationRepository
from accord.analyze.audiences.schemas import TEST, DestinationIn, DestinationUpdate
from accord.analyze.segments.repository import SegmentRepository
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.kit.errors import conflict, invalid, not_found
from accord.kit.ids import new_id
from accord.kit.security import encrypt, random_token
from accord.kit.time import utcnow


def new_secret() -> str:
    return "whsec_" + random_token(24)


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


def destinations(session: Session, workspace_id: uuid.UUID) -> list[Destination]:
    return DestinationRepository.from_session(session).all(workspace_id)


def counts(session: Session, destination: Destination) -> dict[str, int]:
    """How many of the destination's deliveries are in each status."""
    return DeliveryRepository.from_session(session).counts(destination.id)


def log(
    session: Session,
    destination: Destination,
    *,
    status: str | None = None,
    limit: int = 100,
    before: uuid.UUID | None = None,
) -> list[Delivery]:
    """The destination's delivery log, newest first."""
    return DeliveryRepository.from_session(session).log(
        destination.id, status=status, limit=limit, before=before
    )


def get_delivery(session: Session, destination: Destination, delivery_id: uuid.UUID) -> Delivery:
    row = DeliveryRepository.from_session(session).of_destination(destination, delivery_id)
    if row is None:
        raise not_found("Delivery", field="delivery_id")
    return row


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


# --- replays and tests ---------------------------------------------------------------


def replay(
    session: Session,
    destination: Destination,
    delivery_id: uuid.UUID,
    actor: Principal,
    sender: Sender,
) -> Delivery:
    """Send a delivery again (same id and body), with a full set of attempts."""
    delivery = get_delivery(session, destination, delivery_id)
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


__all__ = ["SECRET_PURPOSE", "Sender", "segment_filter"]
