"""The acquisition backlog: what resolution changed about people, kept in the change's
transaction for their touches to follow in a job of their own.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-05 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "acquisition_backlog",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("people", sa.JSON(), nullable=False),
        sa.Column("noted_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_acquisition_backlog_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acquisition_backlog")),
    )
    with op.batch_alter_table("acquisition_backlog", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_acquisition_backlog_workspace_id_id"),
            ["workspace_id", "id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("acquisition_backlog", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acquisition_backlog_workspace_id_id"))
    op.drop_table("acquisition_backlog")
