"""links are read by their second end from one index

The links of an identifier by their second end (``b_id``) were read through an index of
``(workspace_id, b_id)`` and the table. The unique key ``(workspace_id, a_id, b_id)``,
read alone, looked cheaper to PostgreSQL's planner while the table was small, so a plan
made then walked every link of the workspace for each identifier looked up, and kept
doing so as the links grew. The index now holds the first end too.

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-05 16:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_identity_links_workspace_id_b_id"
NEW = "ix_identity_links_workspace_id_b_id_a_id"


def upgrade() -> None:
    op.create_index(NEW, "identity_links", ["workspace_id", "b_id", "a_id"], unique=False)
    op.drop_index(OLD, table_name="identity_links")


def downgrade() -> None:
    op.create_index(OLD, "identity_links", ["workspace_id", "b_id"], unique=False)
    op.drop_index(NEW, table_name="identity_links")
