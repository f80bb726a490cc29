"""identifiers are first seen when their first event happened

An identifier's ``created_at`` is the time it was first seen, shown as such. The batch
resolver set it to the time it resolved the event, so an identifier carried by a historical
event (an import, a late batch) looked first seen after it was last seen. It is now the
first event's time; rows written before are brought back to their last-seen time where
they came after it.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        sa.text("UPDATE identifiers SET created_at = last_seen_at WHERE created_at > last_seen_at")
    )


def downgrade() -> None:
    """Nothing to undo: the earlier times were not kept."""
