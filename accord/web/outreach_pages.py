"""Outreach > Campaigns: the list (status, segment, audience, what was sent, refused and
held, open and click rates), a campaign's page (its progress while it sends, polled by
HTMX every two seconds; pause, resume and cancel; the report with its charts and the
holdout comparison in words; the recipients, by status and a page at a time) and the
Customer 360's Messages card. The composer is ``outreach_composer.py``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.govern.access.scopes import Scope
from accord.kit.deps import DbSession
from accord.outreach import queries, report, service
from accord.outreach.api import start_sending
from accord.outreach.journeys import queries as journey_queries
from accord.web import outreach_report as words
from accord.web.auth import Console, ConsoleUser
from accord.web.charts import chart_export
from accord.web.pages import page
from accord.web.segment_pages import all_segments

router = APIRouter(prefix="/outreach", include_in_schema=False)

BASE = "/outreach/campaigns"
AREA = "outreach"
RECIPIENTS_PAGE = 50
PURPOSES = {
    "marketing": "Marketing",
    "service": "Service",
    "surveys": "Surveys",
    "personalization": "Personalization",
}
NOTICES = {
    "launched": "Launched: the messages are on their way.",
    "scheduled": "Scheduled.",
    "paused": "Paused: nothing more is sent until you resume.",
    "resumed": "Resumed.",
    "cancelled": "Cancelled: what was not sent will not be.",
}


def require_reader(console: Console) -> None:
    console.principal.require(Scope.ANALYTICS_READ)


def require_writer(console: Console) -> None:
    console.principal.require(Scope.ANALYTICS_READ, Scope.OUTREACH_SEND)


def can_write(console: Console) -> bool:
    return console.principal.has(Scope.OUTREACH_SEND)


def segment_names(session: Session, console: Console) -> dict[uuid.UUID, str]:
    return {s.id: s.name for s in all_segments(session, console)}


# --- the list ------------------------------------------------------------------------------


@router.get("")
def outreach_home(console: ConsoleUser) -> Response:
    require_reader(console)
    return RedirectResponse(BASE, status_code=303)


@router.get("/campaigns")
def campaigns_list(
    request: Request, session: DbSession, console: ConsoleUser, status: str | None = None
) -> HTMLResponse:
    require_reader(console)
    workspace_id = console.principal.workspace_id
    rows = queries.campaigns(session, workspace_id, status or None)
    return page(
        request,
        session,
        console,
        "outreach/list.html",
        AREA,
        campaigns=rows,
        tallies=queries.tallies(session, [c.id for c in rows]),
        segments=segment_names(session, console),
        status=status or "",
        statuses=("draft", "scheduled", "sending", "paused", "sent", "cancelled"),
        can_write=can_write(console),
    )


# --- a campaign ----------------------------------------------------------------------------


@router.get("/campaigns/{campaign_id:uuid}")
def campaign_page(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    campaign_id: uuid.UUID,
    recipients: str | None = None,
    after: uuid.UUID | None = None,
    done: str | None = None,
) -> Response:
    """The campaign: its progress, its report (charts downloadable from this route) and
    a page of its recipients (``recipients``: a status; ``after``: the page's start)."""
    require_reader(console)
    campaign = service.get(session, console.principal.workspace_id, campaign_id)
    got = report.report(session, campaign)
    charts = words.charts(got, texts=campaign.channel == "sms")
    exported = chart_export(request, charts)
    if exported is not None:
        return exported
    shown = recipients if recipients in words.STATUSES else None
    people = queries.recipients(
        session, campaign.id, status=shown, limit=RECIPIENTS_PAGE + 1, after=after
    )
    segment = (
        segment_names(session, console).get(campaign.segment_id) if campaign.segment_id else None
    )
    return page(
        request,
        session,
        console,
        "outreach/campaign.html",
        AREA,
        campaign=campaign,
        segment_name=segment,
        purposes=PURPOSES,
        progress=words.progress(campaign.status, got.counts),
        report=got,
        charts={c.key: c for c in charts},
        conversion_words=words.conversion_words(got),
        revenue_words=words.revenue_words(got),
        difference=words.difference,
        verdict=words.verdict,
        recipients=people[:RECIPIENTS_PAGE],
        next_after=people[RECIPIENTS_PAGE - 1].send.id if len(people) > RECIPIENTS_PAGE else None,
        after=after,
        shown=shown or "",
        statuses=words.STATUSES,
        notice=NOTICES.get(done or ""),
        can_write=can_write(console),
        editable=campaign.status in service.EDITABLE,
    )


@router.get("/campaigns/{campaign_id:uuid}/progress")
def campaign_progress(
    request: Request, session: DbSession, console: ConsoleUser, campaign_id: uuid.UUID
) -> Response:
    """The progress fragment the campaign's page polls while it sends; once it is no
    longer sending, the page is told to reload (``HX-Refresh``) for the final report.
    Outside HTMX, the campaign's page."""
    require_reader(console)
    campaign = service.get(session, console.principal.workspace_id, campaign_id)
    if not request.headers.get("hx-request"):
        return RedirectResponse(f"{BASE}/{campaign.id}", status_code=303)
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "outreach/_progress.html",
        {
            "campaign": campaign,
            "progress": words.progress(campaign.status, queries.counts(session, campaign.id)),
        },
    )
    if campaign.status != "sending":
        response.headers["HX-Refresh"] = "true"
    return response


# Pause, resume and cancel are the service's own transitions, for a user who may send.


@router.post("/campaigns/{campaign_id:uuid}/pause")
def pause(session: DbSession, console: ConsoleUser, campaign_id: uuid.UUID) -> Response:
    require_writer(console)
    service.pause(session, console.principal, campaign_id)
    return RedirectResponse(f"{BASE}/{campaign_id}?done=paused", status_code=303)


@router.post("/campaigns/{campaign_id:uuid}/resume")
def resume(
    request: Request, session: DbSession, console: ConsoleUser, campaign_id: uuid.UUID
) -> Response:
    require_writer(console)
    campaign = service.resume(session, console.principal, campaign_id)
    start_sending(request, session, campaign)
    return RedirectResponse(f"{BASE}/{campaign_id}?done=resumed", status_code=303)


@router.post("/campaigns/{campaign_id:uuid}/cancel")
def cancel(session: DbSession, console: ConsoleUser, campaign_id: uuid.UUID) -> Response:
    require_writer(console)
    service.cancel(session, console.principal, campaign_id)
    return RedirectResponse(f"{BASE}/{campaign_id}?done=cancelled", status_code=303)


# --- the Customer 360 ----------------------------------------------------------------------


def person_messages(session: Session, console: Console, profile_id: uuid.UUID) -> dict[str, Any]:
    """The 360's Messages card: what campaigns and journeys sent the person, or decided
    not to and why, latest first, with the campaigns' and journeys' names (as the API's
    ``messages`` of a person, for whoever reads profiles; the names link to the
    campaigns and journeys for those who read analytics)."""
    workspace_id = console.principal.workspace_id
    sent = queries.of_person(session, workspace_id, profile_id)[:20]
    ids = {s.campaign_id for s in sent if s.campaign_id is not None}
    journeys = {s.journey_id for s in sent if s.journey_id is not None}
    return {
        "sends": sent,
        "names": queries.names(session, workspace_id, ids),
        "journeys": {
            j.id: j.name for j in journey_queries.by_ids(session, workspace_id, journeys).values()
        },
        "statuses": words.STATUSES,
        "linked": console.principal.has(Scope.ANALYTICS_READ),
    }
