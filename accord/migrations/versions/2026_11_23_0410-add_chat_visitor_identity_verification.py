"""add chat visitor identity verification

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 04:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("chat_visitors") as batch:
        batch.add_column(
            sa.Column("verified_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("verified_user_id", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("verified_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("chat_visitors") as batch:
        batch.drop_column("verified_email")
        batch.drop_column("verified_user_id")
        batch.drop_column("verified_at")
