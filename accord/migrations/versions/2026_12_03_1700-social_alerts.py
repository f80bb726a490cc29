"""Social alerts: each brewing crisis the team was told of (a spike of mentions or of
negative ones), once per spike, with its figures, its inbox conversation and its emails.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 16:29:23.695227
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "social_alerts",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("message", sa.String(length=500), nullable=False),
        sa.Column("mentions", sa.Integer(), nullable=False),
        sa.Column("usual", sa.Float(), nullable=False),
        sa.Column("negative_share", sa.Float(), nullable=False),
        sa.Column("started_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("emailed", sa.Integer(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_social_alerts_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_social_alerts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_alerts")),
    )
    with op.batch_alter_table("social_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_social_alerts_workspace_id_kind_started_at"),
            ["workspace_id", "kind", "started_at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("social_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_social_alerts_workspace_id_kind_started_at"))

    op.drop_table("social_alerts")
