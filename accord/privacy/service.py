"""Data-subject requests: made by any identifier, due after the workspace's
``request_due_days``, then exported (a copy of the person's data) or erased, or rejected
with a reason. Every step is audited, never with the clear identifier (only its masked
form), and an erase request keeps only the identifier's salted hash and masked form once
it is done."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.govern.access.principal import Principal
from accord.govern.audit import access
from accord.govern.audit import service as audit
from accord.govern.consent import suppression
from accord.govern.workspaces.service import get_workspace
from accord.kit.errors import AccordError, conflict, not_found
from accord.kit.time import utcnow
from accord.privacy import settings as privacy_settings
from accord.privacy import subject as subjects
from accord.privacy.models import KINDS, OPEN, STATUSES, PrivacyRequest
from accord.privacy.repository import PrivacyRequestRepository
from accord.privacy.schemas import RequestRead
from accord.privacy.subject import Subject

EXPORT_KINDS = ("export", "access")


def mask(type_name: str, value: str) -> str:
    """A form of an identifier that helps a person recognise it and names nobody:
    ``a***@e***.com``, ``+*********67``, ``u***``."""
    if type_name == ids.EMAIL and "@" in value:
        user, _, domain = value.partition("@")
        host, dot, tld = domain.rpartition(".")
        return f"{user[:1]}***@{host[:1]}***{dot}{tld}" if host else f"{user[:1]}***@***"
    if type_name == ids.PHONE:
        return f"{value[:1]}{'*' * max(len(value) - 3, 1)}{value[-2:]}"
    return f"{value[:1]}***" if len(value) > 1 else "***"


def found_counts(subject: Subject) -> dict[str, int]:
    return {
        "profiles": len(subject.profile_ids),
        "identifiers": len(subject.identifier_ids),
        "events": len(subject.event_ids),
    }


def create(
    session: Session,
    actor: Principal,
    *,
    kind: str,
    identifier_type: str,
    identifier_value: str,
    note: str | None = None,
) -> PrivacyRequest:
    """Record a request and look the person up at once (what was found is on it)."""
    if kind not in KINDS:
        raise AccordError(
            f"kind is one of {', '.join(KINDS)}", code="invalid", status=422, field="kind"
        )
    workspace_id = actor.workspace_id
    pair = subjects.normalize(session, workspace_id, identifier_type, identifier_value)
    workspace = get_workspace(session, workspace_id)
    config = privacy_settings.read(workspace)
    subject = subjects.find(session, workspace_id, pair)
    now = utcnow()
    request = PrivacyRequestRepository.from_session(session).add(
        PrivacyRequest(
            workspace_id=workspace_id,
            kind=kind,
            status="received",
            identifier_type=pair[0],
            identifier_value=pair[1],
            identifier_hint=mask(*pair)[:80],
            identifier_digest=suppression.digest(workspace.privacy_salt, *pair),
            requested_by=actor.label[:200],
            note=(note or "").strip() or None,
            due_at=now + timedelta(days=config.request_due_days),
            profile_ids=[str(p) for p in subject.profile_ids],
            receipt={"found": found_counts(subject)},
            created_at=now,
            updated_at=now,
        )
    )
    audit.record(
        session,
        actor,
        "privacy.request.created",
        target=str(request.id),
        data={"kind": kind, "identifier": request.identifier_hint, **found_counts(subject)},
    )
    return request


def get(session: Session, workspace_id: uuid.UUID, request_id: uuid.UUID) -> PrivacyRequest:
    found = PrivacyRequestRepository.from_session(session).get(workspace_id, request_id)
    if found is None:
        raise not_found("Privacy request", field="request_id")
    return found


def list_requests(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    status: str | None = None,
    kind: str | None = None,
    overdue: bool = False,
    limit: int = 100,
    offset: int = 0,
) -> list[PrivacyRequest]:
    if status is not None and status not in STATUSES:
        raise AccordError(
            f"status is one of {', '.join(STATUSES)}", code="invalid", status=422, field="status"
        )
    if kind is not None and kind not in KINDS:
        raise AccordError(
            f"kind is one of {', '.join(KINDS)}", code="invalid", status=422, field="kind"
        )
    return PrivacyRequestRepository.from_session(session).listing(
        workspace_id,
        status=status,
        kind=kind,
        overdue_at=utcnow() if overdue else None,
        limit=limit,
        offset=offset,
    )


def counts(session: Session, workspace_id: uuid.UUID) -> tuple[int, int]:
    """Open requests, and those of them past their due date."""
    repo = PrivacyRequestRepository.from_session(session)
    return repo.count_open(workspace_id), repo.count_open(workspace_id, utcnow())


def is_overdue(request: PrivacyRequest, now: datetime | None = None) -> bool:
    return request.status in OPEN and request.due_at < (now or utcnow())


def read(request: PrivacyRequest, now: datetime | None = None) -> RequestRead:
    receipt = dict(request.receipt or {})
    return RequestRead(
        id=request.id,
        kind=request.kind,
        status=request.status,
        identifier_type=request.identifier_type,
        identifier_value=request.identifier_value,
        identifier_hint=request.identifier_hint,
        requested_by=request.requested_by,
        note=request.note,
        created_at=request.created_at,
        due_at=request.due_at,
        overdue=is_overdue(request, now),
        completed_at=request.completed_at,
        completed_by=request.completed_by,
        profile_ids=[uuid.UUID(p) for p in request.profile_ids or []],
        found=receipt.get("found") or {},
        receipt={k: v for k, v in receipt.items() if k != "found"},
    )


def _open(request: PrivacyRequest) -> None:
    if request.status not in OPEN:
        raise conflict(
            f"This request is {request.status.replace('_', ' ')} already",
            field="status",
            code=f"request_{request.status}",
        )


def reject(
    session: Session, actor: Principal, request_id: uuid.UUID, reason: str
) -> PrivacyRequest:
    """Refuse a request (the requester could not be verified, the request is manifestly
    unfounded...); the reason is kept on it."""
    request = PrivacyRequestRepository.from_session(session).lock(
        get(session, actor.workspace_id, request_id)
    )
    _open(request)
    now = utcnow()
    request.status = "rejected"
    request.completed_at = now
    request.completed_by = actor.label[:200]
    request.updated_at = now
    request.receipt = {**(request.receipt or {}), "rejected": {"reason": reason.strip()}}
    audit.record(
        session,
        actor,
        "privacy.request.rejected",
        target=str(request.id),
        data={"kind": request.kind, "identifier": request.identifier_hint},
    )
    session.flush()
    return request


# --- export and access -------------------------------------------------------------------


def start_export(
    session: Session, actor: Principal, request_id: uuid.UUID, *, via: str
) -> tuple[PrivacyRequest, Subject]:
    """Check that the request is an export (or access) request that may be served, look the
    person up afresh and note that they are being exported. Served again after it is
    completed (another copy), never once rejected."""
    request = get(session, actor.workspace_id, request_id)
    if request.kind not in EXPORT_KINDS:
        raise conflict(
            "Only an export or access request has an export; an erase request is erased",
            field="kind",
            code="wrong_kind",
        )
    if request.status == "rejected":
        raise conflict("This request was rejected", field="status", code="request_rejected")
    if request.identifier_value is None:
        raise conflict(
            "The person of this request was erased since: only its receipt remains",
            field="identifier_value",
            code="person_erased",
        )
    pair = (request.identifier_type, request.identifier_value)
    subject = subjects.find(session, actor.workspace_id, pair)
    if request.status == "received":
        request.status = "in_progress"
    request.profile_ids = [str(p) for p in subject.profile_ids]
    request.updated_at = utcnow()
    for profile_id in subject.profile_ids[:1]:
        access.record(session, actor, profile_id, "export", via=via)
    session.flush()
    return request, subject


def complete_export(
    session: Session, actor: Principal, request_id: uuid.UUID, contents: dict[str, Any]
) -> PrivacyRequest:
    """Record that an export was delivered: the first completes the request, later ones
    are counted on its receipt."""
    request = PrivacyRequestRepository.from_session(session).lock(
        get(session, actor.workspace_id, request_id)
    )
    now = utcnow()
    receipt = dict(request.receipt or {})
    if request.status in OPEN:
        request.status = "completed"
        request.completed_at = now
        request.completed_by = actor.label[:200]
        receipt.update({"exported_at": now.isoformat(), "exported_by": actor.label, **contents})
    receipt["downloads"] = int(receipt.get("downloads", 0)) + 1
    request.receipt = receipt
    request.updated_at = now
    audit.record(
        session,
        actor,
        f"privacy.{request.kind}.exported",
        target=str(request.id),
        data={"identifier": request.identifier_hint, **contents.get("counts", {})},
    )
    session.flush()
    return request
