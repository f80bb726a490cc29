"""/api/v1/outreach: campaigns (drafts, launch, pause, resume, cancel, preview, test
send, sends, report), the outreach settings and a person's messages; and the public
tracked links (``/r/<token>``) and open pixel (``/o/<token>.gif``)."""

from __future__ import annotations

import base64
import logging
import threading
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from accord.channels.sms_api import Callback, signed_callback
from accord.govern.access.deps import AnalyticsReader, OutreachWriter, ProfilesReader
from accord.kit.db import transaction
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError
from accord.kit.schemas import DataList
from accord.kit.signals import after_commit
from accord.kit.time import utcnow
from accord.outreach import queries, receipts, report, service, tasks, tracking
from accord.outreach import settings as outreach_settings
from accord.outreach.job import Deployment
from accord.outreach.models import Campaign
from accord.outreach.schemas import (
    CampaignIn,
    CampaignRead,
    CampaignUpdate,
    LaunchIn,
    OutreachSettingsIn,
    OutreachSettingsRead,
    PreviewIn,
    PreviewRead,
    ReportRead,
    SendRead,
    TestSendIn,
)

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/outreach", tags=["outreach"])
tracking_router = APIRouter(tags=["outreach"])
PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def deployment(request: Request) -> Deployment:
    settings = request.app.state.settings
    return Deployment(
        secret_key=settings.resolved_secret_key,
        base_url=settings.base_url,
        sessions=settings.outreach_sessions,
    )


def campaign_read(session: Session, campaign: Campaign) -> CampaignRead:
    out = CampaignRead.model_validate(campaign, from_attributes=True)
    out.counts = queries.counts(session, campaign.id)
    return out


def start_sending(request: Request, session: Session, campaign: Campaign) -> None:
    """Once committed: the campaign's delivery jobs (or, without a job engine, a
    thread)."""
    if campaign.status != "sending":
        return
    campaign_id = campaign.id
    jobs = getattr(request.app.state, "jobs", None)
    senders = request.app.state.settings.outreach_senders
    if jobs is not None:

        def enqueue() -> None:
            for _ in range(senders):
                jobs.enqueue("outreach.deliver", campaign_id)

        after_commit(session, enqueue)
        return
    factory, dep = request.app.state.session_factory, deployment(request)

    def run() -> None:
        try:
            tasks.deliver(factory, campaign_id, deployment=dep)
        except Exception:
            log.exception("campaign %s: delivery failed", campaign_id)

    after_commit(session, lambda: threading.Thread(target=run, daemon=True).start())


@router.get("/campaigns", response_model=DataList[CampaignRead])
def list_campaigns(
    session: DbSession, principal: AnalyticsReader, status: str | None = None
) -> dict[str, Any]:
    rows = queries.campaigns(session, principal.workspace_id, status)
    return {"data": [campaign_read(session, c) for c in rows]}


@router.post("/campaigns", response_model=CampaignRead, status_code=201)
def create_campaign(
    body: CampaignIn, session: DbSession, principal: OutreachWriter
) -> CampaignRead:
    return campaign_read(session, service.create(session, principal, body))


@router.get("/campaigns/{campaign_id}", response_model=CampaignRead)
def get_campaign(
    campaign_id: uuid.UUID, session: DbSession, principal: AnalyticsReader
) -> CampaignRead:
    return campaign_read(session, service.get(session, principal.workspace_id, campaign_id))


@router.patch("/campaigns/{campaign_id}", response_model=CampaignRead)
def update_campaign(
    campaign_id: uuid.UUID, body: CampaignUpdate, session: DbSession, principal: OutreachWriter
) -> CampaignRead:
    return campaign_read(session, service.update(session, principal, campaign_id, body))


@router.post("/campaigns/{campaign_id}/launch", response_model=CampaignRead)
def launch_campaign(
    campaign_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: OutreachWriter,
    body: LaunchIn | None = None,
) -> CampaignRead:
    """Plan one message per member of the segment and start sending (or schedule it)."""
    campaign = service.launch(
        session,
        principal,
        campaign_id,
        secret_key=request.app.state.settings.resolved_secret_key,
        at=body.at if body else None,
    )
    start_sending(request, session, campaign)
    return campaign_read(session, campaign)


@router.post("/campaigns/{campaign_id}/pause", response_model=CampaignRead)
def pause_campaign(
    campaign_id: uuid.UUID, session: DbSession, principal: OutreachWriter
) -> CampaignRead:
    return campaign_read(session, service.pause(session, principal, campaign_id))


@router.post("/campaigns/{campaign_id}/resume", response_model=CampaignRead)
def resume_campaign(
    campaign_id: uuid.UUID, request: Request, session: DbSession, principal: OutreachWriter
) -> CampaignRead:
    campaign = service.resume(session, principal, campaign_id)
    start_sending(request, session, campaign)
    return campaign_read(session, campaign)


