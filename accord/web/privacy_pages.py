"""Privacy (admins only): data-subject requests with their due dates (overdue ones stand
out), recording one by any identifier, a request's page with what was found and its
receipt, the export to download, erase and reject; the retention policies with their dry
run and the last pass."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from accord.kit.deps import AppSettings, DbSession, FormBody
from accord.kit.errors import AccordError
from accord.kit.time import utcnow
from accord.privacy import erase, retention, service
from accord.privacy.api import zip_download
from accord.privacy.models import KINDS, STATUSES
from accord.privacy.settings import PRIVACY
from accord.web.auth import Console, ConsoleAdmin
from accord.web.pages import page

router = APIRouter(prefix="/privacy", include_in_schema=False)
IDENTIFIER_TYPES = (
    "email",
    "phone",
    "user_id",
    "anonymous_id",
    "loyalty_card",
    "social",
    "device_id",
)
RETENTION_FIELDS = (
    ("events_days", "Raw events", "page views and track calls; events with traits or orders stay"),
    (
        "closed_conversations_days",
        "Closed conversations",
        "resolved this long ago, with messages and files",
    ),
    (
        "anonymous_profiles_days",
        "Anonymous visitors",
        "people known only by anonymous or device ids, unseen",
    ),
    (
        "chat_visitors_days",
        "Chat visitors",
        "a browser's pages, cart and UTM, idle; their chats stay",
    ),
)


def _requests_page(
    request: Request,
    session: DbSession,
    console: Console,
    *,
    status: str | None = None,
    error: AccordError | None = None,
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    workspace_id = console.principal.workspace_id
    wanted = status if status in STATUSES else None
    overdue_only = status == "overdue"
    rows = service.list_requests(session, workspace_id, status=wanted, overdue=overdue_only)
    open_count, overdue_count = service.counts(session, workspace_id)
    now = utcnow()
    return page(
        request,
        session,
        console,
        "privacy/requests.html",
        "privacy",
        status_code=error.status if error else 200,
        tab="requests",
        requests=[service.read(r, now) for r in rows],
        now=now,
        filter=status or "",
        statuses=STATUSES,
        kinds=KINDS,
        identifier_types=IDENTIFIER_TYPES,
        open_count=open_count,
        overdue_count=overdue_count,
        due_days=PRIVACY.read_with_version(session, workspace_id)[0].request_due_days,
        error=error,
        draft=draft or {},
    )


@router.get("")
def privacy_home(
    request: Request, session: DbSession, console: ConsoleAdmin, status: str | None = None
) -> HTMLResponse:
    return _requests_page(request, session, console, status=status)


@router.post("")
def create_request(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    kind: Annotated[str, Form(max_length=8)],
    identifier_type: Annotated[str, Form(max_length=40)],
    identifier_value: Annotated[str, Form(max_length=320)],
    note: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    try:
        with session.begin_nested():
            made = service.create(
                session,
                console.principal,
                kind=kind,
                identifier_type=identifier_type,
                identifier_value=identifier_value,
                note=note,
            )
    except AccordError as error:
        draft = {
            "kind": kind,
            "identifier_type": identifier_type,
            "identifier_value": identifier_value,
            "note": note,
        }
        return _requests_page(request, session, console, error=error, draft=draft)
    return RedirectResponse(f"/privacy/requests/{made.id}", status_code=303)


def _request_page(
    request: Request,
    session: DbSession,
    console: Console,
    request_id: uuid.UUID,
    *,
    error: AccordError | None = None,
) -> HTMLResponse:
    row = service.get(session, console.principal.workspace_id, request_id)
    return page(
        request,
        session,
        console,
        "privacy/request.html",
        "privacy",
        status_code=error.status if error else 200,
        tab="requests",
        item=service.read(row),
        error=error,
    )


@router.get("/requests/{request_id}")
def request_detail(
    request: Request, session: DbSession, console: ConsoleAdmin, request_id: uuid.UUID
) -> HTMLResponse:
    return _request_page(request, session, console, request_id)


@router.get("/requests/{request_id}/export")
def download(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    settings: AppSettings,
    request_id: uuid.UUID,
) -> StreamingResponse:
    return zip_download(
        request, session, console.principal, request_id, settings.data_dir, via="console"
    )


@router.post("/requests/{request_id}/erase")
def erase_person(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    settings: AppSettings,
    request_id: uuid.UUID,
) -> Response:
    try:
        with session.begin_nested():
            erase.erase_request(
                session,
                console.principal,
                request_id,
                data_dir=settings.data_dir,
                redis_url=settings.redis_url,
            )
    except AccordError as error:
        return _request_page(request, session, console, request_id, error=error)
    return RedirectResponse(f"/privacy/requests/{request_id}", status_code=303)


@router.post("/requests/{request_id}/reject")
def reject(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    request_id: uuid.UUID,
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    try:
        with session.begin_nested():
            if not reason.strip():
                raise AccordError("Say why the request is rejected", "invalid", 422, "reason")
            service.reject(session, console.principal, request_id, reason)
    except AccordError as error:
        return _request_page(request, session, console, request_id, error=error)
    return RedirectResponse(f"/privacy/requests/{request_id}", status_code=303)


def _retention_page(
    request: Request,
    session: DbSession,
    console: Console,
    *,
    error: AccordError | None = None,
    saved: bool = False,
) -> HTMLResponse:
    workspace_id = console.principal.workspace_id
    value, version = PRIVACY.read_with_version(session, workspace_id)
    return page(
        request,
        session,
        console,
        "privacy/retention.html",
        "privacy",
        status_code=error.status if error else 200,
        tab="retention",
        settings=value,
        version=version,
        fields=RETENTION_FIELDS,
        report=retention.report(session, workspace_id, utcnow()),
        last=retention.last_run(session, workspace_id),
        error=error,
        saved=saved,
    )


@router.get("/retention")
def retention_page(
    request: Request, session: DbSession, console: ConsoleAdmin, saved: str | None = None
) -> HTMLResponse:
    return _retention_page(request, session, console, saved=saved == "1")


@router.post("/retention")
def save_retention(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    raw: dict[str, Any] = {
        "request_due_days": str(form.get("request_due_days") or "").strip() or 30,
        "keep_order_totals": form.get("keep_order_totals") == "on",
    }
    for name, _, _ in RETENTION_FIELDS:
        raw[name] = str(form.get(name) or "").strip() or None
    version = str(form.get("version") or "").strip()
    try:
        with session.begin_nested():
            PRIVACY.save(
                session,
                console.principal.workspace_id,
                raw,
                actor=console.principal,
                expected_version=int(version) if version.isdigit() else None,
            )
    except AccordError as error:
        return _retention_page(request, session, console, error=error)
    return RedirectResponse("/privacy/retention?saved=1", status_code=303)
