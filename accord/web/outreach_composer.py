"""Outreach > Campaigns > New and Edit: the composer of a campaign (a draft or a
scheduled one), an email or a text message. One form holds the campaign; its buttons save
the draft, then send a test, launch it now or schedule it, each through the outreach
service as the REST API does. Beside it a live preview, rendered again by HTMX as the
user types: the subject and the HTML in a sandboxed frame, or the text as a phone shows
it, as a person picked by a search over the workspace's people or as an example person;
a template that does not compile is shown under its field with its line. The draft and
its preview are ``outreach_drafts.py``."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import datetime
from typing import Annotated
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from accord.customers import queries as customer_queries
from accord.govern.access.scopes import Scope
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid
from accord.outreach import service
from accord.outreach.api import deployment, start_sending
from accord.outreach.models import Campaign
from accord.outreach.schemas import CampaignIn, CampaignUpdate
from accord.profile.models import Profile
from accord.web.auth import Console, ConsoleUser
from accord.web.forms import form_error
from accord.web.outreach_drafts import (
    CHANNELS,
    COMPOSER_PURPOSES,
    EXAMPLE,
    STARTER,
    TEMPLATE_FIELDS,
    channel_of,
    chosen_person,
    field_errors,
    fields_of,
    render_preview,
    values_of,
)
from accord.web.outreach_pages import AREA, BASE, PURPOSES, require_reader, require_writer
from accord.web.pages import page
from accord.web.segment_pages import all_segments

router = APIRouter(prefix="/outreach", include_in_schema=False)

PICKED = 8
NOTICES = {"saved": "Draft saved.", "created": "Draft saved."}
# The test's address field of each channel (an email address, or a number for a text).
TEST_FIELDS = {"email": "test_address", "sms": "test_phone"}


def composer(
    request: Request,
    session: Session,
    console: Console,
    *,
    campaign: Campaign | None,
    draft: dict[str, str],
    person: Profile | None = None,
    error: AccordError | None = None,
    notice: str | None = None,
    test: dict[str, str] | None = None,
) -> HTMLResponse:
    """The composer; ``test``: the test's address or number as typed."""
    workspace_id = console.principal.workspace_id
    segments = [
        s
        for s in all_segments(session, console)
        if s.status == "active" or (campaign is not None and s.id == campaign.segment_id)
    ]
    workspace = service.workspace_of(session, workspace_id)
    return page(
        request,
        session,
        console,
        "outreach/composer.html",
        AREA,
        status_code=error.status if error else 200,
        campaign=campaign,
        draft=draft,
        segments=segments,
        purposes=[(p, PURPOSES[p]) for p in COMPOSER_PURPOSES],
        channels=CHANNELS,
        person=person,
        found=[],
        q="",
        example=EXAMPLE,
        preview=render_preview(request, session, console, draft, person),
        error=error,
        errors=field_errors(error),
        notice=notice,
        timezone=workspace.timezone or "UTC",
        can_pick=console.principal.has(Scope.PROFILES_READ),
        **(test or {}),
    )


@router.get("/campaigns/new")
def new_campaign(
    request: Request, session: DbSession, console: ConsoleUser, channel: str = ""
) -> HTMLResponse:
    """A new campaign (``channel=sms``: a text message)."""
    require_writer(console)
    draft = {**STARTER, "channel": channel_of({"channel": channel})}
    return composer(request, session, console, campaign=None, draft=draft)


@router.get("/campaigns/{campaign_id:uuid}/edit")
def edit_campaign(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    campaign_id: uuid.UUID,
    done: str | None = None,
    to: str | None = None,
    person: str | None = None,
) -> Response:
    """A draft or a scheduled campaign in the composer; any other, its page."""
    require_writer(console)
    campaign = service.get(session, console.principal.workspace_id, campaign_id)
    if campaign.status not in service.EDITABLE:
        return RedirectResponse(f"{BASE}/{campaign.id}", status_code=303)
    notice = NOTICES.get(done or "")
    test = {}
    if done == "test" and to:
        notice = f"Draft saved, and a test sent to {to}."
        test[TEST_FIELDS.get(campaign.channel, "test_address")] = to
    return composer(
        request,
        session,
        console,
        campaign=campaign,
        draft=values_of(campaign),
        person=chosen_person(session, console, person),
        notice=notice,
        test=test,
    )


