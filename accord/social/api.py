"""/api/v1/social: the listening rules, the sources (created, changed, fetched now), the
mentions with their triage (and a person's decision over it), the triage queue and the
metrics; posts pushed by another listening tool (a signed webhook) or imported from a
CSV or JSON Lines file."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from accord.customers.queries import decode_cursor, encode_cursor
from accord.govern.access.deps import (
    ConversationsReader,
    ConversationsWriter,
    WorkspaceAdmin,
)
from accord.govern.workspaces.service import get_workspace
from accord.inbox.deps import inbox_context
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid
from accord.kit.schemas import DataList
from accord.kit.signals import after_commit
from accord.kit.time import utcnow
from accord.social import connections, metrics, queries
from accord.social.models import SocialSource
from accord.social.schemas import (
    AnsweredIn,
    DecisionIn,
    Heard,
    ListeningIn,
    ListeningOut,
    MentionOut,
    MentionPage,
    SourceIn,
    SourceOut,
    SourcePatch,
)
from accord.social.service import (
    Outcome,
    SocialContext,
    decide_by_hand,
    hear,
    mark_answered,
    open_pending,
)
from accord.social.settings import LISTENING, ListeningSettings
from accord.social.sources import imports, webhook

router = APIRouter(prefix="/api/v1/social", tags=["social"])
hooks_router = APIRouter(tags=["social"])
MAX_PUSH = 5 * 1024 * 1024  # the largest webhook body or import file taken
OPEN_NOW = 25  # conversations a push opens before it answers; the job engine the rest


def source_out(request: Request, source: SocialSource, secret: str | None = None) -> SourceOut:
    base = request.app.state.settings.base_url.rstrip("/")
    return SourceOut(
        id=source.id,
        kind=source.kind,
        name=source.name,
        settings=dict(source.options or {}),
        has_credentials=bool(source.credentials_encrypted),
        enabled=source.enabled,
        status=source.status,
        last_error=source.last_error,
        failures=source.failures,
        interval_seconds=source.interval_seconds,
        next_fetch_at=source.next_fetch_at,
        last_fetched_at=source.last_fetched_at,
        heard=source.heard,
        webhook_url=(
            f"{base}/v1/social/{source.workspace_id}/webhook/{source.id}"
            if source.kind == "webhook"
            else None
        ),
        webhook_secret=secret,
        created_at=source.created_at,
    )


def _context(request: Request, session: Session, workspace_id: uuid.UUID) -> SocialContext:
    return SocialContext.of(inbox_context(request, session, workspace_id))


def _heard(received: int, outcome: Outcome, errors: list[dict[str, Any]], opened: int) -> Heard:
    return Heard(
        received=received,
        mentions=outcome.heard,
        stored=outcome.stored,
        updated=outcome.updated,
        ignored=outcome.ignored,
        respond=outcome.decisions.get("respond", 0),
        wait=outcome.decisions.get("wait", 0),
        dismiss=outcome.decisions.get("dismiss", 0),
        escalated=outcome.escalated,
        conversations=opened,
        errors=errors,
    )


def _open(request: Request, session: Session, ctx: SocialContext, outcome: Outcome) -> int:
    """The conversations of a push's mentions to respond to: a few at once (the agent
    sees them now), the rest by the job engine after the commit."""
    opened = len(open_pending(session, ctx, limit=OPEN_NOW)) if outcome.to_open else 0
    jobs = getattr(request.app.state, "jobs", None)
    if outcome.to_open > opened and jobs is not None:
        workspace_id = ctx.workspace.id
        after_commit(session, lambda: jobs.enqueue("social.open", workspace_id))
    return opened


# --- listening rules ----------------------------------------------------------------------


@router.get("/listening", response_model=ListeningOut, summary="What the workspace listens for")
def get_listening(session: DbSession, principal: ConversationsReader) -> ListeningOut:
    workspace = get_workspace(session, principal.workspace_id)
    value = LISTENING.read(workspace)
    return ListeningOut(**value.model_dump(), version=LISTENING.version(workspace))


@router.put(
    "/listening",
    response_model=ListeningOut,
    summary="Change the listening rules, triage rules, SLA and alerts",
)
def put_listening(session: DbSession, principal: WorkspaceAdmin, body: ListeningIn) -> ListeningOut:
    workspace = get_workspace(session, principal.workspace_id)
    value = ListeningSettings.model_validate(body.model_dump(exclude={"version"}))
    LISTENING.write(session, workspace, value, actor=principal, expected_version=body.version)
    return ListeningOut(
        **LISTENING.read(workspace).model_dump(), version=LISTENING.version(workspace)
    )


# --- sources ------------------------------------------------------------------------------


@router.get("/sources", response_model=DataList[SourceOut], summary="The sources listened on")
def list_sources(
    request: Request, session: DbSession, principal: WorkspaceAdmin
) -> DataList[SourceOut]:
    rows = queries.sources(session, principal.workspace_id)
    return DataList(data=[source_out(request, s) for s in rows])


@router.post("/sources", response_model=SourceOut, status_code=201, summary="Listen somewhere new")
def create_source(
    request: Request, session: DbSession, principal: WorkspaceAdmin, body: SourceIn
) -> SourceOut:
    workspace = get_workspace(session, principal.workspace_id)
    secret_key = request.app.state.settings.resolved_secret_key
    source = connections.create(
        session,
        workspace,
        body,
        actor=principal,
        secret_key=secret_key,
        private_hosts=request.app.state.settings.social_private_hosts,
    )
    secret = connections.webhook_secret(source, secret_key) if source.kind == "webhook" else None
    _fetch_soon(request, session, source)
    return source_out(request, source, secret)


@router.get("/sources/{source_id}", response_model=SourceOut, summary="One source and its health")
def get_source(
    request: Request, session: DbSession, principal: WorkspaceAdmin, source_id: uuid.UUID
) -> SourceOut:
    return source_out(request, connections.get(session, principal.workspace_id, source_id))


@router.patch("/sources/{source_id}", response_model=SourceOut, summary="Change a source")
def patch_source(
    request: Request,
    session: DbSession,
    principal: WorkspaceAdmin,
    source_id: uuid.UUID,
    body: SourcePatch,
) -> SourceOut:
    workspace = get_workspace(session, principal.workspace_id)
    source = connections.get(session, workspace.id, source_id)
    connections.update(
        session,
        workspace,
        source,
        body,
        actor=principal,
        secret_key=request.app.state.settings.resolved_secret_key,
        private_hosts=request.app.state.settings.social_private_hosts,
    )
    _fetch_soon(request, session, source)
    return source_out(request, source)


@router.delete("/sources/{source_id}", status_code=204, summary="Stop listening on a source")
def delete_source(session: DbSession, principal: WorkspaceAdmin, source_id: uuid.UUID) -> None:
    workspace = get_workspace(session, principal.workspace_id)
    connections.remove(
        session, workspace, connections.get(session, workspace.id, source_id), actor=principal
    )


@router.post(
    "/sources/{source_id}/fetch",
    response_model=SourceOut,
    status_code=202,
    summary="Fetch a source now (a failing one is tried again)",
)
def fetch_source(
    request: Request, session: DbSession, principal: WorkspaceAdmin, source_id: uuid.UUID
) -> SourceOut:
    source = connections.get(session, principal.workspace_id, source_id)
    if source.kind not in connections.POLLED:
        raise invalid(
            f"A {source.kind} source is not fetched: posts are sent to it", field="source_id"
        )
    source.status, source.next_fetch_at = "ok", None
    _fetch_soon(request, session, source)
    return source_out(request, source)


def _fetch_soon(request: Request, session: Session, source: SocialSource) -> None:
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is None or source.kind not in connections.POLLED or not source.enabled:
        return
    source_id = source.id
    after_commit(session, lambda: jobs.enqueue("social.fetch", source_id))


@router.post(
    "/sources/{source_id}/import",
    response_model=Heard,
    summary="Import posts from a CSV or JSON Lines file (bad rows reported by line)",
)
async def import_posts(
    request: Request,
    session: DbSession,
    principal: WorkspaceAdmin,
    source_id: uuid.UUID,
    file: UploadFile,
) -> Heard:
    data = await file.read(MAX_PUSH + 1)
    if len(data) > MAX_PUSH:
        raise AccordError("An import holds at most 5 MB", "too_large", 413, "file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise invalid("The file is not UTF-8 text", field="file") from exc
    name = (file.filename or "").lower()

    def work() -> Heard:
        source = connections.get(session, principal.workspace_id, source_id)
        if source.kind != "import":
            raise invalid("Posts are imported into an import source", field="source_id")
        network = str((source.options or {}).get("network") or "import")
        jsonl = name.endswith((".jsonl", ".ndjson", ".json")) or text.lstrip().startswith("{")
        posts, errors = (
            imports.parse_jsonl(text, default_network=network)
            if jsonl
            else imports.parse_csv(text, default_network=network)
        )
        ctx = _context(request, session, principal.workspace_id)
        outcome = hear(session, ctx, posts, source=source)
        opened = _open(request, session, ctx, outcome)
        return _heard(len(posts) + len(errors), outcome, [e.as_dict() for e in errors], opened)

    return await run_in_threadpool(work)


@hooks_router.post(
    "/v1/social/{workspace_id}/webhook/{source_id}",
    response_model=Heard,
    summary="Posts pushed by another listening tool, signed with the source's secret",
)
async def webhook_posts(
    request: Request, session: DbSession, workspace_id: uuid.UUID, source_id: uuid.UUID
) -> Heard:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_PUSH:
        raise AccordError("A push holds at most 5 MB", "too_large", 413, "body")
    body = await request.body()
    if len(body) > MAX_PUSH:
        raise AccordError("A push holds at most 5 MB", "too_large", 413, "body")
    header = request.headers.get(webhook.HEADER, "")
    secret_key = request.app.state.settings.resolved_secret_key

    def work() -> Heard:
        source = queries.source_for_push(session, workspace_id, source_id)
        secret = (
            connections.webhook_secret(source, secret_key)
            if source is not None and source.kind == "webhook" and source.enabled
            else None
        )
        if secret is None or source is None:
            raise AccordError("The signature does not match", "bad_signature", 401, webhook.HEADER)
        try:
            webhook.verify(secret, header, body, utcnow().timestamp())
        except webhook.SignatureError as exc:
            raise AccordError(exc.message, exc.code, 401, webhook.HEADER) from exc
        posts, errors = webhook.parse(body)
        ctx = _context(request, session, workspace_id)
        outcome = hear(session, ctx, posts, source=source)
        opened = _open(request, session, ctx, outcome)
        return _heard(len(posts) + len(errors), outcome, [e.as_dict() for e in errors], opened)

    return await run_in_threadpool(work)


# --- mentions -----------------------------------------------------------------------------


@router.get("/mentions", response_model=MentionPage, summary="Mentions, newest first")
def list_mentions(
    session: DbSession,
    principal: ConversationsReader,
    decision: Annotated[str | None, Query(pattern="^(respond|wait|dismiss)$")] = None,
    state: Annotated[str | None, Query(pattern="^(open|answered|waiting|dismissed)$")] = None,
    network: Annotated[str | None, Query(max_length=32)] = None,
    sentiment: Annotated[str | None, Query(pattern="^(positive|neutral|negative)$")] = None,
    about: Annotated[str | None, Query(max_length=120)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> MentionPage:
    rows = queries.mentions(
        session,
        principal.workspace_id,
        decision=decision,
        state=state,
        network=network,
        sentiment=sentiment,
        about=about,
        limit=limit + 1,
        before=decode_cursor(cursor) if cursor else None,
    )
    more = len(rows) > limit
    rows = rows[:limit]
    following = encode_cursor(rows[-1].posted_at, rows[-1].id) if more else None
    return MentionPage(items=[MentionOut.model_validate(r) for r in rows], next_cursor=following)


@router.get("/mentions/{mention_id}", response_model=MentionOut, summary="One mention")
def get_mention(
    session: DbSession, principal: ConversationsReader, mention_id: uuid.UUID
) -> MentionOut:
    row = queries.mention(session, principal.workspace_id, mention_id)
    return MentionOut.model_validate(row)


@router.post(
    "/mentions/{mention_id}/decision",
    response_model=MentionOut,
    summary="Decide over triage: respond (opens a conversation), wait or dismiss",
)
def decide_mention(
    request: Request,
    session: DbSession,
    principal: ConversationsWriter,
    mention_id: uuid.UUID,
    body: DecisionIn,
) -> MentionOut:
    row = queries.mention(session, principal.workspace_id, mention_id)
    decide_by_hand(
        session,
        _context(request, session, principal.workspace_id),
        row,
        body.decision,
        who=principal.label,
        why=body.reason,
    )
    return MentionOut.model_validate(row)


@router.post(
    "/mentions/{mention_id}/answered",
    response_model=MentionOut,
    summary="Record an answer given outside Accord (the network's app, a review site)",
)
def answered_elsewhere(
    session: DbSession,
    principal: ConversationsWriter,
    mention_id: uuid.UUID,
    body: AnsweredIn,
) -> MentionOut:
    row = queries.mention(session, principal.workspace_id, mention_id)
    mark_answered(session, row, at=body.at, who=principal.label)
    return MentionOut.model_validate(row)


@router.get(
    "/queue",
    response_model=DataList[MentionOut],
    summary="Mentions to respond to, most pressing first",
)
def queue(
    session: DbSession,
    principal: ConversationsReader,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DataList[MentionOut]:
    rows = queries.queue(session, principal.workspace_id, limit)
    return DataList(data=[MentionOut.model_validate(r) for r in rows])


@router.get(
    "/metrics",
    response_model=metrics.Metrics,
    summary="Volume, sentiment, share of voice, response",
)
def get_metrics(
    session: DbSession,
    principal: ConversationsReader,
    days: Annotated[int, Query(ge=1, le=365)] = 30,
) -> metrics.Metrics:
    workspace = get_workspace(session, principal.workspace_id)
    return metrics.compute(session, workspace, days=days)
