"""The chat widget's settings (the settings group ``chat``): what the widget looks like
and asks. :func:`save_chat_settings` is the one place they are written, for the API and
the console alike."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.chat.schemas import ChatSettings
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import SettingsGroup

CHAT = SettingsGroup("chat", ChatSettings)


def read(workspace: Workspace) -> ChatSettings:
    return CHAT.read(workspace)


def chat_settings(session: Session, workspace_id: uuid.UUID) -> tuple[ChatSettings, int]:
    """The widget's settings and their version."""
    return CHAT.read_with_version(session, workspace_id)


def save_chat_settings(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[ChatSettings, int]:
    """Replace the widget's settings: validated (422 naming the field), at
    ``expected_version`` when given, audited. Returns them with their new version."""
    return CHAT.save(session, workspace_id, raw, actor=actor, expected_version=expected_version)
