"""segments membership history and timers

Segments (a rule tree), their members now, every entry and exit with its cause, the
people changes touched waiting to be evaluated, the timers that flip windowed conditions when their time comes, a size per day, the clock
that keeps one sweep scheduled per workspace, and computed traits. Events get an index
by workspace, name and time (resolved events only) for counting events set-based.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "computed_traits",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("event", sa.String(length=200), nullable=False),
        sa.Column("where", sa.JSON(), nullable=False),
        sa.Column("aggregate", sa.String(length=16), nullable=False),
        sa.Column("property", sa.String(length=200), nullable=True),
        sa.Column("window_seconds", sa.Integer(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_computed_traits_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_computed_traits")),
        sa.UniqueConstraint(
            "workspace_id", "key", name=op.f("uq_computed_traits_workspace_id_key")
        ),
    )
    op.create_table(
        "segment_clocks",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("next_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_segment_clocks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", name=op.f("pk_segment_clocks")),
    )
    op.create_table(
        "segments",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("calendar", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("built_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_segments_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segments")),
        sa.UniqueConstraint("workspace_id", "name", name=op.f("uq_segments_workspace_id_name")),
    )
    op.create_table(
        "segment_changes",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cause", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_segment_changes_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_changes_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_segment_changes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_changes")),
    )
    with op.batch_alter_table("segment_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_changes_profile_id_at"), ["profile_id", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_segment_changes_segment_id_at"), ["segment_id", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_segment_changes_workspace_id_id"), ["workspace_id", "id"], unique=False
        )

    op.create_table(
        "segment_members",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("since", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_segment_members_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_members_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_segment_members_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "profile_id", name=op.f("pk_segment_members")),
    )
    with op.batch_alter_table("segment_members", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_members_profile_id"), ["profile_id"], unique=False
        )

    op.create_table(
        "segment_sizes",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_sizes_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_segment_sizes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "day", name=op.f("pk_segment_sizes")),
    )
    op.create_table(
        "segment_timers",
        sa.Column("segment_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_segment_timers_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["segment_id"],
            ["segments.id"],
            name=op.f("fk_segment_timers_segment_id_segments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_segment_timers_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("segment_id", "profile_id", name=op.f("pk_segment_timers")),
    )
    with op.batch_alter_table("segment_timers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_timers_workspace_id_due_at"),
            ["workspace_id", "due_at"],
            unique=False,
        )

    op.create_table(
        "segment_dirty",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("profile_ids", sa.JSON(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("noted_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_segment_dirty_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_segment_dirty")),
    )
    with op.batch_alter_table("segment_dirty", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_segment_dirty_workspace_id_id"), ["workspace_id", "id"], unique=False
        )

    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_events_name_time",
            ["workspace_id", "name", "timestamp"],
            unique=False,
            postgresql_where=sa.text("profile_id IS NOT NULL"),
            sqlite_where=sa.text("profile_id IS NOT NULL"),
        )


def downgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_events_name_time",
            postgresql_where=sa.text("profile_id IS NOT NULL"),
            sqlite_where=sa.text("profile_id IS NOT NULL"),
        )

    with op.batch_alter_table("segment_dirty", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_dirty_workspace_id_id"))

    op.drop_table("segment_dirty")
    with op.batch_alter_table("segment_timers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_timers_workspace_id_due_at"))

    op.drop_table("segment_timers")
    op.drop_table("segment_sizes")
    with op.batch_alter_table("segment_members", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_members_profile_id"))

    op.drop_table("segment_members")
    with op.batch_alter_table("segment_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_segment_changes_workspace_id_id"))
        batch_op.drop_index(batch_op.f("ix_segment_changes_segment_id_at"))
        batch_op.drop_index(batch_op.f("ix_segment_changes_profile_id_at"))

    op.drop_table("segment_changes")
    op.drop_table("segments")
    op.drop_table("segment_clocks")
    op.drop_table("computed_traits")
