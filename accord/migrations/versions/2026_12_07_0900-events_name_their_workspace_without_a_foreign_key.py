"""events name their workspace without a foreign key

Every accepted event was checked against ``workspaces``: a lookup of the workspace's row
that locks it in share mode, for each event inserted. Concurrent requests of one
workspace all locked the same row, which PostgreSQL records as a shared lock of several
transactions (a multixact) and looks up again for each check. Events are written only
for a workspace their caller was authenticated to, and workspaces are never deleted, so
the column stops being a foreign key.

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CONSTRAINT = "fk_events_workspace_id_workspaces"


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint(CONSTRAINT, type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.create_foreign_key(
            CONSTRAINT, "workspaces", ["workspace_id"], ["id"], ondelete="CASCADE"
        )
