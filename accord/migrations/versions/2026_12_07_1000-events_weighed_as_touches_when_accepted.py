"""events weighed as touches when accepted

Each event is weighed once, when it is accepted: whether it is a touch of the business's
acquisition at all, an attributed one, a click on a tracked link (``collect/touch.py``).
The acquisition touches that follow resolution then read back only the events that may
move a person's touches: the backlog they wait in names, beside those, the people whose
other new events were weighed as no touch (``acquisition_backlog.others``). Events
stored before stay NULL: they are read back as before.

Revision ID: 0041
Revises: 0040
Create Date: 2026-12-07 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("events", sa.Column("touch", sa.SmallInteger(), nullable=True))
    op.add_column(
        "acquisition_backlog",
        sa.Column("others", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    )


def downgrade() -> None:
    with op.batch_alter_table("acquisition_backlog") as batch:
        batch.drop_column("others")
    with op.batch_alter_table("events") as batch:
        batch.drop_column("touch")
