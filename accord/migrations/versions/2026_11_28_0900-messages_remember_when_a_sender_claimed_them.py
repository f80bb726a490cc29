"""messages remember when a sender claimed them

The outbox takes a queued email by setting its delivery to "sending" before it sends it.
A process that died between the two left it "sending" for good. ``claimed_at`` records
when it was taken, so a claim older than any send can take is put back in the queue. The
outbox looks at its queue every few seconds: a partial index on the queued and claimed
messages keeps that look small whatever the size of the table.

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


OUTBOX = "delivery IN ('queued', 'sending')"


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(
            sa.Column("claimed_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.create_index(
            "ix_messages_outbox",
            ["delivery", "id"],
            unique=False,
            postgresql_where=sa.text(OUTBOX),
            sqlite_where=sa.text(OUTBOX),
        )


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_outbox")
        batch.drop_column("claimed_at")
