"""consent registry and suppression list

Consent is recorded per person, channel and purpose as append-only records with their
evidence; ``consent_states`` holds the current state derived from them (what a send
checks). ``suppressions`` keeps salted hashes of identifiers that must never create or
reach a person again; each workspace gets its own salt.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 09:00:00
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = accord.kit.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("workspaces") as batch:
        batch.add_column(sa.Column("privacy_salt", sa.String(64), nullable=True))
    bind = op.get_bind()
    workspaces = sa.table("workspaces", sa.column("id", sa.Uuid()), sa.column("privacy_salt"))
    for (workspace_id,) in bind.execute(sa.select(workspaces.c.id)).all():
        bind.execute(
            workspaces.update()
            .where(workspaces.c.id == workspace_id)
            .values(privacy_salt=secrets.token_hex(16))
        )
    with op.batch_alter_table("workspaces") as batch:
        batch.alter_column("privacy_salt", existing_type=sa.String(64), nullable=False)

    op.create_table(
        "consent_records",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("origin_profile_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("legal_basis", sa.String(24), nullable=True),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("recorded_by", sa.String(200), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ip", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(400), nullable=True),
        sa.Column("notice_version", sa.String(64), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("merge_id", sa.Uuid(), nullable=True),
        sa.Column("voided_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_consent_records_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_consent_records_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(
        op.f("ix_consent_records_profile_id_recorded_at"),
        "consent_records",
        ["profile_id", "recorded_at"],
    )
    op.create_table(
        "consent_states",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(24), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("source", sa.String(24), nullable=False),
        sa.Column("recorded_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=True),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_consent_states_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_consent_states_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_states")),
        sa.UniqueConstraint(
            "profile_id",
            "channel",
            "purpose",
            name=op.f("uq_consent_states_profile_id_channel_purpose"),
        ),
    )
    op.create_table(
        "suppressions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(40), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_suppressions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_suppressions")),
        sa.UniqueConstraint(
            "workspace_id", "digest", name=op.f("uq_suppressions_workspace_id_digest")
        ),
    )


def downgrade() -> None:
    op.drop_table("suppressions")
    op.drop_table("consent_states")
    op.drop_index(op.f("ix_consent_records_profile_id_recorded_at"), table_name="consent_records")
    op.drop_table("consent_records")
    with op.batch_alter_table("workspaces") as batch:
        batch.drop_column("privacy_salt")
