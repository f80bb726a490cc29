"""A user's own account: changing their password in the console, and setting a new one
through a link when it is forgotten (asked for from the sign-in page)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.govern.access import resets
from accord.govern.access import service as access
from accord.kit.deps import AppSettings, DbSession
from accord.kit.errors import AccordError
from accord.kit.security import constant_time_equals
from accord.web.auth import LOGIN_CSRF_COOKIE, ConsoleUser, new_login_csrf
from accord.web.pages import page

router = APIRouter(include_in_schema=False)

NO_STORE = {"cache-control": "no-store"}


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --- the signed-in user's account -------------------------------------------------------------


def _account_page(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    *,
    error: AccordError | None = None,
    changed: bool = False,
) -> HTMLResponse:
    return page(
        request,
        session,
        console,
        "account.html",
        "account",
        status_code=error.status if error else 200,
        error=error,
        changed=changed,
        workspaces_of_user=access.member_workspaces(session, console.identity.user.id),
    )


@router.get("/account")
def account(request: Request, session: DbSession, console: ConsoleUser) -> HTMLResponse:
    return _account_page(request, session, console)


@router.post("/account/password")
def change_password(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    console: ConsoleUser,
    current_password: Annotated[str, Form(max_length=1000)] = "",
    new_password: Annotated[str, Form(max_length=1000)] = "",
    confirm: Annotated[str, Form(max_length=1000)] = "",
) -> HTMLResponse:
    ip = _client(request)
    try:
        with session.begin_nested():
            access.change_password(
                session,
                settings,
                console.identity,
                current=current_password,
                new=new_password,
                confirm=confirm,
                ip=ip,
            )
    except AccordError as error:
        if error.code == "wrong_password":
            access.record_login_failure(session, email=console.identity.user.email, ip=ip)
        response = _account_page(request, session, console, error=error)
        response.headers.update(error.headers)
        return response
    return _account_page(request, session, console, changed=True)


# --- a forgotten password ---------------------------------------------------------------------


def _public_page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> Response:
    """A page outside the console with a form: it carries a fresh double-submit token (the
    sign-in form's, in a cookie scoped to /login)."""
    token = new_login_csrf()
    error: AccordError | None = context.get("error")
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        template,
        {"csrf_token": token, **context},
        status_code=status_code,
        headers={**NO_STORE, **(error.headers if error else {})},
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


def _form_expired() -> AccordError:
    return AccordError("The form expired; please try again", code="csrf_failed", status=403)


def _csrf_ok(request: Request, submitted: str) -> bool:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return bool(cookie) and constant_time_equals(cookie, submitted)


@router.get("/login/forgot")
def forgot_page(request: Request, settings: AppSettings) -> Response:
    return _public_page(request, "forgot.html", can_send=resets.can_send(settings), email="")


@router.post("/login/forgot")
def forgot_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form(max_length=320)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    can_send = resets.can_send(settings)
    if not _csrf_ok(request, csrf_token):
        error = _form_expired()
        return _public_page(
            request, "forgot.html", status_code=403, can_send=can_send, email=email, error=error
        )
    if not can_send:
        return _public_page(request, "forgot.html", can_send=False, email=email)
    try:
        with session.begin_nested():
            resets.request_reset(session, settings, email=email, ip=_client(request))
    except AccordError as error:
        return _public_page(
            request,
            "forgot.html",
            status_code=error.status,
            can_send=True,
            email=email,
            error=error,
        )
    return _public_page(request, "forgot.html", can_send=True, email=email, sent=True)


def _reset_form(
    request: Request, token: str, *, error: AccordError | None = None, email: str = ""
) -> Response:
    return _public_page(
        request,
        "reset.html",
        status_code=error.status if error else 200,
        token=token,
        email=email,
        error=error,
    )


def _link_refused(request: Request, settings: AppSettings, error: AccordError) -> Response:
    return _public_page(
        request,
        "reset.html",
        status_code=error.status,
        refused=error,
        can_send=resets.can_send(settings),
    )


@router.get(resets.RESET_PATH)
def reset_page(
    request: Request, session: DbSession, settings: AppSettings, token: str = ""
) -> Response:
    try:
        _, user = resets.check_link(session, token)
    except AccordError as error:
        return _link_refused(request, settings, error)
    return _reset_form(request, token, email=user.email)


@router.post(resets.RESET_PATH)
def reset_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    token: Annotated[str, Form(max_length=1000)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    confirm: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    if not _csrf_ok(request, csrf_token):
        return _reset_form(request, token, error=_form_expired())
    try:
        with session.begin_nested():
            resets.complete_reset(session, token=token, password=password, confirm=confirm)
    except AccordError as error:
        if error.field == "token":
            return _link_refused(request, settings, error)
        return _reset_form(request, token, error=error)
    return RedirectResponse("/login?password=reset", status_code=303, headers=NO_STORE)
