"""acquisition backlog names the people a change made

A person resolution makes has no events but those of the batch that made them, so their
touches follow from those events alone, as a stored person's follow from their new
events, rather than from a reading of all their events in SQL. Each waiting change now
names the people it made (``born``); rows waiting when this runs name none.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-06 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("acquisition_backlog", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("born", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("acquisition_backlog", schema=None) as batch_op:
        batch_op.drop_column("born")
