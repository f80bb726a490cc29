"""Analytics > Acquisition: where people came from and what campaigns returned (revenue
against cost by campaign and people acquired by channel, as charts; the return by
campaign and by source, as tables), the campaigns with their short links, click counts
and QR codes, and the forms that add them; the Customer 360's Acquisition card."""

from __future__ import annotations

import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from accord.analyze.acquisition import qr, queries, roi, service, touches
from accord.analyze.acquisition.schemas import (
    HORIZONS,
    AcquisitionRead,
    CampaignIn,
    LinkIn,
    RoiReport,
)
from accord.govern.access.scopes import Scope
from accord.kit.deps import AppSettings, DbSession
from accord.kit.errors import AccordError
from accord.web.auth import Console, ConsoleUser
from accord.web.charts import BarChart, Chart, Series, Unit, chart_export
from accord.web.forms import form_error
from accord.web.pages import page

router = APIRouter(prefix="/analytics/acquisition", include_in_schema=False)

BASE = "/analytics/acquisition"
NOTICES = {
    "campaign": "Campaign saved. Add a short link to print or share.",
    "link": "Short link added: download its QR code below.",
    "deleted": "Deleted.",
    "rebuilding": "Everyone's first and last touch is being computed again; reload in a moment.",
}
CHANNEL_NAMES = {
    "print": "Print",
    "radio": "Radio",
    "tv": "TV",
    "podcast": "Podcast",
    "event": "Event",
    "store": "Store",
    "outdoor": "Outdoor",
    "direct_mail": "Direct mail",
    "paid_search": "Paid search",
    "paid_social": "Paid social",
    "display": "Display",
    "email": "Email",
    "social": "Social",
    "affiliate": "Affiliate",
    "referral": "Referral",
    "other": "Other",
}
WIDTH, HEIGHT = 720, 300


def _horizon(value: Any) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        return 90
    return days if days in HORIZONS else 90


