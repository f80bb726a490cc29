"""Journey entries drop the unused claim time.

A worker taking a person's next step holds the entry locked in the step's own
transaction; no entry is ever marked as being taken, so ``claimed_at`` was never set.
Dropped in place (SQLite 3.35 and later drop a column without copying the table, and
keep the partial index on ``wake_at`` as it is).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_column("journey_entries", "claimed_at")


def downgrade() -> None:
    op.add_column(
        "journey_entries",
        sa.Column("claimed_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
    )
