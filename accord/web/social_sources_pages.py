"""Settings > Social > Sources (admins only): add a place to listen, turn one off or on,
remove one, and import another tool's posts into an import source.

A source is added with the fields its kind needs: Bluesky (search or the Jetstream, the
account's handle and an app password), Mastodon (the instance, hashtags, keywords, an
access token), Reddit (subreddits, keywords, the app's client id and secret, the
account's username and password), a feed (its address, keywords), a webhook (nothing:
its address and signing secret are shown once, on the page that answers the form) or
imports. Credentials go to ``accord.social.connections`` (encrypted there) and are
never shown back, not even on a refused form. An import reads a CSV or JSON Lines file
as the API does and reports the rows it refused by line."""

from __future__ import annotations

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from accord.govern.workspaces.service import get_workspace
from accord.inbox.deps import inbox_context
from accord.kit.deps import DbSession, FormBody
from accord.kit.errors import AccordError, invalid
from accord.kit.signals import after_commit
from accord.social import connections
from accord.social.models import SocialSource
from accord.social.schemas import SourceIn, SourcePatch
from accord.social.service import SocialContext, hear, open_pending
from accord.social.sources import imports
from accord.web.auth import Console, ConsoleAdmin
from accord.web.forms import form_error
from accord.web.social_settings_pages import render, webhook_url

router = APIRouter(prefix="/social/sources", include_in_schema=False)  # under /settings

# Per kind, its fields: (name, where it goes, label). "setting" fields are stored with the
# source and shown; "secret" ones are credentials. Bluesky's handle is both the account
# listened as (a setting) and the identifier it signs in with (a credential).
FIELDS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "bluesky": (
        ("mode", "setting", "How it listens"),
        ("handle", "both", "Account handle"),
        ("app_password", "secret", "App password"),
    ),
    "mastodon": (
        ("instance", "setting", "Instance address"),
        ("hashtags", "setting", "Hashtags"),
        ("keywords", "setting", "Keywords"),
        ("access_token", "secret", "Access token"),
    ),
    "reddit": (
        ("subreddits", "setting", "Subreddits"),
        ("keywords", "setting", "Keywords"),
        ("client_id", "secret", "Client id"),
        ("client_secret", "secret", "Client secret"),
        ("username", "secret", "Username"),
        ("password", "secret", "Password"),
    ),
    "rss": (("url", "setting", "Feed address"), ("keywords", "setting", "Keywords")),
    "webhook": (),
    "import": (("network", "setting", "Network of rows without one"),),
}
IDENTIFIER = {"handle": "identifier"}  # a "both" field's credential name
MAX_IMPORT = 5 * 1024 * 1024  # the largest file taken, as the API
OPEN_NOW = 25  # conversations an import opens before it answers; the job engine the rest
SHOWN_ERRORS = 50  # refused rows listed on the page


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def _body(kind: str, form: FormData) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """The settings and credentials of a kind's fields as posted, and the values to show
    again if the form is refused (settings only: never a credential)."""
    settings: dict[str, Any] = {}
    credentials: dict[str, str] = {}
    shown: dict[str, str] = {}
    for name, where, _ in FIELDS.get(kind, ()):
        value = _text(form, f"{kind}.{name}")
        if not value:
            continue
        if where in ("setting", "both"):
            settings[name] = value.lstrip("@") if name == "handle" else value
            shown[name] = value
        if where in ("secret", "both"):
            credentials[IDENTIFIER.get(name, name)] = value.lstrip("@")
    return settings, credentials, shown


def _field_errors(kind: str, error: AccordError) -> dict[str, str]:
    """Each refused field by the input it is shown beside (``form``: above the form)."""
    names = {n for n, _, _ in FIELDS.get(kind, ())}
    pairs = [(e.field, e.message) for e in error.errors] or [(error.field or "", error.message)]
    out: dict[str, str] = {}
    for name, message in pairs:
        message = message.removeprefix("Value error, ")
        # connections says "settings.url: 'x' is not an http or https address".
        message = message.split(": ", 1)[1] if message.startswith(f"{name}: ") else message
        if name.startswith("settings."):
            field = name.removeprefix("settings.")
            key = f"{kind}.{field}" if field in names else "form"
        elif name in ("name", "kind"):
            key = name
        else:
            key = "form"
        out.setdefault(key, message[:1].upper() + message[1:])
    return out


def _fetch_soon(request: Request, session: Session, source: SocialSource) -> None:
    """A polled source is fetched once this request commits (the API does the same)."""
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is None or source.kind not in connections.POLLED or not source.enabled:
        return
    source_id = source.id
    after_commit(session, lambda: jobs.enqueue("social.fetch", source_id))


