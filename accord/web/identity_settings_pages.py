"""Settings > Identity: the identity rules (identifier types, blocked values, shared
devices), the source priority of the golden record and the matching thresholds. Each form
writes its settings group through the group owner's service, with the version it read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from accord.govern.workspaces.service import get_workspace
from accord.govern.workspaces.settings import invalid_settings
from accord.kit.deps import DbSession, FormBody
from accord.kit.errors import AccordError, invalid
from accord.match import settings as match_settings
from accord.match.settings import MATCH, MatchSettings
from accord.profile.settings import PROFILE, ProfileSettings
from accord.resolve.rules import DEFAULT_TYPES, EXTERNAL_PRIORITY
from accord.resolve.settings import IDENTITY, IdentitySettings, TypeSetting
from accord.web.auth import ConsoleAdmin
from accord.web.pages import page

router = APIRouter(prefix="/settings", include_in_schema=False)
NEW_ROWS = 1


def _identity_page(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    *,
    error: AccordError | None = None,
    saved: str | None = None,
    draft: dict[str, Any] | None = None,
) -> HTMLResponse:
    """``draft``: what a refused form held, shown again instead of the stored values."""
    workspace = get_workspace(session, console.principal.workspace_id)
    rules = IDENTITY.read(workspace)
    rows: list[dict[str, Any]] = []
    for name in [*DEFAULT_TYPES, *sorted(n for n in rules.types if n not in DEFAULT_TYPES)]:
        base = DEFAULT_TYPES.get(name)
        spec = rules.types.get(name) or TypeSetting()
        rows.append(
            {
                "name": name,
                "standard": base is not None,
                "default_priority": base.priority if base else EXTERNAL_PRIORITY,
                "default_unique": base.unique if base else False,
                "default_limit": base.limit if base else None,
                "spec": spec,
                "blocked": "\n".join(rules.blocked.get(name, [])),
            }
        )
    settings = request.app.state.settings
    return page(
        request,
        session,
        console,
        "settings/identity.html",
        "settings",
        status_code=error.status if error else 200,
        tab="identity",
        error=error,
        saved=saved,
        rules=rules,
        rows=rows,
        new_rows=range(len(rows), len(rows) + NEW_ROWS),
        identity_version=IDENTITY.version(workspace),
        sources=PROFILE.read(workspace).source_priority,
        draft=draft or {},
        profile_version=PROFILE.version(workspace),
        match=MATCH.read(workspace),
        match_version=MATCH.version(workspace),
        default_auto_merge=settings.match_auto_merge,
        default_review=settings.match_review,
    )


def _version(form: Any) -> int | None:
    raw = str(form.get("version") or "").strip()
    return int(raw) if raw.isdigit() else None


def _number(form: Any, key: str, kind: type[int] | type[float]) -> Any:
    raw = str(form.get(key) or "").strip()
    if not raw:
        return None
    try:
        return kind(raw)
    except ValueError:
        raise invalid(f"{raw!r} is not a number", field=key) from None


def _names(raw: object) -> list[str]:
    """Names typed into one field, separated by commas or lines."""
    return [n.strip() for n in str(raw or "").replace("\n", ",").split(",") if n.strip()]


@router.get("/identity")
def identity_page(
    request: Request, session: DbSession, console: ConsoleAdmin, saved: str | None = None
) -> HTMLResponse:
    return _identity_page(request, session, console, saved=saved)


def _save(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    what: str,
    write: Any,
    form: Any,
) -> Response:
    draft = {f"{what}.{k}": str(v) for k, v in form.items() if k != "csrf_token"}
    try:
        with session.begin_nested():
            write()
    except ValidationError as exc:
        error = invalid_settings(exc)
        return _identity_page(request, session, console, error=error, draft=draft)
    except AccordError as error:
        return _identity_page(request, session, console, error=error, draft=draft)
    return RedirectResponse(f"/settings/identity?saved={what}#{what}", status_code=303)


@router.post("/identity/rules")
def save_rules(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:

    def write() -> None:
        types: dict[str, TypeSetting] = {}
        blocked: dict[str, list[str]] = {}
        i = 0
        while f"t{i}-name" in form:
            name = str(form.get(f"t{i}-name") or "").strip().lower()
            if name:
                unique_raw = str(form.get(f"t{i}-unique") or "")
                spec = TypeSetting(
                    priority=_number(form, f"t{i}-priority", int),
                    unique=None if unique_raw == "" else unique_raw == "yes",
                    limit=_number(form, f"t{i}-limit", int),
                )
                if spec != TypeSetting() or name not in DEFAULT_TYPES:
                    types[name] = spec
                values = [v.strip() for v in str(form.get(f"t{i}-blocked") or "").splitlines()]
                if any(values):
                    blocked[name] = [v for v in values if v]
            i += 1
        value = IdentitySettings(
            types=types,
            blocked=blocked,
            shared_device_threshold=_number(form, "shared_device_threshold", int) or 3,
        )
        workspace = get_workspace(session, console.principal.workspace_id)
        IDENTITY.write(
            session, workspace, value, actor=console.principal, expected_version=_version(form)
        )

    return _save(request, session, console, "rules", write, form)


@router.post("/identity/sources")
def save_sources(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:

    def write() -> None:
        priorities: dict[str, int] = {}
        for n, line in enumerate(str(form.get("sources") or "").splitlines(), start=1):
            if not line.strip():
                continue
            source, sep, number = line.rpartition("=")
            try:
                priorities[source.strip()] = int(number.strip())
            except ValueError:
                raise invalid(
                    f"line {n}: write it as source = priority, e.g. crm = 10", field="sources"
                ) from None
            if not sep or not source.strip():
                raise invalid(f"line {n}: a source name comes before '='", field="sources")
        workspace = get_workspace(session, console.principal.workspace_id)
        PROFILE.write(
            session,
            workspace,
            ProfileSettings(source_priority=priorities),
            actor=console.principal,
            expected_version=_version(form),
        )

    return _save(request, session, console, "sources", write, form)


@router.post("/identity/matching")
def save_matching(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:

    def write() -> None:
        value = MatchSettings(
            auto_merge=_number(form, "auto_merge", float),
            review=_number(form, "review", float),
            id_traits=_names(form.get("id_traits")),
        )
        workspace = get_workspace(session, console.principal.workspace_id)
        match_settings.update(
            session,
            console.principal,
            workspace,
            value,
            request.app.state.settings,
            _version(form),
        )

    return _save(request, session, console, "matching", write, form)
