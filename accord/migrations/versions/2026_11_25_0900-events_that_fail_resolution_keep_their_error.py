"""events that fail resolution keep their error; failed events are indexed per workspace

An event the resolver cannot resolve, even alone, is marked ``failed`` with the error's
text in the new ``events.error`` column, so the rest of its workspace goes on resolving;
admins list failed events and send them back to be resolved. The partial index holds only
failed events: accepting an event writes nothing to it.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FAILED = "status = 'failed'"


def upgrade() -> None:
    # Adding a nullable column needs no copy of the table, on SQLite either.
    op.add_column("events", sa.Column("error", sa.Text(), nullable=True))
    op.create_index(
        "ix_events_failed",
        "events",
        ["workspace_id", "id"],
        unique=False,
        postgresql_where=sa.text(FAILED),
        sqlite_where=sa.text(FAILED),
    )


def downgrade() -> None:
    op.drop_index("ix_events_failed", table_name="events")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("error")