def when(value: str, zone: str) -> datetime:
    """A time typed in the workspace's time zone."""
    if not value.strip():
        raise invalid("Choose the date and time to send it", field="scheduled_at")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise invalid("A date and time such as 2026-12-24T09:00", field="scheduled_at") from None
    return at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone or "UTC"))


def _save(
    session: Session, console: Console, campaign: Campaign | None, draft: dict[str, str]
) -> Campaign:
    fields = fields_of(draft)
    if campaign is None:
        body = CampaignIn.model_validate({**fields, "channel": channel_of(draft)})
        return service.create(session, console.principal, body)
    version = draft.get("version", "")
    update = CampaignUpdate.model_validate(
        {**fields, "version": int(version) if version.isdigit() and len(version) < 10 else None}
    )
    return service.update(session, console.principal, campaign.id, update)


def _act(
    request: Request,
    session: Session,
    console: Console,
    campaign: Campaign,
    then: str,
    *,
    address: str,
    person: Profile | None,
    scheduled_at: str,
) -> str:
    """Do what the button asked once the draft is saved; returns where to go next."""
    edit = f"{BASE}/{campaign.id}/edit"
    if then == "test":
        field = TEST_FIELDS.get(campaign.channel, "test_address")
        if not address.strip():
            what = "number" if campaign.channel == "sms" else "address"
            raise invalid(f"Type the {what} to send the test to", field=field)
        try:
            service.test_send(
                session,
                console.principal,
                campaign.id,
                address,
                person.id if person is not None else None,
                deployment(request),
            )
        except AccordError as error:
            raise _under_test_field(error, field) from None
        query = {"done": "test", "to": address.strip()}
        if person is not None:
            query["person"] = str(person.id)
        return f"{edit}?{urlencode(query)}"
    secret = request.app.state.settings.resolved_secret_key
    if then == "launch":
        service.launch(session, console.principal, campaign.id, secret_key=secret)
        start_sending(request, session, campaign)
        return f"{BASE}/{campaign.id}?done=launched"
    if then == "schedule":
        zone = service.workspace_of(session, console.principal.workspace_id).timezone
        at = when(scheduled_at, zone)
        service.launch(session, console.principal, campaign.id, secret_key=secret, at=at)
        start_sending(request, session, campaign)  # a time already past sends now
        done = "scheduled" if campaign.status == "scheduled" else "launched"
        return f"{BASE}/{campaign.id}?done={done}"
    return f"{edit}?done=saved" + (f"&person={person.id}" if person is not None else "")


def _under_test_field(error: AccordError, field: str) -> AccordError:
    """The service's refusal of the test's ``address``, shown under the test's field."""
    if error.field != "address":
        return error
    moved = [
        dataclasses.replace(e, field=field) if e.field == "address" else e for e in error.errors
    ]
    return dataclasses.replace(error, field=field, errors=moved)


def _submit(
    request: Request,
    session: Session,
    console: Console,
    campaign: Campaign | None,
    draft: dict[str, str],
    *,
    then: str,
    profile_id: str,
    test_address: str,
    test_phone: str,
    scheduled_at: str,
) -> Response:
    """Save the draft, then do what the button asked; a refusal is shown in the composer
    beside the field it names (the draft stays saved when only the action failed). A
    test goes to the address typed, or for a text message to the number."""
    require_writer(console)
    person = chosen_person(session, console, profile_id)
    test = {"test_address": test_address, "test_phone": test_phone}
    try:
        try:
            with session.begin_nested():
                saved = _save(session, console, campaign, draft)
        except ValidationError as exc:
            raise form_error(exc) from None
    except AccordError as error:
        return composer(
            request,
            session,
            console,
            campaign=campaign,
            draft=draft,
            person=person,
            error=error,
            test=test,
        )
    try:
        with session.begin_nested():
            to = _act(
                request,
                session,
                console,
                saved,
                then,
                address=test_phone if saved.channel == "sms" else test_address,
                person=person,
                scheduled_at=scheduled_at,
            )
    except AccordError as error:
        session.refresh(saved)
        kept = {**draft, "version": str(saved.version)}
        return composer(
            request,
            session,
            console,
            campaign=saved,
            draft=kept,
            person=person,
            error=error,
            notice="Draft saved." if then != "save" else None,
            test=test,
        )
    return RedirectResponse(to, status_code=303)


Text = Annotated[str, Form(max_length=500_000)]
Short = Annotated[str, Form(max_length=300)]


