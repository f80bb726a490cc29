"""Console shell: sign-in, sign-out, the areas and the workspace switcher."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.govern.access import service as access
from accord.govern.access.service import ConsoleIdentity
from accord.kit.deps import AppSettings, DbSession
from accord.kit.errors import AccordError
from accord.kit.security import constant_time_equals
from accord.web.auth import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    Console,
    ConsoleUser,
    new_login_csrf,
)

router = APIRouter(include_in_schema=False)

AREAS = [
    ("customers", "Customers", "Every person, resolved across channels"),
    ("inbox", "Inbox", "Conversations on every channel"),
    ("social", "Social", "Mentions of the brand on the networks, triaged and answered"),
    ("analytics", "Analytics", "Segments, value and service metrics"),
    ("knowledge", "Knowledge", "Help-center articles and internal answers"),
    ("privacy", "Privacy", "Data-subject requests, retention, the access log"),
    ("settings", "Settings", "Users, keys and the workspace"),
]


def safe_next(next_path: str | None) -> str:
    """Only same-site relative paths are followed after sign-in."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//"):
        return "/"
    if "\\" in next_path or next_path.startswith("/login"):
        return "/"
    return next_path


def page(
    request: Request,
    session: DbSession,
    console: Console,
    template: str,
    area: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render a console page with the layout's context (user, workspace, switcher)."""
    identity: ConsoleIdentity = console.identity
    others = access.member_workspaces(session, identity.user.id)
    current = identity.membership.workspace_id
    workspace = next((w for w in others if w.id == current), None)
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        template,
        {
            "console": console,
            "user": identity.user,
            "role": console.role.value,
            "workspace": workspace,
            "workspaces": others,
            "areas": AREAS,
            "area": area,
            "csrf_token": console.csrf_token,
            **context,
        },
        status_code=status_code,
    )
    return response


LOGIN_NOTICES = {
    "reset": "Your new password is set and every session of your account was signed out. "
    "Sign in with the new password.",
}


def _login_form(
    request: Request,
    *,
    next_path: str,
    error: AccordError | None = None,
    email: str = "",
    notice: str | None = None,
) -> Response:
    token = new_login_csrf()
    status = error.status if error else 200
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(
        request,
        "login.html",
        {
            "csrf_token": token,
            "next": next_path,
            "error": error,
            "email": email,
            "notice": notice,
        },
        status_code=status,
        headers=error.headers if error else None,
    )
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login")
    return response


@router.get("/login")
def login_page(request: Request, next: str | None = None, password: str | None = None) -> Response:
    notice = LOGIN_NOTICES.get(password or "")
    return _login_form(request, next_path=safe_next(next), notice=notice)


@router.post("/login")
def login_submit(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
) -> Response:
    next_path = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not constant_time_equals(cookie, csrf_token):
        error = AccordError(
            "The sign-in form expired; please try again", code="csrf_failed", status=403
        )
        return _login_form(request, next_path=next_path, error=error, email=email)
    ip = request.client.host if request.client else "unknown"
    try:
        _, token = access.login(
            session,
            settings,
            email=email,
            password=password,
            ip=ip,
            user_agent=request.headers.get("user-agent"),
        )
    except AccordError as error:
        if error.code == "invalid_credentials":
            access.record_login_failure(session, email=email, ip=ip)
        return _login_form(request, next_path=next_path, error=error, email=email)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        max_age=settings.session_days * 86400,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(request: Request, session: DbSession, console: ConsoleUser) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        access.logout(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def home(console: ConsoleUser) -> Response:
    return RedirectResponse("/customers", status_code=303)


@router.post("/workspace/switch")
def switch_workspace(
    session: DbSession,
    console: ConsoleUser,
    workspace_id: Annotated[uuid.UUID, Form()],
) -> Response:
    access.switch_workspace(session, console.identity, workspace_id)
    return RedirectResponse("/", status_code=303)
