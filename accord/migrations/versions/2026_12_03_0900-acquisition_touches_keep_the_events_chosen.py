"""acquisition touches keep the events chosen

Each person's row keeps the ids of the events chosen as first, last and latest touch (and
whether the last and latest were attributed), so a person's new events are weighed
against those three instead of their whole history. Rows written before have none and
are computed in full at their next change.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDS = ("first_event_id", "last_event_id", "latest_event_id")
FLAGS = ("last_attributed", "latest_attributed")
COLUMNS = IDS + FLAGS


def upgrade() -> None:
    with op.batch_alter_table("acquisition_touches") as batch:
        for name in IDS:
            batch.add_column(sa.Column(name, sa.Uuid(), nullable=True))
        for name in FLAGS:
            batch.add_column(sa.Column(name, sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("acquisition_touches") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
