"""messages remember when a sender claimed them

The outbox takes a queued email by setting its delivery to "sending" before it sends it.
A process that died between the two left it "sending" for good. ``claimed_at`` records
when it was taken, so a claim older than any send can take is put back in the queue.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("claimed_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("claimed_at")
