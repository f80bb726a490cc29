"""The consent registry over HTTP: a person's consent (every channel and purpose with the
policy's answer and why, and the history), recording a statement by person or by any
identifier, asking the policy, the suppression list and the workspace's consent
settings."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from accord.channels.notices import send_confirmation
from accord.collect import identifiers as ids
from accord.collect.identifiers import InvalidIdentifier
from accord.customers import consent as person_consent
from accord.customers import queries
from accord.govern.access.deps import (
    ProfilesReader,
    ProfilesWriter,
    WorkspaceAdmin,
    WorkspaceReader,
)
from accord.govern.access.principal import Principal
from accord.govern.consent import suppression
from accord.govern.consent.policy import may_contact
from accord.govern.consent.schemas import ConsentIn, ConsentOut, ConsentRecordOut, ConsentSettings
from accord.govern.consent.settings import CONSENT
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import get_workspace
from accord.govern.workspaces.settings import Versioned
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid
from accord.profile.models import Profile
from accord.profile.queries import live_profile

router = APIRouter(prefix="/api/v1", tags=["consent"])


class IdentifierIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="email, phone, user_id, anonymous_id or a custom type")
    value: str = Field(min_length=1, max_length=500)


class ConsentByIdentifier(ConsentIn):
    identifier: IdentifierIn


class Recorded(BaseModel):
    record: ConsentRecordOut
    confirmation_sent: bool = Field(
        description="A double opt-in confirmation email was sent; the grant waits for it"
    )
    confirmation_error: str | None = None


class DecisionOut(BaseModel):
    allowed: bool
    channel: str
    purpose: str
    code: str
    reason: str
    basis: str
    status: str | None


class SuppressionsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    identifiers: list[IdentifierIn] = Field(min_length=1, max_length=1000)
    reason: str = Field(default="added by hand", max_length=40)


class SuppressionsOut(BaseModel):
    added: int
    suppressed: list[IdentifierIn] = Field(default_factory=list)


class ConsentSettingsBody(ConsentSettings, Versioned):
    pass


def _normalized(workspace: Workspace, given: IdentifierIn, field: str) -> tuple[str, str]:
    try:
        type_name = ids.check_type_name(given.type.strip().lower())
        return type_name, ids.normalize(type_name, given.value, region=workspace.default_region)
    except InvalidIdentifier as exc:
        raise invalid(str(exc), field=field) from None


def _record(
    request: Request,
    session: DbSession,
    principal: Principal,
    workspace: Workspace,
    person: Profile,
    body: ConsentIn,
) -> Recorded:
    done = person_consent.record(session, workspace, person, body, recorded_by=principal.label)
    sent, error = False, None
    if done.needs_confirmation:
        if person.email:
            try:
                send_confirmation(
                    session,
                    workspace,
                    person,
                    done.record,
                    to=person.email,
                    secret_key=request.app.state.settings.resolved_secret_key,
                    base_url=request.app.state.settings.base_url,
                )
                sent = True
            except AccordError as exc:
                error = exc.message
        else:
            error = "the person has no email address to send the confirmation to"
    return Recorded(
        record=ConsentRecordOut.model_validate(done.record),
        confirmation_sent=sent,
        confirmation_error=error,
    )


@router.get(
    "/profiles/{profile_id}/consent",
    response_model=ConsentOut,
    summary="A person's consent: every channel and purpose, and the history",
)
def get_consent(session: DbSession, principal: ProfilesReader, profile_id: uuid.UUID) -> ConsentOut:
    workspace = get_workspace(session, principal.workspace_id)
    person = live_profile(session, workspace.id, profile_id)
    return person_consent.overview(session, workspace, person)


@router.post(
    "/profiles/{profile_id}/consent",
    response_model=Recorded,
    status_code=201,
    summary="Record a person's consent (a grant, a denial or a withdrawal)",
)
def post_consent(
    request: Request,
    session: DbSession,
    principal: ProfilesWriter,
    profile_id: uuid.UUID,
    body: ConsentIn,
) -> Recorded:
    """A grant of email marketing waits for the customer's click on a confirmation
    email where the workspace asks for a double opt-in (``confirmation_sent``)."""
    workspace = get_workspace(session, principal.workspace_id)
    person = live_profile(session, workspace.id, profile_id)
    return _record(request, session, principal, workspace, person, body)


@router.post(
    "/consent",
    response_model=Recorded,
    status_code=201,
    summary="Record consent for the person an identifier names",
)
def post_consent_by_identifier(
    request: Request, session: DbSession, principal: ProfilesWriter, body: ConsentByIdentifier
) -> Recorded:
    workspace = get_workspace(session, principal.workspace_id)
    type_name, value = _normalized(workspace, body.identifier, "identifier.value")
    person = queries.lookup(session, workspace.id, type_name, value)
    statement = ConsentIn.model_validate(body.model_dump(exclude={"identifier"}))
    return _record(request, session, principal, workspace, person, statement)


@router.get(
    "/consent/check",
    response_model=DecisionOut,
    summary="Ask the consent policy whether a send is allowed, and why",
)
def check_consent(
    session: DbSession,
    principal: ProfilesReader,
    channel: Annotated[str, Query()],
    purpose: Annotated[str, Query()],
    profile_id: uuid.UUID | None = None,
    address: Annotated[str | None, Query(max_length=500)] = None,
) -> DecisionOut:
    """For a person (``profile_id``) or, when nobody is known, an address."""
    workspace = get_workspace(session, principal.workspace_id)
    person = live_profile(session, workspace.id, profile_id) if profile_id else None
    try:
        d = may_contact(session, workspace, person, channel, purpose, address=address)
    except ValueError as exc:
        field = "channel" if "channel" in str(exc) else "purpose"
        raise invalid(str(exc), field=field) from None
    return DecisionOut(
        allowed=d.allowed,
        channel=d.channel,
        purpose=d.purpose,
        code=d.code,
        reason=d.reason,
        basis=d.basis,
        status=d.status,
    )


@router.post(
    "/consent/suppressions",
    response_model=SuppressionsOut,
    status_code=201,
    summary="Add identifiers to the suppression list",
)
def add_suppressions(
    session: DbSession, principal: WorkspaceAdmin, body: SuppressionsIn
) -> SuppressionsOut:
    """They are kept only as salted hashes: nothing is sent to them again, and tracking
    calls and imports that carry them are dropped or quarantined (the consent settings'
    ``suppressed_events``)."""
    workspace = get_workspace(session, principal.workspace_id)
    pairs = [
        _normalized(workspace, g, f"identifiers[{i}].value") for i, g in enumerate(body.identifiers)
    ]
    added = suppression.suppress(session, workspace.id, pairs, reason=body.reason)
    return SuppressionsOut(added=added)


@router.post(
    "/consent/suppressions/check",
    response_model=SuppressionsOut,
    summary="Which of these identifiers are on the suppression list",
)
def check_suppressions(
    session: DbSession, principal: ProfilesReader, body: SuppressionsIn
) -> SuppressionsOut:
    workspace = get_workspace(session, principal.workspace_id)
    pairs = [
        _normalized(workspace, g, f"identifiers[{i}].value") for i, g in enumerate(body.identifiers)
    ]
    found = suppression.suppressed(session, workspace.id, pairs)
    return SuppressionsOut(
        added=0, suppressed=[IdentifierIn(type=t, value=v) for t, v in pairs if (t, v) in found]
    )


@router.get("/consent/settings", response_model=ConsentSettingsBody, summary="Consent settings")
def get_consent_settings(session: DbSession, principal: WorkspaceReader) -> dict[str, Any]:
    return CONSENT.current_of(session, principal.workspace_id)


@router.put(
    "/consent/settings", response_model=ConsentSettingsBody, summary="Change consent settings"
)
def put_consent_settings(
    session: DbSession, principal: WorkspaceAdmin, body: ConsentSettingsBody
) -> dict[str, Any]:
    return CONSENT.write_body(session, principal, body)
