"""Journey entries' due index by workspace and wake-up time.

A batch of due steps is claimed along this index, one workspace's waiting people in
the order their time comes, so the read stops at the batch's size whatever the table's
statistics say.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-04 14:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WAITING = sa.text("status = 'waiting'")


def _due(columns: list[str]) -> None:
    op.drop_index("ix_journey_entries_due", table_name="journey_entries")
    op.create_index(
        "ix_journey_entries_due",
        "journey_entries",
        columns,
        postgresql_where=WAITING,
        sqlite_where=WAITING,
    )


def upgrade() -> None:
    _due(["workspace_id", "wake_at"])


def downgrade() -> None:
    _due(["wake_at"])
