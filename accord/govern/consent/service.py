"""Writing consent: every statement is a new record; the current state of each channel
and purpose is derived from them (the latest that is not voided). Merges and splits of
people carry the records along: on a merge the stricter state of the two stands, a split
gives each side its own history back."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.govern.consent import rules
from accord.govern.consent.models import ConsentRecord, ConsentState
from accord.govern.consent.repository import ConsentRepository
from accord.kit import changes
from accord.kit.errors import invalid
from accord.kit.time import utcnow

Key = tuple[str, str]


CONSENT = frozenset({"consent"})


def check(channel: str, purpose: str, status: str, source: str, legal_basis: str | None) -> None:
    """The vocabulary of a record, each fault named by its field."""
    if channel not in (*rules.CHANNELS, rules.ALL):
        raise invalid(
            f"Unknown channel {channel!r}; one of {', '.join((*rules.CHANNELS, rules.ALL))}",
            field="channel",
        )
    if purpose not in (*rules.PURPOSES, rules.ALL):
        raise invalid(
            f"Unknown purpose {purpose!r}; one of {', '.join((*rules.PURPOSES, rules.ALL))}",
            field="purpose",
        )
    if status not in rules.STATUSES:
        raise invalid(f"Unknown status {status!r}", field="status")
    if source not in rules.SOURCES:
        raise invalid(
            f"Unknown source {source!r}; one of {', '.join(rules.SOURCES)}", field="source"
        )
    if legal_basis is not None and legal_basis not in rules.LEGAL_BASES:
        raise invalid(
            f"Unknown legal basis {legal_basis!r}; one of {', '.join(rules.LEGAL_BASES)}",
            field="legal_basis",
        )


def record(
    session: Session,
    workspace_id: uuid.UUID,
    profile_id: uuid.UUID,
    *,
    channel: str,
    purpose: str,
    status: str,
    source: str,
    legal_basis: str | None = None,
    recorded_by: str | None = None,
    reason: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    notice_version: str | None = None,
    expires_at: datetime | None = None,
    evidence: dict[str, Any] | None = None,
    at: datetime | None = None,
    merge_id: uuid.UUID | None = None,
) -> ConsentRecord:
    """Append one statement and bring the person's current state up to date."""
    check(channel, purpose, status, source, legal_basis)
    if legal_basis is None and status == rules.GRANTED:
        legal_basis = "consent"
    row = ConsentRepository.from_session(session).add(
        ConsentRecord(
            workspace_id=workspace_id,
            profile_id=profile_id,
            origin_profile_id=profile_id,
            channel=channel,
            purpose=purpose,
            status=status,
            legal_basis=legal_basis,
            source=source,
            recorded_at=at or utcnow(),
            expires_at=expires_at,
            recorded_by=(recorded_by or "")[:200] or None,
            reason=reason,
            ip=ip,
            user_agent=(user_agent or "")[:400] or None,
            notice_version=notice_version,
            evidence=evidence or {},
            merge_id=merge_id,
        )
    )
    refresh(session, workspace_id, profile_id)
    return row


def current(records: Iterable[ConsentRecord]) -> dict[Key, ConsentRecord]:
    """The record that holds for each channel and purpose: the latest not voided."""
    latest: dict[Key, ConsentRecord] = {}
    for r in records:
        if r.voided_at is not None:
            continue
        key = (r.channel, r.purpose)
        held = latest.get(key)
        if held is None or (r.recorded_at, r.created_at) >= (held.recorded_at, held.created_at):
            latest[key] = r
    return latest


def refresh(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> None:
    repo = ConsentRepository.from_session(session)
    repo.replace_states(workspace_id, profile_id, current(repo.records_of([profile_id])).values())
    changes.note(session, workspace_id, [profile_id], CONSENT)


def history(session: Session, profile_ids: list[uuid.UUID]) -> list[ConsentRecord]:
    return ConsentRepository.from_session(session).records_of(profile_ids)


def states(session: Session, profile_id: uuid.UUID) -> list[ConsentState]:
    return ConsentRepository.from_session(session).states_of(profile_id)


# --- merges and splits -------------------------------------------------------------------


def on_merge(
    session: Session,
    workspace_id: uuid.UUID,
    survivor_id: uuid.UUID,
    absorbed_id: uuid.UUID,
    merge_id: uuid.UUID,
) -> None:
    """The absorbed person's records move to the survivor (their origin kept); where the
    two disagree the stricter state stands, recorded as a merge record."""
    repo = ConsentRepository.from_session(session)
    mine = current(repo.records_of([survivor_id]))
    theirs_all = repo.records_of([absorbed_id])
    if not theirs_all:
        return
    theirs = current(theirs_all)
    repo.move([r.id for r in theirs_all], survivor_id)
    now = utcnow()
    for key, their in theirs.items():
        own = mine.get(key)
        if own is None or own.status == their.status:
            continue
        strict = rules.stricter(own.status, their.status)
        latest = max((own, their), key=lambda r: (r.recorded_at, r.created_at))
        if latest.status == strict:
            continue  # the latest already says it
        source = their if their.status == strict else own
        repo.add(
            ConsentRecord(
                workspace_id=workspace_id,
                profile_id=survivor_id,
                origin_profile_id=survivor_id,
                channel=key[0],
                purpose=key[1],
                status=strict,
                legal_basis=source.legal_basis,
                source="merge",
                recorded_at=now,
                expires_at=source.expires_at,
                recorded_by="resolver",
                reason=(
                    f"merged two records of one person: {own.status} and {their.status}; "
                    "the stricter stands"
                ),
                evidence={"from_record": str(source.id)},
                merge_id=merge_id,
            )
        )
    repo.drop_states(absorbed_id)
    refresh(session, workspace_id, survivor_id)


def on_split(
    session: Session,
    workspace_id: uuid.UUID,
    merge_id: uuid.UUID,
    survivor_id: uuid.UUID,
    absorbed_id: uuid.UUID,
    live_of: Callable[[list[uuid.UUID]], dict[uuid.UUID, uuid.UUID]],
) -> None:
    """Undo what a merge did to consent: its derived records are voided and every record
    recorded for a person now on the absorbed side goes back there. ``live_of`` gives
    the live person of each origin (after the split)."""
    repo = ConsentRepository.from_session(session)
    repo.void_of_merge(merge_id)
    held = repo.records_of([survivor_id])
    origins = live_of(sorted({r.origin_profile_id for r in held}, key=str))
    back = [r.id for r in held if origins.get(r.origin_profile_id) == absorbed_id]
    repo.move(back, absorbed_id)
    refresh(session, workspace_id, survivor_id)
    refresh(session, workspace_id, absorbed_id)