@router.post("/campaigns/new")
def create_campaign(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    name: Short = "",
    segment_id: Short = "",
    purpose: Short = "marketing",
    from_name: Short = "",
    subject: Short = "",
    html: Text = "",
    text: Text = "",
    holdout_percent: Short = "0",
    goal_event: Short = "Order Completed",
    goal_days: Short = "7",
    respect_caps: Short = "",
    usual_hour: Short = "",
    then: Short = "save",
    profile_id: Short = "",
    test_address: Short = "",
    test_phone: Short = "",
    scheduled_at: Short = "",
    channel: Short = "email",
) -> Response:
    draft = {
        "name": name,
        "channel": channel,
        "segment_id": segment_id,
        "purpose": purpose,
        "from_name": from_name,
        "subject": subject,
        "html": html,
        "text": text,
        "holdout_percent": holdout_percent,
        "goal_event": goal_event,
        "goal_days": goal_days,
        "respect_caps": respect_caps,
        "usual_hour": usual_hour,
    }
    return _submit(
        request,
        session,
        console,
        None,
        draft,
        then=then,
        profile_id=profile_id,
        test_address=test_address,
        test_phone=test_phone,
        scheduled_at=scheduled_at,
    )


@router.post("/campaigns/{campaign_id:uuid}/edit")
def update_campaign(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    campaign_id: uuid.UUID,
    name: Short = "",
    segment_id: Short = "",
    purpose: Short = "marketing",
    from_name: Short = "",
    subject: Short = "",
    html: Text = "",
    text: Text = "",
    holdout_percent: Short = "0",
    goal_event: Short = "Order Completed",
    goal_days: Short = "7",
    respect_caps: Short = "",
    usual_hour: Short = "",
    version: Short = "",
    then: Short = "save",
    profile_id: Short = "",
    test_address: Short = "",
    test_phone: Short = "",
    scheduled_at: Short = "",
) -> Response:
    require_writer(console)
    campaign = service.get(session, console.principal.workspace_id, campaign_id)
    draft = {
        "name": name,
        "channel": campaign.channel,  # chosen when the campaign was made
        "segment_id": segment_id,
        "purpose": purpose,
        "from_name": from_name,
        "subject": subject,
        "html": html,
        "text": text,
        "holdout_percent": holdout_percent,
        "goal_event": goal_event,
        "goal_days": goal_days,
        "respect_caps": respect_caps,
        "usual_hour": usual_hour,
        "version": version,
    }
    return _submit(
        request,
        session,
        console,
        campaign,
        draft,
        then=then,
        profile_id=profile_id,
        test_address=test_address,
        test_phone=test_phone,
        scheduled_at=scheduled_at,
    )


# --- what the composer asks as the user types ------------------------------------------------


@router.post("/campaigns/preview")
def preview(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    channel: Short = "email",
    purpose: Short = "marketing",
    from_name: Short = "",
    subject: Short = "",
    html: Text = "",
    text: Text = "",
    profile_id: Short = "",
) -> HTMLResponse:
    """The draft being typed, rendered as the chosen person: the preview pane's
    fragment, with each template field's error swapped in beside the field."""
    require_reader(console)
    draft = {
        **STARTER,
        "channel": channel,
        "purpose": purpose,
        "from_name": from_name,
        "subject": subject,
        "html": html,
        "text": text,
    }
    person = chosen_person(session, console, profile_id)
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "outreach/_preview.html",
        {
            "preview": render_preview(request, session, console, draft, person),
            "oob": True,
            "fields": TEMPLATE_FIELDS,
        },
    )
    return response


@router.get("/campaigns/people")
def people(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    q: Annotated[str, Query(max_length=200)] = "",
    profile_id: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    """People matching a name, email or phone to preview the campaign as: the picker's
    choices (the person chosen now stays first)."""
    console.principal.require(Scope.ANALYTICS_READ, Scope.PROFILES_READ)
    workspace_id = console.principal.workspace_id
    person = chosen_person(session, console, profile_id)
    found: list[Profile] = []
    if q.strip():
        found = customer_queries.search(session, workspace_id, q.strip(), limit=PICKED, offset=0)
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "outreach/_people.html",
        {
            "person": person,
            "found": [p for p in found if person is None or p.id != person.id],
            "q": q,
            "example": EXAMPLE,
        },
    )
    return response
