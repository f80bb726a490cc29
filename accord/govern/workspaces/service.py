"""Workspaces: creating a tenant together with the keys it starts with."""

from __future__ import annotations

import re
import unicodedata
import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.repository import WorkspaceRepository
from accord.kit.errors import invalid, not_found


@dataclass(frozen=True)
class ProvisionedWorkspace:
    workspace: Workspace
    write_key: str
    api_token: str


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:60] or "workspace"


def _unique_slug(repo: WorkspaceRepository, name: str) -> str:
    base = slugify(name)
    slug, n = base, 1
    while repo.slug_exists(slug):
        n += 1
        slug = f"{base}-{n}"
    return slug


def create_workspace(
    session: Session, name: str, *, default_region: str = "US", timezone: str = "UTC"
) -> ProvisionedWorkspace:
    """Create a workspace with a first write key and a full-scope API token."""
    name = name.strip()
    if not name:
        raise invalid("A workspace needs a name", field="name")
    if not re.fullmatch(r"[A-Za-z]{2}", default_region):
        raise invalid("default_region is a two-letter country code", field="default_region")
    repo = WorkspaceRepository.from_session(session)
    workspace = repo.add(
        Workspace(
            name=name,
            slug=_unique_slug(repo, name),
            default_region=default_region.upper(),
            timezone=timezone,
            settings={},
        )
    )
    actor = Principal.cli(workspace.id)
    _, write_key = access.create_key(
        session, workspace_id=workspace.id, kind="write", name="Default write key", actor=actor
    )
    _, api_token = access.create_key(
        session, workspace_id=workspace.id, kind="token", name="Default API token", actor=actor
    )
    return ProvisionedWorkspace(workspace=workspace, write_key=write_key, api_token=api_token)


def get_workspace(session: Session, workspace_id: uuid.UUID) -> Workspace:
    workspace = WorkspaceRepository.from_session(session).get(workspace_id)
    if workspace is None:
        raise not_found("Workspace", field="workspace_id")
    return workspace


def rename_workspace(session: Session, workspace_id: uuid.UUID, name: str) -> Workspace:
    workspace = get_workspace(session, workspace_id)
    name = name.strip()
    if not name:
        raise invalid("A workspace needs a name", field="name")
    workspace.name = name
    session.flush()
    return workspace
