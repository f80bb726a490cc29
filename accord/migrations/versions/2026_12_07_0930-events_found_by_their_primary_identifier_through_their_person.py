"""events found by their primary identifier through their person

Resolution writes each event's person and primary identifier, and every index on either
column takes a new entry for every event resolved. An event belongs to whoever holds its
primary identifier, so the few reads of events by primary identifier (identifiers moving
between people, a blocked identifier's events rehomed, an erasure's search) look among
the holders' events, through the index of events by person, and the index of events by
primary identifier goes.

Revision ID: 0040
Revises: 0039
Create Date: 2026-12-07 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_events_primary_identifier_id"
WHERE = "primary_identifier_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_index(INDEX)


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.create_index(
            INDEX,
            ["primary_identifier_id"],
            unique=False,
            postgresql_where=sa.text(WHERE),
            sqlite_where=sa.text(WHERE),
        )
