"""Outreach sends remember when a text was delivered.

The SMS provider's delivery receipt of a campaign's or a journey's text sets
``delivered_at``; the send stays ``sent`` (frequency caps and reports count it), and a
text the carrier could not deliver becomes ``bounced`` or ``failed``.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_sends", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("delivered_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_sends", schema=None) as batch_op:
        batch_op.drop_column("delivered_at")