def _money(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def acquisition_charts(by_campaign: RoiReport, by_channel: RoiReport) -> list[Chart]:
    """Revenue against cost by campaign; people acquired by channel group."""
    costed = [r for r in by_campaign.rows if r.key is not None]
    labels = [r.label for r in costed]
    money = Unit.money(by_campaign.currency)
    channels = [r for r in by_channel.rows if r.acquired]
    return [
        BarChart(
            key="revenue-cost",
            title="Revenue and cost by campaign",
            labels=labels,
            series=[
                Series("Revenue", [_money(r.revenue) for r in costed]),
                Series("Cost", [_money(r.cost) for r in costed]),
            ],
            horizontal=True,
            over_time=False,
            unit=money,
            description=f"What the people each campaign brought spent within "
            f"{by_campaign.horizon_days} days of arriving, less refunds, beside what the "
            "campaign cost.",
            width=WIDTH,
            height=HEIGHT,
        ),
        BarChart(
            key="acquired-by-channel",
            title="People acquired by channel",
            labels=[r.label for r in channels],
            series=[Series("People acquired", [float(r.acquired) for r in channels])],
            horizontal=True,
            over_time=False,
            unit=Unit(decimals=0, name="people"),
            description="People by the channel of their first touch.",
            width=WIDTH,
            height=HEIGHT,
        ),
    ]


def _page(
    request: Request,
    session: Session,
    console: Console,
    base_url: str,
    *,
    horizon: int = 90,
    notice: str | None = None,
    error: AccordError | None = None,
    draft: dict[str, Any] | None = None,
    link_draft: dict[str, Any] | None = None,
) -> Response:
    console.principal.require(Scope.ANALYTICS_READ)
    workspace_id = console.principal.workspace_id
    found = roi.reports(session, workspace_id, horizon_days=horizon)
    by_campaign, by_source, by_channel = found["campaign"], found["source"], found["channel"]
    charts = acquisition_charts(by_campaign, by_channel)
    exported = chart_export(request, charts)
    if exported is not None:
        return exported
    return page(
        request,
        session,
        console,
        "acquisition/page.html",
        "acquisition",
        status_code=error.status if error else 200,
        horizon=horizon,
        horizons=HORIZONS,
        by_campaign=by_campaign,
        by_source=by_source,
        charts=charts,
        campaigns=queries.campaigns_with_links(session, workspace_id, base_url),
        channels=CHANNEL_NAMES,
        can_write=console.principal.has(Scope.CAMPAIGNS_WRITE),
        notice=notice,
        error=error,
        errors={e.field: e.message for e in (error.errors if error else [])}
        | ({error.field: error.message} if error and error.field else {}),
        draft=draft or {},
        link_draft=link_draft or {},
    )


@router.get("")
def acquisition_page(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    settings: AppSettings,
    horizon: int = 90,
    done: str | None = None,
) -> Response:
    return _page(
        request,
        session,
        console,
        settings.base_url,
        horizon=_horizon(horizon),
        notice=NOTICES.get(done or ""),
    )


def _decimal(value: str) -> Decimal | str:
    try:
        return Decimal(value.replace(",", "").strip() or "0")
    except InvalidOperation:
        return value


@router.post("/campaigns")
def create_campaign(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    settings: AppSettings,
    name: Annotated[str, Form(max_length=200)] = "",
    channel: Annotated[str, Form(max_length=40)] = "other",
    source: Annotated[str, Form(max_length=200)] = "",
    medium: Annotated[str, Form(max_length=200)] = "",
    utm_campaign: Annotated[str, Form(max_length=300)] = "",
    cost: Annotated[str, Form(max_length=40)] = "0",
    currency: Annotated[str, Form(max_length=10)] = "USD",
    starts_on: Annotated[str, Form(max_length=20)] = "",
    ends_on: Annotated[str, Form(max_length=20)] = "",
    notes: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    console.principal.require(Scope.ANALYTICS_READ, Scope.CAMPAIGNS_WRITE)
    draft = {
        "name": name,
        "channel": channel,
        "source": source,
        "medium": medium,
        "utm_campaign": utm_campaign,
        "cost": cost,
        "currency": currency,
        "starts_on": starts_on,
        "ends_on": ends_on,
        "notes": notes,
    }
    try:
        body = CampaignIn.model_validate(
            {
                "name": name,
                "channel": channel,
                "source": source or None,
                "medium": medium or None,
                "utm_campaign": utm_campaign or None,
                "cost": _decimal(cost),
                "currency": currency or "USD",
                "starts_on": starts_on or None,
                "ends_on": ends_on or None,
                "notes": notes or None,
            }
        )
        with session.begin_nested():
            service.create_campaign(
                session, console.principal.workspace_id, body, console.principal
            )
    except ValidationError as invalid:
        error = form_error(invalid)
        return _page(request, session, console, settings.base_url, error=error, draft=draft)
    except AccordError as error:
        return _page(request, session, console, settings.base_url, error=error, draft=draft)
    return RedirectResponse(f"{BASE}?done=campaign", status_code=303)


@router.post("/campaigns/{campaign_id}/links")
def create_link(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    settings: AppSettings,
    campaign_id: uuid.UUID,
    destination: Annotated[str, Form(max_length=2100)] = "",
    label: Annotated[str, Form(max_length=200)] = "",
    code: Annotated[str, Form(max_length=64)] = "",
    utm_content: Annotated[str, Form(max_length=300)] = "",
) -> Response:
    console.principal.require(Scope.ANALYTICS_READ, Scope.CAMPAIGNS_WRITE)
    campaign = service.get_campaign(session, console.principal.workspace_id, campaign_id)
    draft = {
        "campaign_id": str(campaign_id),
        "destination": destination,
        "label": label,
        "code": code,
        "utm_content": utm_content,
    }
    try:
        body = LinkIn.model_validate(
            {
                "destination": destination,
                "label": label or None,
                "code": code or None,
                "utm_content": utm_content or None,
            }
        )
        with session.begin_nested():
            service.create_link(session, campaign, body, console.principal)
    except ValidationError as invalid:
        error = form_error(invalid)
        return _page(request, session, console, settings.base_url, error=error, link_draft=draft)
    except AccordError as error:
        return _page(request, session, console, settings.base_url, error=error, link_draft=draft)
    return RedirectResponse(f"{BASE}?done=link#campaign-{campaign_id}", status_code=303)


@router.post("/campaigns/{campaign_id}/delete")
def delete_campaign(session: DbSession, console: ConsoleUser, campaign_id: uuid.UUID) -> Response:
    console.principal.require(Scope.ANALYTICS_READ, Scope.CAMPAIGNS_WRITE)
    row = service.get_campaign(session, console.principal.workspace_id, campaign_id)
    service.delete_campaign(session, row, console.principal)
    return RedirectResponse(f"{BASE}?done=deleted", status_code=303)


@router.post("/links/{link_id}/delete")
def delete_link(session: DbSession, console: ConsoleUser, link_id: uuid.UUID) -> Response:
    console.principal.require(Scope.ANALYTICS_READ, Scope.CAMPAIGNS_WRITE)
    row = service.get_link(session, console.principal.workspace_id, link_id)
    service.delete_link(session, row, console.principal)
    return RedirectResponse(f"{BASE}?done=deleted", status_code=303)


@router.get("/links/{link_id}/qr.{kind}")
def link_qr(
    session: DbSession, console: ConsoleUser, settings: AppSettings, link_id: uuid.UUID, kind: str
) -> Response:
    """The link's QR code to download (``svg`` for print, or ``png``)."""
    console.principal.require(Scope.ANALYTICS_READ)
    if kind not in qr.FORMATS:
        raise AccordError("A QR code is svg or png", code="not_found", status=404, field="kind")
    row = service.get_link(session, console.principal.workspace_id, link_id)
    return Response(
        qr.image(service.short_url(settings.base_url, row), kind),
        media_type=qr.FORMATS[kind],
        headers={"Content-Disposition": f'attachment; filename="qr-{row.code}.{kind}"'},
    )


@router.post("/rebuild")
def rebuild(request: Request, console: ConsoleUser, background: BackgroundTasks) -> Response:
    """Compute everyone's touches again, after the answer (a chunk a transaction)."""
    console.principal.require(Scope.ANALYTICS_READ, Scope.CAMPAIGNS_WRITE)
    background.add_task(
        touches.rebuild, request.app.state.session_factory, console.principal.workspace_id
    )
    return RedirectResponse(f"{BASE}?done=rebuilding", status_code=303)


# --- the Customer 360 ---------------------------------------------------------------------


def person_acquisition(
    session: Session, console: Console, profile_id: uuid.UUID
) -> AcquisitionRead | None:
    """The 360's Acquisition card: first touch and last touch. None for a role that
    reads no analytics."""
    if not console.principal.has(Scope.ANALYTICS_READ):
        return None
    return queries.of_profile(session, console.principal.workspace_id, profile_id)