@router.post("/campaigns/{campaign_id}/cancel", response_model=CampaignRead)
def cancel_campaign(
    campaign_id: uuid.UUID, session: DbSession, principal: OutreachWriter
) -> CampaignRead:
    return campaign_read(session, service.cancel(session, principal, campaign_id))


@router.post("/campaigns/{campaign_id}/preview", response_model=PreviewRead)
def preview_campaign(
    campaign_id: uuid.UUID,
    body: PreviewIn,
    request: Request,
    session: DbSession,
    principal: AnalyticsReader,
) -> PreviewRead:
    subject, html, text = service.preview(
        session, principal.workspace_id, campaign_id, body.profile_id, deployment(request)
    )
    return PreviewRead(subject=subject, html=html, text=text)


@router.post("/campaigns/{campaign_id}/test", status_code=202)
def test_send_campaign(
    campaign_id: uuid.UUID,
    body: TestSendIn,
    request: Request,
    session: DbSession,
    principal: OutreachWriter,
) -> dict[str, str]:
    """Mail the campaign, rendered as a person, to a colleague's address."""
    message_id = service.test_send(
        session, principal, campaign_id, body.address, body.profile_id, deployment(request)
    )
    return {"status": "sent", "to": body.address.strip(), "message_id": message_id}


@router.get("/campaigns/{campaign_id}/sends", response_model=DataList[SendRead])
def campaign_sends(
    campaign_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
    status: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: uuid.UUID | None = None,
) -> dict[str, Any]:
    campaign = service.get(session, principal.workspace_id, campaign_id)
    rows = queries.sends(session, campaign.id, status=status, limit=limit, after=after)
    return {"data": [queries.send_read(s) for s in rows]}


@router.get("/campaigns/{campaign_id}/report", response_model=ReportRead)
def campaign_report(
    campaign_id: uuid.UUID, session: DbSession, principal: AnalyticsReader
) -> ReportRead:
    return report.report(session, service.get(session, principal.workspace_id, campaign_id))


@router.get("/people/{profile_id}/messages", response_model=DataList[SendRead])
def person_messages(
    profile_id: uuid.UUID, session: DbSession, principal: ProfilesReader
) -> dict[str, Any]:
    """What campaigns and journeys sent this person (or decided not to, and why)."""
    rows = queries.of_person(session, principal.workspace_id, profile_id)
    return {"data": [queries.send_read(s) for s in rows]}


@router.get("/settings", response_model=OutreachSettingsRead)
def get_settings(session: DbSession, principal: AnalyticsReader) -> OutreachSettingsRead:
    value, version = outreach_settings.with_version(session, principal.workspace_id)
    return OutreachSettingsRead(**value.model_dump(), version=version)


@router.put("/settings", response_model=OutreachSettingsRead)
def put_settings(
    body: OutreachSettingsIn, session: DbSession, principal: OutreachWriter
) -> OutreachSettingsRead:
    value, version = outreach_settings.save(
        session,
        principal.workspace_id,
        body.model_dump(exclude={"version"}),
        actor=principal,
        expected_version=body.version,
    )
    return OutreachSettingsRead(**value.model_dump(), version=version)


# --- tracking (public: the token is the key) ----------------------------------------------


@tracking_router.get("/r/{token}", include_in_schema=False)
def tracked_link(token: str, request: Request) -> Response:
    settings = request.app.state.settings
    send_id, url = tracking.read_click(settings.resolved_secret_key, token)
    recorded = False
    if request.method != "HEAD":
        with transaction(request.app.state.session_factory) as session:
            recorded = tracking.record_click(session, send_id, url, utcnow())
    if recorded:
        for listener in request.app.state.accept_listeners:
            listener()
    response = RedirectResponse(url, status_code=302)
    response.headers["Cache-Control"] = "no-store"
    return response


@tracking_router.get("/o/{token}", include_in_schema=False)
def tracked_open(token: str, request: Request) -> Response:
    settings = request.app.state.settings
    try:
        send_id = tracking.read_open(settings.resolved_secret_key, token)
    except AccordError:
        send_id = None
    if send_id is not None:
        with transaction(request.app.state.session_factory) as session:
            first = tracking.record_open(session, send_id, utcnow())
        if first:
            for listener in request.app.state.accept_listeners:
                listener()
    return Response(
        PIXEL,
        media_type="image/gif",
        headers={"Cache-Control": "no-store, private", "Pragma": "no-cache"},
    )


@tracking_router.post(
    "/v1/sms/{workspace_id}/receipts/send/{send_id}",
    summary="A delivery receipt of a campaign's or journey's text (the provider's signed callback)",
    status_code=204,
)
async def send_receipt(
    request: Request, session: DbSession, workspace_id: uuid.UUID, send_id: uuid.UUID
) -> Response:
    def act(call: Callback) -> Response:
        receipts.text_receipt(session, workspace_id, send_id, call.params)
        return Response(status_code=204)

    return await signed_callback(request, session, workspace_id, act)
