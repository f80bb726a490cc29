from __future__ import annotations

import uuid

from sqlalchemy import select

from accord.govern.workspaces.models import Workspace
from accord.kit.repository import Repository


class WorkspaceRepository(Repository):
    def get(self, workspace_id: uuid.UUID) -> Workspace | None:
        return self.session.get(Workspace, workspace_id)

    def get_by_slug(self, slug: str) -> Workspace | None:
        return self.session.scalars(select(Workspace).where(Workspace.slug == slug)).first()

    def list_by_ids(self, ids: list[uuid.UUID]) -> list[Workspace]:
        if not ids:
            return []
        stmt = select(Workspace).where(Workspace.id.in_(ids)).order_by(Workspace.name)
        return list(self.session.scalars(stmt))

    def slug_exists(self, slug: str) -> bool:
        return self.get_by_slug(slug) is not None

    def add(self, workspace: Workspace) -> Workspace:
        self.session.add(workspace)
        self.session.flush()
        return workspace

    def lock(self, workspace_id: uuid.UUID) -> Workspace | None:
        """The workspace row, read afresh and locked until the transaction ends (on
        PostgreSQL; SQLite serializes writers anyway), for a read-modify-write."""
        stmt = (
            select(Workspace)
            .where(Workspace.id == workspace_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).first()
