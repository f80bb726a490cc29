"""Settings → Inbox: the support mailbox, teams and business hours, agents' availability,
capacity and skills, SLA policies, canned responses and the inbox rules."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import EmailStr, TypeAdapter, ValidationError

from accord.channels import mailbox
from accord.govern.access import service as access
from accord.inbox import queries, service, setup
from accord.inbox.rules import PRIORITIES
from accord.kit.deps import DbSession, FormBody
from accord.kit.errors import AccordError, invalid
from accord.web.auth import ConsoleAdmin
from accord.web.pages import page

router = APIRouter(prefix="/settings/inbox", include_in_schema=False)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EMAIL = TypeAdapter(EmailStr)


def _uuid(raw: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw)) if raw else None
    except ValueError:
        return None


def _page(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    error: AccordError | None = None,
    editing: dict[str, uuid.UUID | None] | None = None,
) -> HTMLResponse:
    """The page; ``editing`` names the team, policy or canned response whose form is open
    (``team``, ``policy``, ``canned``)."""
    editing = editing or {}
    workspace_id = console.principal.workspace_id
    box, box_version = mailbox.settings(session, workspace_id)
    rules, rules_version = setup.inbox_settings(session, workspace_id)
    members = access.list_members(session, workspace_id)
    takers = [m for m in members if service.can_take(m.role)]
    team_rows = [(t, set(m)) for t, m in queries.teams_with_members(session, workspace_id)]
    policies = queries.policies(session, workspace_id)
    canned = queries.canned_responses(session, workspace_id)
    return page(
        request,
        session,
        console,
        "settings/inbox.html",
        "settings",
        status_code=error.status if error else 200,
        tab="inbox",
        error=error,
        box=box,
        box_version=box_version,
        rules=rules.model_dump(mode="json"),
        rules_version=rules_version,
        teams=team_rows,
        members=members,
        takers=takers,
        states=queries.agent_states(session, workspace_id),
        policies=policies,
        canned=canned,
        priorities=PRIORITIES,
        days=DAYS,
        edit_team=next((t for t in team_rows if t[0].id == editing.get("team")), None),
        edit_policy=next((p for p in policies if p.id == editing.get("policy")), None),
        edit_canned=next((c for c in canned if c.id == editing.get("canned")), None),
    )


def _attempt(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    action: Any,
    editing: dict[str, uuid.UUID | None] | None = None,
    section: str = "",
) -> Response:
    """Run one change in a savepoint: back to the page at its section, or the page again
    with the error and the form as it was."""
    try:
        with session.begin_nested():
            action()
    except AccordError as exc:
        return _page(request, session, console, exc, editing)
    return RedirectResponse(f"/settings/inbox{section}", status_code=303)


@router.get("")
def inbox_settings(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    edit_team: str = "",
    edit_policy: str = "",
    edit_canned: str = "",
) -> HTMLResponse:
    editing = {"team": _uuid(edit_team), "policy": _uuid(edit_policy), "canned": _uuid(edit_canned)}
    return _page(request, session, console, editing=editing)


@router.post("/mailbox")
def save_mailbox(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    address: Annotated[str, Form()],
    name: Annotated[str, Form()] = "",
    relay_host: Annotated[str, Form()] = "",
    relay_port: Annotated[int, Form()] = 587,
    relay_username: Annotated[str, Form()] = "",
    relay_password: Annotated[str, Form()] = "",
    relay_security: Annotated[str, Form()] = "starttls",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    def action() -> None:
        try:
            clean = str(EMAIL.validate_python(address.strip()))
        except ValidationError:
            raise invalid("Enter the support email address", field="address") from None
        if relay_security not in ("none", "starttls", "tls"):
            raise invalid("Choose none, STARTTLS or TLS", field="relay_security")
        raw: dict[str, Any] = {"address": clean.lower(), "name": name.strip() or None}
        if relay_host.strip():
            raw["relay"] = {
                "host": relay_host.strip(),
                "port": relay_port,
                "username": relay_username.strip() or None,
                "password": relay_password or None,
                "security": relay_security,
            }
        mailbox.save(
            session,
            console.principal.workspace_id,
            {k: v for k, v in raw.items() if v is not None},
            request.app.state.settings.resolved_secret_key,
            actor=console.principal,
            expected_version=version,
        )

    return _attempt(request, session, console, action)


@router.post("/teams")
def save_team(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    team_id = _uuid(form.get("team_id"))

    def action() -> None:
        hours: dict[str, Any] = {}
        if form.get("hours") == "on":
            days = [d for d in DAYS if form.get(f"day_{d}") == "on"]
            span = [str(form.get("start") or "09:00"), str(form.get("end") or "17:00")]
            hours = {
                "timezone": str(form.get("timezone") or "UTC"),
                "days": dict.fromkeys(days, span),
            }
        try:
            members = [uuid.UUID(str(v)) for v in form.getlist("members")]
        except ValueError:
            raise invalid("Choose members from the list", field="members") from None
        setup.save_team(
            session,
            console.principal.workspace_id,
            name=str(form.get("name") or "").strip() or "Support",
            routing=str(form.get("routing") or "round_robin"),
            business_hours=hours,
            is_priority_queue=form.get("priority_queue") == "on",
            members=members,
            team_id=team_id,
            actor=console.principal,
        )

    return _attempt(request, session, console, action, {"team": team_id}, "#teams")


@router.post("/teams/{team_id}/delete")
def delete_team(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    team_id: uuid.UUID,
    move_to: Annotated[str, Form()] = "",
) -> Response:
    """Delete a team; its conversations go to ``move_to`` (refused without one while any
    is open)."""
    return _attempt(
        request,
        session,
        console,
        lambda: setup.delete_team(
            session,
            console.principal.workspace_id,
            team_id,
            actor=console.principal,
            move_to=_uuid(move_to),
        ),
        section="#teams",
    )


@router.post("/agents/{user_id}")
def save_agent(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    user_id: uuid.UUID,
    capacity: Annotated[int, Form()],
    skills: Annotated[str, Form()] = "",
    available: Annotated[str, Form()] = "",
) -> Response:
    return _attempt(
        request,
        session,
        console,
        lambda: setup.set_agent(
            session,
            console.principal.workspace_id,
            user_id,
            available=available == "on",
            capacity=capacity,
            skills=skills.split(","),
        ),
    )


@router.post("/sla")
def save_policy(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    name: Annotated[str, Form()],
    policy_id: Annotated[str, Form()] = "",
    team_id: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "",
    first_response_minutes: Annotated[int | None, Form()] = None,
    next_response_minutes: Annotated[int | None, Form()] = None,
    resolution_minutes: Annotated[int | None, Form()] = None,
    business_hours: Annotated[str, Form()] = "",
) -> Response:
    """Add a policy, or change the one ``policy_id`` names."""
    editing = _uuid(policy_id)

    def action() -> None:
        if priority and priority not in PRIORITIES:
            raise invalid("Choose a priority", field="priority")
        fields: dict[str, Any] = {
            "name": name.strip() or "SLA",
            "team_id": _uuid(team_id),
            "priority": priority or None,
            "first_response_minutes": first_response_minutes or None,
            "next_response_minutes": next_response_minutes or None,
            "resolution_minutes": resolution_minutes or None,
            "business_hours": business_hours == "on",
        }
        workspace_id = console.principal.workspace_id
        if editing is None:
            setup.add_policy(session, workspace_id, actor=console.principal, **fields)
        else:
            setup.update_policy(session, workspace_id, editing, actor=console.principal, **fields)

    return _attempt(request, session, console, action, {"policy": editing}, "#sla")


@router.post("/sla/{policy_id}/delete")
def delete_policy(
    request: Request, session: DbSession, console: ConsoleAdmin, policy_id: uuid.UUID
) -> Response:
    return _attempt(
        request,
        session,
        console,
        lambda: setup.delete_policy(
            session, console.principal.workspace_id, policy_id, actor=console.principal
        ),
        section="#sla",
    )


@router.post("/canned")
def save_canned(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    shortcut: Annotated[str, Form()],
    title: Annotated[str, Form()],
    body: Annotated[str, Form()],
    canned_id: Annotated[str, Form()] = "",
) -> Response:
    """Add a canned response, or change the one ``canned_id`` names."""
    editing = _uuid(canned_id)

    def action() -> None:
        workspace_id, actor = console.principal.workspace_id, console.principal
        if editing is None:
            setup.add_canned(
                session, workspace_id, shortcut=shortcut, title=title, body=body, actor=actor
            )
        else:
            setup.update_canned(
                session,
                workspace_id,
                editing,
                shortcut=shortcut,
                title=title,
                body=body,
                actor=actor,
            )

    return _attempt(request, session, console, action, {"canned": editing}, "#canned")


@router.post("/canned/{canned_id}/delete")
def delete_canned(
    request: Request, session: DbSession, console: ConsoleAdmin, canned_id: uuid.UUID
) -> Response:
    return _attempt(
        request,
        session,
        console,
        lambda: setup.delete_canned(
            session, console.principal.workspace_id, canned_id, actor=console.principal
        ),
        section="#canned",
    )


@router.post("/rules")
def save_rules(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    reopen_window_hours: Annotated[float, Form()] = 168,
    default_team: Annotated[str, Form()] = "",
    vip_revenue: Annotated[str, Form()] = "",
    csat: Annotated[str, Form()] = "",
    version: Annotated[int | None, Form()] = None,
) -> Response:
    def action() -> None:
        current, _ = setup.inbox_settings(session, console.principal.workspace_id)
        raw = current.model_dump(mode="json")
        raw["reopen_window_hours"] = reopen_window_hours
        raw["default_team"] = default_team or None
        raw["csat"] = csat == "on"
        others = [r for r in raw.get("vip_rules") or [] if r.get("field") != "revenue"]
        if vip_revenue.strip():
            try:
                threshold = float(vip_revenue)
            except ValueError:
                raise invalid("A revenue amount, e.g. 1500", field="vip_revenue") from None
            others.append({"field": "revenue", "op": ">=", "value": threshold})
        raw["vip_rules"] = others
        setup.save_inbox_settings(
            session,
            console.principal.workspace_id,
            raw,
            actor=console.principal,
            expected_version=version,
        )

    return _attempt(request, session, console, action)
