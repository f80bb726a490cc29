"""Consent as resolution sees it: the consent calls carried, recorded on their person
once resolution knows who that is, and the live person behind a merged profile (what a
split needs to give each side its own consent back)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from accord.collect.models import EventFacts
from accord.govern.consent import rules
from accord.govern.consent import service as consent
from accord.govern.consent import settings as consent_settings
from accord.govern.workspaces.service import get_workspace
from accord.profile.repository import ProfileRepository


def live_of(session: Session, profile_ids: list[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The live person each of these profiles is now (following merge tombstones)."""
    repo = ProfileRepository.from_session(session)
    out: dict[uuid.UUID, uuid.UUID] = {}
    for start in profile_ids:
        current, hops = start, 0
        while hops < 20:
            row = repo.by_ids([current]).get(current)
            if row is None or row.merged_into_id is None:
                break
            current, hops = row.merged_into_id, hops + 1
        out[start] = current
    return out


def record_consent(session: Session, workspace_id: uuid.UUID, events: Sequence[EventFacts]) -> None:
    """The consent that calls carried (a tracking call's categories, an import's consent
    columns), recorded on each event's person once it is known. Only a change is
    recorded: a site sends the same preferences with every call."""
    carrying = [e for e in events if getattr(e, "consent", None) and e.profile_id is not None]
    if not carrying:
        return
    settings = consent_settings.read(get_workspace(session, workspace_id))
    live = live_of(session, sorted({e.profile_id for e in carrying if e.profile_id}, key=str))
    for event in sorted(carrying, key=lambda e: e.timestamp):
        given: dict[str, Any] = getattr(event, "consent", None) or {}
        assert event.profile_id is not None
        person = live.get(event.profile_id, event.profile_id)
        wanted: dict[tuple[str, str], str] = {}
        for name, allowed in (given.get("categories") or {}).items():
            for pair in settings.categories.get(str(name).strip().lower(), []):
                channel, _, purpose = pair.partition(".")
                wanted[(channel, purpose)] = "granted" if allowed else "denied"
        for pair, status in (given.get("statuses") or {}).items():
            channel, _, purpose = pair.partition(".")
            wanted[(channel, purpose)] = status
        held = {(s.channel, s.purpose): s.status for s in consent.states(session, person)}
        for (channel, purpose), status in wanted.items():
            current = held.get((channel, purpose))
            if status == rules.DENIED and current == rules.GRANTED:
                status = rules.WITHDRAWN
            if current == status or (status in rules.REFUSING and current in rules.REFUSING):
                continue
            consent.record(
                session,
                workspace_id,
                person,
                channel=channel,
                purpose=purpose,
                status=status,
                source=str(given.get("source") or "tracking"),
                recorded_by=f"event {event.message_id}"[:200],
                ip=given.get("ip"),
                user_agent=given.get("user_agent"),
                notice_version=settings.notice_version,
                evidence={"event": event.message_id},
                at=event.timestamp,
            )
            held[(channel, purpose)] = status
