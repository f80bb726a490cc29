"""/api/v1/privacy: data-subject requests (make one by any identifier, list them with their
due dates, download the export, erase, reject), the retention policies' dry run, the
privacy settings and the access log of a person."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from accord.govern.access.deps import (
    PrivacyEraser,
    PrivacyExporter,
    PrivacyOfficer,
    WorkspaceAdmin,
    WorkspaceReader,
)
from accord.govern.access.principal import Principal
from accord.govern.audit import access
from accord.govern.workspaces.service import get_workspace
from accord.kit.db import read_only, transaction
from accord.kit.deps import AppSettings, DbSession
from accord.kit.schemas import MAX_OFFSET, DataList
from accord.kit.streams import closing_stream
from accord.kit.time import utcnow
from accord.privacy import erase, export, retention, service, subject
from accord.privacy.schemas import (
    AccessRead,
    Kind,
    PrivacySettingsBody,
    RejectBody,
    RequestCreate,
    RequestList,
    RequestRead,
    RetentionReport,
    Status,
)
from accord.privacy.settings import PRIVACY

router = APIRouter(prefix="/api/v1/privacy", tags=["privacy"])


@router.get("/requests", response_model=RequestList, summary="Data-subject requests")
def list_requests(
    session: DbSession,
    principal: PrivacyOfficer,
    status: Status | None = None,
    kind: Kind | None = None,
    overdue: Annotated[bool, Query(description="Only open requests past their due date")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> RequestList:
    rows = service.list_requests(
        session,
        principal.workspace_id,
        status=status,
        kind=kind,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    now = utcnow()
    open_count, overdue_count = service.counts(session, principal.workspace_id)
    return RequestList(
        data=[service.read(r, now) for r in rows], open=open_count, overdue=overdue_count
    )


@router.post(
    "/requests",
    response_model=RequestRead,
    status_code=201,
    summary="Record a request by any identifier",
    description="The person is looked up at once through the identity graph (their profile, "
    "the profiles merged into it, the events carrying the identifier): `found` counts them.",
)
def create_request(
    session: DbSession, principal: PrivacyOfficer, body: RequestCreate
) -> RequestRead:
    made = service.create(
        session,
        principal,
        kind=body.kind,
        identifier_type=body.identifier_type,
        identifier_value=body.identifier_value,
        note=body.note,
    )
    return service.read(made)


@router.get("/requests/{request_id}", response_model=RequestRead, summary="A request")
def get_request(
    session: DbSession, principal: PrivacyOfficer, request_id: uuid.UUID
) -> RequestRead:
    return service.read(service.get(session, principal.workspace_id, request_id))


@router.get(
    "/requests/{request_id}/export",
    summary="Download the person's data (zip)",
    description="person.json (documented by export_schema.json, in the zip), their "
    "attachments and a README. The first download completes an export or access request; "
    "each one is in the person's access log.",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
def export_request(
    request: Request,
    session: DbSession,
    principal: PrivacyExporter,
    settings: AppSettings,
    request_id: uuid.UUID,
) -> StreamingResponse:
    return zip_download(request, session, principal, request_id, settings.data_dir, via="api")


def zip_download(
    request: Request,
    session: Session,
    principal: Principal,
    request_id: uuid.UUID,
    data_dir: Path,
    *,
    via: str,
) -> StreamingResponse:
    """The person's zip, streamed (the API's download and the console's): the first
    download completes the request and each one is in the person's access log."""
    found, person = service.start_export(session, principal, request_id, via=via)
    factory = request.app.state.session_factory

    def chunks() -> Iterator[bytes]:
        contents = export.Contents()
        # Its own read-only unit of work: the stream outlives the request's transaction.
        with read_only(factory) as reader:
            workspace = get_workspace(reader, principal.workspace_id)
            row = service.get(reader, principal.workspace_id, request_id)
            yield from export.stream(
                reader, workspace, row, person, data_dir=data_dir, contents=contents
            )
        with transaction(factory) as writer:
            service.complete_export(writer, principal, request_id, contents.as_receipt())

    return StreamingResponse(
        closing_stream(chunks()),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="person-{found.id}.zip"'},
    )


@router.post(
    "/requests/{request_id}/erase",
    response_model=RequestRead,
    summary="Erase the person everywhere",
    description="Irreversible. The receipt counts what was removed per table and the files "
    "removed; the identifiers go on the suppression list.",
)
def erase_request(
    session: DbSession, principal: PrivacyEraser, settings: AppSettings, request_id: uuid.UUID
) -> RequestRead:
    done = erase.erase_request(
        session, principal, request_id, data_dir=settings.data_dir, redis_url=settings.redis_url
    )
    return service.read(done)


@router.post(
    "/requests/{request_id}/reject", response_model=RequestRead, summary="Reject a request"
)
def reject_request(
    session: DbSession, principal: PrivacyOfficer, request_id: uuid.UUID, body: RejectBody
) -> RequestRead:
    return service.read(service.reject(session, principal, request_id, body.reason))


@router.get(
    "/retention",
    response_model=RetentionReport,
    summary="What the retention policies would remove now (dry run)",
)
def retention_report(session: DbSession, principal: PrivacyOfficer) -> RetentionReport:
    return retention.report(session, principal.workspace_id, utcnow())


@router.get("/settings", response_model=PrivacySettingsBody, summary="Privacy settings")
def get_settings(session: DbSession, principal: WorkspaceReader) -> dict[str, Any]:
    return PRIVACY.current_of(session, principal.workspace_id)


@router.put(
    "/settings",
    response_model=PrivacySettingsBody,
    summary="Change retention, due days and what an erase keeps",
    description="Send `version` (from a GET) to refuse the change with 409 "
    "`settings_version_conflict` when someone else changed them since.",
)
def put_settings(
    session: DbSession, principal: WorkspaceAdmin, body: PrivacySettingsBody
) -> dict[str, Any]:
    return PRIVACY.write_body(session, principal, body)


@router.get(
    "/access-log",
    response_model=DataList[AccessRead],
    summary="Who read a person's data",
)
def access_log(
    session: DbSession,
    principal: PrivacyOfficer,
    profile_id: uuid.UUID,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> DataList[AccessRead]:
    people = subject.person_ids(session, principal.workspace_id, profile_id)
    rows = access.of_person(session, principal.workspace_id, people, limit=limit)
    return DataList(data=[AccessRead.model_validate(r) for r in rows])
