"""Settings > SMS: the workspace's SMS provider (its API address, account, auth token and
the number or messaging service texts come from; whether Accord answers STOP, START and
HELP itself) and the address of the inbound webhook to paste into the provider's
console. One form writes the settings group ``sms`` through ``accord.channels.sms.save``
with the version it read; a refused value is shown beside its field, with what was
typed. The auth token is write-only: the page says whether one is stored, never what it
is, and a box removes it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData

from accord.channels import sms
from accord.govern.workspaces.service import get_workspace
from accord.kit.deps import DbSession, FormBody
from accord.kit.errors import AccordError, invalid
from accord.web.auth import ConsoleAdmin
from accord.web.pages import page

router = APIRouter(prefix="/sms", include_in_schema=False)  # under /settings

# The form's fields, where a field's error is shown (others go above the form).
FIELDS = (
    "api_url",
    "account_sid",
    "auth_token",
    "from_number",
    "messaging_service_sid",
    "help_text",
)


@dataclass
class Draft:
    """What the form shows: the stored settings, or what a refused form held (never the
    token)."""

    api_url: str
    account_sid: str
    from_number: str
    messaging_service_sid: str
    help_text: str
    keyword_replies: bool
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, value: dict[str, Any]) -> Draft:
        return cls(
            api_url=str(value.get("api_url") or ""),
            account_sid=str(value.get("account_sid") or ""),
            from_number=str(value.get("from_number") or ""),
            messaging_service_sid=str(value.get("messaging_service_sid") or ""),
            help_text=str(value.get("help_text") or ""),
            keyword_replies=bool(value.get("keyword_replies")),
        )

    @classmethod
    def posted(cls, form: FormData) -> Draft:
        return cls(
            api_url=_text(form, "api_url"),
            account_sid=_text(form, "account_sid"),
            from_number=_text(form, "from_number"),
            messaging_service_sid=_text(form, "messaging_service_sid"),
            help_text=_text(form, "help_text"),
            keyword_replies=bool(_text(form, "keyword_replies")),
        )

    def raw(self, token: str, remove_token: bool) -> dict[str, Any]:
        """The settings to save: the token left out keeps the stored one, an empty one
        removes it."""
        out: dict[str, Any] = {
            "provider": "twilio",
            "api_url": self.api_url,
            "account_sid": self.account_sid,
            "from_number": self.from_number,
            "messaging_service_sid": self.messaging_service_sid,
            "keyword_replies": self.keyword_replies,
            "help_text": self.help_text,
        }
        if remove_token:
            out["auth_token"] = ""
        elif token:
            out["auth_token"] = token
        return out


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _errors(error: AccordError) -> dict[str, str]:
    """Each refused field's message, by the field it is shown beside (``form``: above)."""
    if error.code == "settings_version_conflict":
        return {"form": error.message}
    pairs = [(e.field, e.message) for e in error.errors] or [(error.field or "", error.message)]
    out: dict[str, str] = {}
    for name, message in pairs:
        out.setdefault(name if name in FIELDS else "form", message[:1].upper() + message[1:])
    return out


def webhook_url(request: Request, workspace_id: uuid.UUID) -> str:
    """Where the provider posts the texts customers send (the deployment's address)."""
    base = str(request.app.state.settings.base_url).rstrip("/")
    return f"{base}/v1/sms/{workspace_id}/inbound"


def _render(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    draft: Draft,
    version: int,
    *,
    error: AccordError | None = None,
    saved: bool = False,
    typed_token: bool = False,
) -> HTMLResponse:
    workspace_id = console.principal.workspace_id
    stored, _ = sms.settings(session, workspace_id)
    secret_key = request.app.state.settings.resolved_secret_key
    ready = sms.of(get_workspace(session, workspace_id), secret_key) is not None
    return page(
        request,
        session,
        console,
        "settings/sms.html",
        "settings",
        status_code=error.status if error else 200,
        tab="sms",
        draft=draft,
        version=version,
        saved=saved,
        token_set=bool(stored.get("auth_token_set")),
        typed_token=typed_token,
        ready=ready,
        form_error=draft.errors.get("form"),
        webhook=webhook_url(request, workspace_id),
        max_body=sms.MAX_BODY,
    )


@router.get("")
def sms_page(
    request: Request, session: DbSession, console: ConsoleAdmin, saved: str | None = None
) -> HTMLResponse:
    value, version = sms.settings(session, console.principal.workspace_id)
    return _render(request, session, console, Draft.of(value), version, saved=bool(saved))


@router.post("")
def save_sms(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    draft = Draft.posted(form)
    token = form.get("auth_token")
    token = token.strip() if isinstance(token, str) else ""
    remove_token = bool(_text(form, "remove_token"))
    raw_version = _text(form, "version")
    expected = int(raw_version) if raw_version.isdigit() and len(raw_version) < 10 else None
    try:
        with session.begin_nested():
            if not draft.account_sid:
                raise invalid("Enter the account SID the provider gave you", field="account_sid")
            if len(token) > 200:
                raise invalid("An auth token is at most 200 characters", field="auth_token")
            sms.save(
                session,
                console.principal.workspace_id,
                draft.raw(token, remove_token),
                request.app.state.settings.resolved_secret_key,
                actor=console.principal,
                expected_version=expected,
            )
    except AccordError as error:
        draft.errors = _errors(error)
        return _render(
            request,
            session,
            console,
            draft,
            expected or 0,
            error=error,
            typed_token=bool(token) and not remove_token,
        )
    return RedirectResponse("/settings/sms?saved=1", status_code=303)
