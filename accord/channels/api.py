"""Channel endpoints: the public web form (write key), phone calls and the screen pop,
and the workspace's mailbox settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, ConfigDict, EmailStr, Field, ValidationError
from starlette.datastructures import UploadFile

from accord.channels import mailbox
from accord.channels.contact_center import ScreenPop, screen_pop
from accord.govern.access import service as access
from accord.govern.access.deps import (
    ConversationsReader,
    ConversationsWriter,
    WorkspaceAdmin,
)
from accord.govern.access.writekeys import CORS_HEADERS
from accord.govern.workspaces.service import get_workspace
from accord.inbox import files as uploads
from accord.inbox import intake
from accord.inbox.api import read
from accord.inbox.calls import describe_call
from accord.inbox.deps import actor_of, inbox_context
from accord.inbox.intake import Inbound, NewAttachment
from accord.inbox.people import Contact
from accord.inbox.schemas import Received
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, FieldError, invalid, unauthorized
from accord.kit.ratelimit import (
    FORMS_PER_ADDRESS,
    FORMS_PER_KEY,
    client_address,
    limiter_of,
)

router = APIRouter(tags=["channels"])
MAX_FORM_FILE = 10 * 1024 * 1024
MAX_FORM_FILES = 5
# Larger than this cannot be a form with its files: refused before it is read.
MAX_FORM_BODY = MAX_FORM_FILES * MAX_FORM_FILE + 256 * 1024


class ContactForm(BaseModel):
    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    name: str | None = Field(None, max_length=200)
    email: EmailStr | None = None
    phone: str | None = Field(None, max_length=40)
    subject: str | None = Field(None, max_length=300)
    message: str = Field(min_length=1, max_length=20_000)
    topic: str | None = Field(None, max_length=60)
    anonymousId: str | None = Field(None, max_length=200)
    userId: str | None = Field(None, max_length=200)
    formId: str | None = Field(None, max_length=200)  # idempotency key
    redirect: str | None = Field(None, max_length=2000)


def _write_key(request: Request, fields: dict[str, Any]) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    key = fields.get("writeKey")
    if isinstance(key, str) and key:
        return key
    raise unauthorized("Send the write key as a Bearer token or the writeKey field")


@router.post(
    "/v1/forms/contact",
    summary="A contact form submission (write key); opens or continues a conversation",
    status_code=201,
)
async def contact_form(request: Request, session: DbSession) -> Response:
    try:
        return await _contact_form(request, session)
    except AccordError as error:  # a browser on another site must be able to read it
        error.headers = {**error.headers, **CORS_HEADERS}
        raise


async def _contact_form(request: Request, session: DbSession) -> Response:
    limiter = limiter_of(request)
    limiter.check(FORMS_PER_ADDRESS, client_address(request))
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_FORM_BODY:
        raise AccordError(
            f"A form may carry {MAX_FORM_FILES} files of {MAX_FORM_FILE // 2**20} MB at most",
            "too_large",
            413,
            "body",
            headers=dict(CORS_HEADERS),
        )
    files: list[NewAttachment] = []
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form(max_files=MAX_FORM_FILES, max_fields=50)
        fields: Any = {}
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                data = await value.read(MAX_FORM_FILE + 1)
                if not data:
                    continue
                attachment = NewAttachment(value.filename or "file", value.content_type or "", data)
                uploads.check_file(attachment, MAX_FORM_FILE, field=key)
                files.append(attachment)
            else:
                fields[key] = value
    else:
        try:
            fields = await request.json()
        except ValueError:
            fields = None

    # The database work runs on a worker thread: the event loop stays free for the
    # other requests (on SQLite, one that holds the write lock must be able to finish).
    referer = request.headers.get("referer")

    def work() -> Response:
        # Credentials are checked before the body's own problems are reported.
        principal = access.authenticate_write_key(
            session, _write_key(request, fields if isinstance(fields, dict) else {})
        )
        limiter.check(FORMS_PER_KEY, str(principal.workspace_id))
        if not isinstance(fields, dict):
            raise invalid("The body must be a JSON object", field="body", code="malformed_json")
        try:
            form_data = ContactForm.model_validate(fields)
        except ValidationError as exc:
            errors = [
                FieldError(".".join(str(p) for p in e["loc"]) or "body", e["type"], e["msg"])
                for e in exc.errors()
            ]
            raise AccordError(
                errors[0].message, "invalid_form", 400, errors[0].field, errors, dict(CORS_HEADERS)
            ) from None
        if not (form_data.email or form_data.phone):
            raise AccordError(
                "Leave an email address or a phone number",
                "invalid_form",
                400,
                "email",
                headers=dict(CORS_HEADERS),
            )
        ctx = inbox_context(request, session, principal.workspace_id)
        got = intake.receive(
            session,
            ctx,
            Inbound(
                channel="web",
                contact=Contact(
                    email=form_data.email,
                    phone=form_data.phone,
                    name=form_data.name,
                    anonymous_id=form_data.anonymousId,
                    user_id=form_data.userId,
                ),
                body=form_data.message,
                subject=form_data.subject,
                external_id=f"form:{form_data.formId}" if form_data.formId else None,
                attachments=files,
                tags=[form_data.topic.lower()] if form_data.topic else [],
                skills=[form_data.topic.lower()] if form_data.topic else [],
                properties={"topic": form_data.topic} if form_data.topic else {},
                meta={"page": referer} if referer else {},
            ),
            request.app.state.settings.ensure_data_dir(),
        )
        session.flush()
        if form_data.redirect and form_data.redirect.startswith(("https://", "http://", "/")):
            return RedirectResponse(form_data.redirect, status_code=303)
        body = {"success": True, "conversation": got.conversation.number, "created": got.created}
        return JSONResponse(body, status_code=201, headers=CORS_HEADERS)

    return await run_in_threadpool(work)


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    direction: Literal["in", "out"] = "in"
    phone: str = Field(min_length=3, max_length=40, description="The customer's number")
    name: str | None = Field(None, max_length=200)
    duration_seconds: int | None = Field(None, ge=0)
    recording_url: str | None = Field(None, max_length=2000)
    disposition: str | None = Field(None, max_length=120)
    notes: str | None = Field(None, max_length=20_000)
    agent_id: uuid.UUID | None = Field(None, description="The agent on the call")
    external_id: str | None = Field(None, max_length=300, description="The call's id")
    at: datetime | None = None
    subject: str | None = Field(None, max_length=300)


@router.post("/api/v1/calls", response_model=Received, status_code=201, summary="Log a phone call")
def log_call(
    request: Request, session: DbSession, principal: ConversationsWriter, body: CallIn
) -> Received:
    ctx = inbox_context(request, session, principal.workspace_id)
    actor = (
        actor_of(session, principal, body.agent_id) if body.agent_id or principal.user_id else None
    )
    meta = {
        "duration_seconds": body.duration_seconds,
        "recording_url": body.recording_url,
        "disposition": body.disposition,
    }
    got = intake.receive(
        session,
        ctx,
        Inbound(
            channel="phone",
            contact=Contact(phone=body.phone, name=body.name),
            body=describe_call(body.direction, body.duration_seconds, body.disposition, body.notes),
            subject=body.subject or ("Phone call" if body.direction == "in" else "Call back"),
            external_id=f"call:{body.external_id}" if body.external_id else None,
            at=body.at,
            meta={k: v for k, v in meta.items() if v is not None},
            properties={k: v for k, v in meta.items() if v is not None}
            | {"direction": body.direction},
            direction=body.direction,
            author=actor if body.direction == "out" else None,
        ),
    )
    session.flush()
    return Received(
        conversation=read(got.conversation),
        message_id=got.message.id,
        created=got.created,
        duplicate=got.duplicate,
    )


@router.get(
    "/api/v1/contact-center/lookup",
    response_model=ScreenPop,
    summary="Screen pop: who is calling, what is open, why, and where to route",
)
def lookup_caller(
    session: DbSession,
    principal: ConversationsReader,
    phone: Annotated[str, Query(min_length=3, max_length=40)],
) -> ScreenPop:
    return screen_pop(session, get_workspace(session, principal.workspace_id), phone)


class ServerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    username: str | None = Field(None, max_length=255)
    password: str | None = Field(None, max_length=500)
    security: Literal["none", "starttls", "tls"] = "none"


class MailboxIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: EmailStr
    name: str | None = Field(None, max_length=200)
    inbound_addresses: list[EmailStr] = Field(default_factory=list, max_length=20)
    relay: ServerIn | None = None
    imap: ServerIn | None = None
    imap_folder: str = Field("INBOX", max_length=200)
    version: int | None = Field(
        None, description="The version read; a change made since is refused with 409"
    )


@router.get(
    "/api/v1/mailbox", summary="The support mailbox and its version (passwords never returned)"
)
def get_mailbox(session: DbSession, principal: WorkspaceAdmin) -> dict[str, Any]:
    box, version = mailbox.settings(session, principal.workspace_id)
    return {**box, "version": version}


@router.put("/api/v1/mailbox", summary="Set the support address, SMTP relay and IMAP account")
def put_mailbox(
    request: Request, session: DbSession, principal: WorkspaceAdmin, body: MailboxIn
) -> dict[str, Any]:
    box, version = mailbox.save(
        session,
        principal.workspace_id,
        body.model_dump(mode="json", exclude_none=True, exclude={"version"}),
        request.app.state.settings.resolved_secret_key,
        actor=principal,
        expected_version=body.version,
    )
    return {**box, "version": version}
