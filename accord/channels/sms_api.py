"""SMS endpoints: the workspace's provider settings (admins), and the provider's
callbacks: inbound texts and delivery receipts of the inbox's texts. A callback is
accepted only with the provider's signature over the URL it called and its parameters,
keyed with the workspace's auth token."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from accord.channels import sms
from accord.channels.sms_inbox import message_receipt, receive_text
from accord.govern.access.deps import WorkspaceAdmin
from accord.govern.workspaces.models import Workspace
from accord.inbox.deps import inbox_context
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError

router = APIRouter(tags=["channels"])
MAX_CALLBACK_BODY = 64 * 1024


class SmsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    provider: Literal["twilio"] = "twilio"
    api_url: str = Field("https://api.twilio.com", max_length=300)
    account_sid: str = Field(min_length=1, max_length=64)
    auth_token: str | None = Field(
        None,
        max_length=200,
        description="Left out, the stored token stays; an empty string removes it",
    )
    from_number: str = Field("", max_length=20)
    messaging_service_sid: str = Field("", max_length=64)
    keyword_replies: bool = False
    help_text: str = Field("", max_length=320)
    version: int | None = Field(
        None, description="The version read; a change made since is refused with 409"
    )


@router.get("/api/v1/sms", summary="The SMS provider and its version (the token never returned)")
def get_sms(session: DbSession, principal: WorkspaceAdmin) -> dict[str, Any]:
    value, version = sms.settings(session, principal.workspace_id)
    return {**value, "version": version}


@router.put("/api/v1/sms", summary="Set the SMS provider: its API, account, token and number")
def put_sms(
    request: Request, session: DbSession, principal: WorkspaceAdmin, body: SmsIn
) -> dict[str, Any]:
    value, version = sms.save(
        session,
        principal.workspace_id,
        body.model_dump(mode="json", exclude={"version"}),
        request.app.state.settings.resolved_secret_key,
        actor=principal,
        expected_version=body.version,
    )
    return {**value, "version": version}


@dataclass
class Callback:
    """A provider's callback, its signature checked."""

    workspace: Workspace
    provider: sms.Provider
    params: dict[str, str]


async def read_callback(request: Request) -> tuple[list[tuple[str, str]], str]:
    """The callback's form parameters and the URL the provider signed (the deployment's
    public address, the path and the query)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_CALLBACK_BODY:
        raise AccordError("A callback this large is not one", "too_large", 413, "body")
    form = await request.form(max_files=0, max_fields=200)
    params = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
    base = request.app.state.settings.base_url.rstrip("/")
    url = base + request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return params, url


def verify(
    session: Session,
    request: Request,
    workspace_id: uuid.UUID,
    params: list[tuple[str, str]],
    url: str,
) -> Callback:
    workspace = session.get(Workspace, workspace_id)
    secret_key = request.app.state.settings.resolved_secret_key
    provider = sms.of(workspace, secret_key) if workspace is not None else None
    given = request.headers.get("x-twilio-signature", "")
    # An unknown workspace, one without a provider and a wrong signature read the same.
    if workspace is None or provider is None or not sms.signed_by(provider, url, params, given):
        raise AccordError(
            "The callback is not signed with the workspace's SMS auth token",
            "bad_signature",
            401,
            "X-Twilio-Signature",
        )
    if dict(params).get("AccountSid", provider.account_sid) != provider.account_sid:
        raise AccordError("The callback is for another account", "wrong_account", 401, "AccountSid")
    return Callback(workspace, provider, dict(params))


async def signed_callback(
    request: Request,
    session: Session,
    workspace_id: uuid.UUID,
    act: Callable[[Callback], Response],
) -> Response:
    """Read a callback, check its signature, and ``act`` on it on a worker thread (the
    event loop stays free for other requests while the database works)."""
    params, url = await read_callback(request)

    def work() -> Response:
        return act(verify(session, request, workspace_id, params, url))

    return await run_in_threadpool(work)


def _twiml(text: str | None) -> Response:
    return Response(sms.twiml(text), media_type="text/xml")


@router.post(
    "/v1/sms/{workspace_id}/inbound",
    summary="A text a customer sent (the provider's signed webhook); answers in TwiML",
)
async def inbound_text(request: Request, session: DbSession, workspace_id: uuid.UUID) -> Response:
    def act(call: Callback) -> Response:
        ctx = inbox_context(request, session, workspace_id)
        data_dir = request.app.state.settings.ensure_data_dir()
        answer = receive_text(session, ctx, call.provider, call.params, data_dir)
        session.flush()
        return _twiml(answer)

    return await signed_callback(request, session, workspace_id, act)


@router.post(
    "/v1/sms/{workspace_id}/receipts/message/{message_id}",
    summary="A delivery receipt of an agent's text (the provider's signed callback)",
    status_code=204,
)
async def text_receipt(
    request: Request, session: DbSession, workspace_id: uuid.UUID, message_id: uuid.UUID
) -> Response:
    def act(call: Callback) -> Response:
        ctx = inbox_context(request, session, workspace_id)
        message_receipt(session, ctx, message_id, call.params)
        return Response(status_code=204)

    return await signed_callback(request, session, workspace_id, act)
