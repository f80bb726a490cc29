"""outreach campaigns, journeys and their send queue

Email campaigns to a segment; journeys (their published versions, the people in them
with their waits, the steps each went through, the events they listen for); and one row
per message to send: the durable send queue (claimed in batches, each outcome recorded
as it happens) and the record of what each person was sent, refused or held out of,
with the reason. A send's progress changes no indexed column, so on PostgreSQL its row
is updated in place on pages kept half empty for it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "journeys",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=True),
        sa.Column("cursor_id", sa.Uuid(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journeys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journeys")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_journeys_workspace_id_name")),
    )
    op.create_table(
        "journey_entries",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=True),
        sa.Column("wake_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("waiting_for", sa.String(length=200), nullable=True),
        sa.Column("claimed_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("holdout", sa.Boolean(), nullable=False),
        sa.Column("entered_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_entries_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_journey_entries_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_entries_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_entries")),
    )
    with op.batch_alter_table("journey_entries", schema=None) as batch_op:
        batch_op.create_index(
            "ix_journey_entries_due",
            ["wake_at"],
            unique=False,
            postgresql_where=sa.text("status = 'waiting'"),
            sqlite_where=sa.text("status = 'waiting'"),
        )
        batch_op.create_index(
            batch_op.f("ix_journey_entries_journey_id_profile_id"),
            ["journey_id", "profile_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_journey_entries_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "journey_signals",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_journey_signals_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_signals_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_signals")),
    )
    with op.batch_alter_table("journey_signals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journey_signals_workspace_id_id"), ["workspace_id", "id"], unique=False
        )

    op.create_table(
        "journey_versions",
        sa.Column("journey_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("published_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_versions_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_versions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("journey_id", "version", name=op.f("pk_journey_versions")),
    )
    op.create_table(
        "outreach_campaigns",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("segment_id", sa.Uuid(), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("html", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("from_name", sa.String(length=120), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("holdout_percent", sa.Integer(), nullable=False),
        sa.Column("goal_event", sa.String(length=120), nullable=False),
        sa.Column("goal_days", sa.Integer(), nullable=False),
        sa.Column("respect_caps", sa.Boolean(), nullable=False),
        sa.Column("usual_hour", sa.Boolean(), nullable=False),
        sa.Column("audience", sa.Integer(), nullable=False),
        sa.Column("scheduled_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("planned_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_outreach_campaigns_segment_id_segments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_outreach_campaigns_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_campaigns")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_outreach_campaigns_workspace_id_name")
        ),
    )
    op.create_table(
        "journey_step_log",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("journey_id", sa.Uuid(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.String(length=40), nullable=False),
        sa.Column("at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=40), nullable=False),
        sa.Column("detail", sa.String(length=500), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["journey_entries.id"],
            name=op.f("fk_journey_step_log_entry_id_journey_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_journey_step_log_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_journey_step_log_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journey_step_log")),
        sa.UniqueConstraint("entry_id", "step", name=op.f("uq_journey_step_log_entry_id_step")),
    )
    with op.batch_alter_table("journey_step_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journey_step_log_journey_id_step"), ["journey_id", "step"], unique=False
        )

    op.create_table(
        "outreach_sends",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("source_key", sa.String(length=120), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=True),
        sa.Column("journey_id", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=True),
        sa.Column("step", sa.String(length=40), nullable=True),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("promotional", sa.Boolean(), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Uuid(), nullable=True),
        sa.Column("claimed_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("queued_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_attempt_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("opens", sa.Integer(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("opened_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("clicked_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["outreach_campaigns.id"],
            name=op.f("fk_outreach_sends_campaign_id_outreach_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["journey_id"],
            ["journeys.id"],
            name=op.f("fk_outreach_sends_journey_id_journeys"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_outreach_sends_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_outreach_sends_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outreach_sends")),
        sa.UniqueConstraint(
            "source_key", "profile_id", name=op.f("uq_outreach_sends_source_key_profile_id")
        ),
        postgresql_with={"fillfactor": 50},
    )
    with op.batch_alter_table("outreach_sends", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_outreach_sends_campaign_id_profile_id"),
            ["campaign_id", "profile_id"],
            unique=False,
            postgresql_where=sa.text("campaign_id IS NOT NULL"),
            sqlite_where=sa.text("campaign_id IS NOT NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_outreach_sends_journey_id_profile_id"),
            ["journey_id", "profile_id"],
            unique=False,
            postgresql_where=sa.text("journey_id IS NOT NULL"),
            sqlite_where=sa.text("journey_id IS NOT NULL"),
        )
        batch_op.create_index(
            batch_op.f("ix_outreach_sends_profile_id"), ["profile_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_sends", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_sends_profile_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_sends_journey_id_profile_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_sends_campaign_id_profile_id"))

    op.drop_table("outreach_sends")
    with op.batch_alter_table("journey_step_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_step_log_journey_id_step"))

    op.drop_table("journey_step_log")
    op.drop_table("outreach_campaigns")
    op.drop_table("journey_versions")
    with op.batch_alter_table("journey_signals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_signals_workspace_id_id"))

    op.drop_table("journey_signals")
    with op.batch_alter_table("journey_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journey_entries_profile_id"))
        batch_op.drop_index(batch_op.f("ix_journey_entries_journey_id_profile_id"))
        batch_op.drop_index(
            "ix_journey_entries_due",
            postgresql_where=sa.text("status = 'waiting'"),
            sqlite_where=sa.text("status = 'waiting'"),
        )

    op.drop_table("journey_entries")
    op.drop_table("journeys")
