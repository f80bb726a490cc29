"""Consent as the API and the console show and record it for one person: every channel
and purpose with the policy's answer and why, the history, and a new statement with the
double opt-in applied where the workspace asks for one."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from accord.govern.consent import rules
from accord.govern.consent import service as consent
from accord.govern.consent.models import ConsentRecord
from accord.govern.consent.policy import Ask, decide, region
from accord.govern.consent.schemas import (
    ConsentIn,
    ConsentOut,
    ConsentRecordOut,
    ConsentStateOut,
)
from accord.govern.consent.settings import read as read_settings
from accord.govern.workspaces.models import Workspace
from accord.profile.models import Profile

# Sources through which a grant of email marketing needs the customer's click first.
CONFIRMED_BY_CLICK = frozenset({"form", "api", "import", "preference_center", "tracking"})


@dataclass
class Recorded:
    record: ConsentRecord
    needs_confirmation: bool


def overview(session: Session, workspace: Workspace, person: Profile) -> ConsentOut:
    held = {(s.channel, s.purpose): s for s in consent.states(session, person.id)}
    asks = [Ask(c, p) for p in rules.PURPOSES for c in rules.CHANNELS]
    states = []
    for ask, d in zip(asks, decide(session, workspace, person, asks), strict=True):
        state = held.get((ask.channel, ask.purpose))
        states.append(
            ConsentStateOut(
                channel=ask.channel,
                purpose=ask.purpose,
                status=state.status if state else "none",
                allowed=d.allowed,
                reason=d.reason,
                source=state.source if state else None,
                recorded_at=state.recorded_at if state else None,
                expires_at=state.expires_at if state else None,
            )
        )
    history = [ConsentRecordOut.model_validate(r) for r in consent.history(session, [person.id])]
    history.reverse()
    return ConsentOut(
        profile_id=person.id,
        region=region(workspace, person),
        states=states,
        history=history,
    )


def record(
    session: Session,
    workspace: Workspace,
    person: Profile,
    body: ConsentIn,
    *,
    recorded_by: str,
) -> Recorded:
    """Record a statement about this person. A grant of email marketing from a form, the
    API, an import or the tracking API is recorded as pending where the workspace asks
    for a double opt-in; the caller sends the confirmation."""
    settings = read_settings(workspace)
    status = body.status
    pending = (
        status == rules.GRANTED
        and (body.channel, body.purpose) == ("email", "marketing")
        and body.source in CONFIRMED_BY_CLICK
        and settings.needs_confirmation(region(workspace, person))
    )
    row = consent.record(
        session,
        workspace.id,
        person.id,
        channel=body.channel,
        purpose=body.purpose,
        status=rules.PENDING if pending else status,
        source=body.source,
        legal_basis=body.legal_basis,
        recorded_by=recorded_by,
        reason=body.reason,
        ip=body.ip,
        user_agent=body.user_agent,
        notice_version=body.notice_version or settings.notice_version,
        expires_at=body.expires_at,
        at=body.at,
    )
    return Recorded(row, pending)
