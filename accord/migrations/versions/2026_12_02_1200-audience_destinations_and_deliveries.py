"""audience destinations and deliveries

Audiences: outgoing webhooks per workspace (the URL, the signing secret encrypted, which
segments and events, paused or not, and the cursor over segment changes), and every
delivery to one of them with its signed body and the log of its attempts.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02 12:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audience_destinations",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("segment_ids", sa.JSON(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("since_id", sa.Uuid(), nullable=False),
        sa.Column("cursor_id", sa.Uuid(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_audience_destinations_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_destinations")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_audience_destinations_workspace_id_name")
        ),
    )
    op.create_table(
        "audience_deliveries",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("destination_id", sa.Uuid(), nullable=False),
        sa.Column("change_id", sa.Uuid(), nullable=True),
        sa.Column("segment_id", sa.Uuid(), nullable=True),
        sa.Column("profile_id", sa.Uuid(), nullable=True),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_attempt_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("next_attempt_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["destination_id"],
            ["audience_destinations.id"],
            name=op.f("fk_audience_deliveries_destination_id_audience_destinations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_audience_deliveries_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_audience_deliveries_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audience_deliveries")),
        sa.UniqueConstraint(
            "destination_id",
            "change_id",
            name=op.f("uq_audience_deliveries_destination_id_change_id"),
        ),
    )
    with op.batch_alter_table("audience_deliveries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_audience_deliveries_destination_id_id"), ["destination_id", "id"]
        )
        batch_op.create_index(batch_op.f("ix_audience_deliveries_profile_id"), ["profile_id"])
        batch_op.create_index(
            batch_op.f("ix_audience_deliveries_status_next_attempt_at"),
            ["status", "next_attempt_at"],
        )


def downgrade() -> None:
    with op.batch_alter_table("audience_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audience_deliveries_status_next_attempt_at"))
        batch_op.drop_index(batch_op.f("ix_audience_deliveries_profile_id"))
        batch_op.drop_index(batch_op.f("ix_audience_deliveries_destination_id_id"))

    op.drop_table("audience_deliveries")
    op.drop_table("audience_destinations")
