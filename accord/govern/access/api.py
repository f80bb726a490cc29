from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, Response

from accord.govern.access import service as access
from accord.govern.access.deps import WorkspaceAdmin, WorkspaceReader
from accord.govern.access.schemas import (
    KeyCreate,
    KeyCreated,
    KeyRead,
    MemberCreate,
    MemberCreated,
    MemberRead,
    MemberUpdate,
)
from accord.kit.deps import DbSession, publisher
from accord.kit.schemas import DataList

router = APIRouter(prefix="/api/v1", tags=["access"])


@router.get("/users", response_model=DataList[MemberRead], summary="List the workspace's users")
def list_users(session: DbSession, principal: WorkspaceReader) -> DataList[MemberRead]:
    members = access.list_members(session, principal.workspace_id)
    return DataList(data=[MemberRead.of(m) for m in members])


@router.post("/users", status_code=201, response_model=MemberCreated, summary="Add a user")
def create_user(session: DbSession, principal: WorkspaceAdmin, body: MemberCreate) -> MemberCreated:
    membership, generated = access.add_member(
        session,
        workspace_id=principal.workspace_id,
        email=body.email,
        role=body.role.value,
        name=body.name,
        password=body.password,
        actor=principal,
    )
    return MemberCreated(**MemberRead.of(membership).model_dump(), generated_password=generated)


@router.get("/users/{user_id}", response_model=MemberRead, summary="Get a user")
def get_user(session: DbSession, principal: WorkspaceReader, user_id: uuid.UUID) -> MemberRead:
    return MemberRead.of(access.get_member(session, principal.workspace_id, user_id))


@router.patch("/users/{user_id}", response_model=MemberRead, summary="Change a user's role")
def update_user(
    session: DbSession, principal: WorkspaceAdmin, user_id: uuid.UUID, body: MemberUpdate
) -> MemberRead:
    membership = access.update_member(
        session,
        workspace_id=principal.workspace_id,
        user_id=user_id,
        role=body.role.value if body.role else None,
        name=body.name,
        actor=principal,
    )
    return MemberRead.of(membership)


@router.delete("/users/{user_id}", status_code=204, summary="Remove a user from the workspace")
def delete_user(session: DbSession, principal: WorkspaceAdmin, user_id: uuid.UUID) -> Response:
    access.remove_member(
        session, workspace_id=principal.workspace_id, user_id=user_id, actor=principal
    )
    return Response(status_code=204)


@router.get("/keys", response_model=DataList[KeyRead], summary="List active keys")
def list_keys(session: DbSession, principal: WorkspaceAdmin) -> DataList[KeyRead]:
    return DataList(data=[KeyRead.of(k) for k in access.list_keys(session, principal.workspace_id)])


@router.post("/keys", status_code=201, response_model=KeyCreated, summary="Create a key")
def create_key(session: DbSession, principal: WorkspaceAdmin, body: KeyCreate) -> KeyCreated:
    key, secret = access.create_key(
        session,
        workspace_id=principal.workspace_id,
        kind=body.kind,
        name=body.name,
        scopes=[s.value for s in body.scopes] if body.scopes is not None else None,
        actor=principal,
    )
    return KeyCreated(**KeyRead.of(key).model_dump(), secret=secret)


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke a key")
def revoke_key(
    request: Request, session: DbSession, principal: WorkspaceAdmin, key_id: uuid.UUID
) -> Response:
    access.revoke_key(
        session,
        workspace_id=principal.workspace_id,
        key_id=key_id,
        actor=principal,
        publish=publisher(request),
    )
    return Response(status_code=204)
