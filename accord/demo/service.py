"""Creates (or finds) the demo workspace and its admin. Idempotent: running it again
prints the same credentials and adds nothing twice."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.access.repository import ApiKeyRepository, UserRepository
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.repository import WorkspaceRepository
from accord.kit.security import random_token

DEMO_SLUG = "demo-outfitters"
DEMO_NAME = "Demo Outfitters"
DEMO_ADMIN = "admin@demo.accord.test"
DEMO_TEAM = [
    ("maya.lopez@demo.accord.test", "Maya Lopez", "agent"),
    ("sam.okafor@demo.accord.test", "Sam Okafor", "agent"),
    ("priya.nair@demo.accord.test", "Priya Nair", "analyst"),
]
CREDENTIALS_FILE = "demo-credentials.json"


@dataclass(frozen=True)
class DemoInfo:
    workspace_id: str
    admin_email: str
    admin_password: str
    write_key: str
    api_token: str | None
    created: bool


def _credentials_path(settings: Settings) -> Path:
    return settings.ensure_data_dir() / CREDENTIALS_FILE


def load_credentials(settings: Settings) -> dict[str, str]:
    """Demo credentials kept (mode 0600) in the data directory by an earlier run."""
    path = _credentials_path(settings)
    data: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    return data


def save_credentials(settings: Settings, info: DemoInfo) -> None:
    """Called after the transaction that created the credentials has committed."""
    data = {
        "workspace_id": info.workspace_id,
        "admin_email": info.admin_email,
        "admin_password": info.admin_password,
    }
    if info.api_token:
        data["api_token"] = info.api_token
    fd = os.open(_credentials_path(settings), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2)


def ensure_demo(session: Session, saved: dict[str, str]) -> DemoInfo:
    workspace = WorkspaceRepository.from_session(session).get_by_slug(DEMO_SLUG)
    created = workspace is None
    api_token: str | None = saved.get("api_token")
    if workspace is None:
        provisioned = workspaces.create_workspace(session, DEMO_NAME, default_region="US")
        workspace = provisioned.workspace
        api_token = provisioned.api_token
    actor = Principal.cli(workspace.id)

    password = saved.get("admin_password")
    user = UserRepository.from_session(session).get_by_email(DEMO_ADMIN)
    if user is None or password is None:
        password = random_token(12)
        if user is None:
            access.add_member(
                session,
                workspace_id=workspace.id,
                email=DEMO_ADMIN,
                role="admin",
                name="Demo Admin",
                password=password,
                actor=actor,
            )
        else:
            access.set_password(session, user, password)

    users = UserRepository.from_session(session)
    for email, name, role in DEMO_TEAM:
        if users.get_by_email(email) is None:
            access.add_member(
                session, workspace_id=workspace.id, email=email, role=role, name=name, actor=actor
            )

    write_keys = [
        k
        for k in ApiKeyRepository.from_session(session).in_workspace(workspace.id)
        if k.kind == "write"
    ]
    if write_keys and write_keys[0].write_key:
        write_key = write_keys[0].write_key
    else:
        write_key = access.create_key(
            session, workspace_id=workspace.id, kind="write", name="Demo site", actor=actor
        )[1]
    return DemoInfo(
        workspace_id=str(workspace.id),
        admin_email=DEMO_ADMIN,
        admin_password=password,
        write_key=write_key,
        api_token=api_token,
        created=created,
    )


def demo_write_key(session: Session) -> str | None:
    """The demo workspace's write key, for the demo shop's pages (None before `accord demo`)."""
    workspace = WorkspaceRepository.from_session(session).get_by_slug(DEMO_SLUG)
    if workspace is None:
        return None
    for key in ApiKeyRepository.from_session(session).in_workspace(workspace.id):
        if key.kind == "write" and key.write_key and key.revoked_at is None:
            return key.write_key
    return None


def demo_user_hash(session: Session, secret_key: str, user_id: str) -> str | None:
    """What the demo shop's server hands the chat widget for its signed-in customer."""
    from accord.chat import identity

    workspace = WorkspaceRepository.from_session(session).get_by_slug(DEMO_SLUG)
    secret = identity.secret_of(workspace, secret_key) if workspace is not None else None
    return identity.user_hash(secret, user_id) if secret else None