@router.post("")
def add_source(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    """Add a source; a webhook's address and secret are shown once on the page that
    answers, which asks the browser to forget the form's address."""
    kind = _text(form, "kind")
    name = _text(form, "name")
    settings, credentials, shown = _body(kind, form)
    workspace = get_workspace(session, console.principal.workspace_id)
    secret_key = request.app.state.settings.resolved_secret_key
    try:
        try:
            body = SourceIn.model_validate(
                {"kind": kind, "name": name, "settings": settings, "credentials": credentials}
            )
        except ValidationError as exc:
            raise form_error(exc) from exc
        with session.begin_nested():
            source = connections.create(
                session, workspace, body, actor=console.principal, secret_key=secret_key
            )
    except AccordError as error:
        kept = {"kind": kind or "bluesky", "name": name, "values": shown}
        kept["errors"] = _field_errors(kind, error)
        return render(request, session, console, error=error, source_form=kept)
    _fetch_soon(request, session, source)
    if source.kind != "webhook":
        added = quote(source.name, safe="")
        return RedirectResponse(f"/settings/social?added={added}#sources", status_code=303)
    created = {
        "name": source.name,
        "url": webhook_url(request, source),
        "secret": connections.webhook_secret(source, secret_key),
    }
    return render(request, session, console, created=created)


def _source(session: Session, console: Console, source_id: uuid.UUID) -> SocialSource:
    return connections.get(session, console.principal.workspace_id, source_id)


@router.post("/{source_id}/enabled")
def set_enabled(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    source_id: uuid.UUID,
    enabled: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Turn a source on (it is fetched again at once) or off (it stops listening)."""
    source = _source(session, console, source_id)
    workspace = get_workspace(session, console.principal.workspace_id)
    connections.update(
        session,
        workspace,
        source,
        SourcePatch(enabled=enabled == "1"),
        actor=console.principal,
        secret_key=request.app.state.settings.resolved_secret_key,
    )
    _fetch_soon(request, session, source)
    return RedirectResponse("/settings/social#sources", status_code=303)


@router.post("/{source_id}/remove")
def remove_source(session: DbSession, console: ConsoleAdmin, source_id: uuid.UUID) -> Response:
    """Stop listening on a source; the mentions it heard stay."""
    source = _source(session, console, source_id)
    name = source.name
    workspace = get_workspace(session, console.principal.workspace_id)
    connections.remove(session, workspace, source, actor=console.principal)
    return RedirectResponse(
        f"/settings/social?removed={quote(name, safe='')}#sources", status_code=303
    )


@router.post("/{source_id}/import")
async def import_file(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    source_id: uuid.UUID,
    file: UploadFile,
) -> Response:
    """Read a CSV or JSON Lines file into an import source: its good rows are heard
    (understood, triaged, the ones to respond to in the inbox), its bad ones listed by
    line with the field at fault."""
    data = await file.read(MAX_IMPORT + 1)
    filename = (file.filename or "").lower()

    def work() -> dict[str, Any]:
        source = _source(session, console, source_id)
        if source.kind != "import":
            raise invalid("Posts are imported into an import source", field="source_id")
        if len(data) > MAX_IMPORT:
            raise invalid("An import holds at most 5 MB", field="file")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise invalid("The file is not UTF-8 text", field="file") from exc
        if not text.strip():
            raise invalid("The file is empty", field="file")
        network = str((source.options or {}).get("network") or "import")
        jsonl = filename.endswith((".jsonl", ".ndjson", ".json")) or text.lstrip().startswith("{")
        posts, errors = (
            imports.parse_jsonl(text, default_network=network)
            if jsonl
            else imports.parse_csv(text, default_network=network)
        )
        ctx = SocialContext.of(inbox_context(request, session, console.principal.workspace_id))
        with session.begin_nested():
            outcome = hear(session, ctx, posts, source=source)
            opened = len(open_pending(session, ctx, limit=OPEN_NOW)) if outcome.to_open else 0
        jobs = getattr(request.app.state, "jobs", None)
        if outcome.to_open > opened and jobs is not None:
            workspace_id = ctx.workspace.id
            after_commit(session, lambda: jobs.enqueue("social.open", workspace_id))
        return {
            "source": source.name,
            "file": file.filename or "the file",
            "rows": len(posts) + len(errors),
            "stored": outcome.stored,
            "updated": outcome.updated,
            "ignored": outcome.ignored,
            "respond": outcome.decisions.get("respond", 0),
            "errors": [e.as_dict() for e in errors[:SHOWN_ERRORS]],
            "more_errors": max(len(errors) - SHOWN_ERRORS, 0),
        }

    try:
        imported = await run_in_threadpool(work)
    except AccordError as error:
        return render(
            request,
            session,
            console,
            error=error,
            imported={"failed": error.message, "file": file.filename or "the file"},
        )
    return render(request, session, console, imported=imported)
