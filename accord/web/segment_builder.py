"""The segment builder (Analytics > Segments > New, Edit): the rule tree edited as form
rows by ``static/segments.js`` over the same JSON the REST API takes, with the fields the
workspace actually has, value suggestions, and a live size estimate with a preview of
the people it holds. Saving creates or changes the segment and builds it (in a job for a
large workspace). Without script the JSON field itself is the form."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.analyze.scoring import queries as scoring_queries
from accord.analyze.scoring import rfm
from accord.analyze.segments import queries, rules, service
from accord.analyze.segments.api import build_now_or_later, segment_engine
from accord.analyze.segments.models import Segment
from accord.customers import queries as customer_queries
from accord.govern.access.scopes import Scope
from accord.govern.consent import rules as consent_rules
from accord.kit.deps import DbSession, RawBody
from accord.kit.errors import AccordError, invalid
from accord.web.auth import Console, ConsoleUser
from accord.web.pages import page
from accord.web.segment_pages import all_segments

router = APIRouter(prefix="/segments", include_in_schema=False)

PREVIEW = 8
EMPTY: dict[str, Any] = {"kind": "all", "conditions": []}
# The scores of customer analytics as the builder names them (``rules.SCORES``).
SCORE_LABELS = {
    "rfm_group": "RFM group",
    "r_score": "Recency score (1 to 5)",
    "f_score": "Frequency score (1 to 5)",
    "m_score": "Monetary score (1 to 5)",
    "recency_days": "Days since the last order",
    "clv": "Lifetime value",
    "expected_purchases": "Expected purchases",
    "p_alive": "Probability still a customer (0 to 1)",
    "churn_risk": "Churn risk (0 to 1)",
    "persona_name": "Persona",
    "relationship_value": "Relationship value",
    "service_cost": "Cost to serve",
}


def builder_fields(session: Session, console: Console, segment: Segment | None) -> dict[str, Any]:
    """What the builder's pickers offer: ``queries.fields`` (traits, events with their
    properties, identifier types, computed traits, values), the other segments, the
    consent vocabulary, and the scores of customer analytics (the RFM groups and the last
    recompute's personas to choose from)."""
    fields = queries.fields(session, console.principal.workspace_id)
    others = all_segments(session, console)
    fields["segments"] = [
        {"id": str(s.id), "name": s.name + (" (archived)" if s.status != "active" else "")}
        for s in sorted(others, key=lambda s: (s.status != "active", s.name))
        if segment is None or s.id != segment.id
    ]
    fields["consent"] = {
        "channels": [consent_rules.ALL, *consent_rules.CHANNELS],
        "purposes": [consent_rules.ALL, *consent_rules.PURPOSES],
        "statuses": ["granted", "denied", "withdrawn", "pending", "none"],
    }
    fields["max_depth"] = rules.MAX_DEPTH
    fields["scores"] = [
        {"key": key, "label": SCORE_LABELS.get(key, key), "type": kind}
        for key, kind in rules.SCORES.items()
    ]
    fields["rfm_groups"] = [[key, label] for key, label, _ in rfm.GROUPS]
    latest = scoring_queries.latest(session, console.principal.workspace_id)
    metrics = (latest.metrics or {}) if latest is not None else {}
    fields["personas"] = [p["name"] for p in metrics.get("personas") or []]
    return fields


def _builder(
    request: Request,
    session: Session,
    console: Console,
    *,
    segment: Segment | None,
    name: str,
    description: str,
    definition: str,
    error: AccordError | None = None,
    copied: Segment | None = None,
) -> HTMLResponse:
    workspace_id = console.principal.workspace_id
    return page(
        request,
        session,
        console,
        "segments/builder.html",
        "segments",
        status_code=error.status if error else 200,
        segment=segment,
        name=name,
        description=description,
        definition=definition,
        fields=builder_fields(session, console, segment),
        error=error,
        copied=copied,
        total=customer_queries.count(session, workspace_id),
    )


def _pretty(definition: Any) -> str:
    return json.dumps(definition, indent=2, ensure_ascii=False)


def _parse(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError as error:
        raise invalid(
            f"The definition is not valid JSON: {error}", "definition", "invalid_json"
        ) from None


@router.get("/new")
def new_segment(request: Request, session: DbSession, console: ConsoleUser) -> HTMLResponse:
    console.principal.require(Scope.SEGMENTS_WRITE)
    return _builder(
        request, session, console, segment=None, name="", description="", definition=_pretty(EMPTY)
    )


@router.post("/new")
def create_segment(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    name: Annotated[str, Form(max_length=120)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    definition: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    console.principal.require(Scope.SEGMENTS_WRITE)
    try:
        with session.begin_nested():
            segment = service.save(
                session,
                console.principal.workspace_id,
                name=name,
                definition=_parse(definition),
                description=description.strip() or None,
                actor=console.principal,
            )
            built = build_now_or_later(request, session, segment_engine(request), segment)
    except AccordError as error:
        return _builder(
            request,
            session,
            console,
            segment=None,
            name=name,
            description=description,
            definition=definition,
            error=error,
        )
    saved = "queued" if built.queued else "built"
    return RedirectResponse(f"/segments/{segment.id}?saved={saved}", status_code=303)


@router.get("/{segment_id:uuid}/edit")
def edit_segment(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    segment_id: uuid.UUID,
    copied: uuid.UUID | None = None,
) -> HTMLResponse:
    console.principal.require(Scope.SEGMENTS_WRITE)
    workspace_id = console.principal.workspace_id
    segment = service.get(session, workspace_id, segment_id)
    source = None
    if copied is not None:
        try:
            source = service.get(session, workspace_id, copied)
        except AccordError:
            source = None
    return _builder(
        request,
        session,
        console,
        segment=segment,
        name=segment.name,
        description=segment.description or "",
        definition=_pretty(segment.definition),
        copied=source,
    )


@router.post("/{segment_id:uuid}/edit")
def update_segment(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    segment_id: uuid.UUID,
    name: Annotated[str, Form(max_length=120)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    definition: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """As the REST API's update: built again only when the definition changed (and the
    segment is active)."""
    console.principal.require(Scope.SEGMENTS_WRITE)
    segment = service.get(session, console.principal.workspace_id, segment_id)
    saved = "saved"
    try:
        with session.begin_nested():
            version = segment.version
            service.save(
                session,
                console.principal.workspace_id,
                name=name,
                definition=_parse(definition),
                description=description.strip() or None,
                actor=console.principal,
                segment=segment,
            )
            if segment.version != version and segment.status == "active":
                built = build_now_or_later(request, session, segment_engine(request), segment)
                saved = "queued" if built.queued else "built"
    except AccordError as error:
        session.refresh(segment)
        return _builder(
            request,
            session,
            console,
            segment=segment,
            name=name,
            description=description,
            definition=definition,
            error=error,
        )
    return RedirectResponse(f"/segments/{segment.id}?saved={saved}", status_code=303)


# --- what the builder asks as it goes -------------------------------------------------------


@router.post("/estimate")
def estimate(
    request: Request, session: DbSession, console: ConsoleUser, raw: RawBody
) -> HTMLResponse:
    """How many people the definition being built holds now, of how many, and a few of
    them: an HTML fragment for the builder's estimate panel (422 with the reason when
    the definition is not valid yet)."""
    console.principal.require(Scope.ANALYTICS_READ)
    templates = request.app.state.templates
    try:
        try:
            body = json.loads(raw)
        except ValueError:
            raise invalid("The request body is not valid JSON", "definition") from None
        definition = body.get("definition") if isinstance(body, dict) else None
        if not isinstance(definition, dict):
            raise invalid("Send {definition: {...}}", "definition")
        got = queries.estimate(
            session,
            segment_engine(request),
            console.principal.workspace_id,
            definition,
            sample=PREVIEW,
        )
    except AccordError as error:
        failed: HTMLResponse = templates.TemplateResponse(
            request, "segments/_estimate.html", {"error": error}, status_code=error.status
        )
        return failed
    response: HTMLResponse = templates.TemplateResponse(
        request, "segments/_estimate.html", {"got": got, "error": None}
    )
    return response


@router.get("/suggest")
def suggest(
    session: DbSession,
    console: ConsoleUser,
    kind: Annotated[str, Query(pattern="^(trait|location|event)$")],
    field: Annotated[str, Query(min_length=1, max_length=200)],
    q: Annotated[str, Query(max_length=100)] = "",
    event: Annotated[str | None, Query(max_length=200)] = None,
) -> JSONResponse:
    """Values the workspace has for a field, most frequent first (the value fields'
    suggestion lists)."""
    console.principal.require(Scope.ANALYTICS_READ)
    values = queries.suggest(
        session, console.principal.workspace_id, kind=kind, field=field, q=q, event=event
    )
    return JSONResponse(values)
