"""What resolving needs to know about a workspace: its identity rules and the profile
rules (source priority, region), loaded once per batch."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.kit.errors import not_found
from accord.profile.service import ProfileContext
from accord.resolve.rules import IdentityRules


@dataclass
class WorkspaceContext:
    workspace_id: uuid.UUID
    rules: IdentityRules
    profile: ProfileContext

    @classmethod
    def load(cls, session: Session, workspace_id: uuid.UUID) -> WorkspaceContext:
        ws = session.get(Workspace, workspace_id)
        if ws is None:
            raise not_found("Workspace")
        return cls(
            workspace_id=workspace_id,
            rules=IdentityRules.of(ws),
            profile=ProfileContext.of(ws),
        )
