"""/api/v1/segments/{id}/export (a segment's members as CSV, JSON lines or a hashed
audience file) and /api/v1/destinations (outgoing webhooks of membership changes, their
delivery log, replays and test events)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from accord.analyze.audiences import exports, service, tasks
from accord.analyze.audiences.models import Delivery, Destination
from accord.analyze.audiences.schemas import (
    DeliveriesPage,
    DeliveryRead,
    DestinationCreated,
    DestinationIn,
    DestinationRead,
    DestinationUpdate,
    ExportFormat,
    ExportReport,
    SecretRead,
)
from accord.analyze.segments.api import Engine
from accord.govern.access.deps import (
    AnalyticsReader,
    AudienceExporter,
    AudienceWriter,
    SegmentsWriter,
)
from accord.kit.deps import AppSettings, DbSession
from accord.kit.schemas import DataList
from accord.kit.streams import closing_stream

router = APIRouter(prefix="/api/v1", tags=["audiences"])

Traits = Annotated[
    list[str],
    Query(
        max_length=50,
        description="Computed traits to add as columns (CSV, JSON lines): repeat the "
        "parameter or separate keys with commas",
    ),
]
Format = Annotated[ExportFormat, Query(description="csv, jsonl, google or meta")]


def _sender(request: Request) -> service.Sender:
    return tasks.sender(getattr(request.app.state, "jobs", None))


def _traits(values: list[str]) -> list[str]:
    return [k for v in values for k in v.split(",")]


# --- exports ---------------------------------------------------------------------------------


@router.get(
    "/segments/{segment_id}/export",
    summary="Export a segment's members (CSV, JSON lines, or a hashed Google or Meta file)",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}}},
)
def export_segment(
    segment_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: AudienceExporter,
    engine: Engine,
    format: Format = "csv",
    traits: Traits = [],  # noqa: B006 - FastAPI copies a default list
) -> StreamingResponse:
    """Only people whose consent allows advertising are exported. CSV and JSON lines end
    with a summary line; every export is audited and each person in it is noted in their
    access log."""
    spec = exports.prepare(session, principal.workspace_id, segment_id, format, _traits(traits))
    exports.start(session, principal, spec)
    factory = request.app.state.session_factory

    def chunks() -> Iterator[str]:
        # Units of work of its own: the stream outlives the request's transaction.
        yield from exports.stream(factory, engine, principal, spec)

    return StreamingResponse(
        closing_stream(chunks()),
        media_type=exports.MEDIA[spec.format],
        headers={"Content-Disposition": f'attachment; filename="{spec.filename}"'},
    )


@router.post(
    "/segments/{segment_id}/export",
    response_model=ExportReport,
    summary="What an export of the segment would hold now (counts, no rows)",
)
def export_report(
    segment_id: uuid.UUID,
    session: DbSession,
    principal: AudienceExporter,
    engine: Engine,
    format: Format = "csv",
    traits: Traits = [],  # noqa: B006 - FastAPI copies a default list
) -> ExportReport:
    spec = exports.prepare(session, principal.workspace_id, segment_id, format, _traits(traits))
    tally = exports.report(session, engine, spec)
    return ExportReport(
        segment_id=spec.segment_id,
        format=spec.format,
        members=tally.members,
        exported=tally.exported,
        left_out_for_consent=tally.left_out_for_consent,
        left_out_without_contact=tally.left_out_without_contact,
        columns=spec.columns,
    )


# --- destinations ----------------------------------------------------------------------------


def _read(session: Session, row: Destination) -> DestinationRead:
    return DestinationRead(
        id=row.id,
        name=row.name,
        url=row.url,
        segment_ids=service.segment_filter(row),
        events=row.events,
        status=row.status,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        deliveries=service.counts(session, row),
    )


@router.get("/destinations", response_model=DataList[DestinationRead])
def list_destinations(session: DbSession, principal: AnalyticsReader) -> dict[str, Any]:
    rows = service.destinations(session, principal.workspace_id)
    return {"data": [_read(session, r) for r in rows]}


@router.post("/destinations", response_model=DestinationCreated, status_code=201)
def create_destination(
    body: DestinationIn, session: DbSession, principal: AudienceWriter, settings: AppSettings
) -> DestinationCreated:
    """A webhook for membership changes. The signing secret is in the answer, only now."""
    row, secret = service.create(
        session, principal.workspace_id, body, principal, settings.resolved_secret_key
    )
    return DestinationCreated(**_read(session, row).model_dump(), secret=secret)


@router.get("/destinations/{destination_id}", response_model=DestinationRead)
def read_destination(
    destination_id: uuid.UUID, session: DbSession, principal: AnalyticsReader
) -> DestinationRead:
    return _read(session, service.get(session, principal.workspace_id, destination_id))


@router.patch("/destinations/{destination_id}", response_model=DestinationRead)
def update_destination(
    destination_id: uuid.UUID,
    body: DestinationUpdate,
    request: Request,
    session: DbSession,
    principal: AudienceWriter,
) -> DestinationRead:
    """Change a destination, or pause it (`status`: paused) and resume it (active)."""
    row = service.get(session, principal.workspace_id, destination_id)
    service.update(session, row, body, principal, _sender(request))
    return _read(session, row)


@router.delete("/destinations/{destination_id}", status_code=204)
def delete_destination(
    destination_id: uuid.UUID, session: DbSession, principal: SegmentsWriter
) -> Response:
    service.delete(session, service.get(session, principal.workspace_id, destination_id), principal)
    return Response(status_code=204)


@router.post("/destinations/{destination_id}/secret", response_model=SecretRead)
def rotate_secret(
    destination_id: uuid.UUID,
    session: DbSession,
    principal: SegmentsWriter,
    settings: AppSettings,
) -> SecretRead:
    """A new signing secret, shown only now; the old one stops at once."""
    row = service.get(session, principal.workspace_id, destination_id)
    return SecretRead(
        secret=service.rotate_secret(session, row, principal, settings.resolved_secret_key)
    )


@router.get("/destinations/{destination_id}/deliveries", response_model=DeliveriesPage)
def list_deliveries(
    destination_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
    status: Literal["pending", "sending", "retrying", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: uuid.UUID | None = None,
) -> DeliveriesPage:
    """The delivery log, newest first."""
    row = service.get(session, principal.workspace_id, destination_id)
    rows = service.log(session, row, status=status, limit=limit, before=before)
    data = [DeliveryRead.model_validate(d) for d in rows]
    return DeliveriesPage(data=data, next_before=data[-1].id if len(data) == limit else None)


@router.get("/destinations/{destination_id}/deliveries/{delivery_id}", response_model=DeliveryRead)
def read_delivery(
    destination_id: uuid.UUID,
    delivery_id: uuid.UUID,
    session: DbSession,
    principal: AnalyticsReader,
) -> Delivery:
    row = service.get(session, principal.workspace_id, destination_id)
    return service.get_delivery(session, row, delivery_id)


@router.post(
    "/destinations/{destination_id}/deliveries/{delivery_id}/replay",
    response_model=DeliveryRead,
    status_code=202,
)
def replay_delivery(
    destination_id: uuid.UUID,
    delivery_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: AudienceWriter,
) -> Delivery:
    """Send a delivery again: the same id (the receiver's idempotency key) and body,
    signed anew, with a full set of attempts."""
    row = service.get(session, principal.workspace_id, destination_id)
    return service.replay(session, row, delivery_id, principal, _sender(request))


@router.post("/destinations/{destination_id}/test", response_model=DeliveryRead, status_code=202)
def test_destination(
    destination_id: uuid.UUID, request: Request, session: DbSession, principal: SegmentsWriter
) -> Delivery:
    """Send an `Audience Test` event (no person, no segment), even while paused; its
    outcome is in the delivery log."""
    row = service.get(session, principal.workspace_id, destination_id)
    return service.send_test(session, row, principal, _sender(request))
