"""Settings: an admin manages the workspace's users and keys, sees the events resolution
failed on and retries them; everyone sees the audit log of what they are allowed to
read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.govern.access import service as access
from accord.govern.access.scopes import SCOPE_DESCRIPTIONS, Role, Scope
from accord.govern.audit import service as audit
from accord.govern.workspaces import service as workspaces
from accord.kit.deps import DbSession, publisher
from accord.kit.errors import AccordError
from accord.resolve import failures
from accord.web.auth import ConsoleAdmin
from accord.web.pages import page
from accord.web.sms_settings_pages import router as sms_settings_router
from accord.web.social_settings_pages import router as social_settings_router
from accord.web.social_sources_pages import router as social_sources_router

router = APIRouter(prefix="/settings", include_in_schema=False)


@router.get("")
def settings_home(console: ConsoleAdmin) -> Response:
    return RedirectResponse("/settings/users", status_code=303)


def _users_page(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    *,
    error: AccordError | None = None,
    created: tuple[str, str | None] | None = None,
) -> HTMLResponse:
    members = access.list_members(session, console.principal.workspace_id)
    return page(
        request,
        session,
        console,
        "settings/users.html",
        "settings",
        status_code=error.status if error else 200,
        tab="users",
        members=members,
        roles=[r.value for r in Role],
        error=error,
        created=created,
    )


@router.get("/users")
def users(request: Request, session: DbSession, console: ConsoleAdmin) -> HTMLResponse:
    return _users_page(request, session, console)


@router.post("/users")
def add_user(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    email: Annotated[str, Form(max_length=320)],
    role: Annotated[str, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
) -> HTMLResponse:
    try:
        with session.begin_nested():
            membership, generated = access.add_member(
                session,
                workspace_id=console.principal.workspace_id,
                email=email,
                role=role,
                name=name,
                actor=console.principal,
            )
    except AccordError as error:
        return _users_page(request, session, console, error=error)
    return _users_page(request, session, console, created=(membership.user.email, generated))


@router.post("/users/{user_id}/role")
def change_role(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    user_id: uuid.UUID,
    role: Annotated[str, Form()],
) -> Response:
    try:
        with session.begin_nested():
            access.update_member(
                session,
                workspace_id=console.principal.workspace_id,
                user_id=user_id,
                role=role,
                actor=console.principal,
            )
    except AccordError as error:
        return _users_page(request, session, console, error=error)
    return RedirectResponse("/settings/users", status_code=303)


@router.post("/users/{user_id}/remove")
def remove_user(
    request: Request, session: DbSession, console: ConsoleAdmin, user_id: uuid.UUID
) -> Response:
    try:
        with session.begin_nested():
            access.remove_member(
                session,
                workspace_id=console.principal.workspace_id,
                user_id=user_id,
                actor=console.principal,
            )
    except AccordError as error:
        return _users_page(request, session, console, error=error)
    return RedirectResponse("/settings/users", status_code=303)


def _keys_page(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    *,
    error: AccordError | None = None,
    created: tuple[str, str] | None = None,
) -> HTMLResponse:
    keys = access.list_keys(session, console.principal.workspace_id)
    return page(
        request,
        session,
        console,
        "settings/keys.html",
        "settings",
        status_code=error.status if error else 200,
        tab="keys",
        write_keys=[k for k in keys if k.kind == "write"],
        tokens=[k for k in keys if k.kind == "token"],
        scopes=[(s.value, SCOPE_DESCRIPTIONS[s]) for s in Scope],
        error=error,
        created=created,
    )


@router.get("/keys")
def keys(request: Request, session: DbSession, console: ConsoleAdmin) -> HTMLResponse:
    return _keys_page(request, session, console)


@router.post("/keys")
def create_key(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    kind: Annotated[str, Form()],
    name: Annotated[str, Form(max_length=200)] = "",
    scopes: Annotated[list[str] | None, Form()] = None,
) -> Response:
    try:
        with session.begin_nested():
            key, secret = access.create_key(
                session,
                workspace_id=console.principal.workspace_id,
                kind=kind,
                name=name,
                scopes=(scopes or []) if kind == "token" else None,
                actor=console.principal,
            )
    except AccordError as error:
        return _keys_page(request, session, console, error=error)
    return _keys_page(request, session, console, created=(key.name, secret))


@router.post("/keys/{key_id}/revoke")
def revoke_key(
    request: Request, session: DbSession, console: ConsoleAdmin, key_id: uuid.UUID
) -> Response:
    access.revoke_key(
        session,
        workspace_id=console.principal.workspace_id,
        key_id=key_id,
        actor=console.principal,
        publish=publisher(request),
    )
    return RedirectResponse("/settings/keys", status_code=303)


FAILED_SHOWN = 50


@router.get("/workspace")
def workspace_page(request: Request, session: DbSession, console: ConsoleAdmin) -> HTMLResponse:
    failed = failures.failed(session, console.principal.workspace_id, limit=FAILED_SHOWN, offset=0)
    return page(
        request,
        session,
        console,
        "settings/workspace.html",
        "settings",
        tab="workspace",
        failed=failed,
    )


@router.post("/workspace/failed/retry")
def retry_failed_events(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    event_id: Annotated[uuid.UUID | None, Form()] = None,
) -> Response:
    """Every failed event back to be resolved, or the one named."""
    failures.retry(
        session,
        console.principal,
        [event_id] if event_id is not None else None,
        wake=list(request.app.state.accept_listeners),
    )
    return RedirectResponse("/settings/workspace#failed-events", status_code=303)


@router.post("/workspace")
def rename_workspace(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    name: Annotated[str, Form(max_length=200)],
) -> Response:
    workspaces.rename_workspace(session, console.principal.workspace_id, name)
    return RedirectResponse("/settings/workspace", status_code=303)


@router.get("/audit")
def audit_page(request: Request, session: DbSession, console: ConsoleAdmin) -> HTMLResponse:
    events = audit.recent(session, console.principal.workspace_id, limit=200)
    return page(
        request, session, console, "settings/audit.html", "settings", tab="audit", events=events
    )


# Settings > SMS and Settings > Social live in their own modules; their pages are served
# under this router's prefix.
router.include_router(sms_settings_router)
router.include_router(social_settings_router)
router.include_router(social_sources_router)
