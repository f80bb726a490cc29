"""/api/v1/campaigns, /api/v1/links (short links and their QR codes), a person's
acquisition, the return report and the rebuild; and the public ``/l/{code}`` that a
short link is, on Accord's own domain (no credentials: it records the click and
redirects)."""

from __future__ import annotations

import logging
import re
import uuid
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from accord.analyze.acquisition import qr, queries, roi, service, touches
from accord.analyze.acquisition.schemas import (
    AcquisitionRead,
    CampaignIn,
    CampaignRead,
    CampaignUpdate,
    LinkIn,
    LinkRead,
    LinkUpdate,
    Rebuilding,
    ReportBy,
    RoiReport,
)
from accord.govern.access.deps import AnalyticsReader, require
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import Scope
from accord.kit.db import transaction
from accord.kit.deps import AppSettings, DbSession
from accord.kit.errors import AccordError
from accord.kit.ids import new_id
from accord.kit.ratelimit import Limit, client_address, limiter_of
from accord.kit.schemas import DataList

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["acquisition"])
links_router = APIRouter(include_in_schema=False)

CampaignsWriter = Annotated[
    Principal, Depends(require(Scope.ANALYTICS_READ, Scope.CAMPAIGNS_WRITE))
]
# Per minute, multiplied by ACCORD_RATE_LIMIT_SCALE. A crowd scanning one poster shares
# an address (a venue's network): over a limit the click still goes through, unrecorded.
LINKS_PER_ADDRESS = Limit("link-address", 120, 60)
LINKS_PER_LINK = Limit("link-code", 6000, 60)
VISITOR_COOKIE = "accord_aid"
VISITOR_DAYS = 730
_VISITOR = re.compile(r"^[A-Za-z0-9-]{8,64}$")


# --- campaigns ----------------------------------------------------------------------------


@router.get("/campaigns", response_model=DataList[CampaignRead])
def list_campaigns(session: DbSession, principal: AnalyticsReader) -> dict[str, Any]:
    """The workspace's campaigns, newest first, with their links and clicks counted."""
    return {"data": queries.campaigns(session, principal.workspace_id)}


@router.post("/campaigns", response_model=CampaignRead, status_code=201)
def create_campaign(
    body: CampaignIn, session: DbSession, principal: CampaignsWriter
) -> CampaignRead:
    row = service.create_campaign(session, principal.workspace_id, body, principal)
    return queries.campaign(session, row)


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead)
def read_campaign(
    campaign_id: uuid.UUID, session: DbSession, principal: AnalyticsReader
) -> CampaignRead:
    return queries.campaign(
        session, service.get_campaign(session, principal.workspace_id, campaign_id)
    )


@router.patch("/campaigns/{campaign_id}", response_model=CampaignRead)
def update_campaign(
    campaign_id: uuid.UUID, body: CampaignUpdate, session: DbSession, principal: CampaignsWriter
) -> CampaignRead:
    row = service.get_campaign(session, principal.workspace_id, campaign_id)
    service.update_campaign(session, row, body, principal)
    return queries.campaign(session, row)


@router.delete("/campaigns/{campaign_id}", status_code=204)
def delete_campaign(
    campaign_id: uuid.UUID, session: DbSession, principal: CampaignsWriter
) -> Response:
    """The campaign and its links (their short links answer 404 from now on)."""
    row = service.get_campaign(session, principal.workspace_id, campaign_id)
    service.delete_campaign(session, row, principal)
    return Response(status_code=204)


# --- links --------------------------------------------------------------------------------


@router.get("/campaigns/{campaign_id}/links", response_model=DataList[LinkRead])
def list_links(
    campaign_id: uuid.UUID, session: DbSession, principal: AnalyticsReader, settings: AppSettings
) -> dict[str, Any]:
    row = service.get_campaign(session, principal.workspace_id, campaign_id)
    return {"data": queries.links(session, row, settings.base_url)}


@router.post("/campaigns/{campaign_id}/links", response_model=LinkRead, status_code=201)
def create_link(
    campaign_id: uuid.UUID,
    body: LinkIn,
    session: DbSession,
    principal: CampaignsWriter,
    settings: AppSettings,
) -> LinkRead:
    """A short link to ``destination`` (http or https only: 422 `invalid_destination`
    naming the field otherwise), with a random code unless one is given."""
    campaign = service.get_campaign(session, principal.workspace_id, campaign_id)
    row = service.create_link(session, campaign, body, principal)
    return queries.link_read(row, campaign, settings.base_url)


@router.get("/links/{link_id}", response_model=LinkRead)
def read_link(
    link_id: uuid.UUID, session: DbSession, principal: AnalyticsReader, settings: AppSettings
) -> LinkRead:
    row = service.get_link(session, principal.workspace_id, link_id)
    return queries.link(session, row, settings.base_url)


@router.patch("/links/{link_id}", response_model=LinkRead)
def update_link(
    link_id: uuid.UUID,
    body: LinkUpdate,
    session: DbSession,
    principal: CampaignsWriter,
    settings: AppSettings,
) -> LinkRead:
    """Anything but the code, which may be printed already."""
    row = service.get_link(session, principal.workspace_id, link_id)
    service.update_link(session, row, body, principal)
    return queries.link(session, row, settings.base_url)


