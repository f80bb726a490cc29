"""help center assets, reply links and search by workspace lexeme

Articles' images and files (kept in the database, so every server of a deployment serves
them); on PostgreSQL every search document carries its workspace as a lexeme, so the text
index alone answers a search whether or not the table has statistics; search documents
are found by article for visibility changes; the articles agents' replies linked to; a
reader's open visit is found by its reader.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "help_assets",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=100), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=200), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["help_articles.id"],
            name=op.f("fk_help_assets_article_id_help_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_help_assets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_assets")),
    )
    with op.batch_alter_table("help_assets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_help_assets_article_id"), ["article_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_help_assets_workspace_id"), ["workspace_id"], unique=False
        )
    op.create_table(
        "help_reply_links",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("article_id", sa.Uuid(), nullable=False),
        sa.Column("conversation_id", sa.Uuid(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False),
        sa.Column("at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["help_articles.id"],
            name=op.f("fk_help_reply_links_article_id_help_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_help_reply_links_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_help_reply_links_message_id_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_help_reply_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_help_reply_links")),
        sa.UniqueConstraint(
            "message_id", "article_id", name=op.f("uq_help_reply_links_message_id_article_id")
        ),
    )
    with op.batch_alter_table("help_reply_links", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_help_reply_links_article_id"), ["article_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_help_reply_links_workspace_id_at"), ["workspace_id", "at"], unique=False
        )
    with op.batch_alter_table("help_visits", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_help_visits_workspace_id_reader_last_at"),
            ["workspace_id", "reader", "last_at"],
            unique=False,
        )
    with op.batch_alter_table("help_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_help_documents_article_id"), ["article_id"], unique=False
        )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE help_documents SET search = coalesce(search, ''::tsvector) || "
            "array_to_tsvector(ARRAY['ws ' || replace(workspace_id::text, '-', '')])"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "UPDATE help_documents SET search = ts_delete(search, "
            "'ws ' || replace(workspace_id::text, '-', ''))"
        )
    with op.batch_alter_table("help_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_help_documents_article_id"))
    with op.batch_alter_table("help_visits", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_help_visits_workspace_id_reader_last_at"))
    with op.batch_alter_table("help_reply_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_help_reply_links_workspace_id_at"))
        batch_op.drop_index(batch_op.f("ix_help_reply_links_article_id"))
    op.drop_table("help_reply_links")
    with op.batch_alter_table("help_assets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_help_assets_workspace_id"))
        batch_op.drop_index(batch_op.f("ix_help_assets_article_id"))
    op.drop_table("help_assets")
