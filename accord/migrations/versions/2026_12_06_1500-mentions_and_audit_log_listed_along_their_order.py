"""mentions and the audit log listed along their order

The social listening's mentions and the audit log are listed newest first, by time and
then by id. Their indexes held the time alone, so a page took the rows of each moment in
any order and sorted them; on a table never analyzed (a fresh import, before autovacuum)
PostgreSQL read every row of the workspace and sorted them all for a page of 50. The
indexes now end with the id, and a page is read along them.

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-06 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("social_mentions", "posted_at"),
    ("audit_events", "created_at"),
)


def upgrade() -> None:
    for table, column in INDEXES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(f"ix_{table}_workspace_id_{column}")
            batch_op.create_index(
                f"ix_{table}_workspace_id_{column}_id", ["workspace_id", column, "id"]
            )


def downgrade() -> None:
    for table, column in INDEXES:
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_index(f"ix_{table}_workspace_id_{column}_id")
            batch_op.create_index(f"ix_{table}_workspace_id_{column}", ["workspace_id", column])