@router.delete("/links/{link_id}", status_code=204)
def delete_link(link_id: uuid.UUID, session: DbSession, principal: CampaignsWriter) -> Response:
    service.delete_link(
        session, service.get_link(session, principal.workspace_id, link_id), principal
    )
    return Response(status_code=204)


@router.get(
    "/links/{link_id}/qr",
    response_class=Response,
    responses={200: {"content": {"image/svg+xml": {}, "image/png": {}}}},
)
def link_qr(
    link_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
    settings: AppSettings,
    format: Literal["svg", "png"] = "svg",
    scale: Annotated[int, Query(ge=1, le=40)] = 10,
) -> Response:
    """The link's QR code (its short URL) to download: SVG for print, or PNG."""
    row = service.get_link(session, principal.workspace_id, link_id)
    return qr_response(row.code, service.short_url(settings.base_url, row), format, scale)


def qr_response(code: str, url: str, kind: str, scale: int = 10) -> Response:
    return Response(
        qr.image(url, kind, scale=scale),
        media_type=qr.FORMATS[kind],
        headers={"Content-Disposition": f'attachment; filename="qr-{code}.{kind}"'},
    )


# --- people and the report ----------------------------------------------------------------


@router.get("/profiles/{profile_id}/acquisition", response_model=AcquisitionRead)
def profile_acquisition(
    profile_id: uuid.UUID, session: DbSession, principal: AnalyticsReader
) -> AcquisitionRead:
    """Where the person came from: their first touch, their last touch up to their first
    order, and their latest touch (a merged profile answers for its survivor)."""
    return queries.of_profile(session, principal.workspace_id, profile_id)


@router.get("/acquisition/roi", response_model=RoiReport)
def roi_report(
    session: DbSession,
    principal: AnalyticsReader,
    by: ReportBy = "campaign",
    horizon: Annotated[int, Query(ge=1, le=3650, description="Days after acquisition")] = 90,
    currency: Annotated[str | None, Query(pattern=r"^[A-Za-z]{3}$")] = None,
    since: date | None = None,
    until: date | None = None,
) -> RoiReport:
    """People acquired, customers, revenue within the horizon, cost, CAC and ROI per
    campaign, source or channel group."""
    return roi.report(
        session,
        principal.workspace_id,
        by=by,
        horizon_days=horizon,
        currency=currency,
        since=since,
        until=until,
    )


@router.post("/acquisition/rebuild", response_model=Rebuilding, status_code=202)
def rebuild(
    request: Request, background: BackgroundTasks, principal: CampaignsWriter
) -> Rebuilding:
    """Compute every person's touches again (after an upgrade, or a change of the
    rules), a chunk of people a transaction, once this answer is sent."""
    factory = request.app.state.session_factory
    background.add_task(touches.rebuild, factory, principal.workspace_id)
    return Rebuilding()


# --- the short link itself ----------------------------------------------------------------

NOT_FOUND_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Link not found</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family: system-ui, sans-serif; margin: 4rem auto; max-width: 32rem;
padding: 0 1rem; color: #1f2433"><h1>Link not found</h1>
<p>This link does not exist or is no longer in use.</p></body></html>"""


def _visitor(request: Request) -> tuple[str, bool]:
    """The browser's anonymous id from Accord's first-party cookie, or a new one (and
    whether it is new)."""
    held = request.cookies.get(VISITOR_COOKIE, "")
    if _VISITOR.match(held):
        return held, False
    return str(new_id()), True


@links_router.api_route("/l/{code}", methods=["GET", "HEAD"])
def follow_link(code: str, request: Request) -> Response:
    """Public: a click on a short link. The click is stored as a ``Link Clicked`` event
    (committed before the answer, then resolved as any event is) and answered 302 to the
    destination with the campaign's UTM parameters; an unknown code is a plain 404."""
    limiter = limiter_of(request)
    address = client_address(request)
    limited: AccordError | None = None
    try:
        limiter.check(LINKS_PER_ADDRESS, address)
    except AccordError as error:
        limited = error
    visitor, new_visitor = _visitor(request)
    settings = request.app.state.settings
    recorded = False
    with transaction(request.app.state.session_factory) as session:
        found = service.target(session, code)
        if found is None:
            if limited is not None:
                raise limited
            return HTMLResponse(NOT_FOUND_PAGE, status_code=404)
        if limited is None:
            try:
                limiter.check(LINKS_PER_LINK, str(found.link.id))
            except AccordError as error:
                limited = error
        if limited is None and request.method == "HEAD":
            pass  # a link preview or a checker asking where it leads: not a click
        elif limited is None:
            service.record_click(
                session,
                found,
                anonymous_id=visitor,
                ip=address,
                user_agent=request.headers.get("user-agent"),
                referrer=request.headers.get("referer"),
                short=service.short_url(settings.base_url, found.link),
            )
            recorded = True
        else:
            log.warning("short link %s: over the rate limit, click not recorded", code)
        url = found.url
    if recorded:
        for listener in request.app.state.accept_listeners:
            listener()
    response = RedirectResponse(url, status_code=302)
    response.headers["Cache-Control"] = "no-store"
    if new_visitor:
        response.set_cookie(
            VISITOR_COOKIE,
            visitor,
            max_age=VISITOR_DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
            path="/l",
        )
    return response
