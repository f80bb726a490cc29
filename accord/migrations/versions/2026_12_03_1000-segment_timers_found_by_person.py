"""segment timers found by person

A merged or erased person's timers are deleted by person (an evaluation, the cascade of
the foreign key to profiles): an index on ``profile_id`` spares reading every timer.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_segment_timers_profile_id"), "segment_timers", ["profile_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_segment_timers_profile_id"), table_name="segment_timers")
