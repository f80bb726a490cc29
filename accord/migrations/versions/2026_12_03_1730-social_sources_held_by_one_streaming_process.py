"""Social sources held by one streaming process: a lease (who, until when) on a source
that streams (Bluesky's Jetstream, a Mastodon instance's streaming API), so one process
keeps its stream open and the scheduled fetch waits while the lease holds. Added in
place (nullable columns, no table copy on SQLite).

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 17:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("social_sources", sa.Column("streamed_by", sa.String(length=120), nullable=True))
    op.add_column(
        "social_sources",
        sa.Column("stream_lease_until", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("social_sources", "stream_lease_until")
    op.drop_column("social_sources", "streamed_by")
