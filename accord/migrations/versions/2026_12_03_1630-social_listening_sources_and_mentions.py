"""Social listening: the sources a workspace listens on and the mentions they heard.

A source keeps its connector's position (``cursor``) and its health; a mention is unique
per workspace, network and post, with its understanding (sentiment, intents, influence),
its author when the identity graph knows them, and its triage.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 16:30:29.626837
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "social_sources",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("credentials_encrypted", sa.Text(), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("cursor", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("next_fetch_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_fetched_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heard", sa.Integer(), nullable=False),
        sa.Column("updated_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_social_sources_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_sources")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_social_sources_workspace_id_name")
        ),
    )
    op.create_table(
        "social_mentions",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("source_id", sa.Uuid(), nullable=True),
        sa.Column("network", sa.String(length=32), nullable=False),
        sa.Column("external_id", sa.String(length=400), nullable=False),
        sa.Column("url", sa.String(length=1000), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=500), nullable=True),
        sa.Column("lang", sa.String(length=16), nullable=True),
        sa.Column("posted_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("author_handle", sa.String(length=255), nullable=False),
        sa.Column("author_name", sa.String(length=255), nullable=True),
        sa.Column("author_id", sa.String(length=255), nullable=True),
        sa.Column("author_url", sa.String(length=1000), nullable=True),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("reposts", sa.Integer(), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.Column("reply_to", sa.String(length=400), nullable=True),
        sa.Column("thread_root", sa.String(length=400), nullable=True),
        sa.Column("reply_ref", sa.JSON(), nullable=False),
        sa.Column("about", sa.String(length=120), nullable=False),
        sa.Column("matched", sa.JSON(), nullable=False),
        sa.Column("sentiment", sa.String(length=8), nullable=False),
        sa.Column("sentiment_score", sa.Float(), nullable=False),
        sa.Column("intents", sa.JSON(), nullable=False),
        sa.Column("intent", sa.String(length=20), nullable=True),
        sa.Column("influence", sa.Float(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=True),
        sa.Column("customer_value", sa.Float(), nullable=True),
        sa.Column("decision", sa.String(length=8), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("rule", sa.String(length=80), nullable=True),
        sa.Column("priority", sa.String(length=8), nullable=False),
        sa.Column("respond_by", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=True),
        sa.Column("first_response_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reply_external_id", sa.String(length=400), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_social_mentions_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_social_mentions_profile_id_profiles"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["social_sources.id"],
            name=op.f("fk_social_mentions_source_id_social_sources"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_social_mentions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_social_mentions")),
        sa.UniqueConstraint(
            "workspace_id",
            "network",
            "external_id",
            name=op.f("uq_social_mentions_workspace_id_network_external_id"),
        ),
    )
    with op.batch_alter_table("social_mentions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_social_mentions_conversation_id"), ["conversation_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_social_mentions_profile_id"), ["profile_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_social_mentions_workspace_id_fingerprint"),
            ["workspace_id", "fingerprint"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_social_mentions_workspace_id_network_author_handle"),
            ["workspace_id", "network", "author_handle"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_social_mentions_workspace_id_posted_at"),
            ["workspace_id", "posted_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_social_mentions_workspace_id_state_respond_by"),
            ["workspace_id", "state", "respond_by"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("social_mentions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_social_mentions_workspace_id_state_respond_by"))
        batch_op.drop_index(batch_op.f("ix_social_mentions_workspace_id_posted_at"))
        batch_op.drop_index(batch_op.f("ix_social_mentions_workspace_id_network_author_handle"))
        batch_op.drop_index(batch_op.f("ix_social_mentions_workspace_id_fingerprint"))
        batch_op.drop_index(batch_op.f("ix_social_mentions_profile_id"))
        batch_op.drop_index(batch_op.f("ix_social_mentions_conversation_id"))

    op.drop_table("social_mentions")
    op.drop_table("social_sources")
