"""passwords are changed by their user and reset by an emailed link

``users.password_changed_at`` is set by a change or a reset: failed sign-ins before it no
longer count against the account. ``password_resets`` keeps each request for a reset link
(email and client address, so requests can be limited whether or not an account has the
email) and, for an account, the SHA-256 of the link's single-use token, its expiry and when
it was used.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Adding a nullable column needs no copy of the table, on SQLite either.
    op.add_column(
        "users",
        sa.Column("password_changed_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "password_resets",
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=True),
        sa.Column("expires_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_password_resets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_password_resets")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_password_resets_token_hash")),
    )
    op.create_index(
        op.f("ix_password_resets_email_created_at"),
        "password_resets",
        ["email", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_password_resets_ip_created_at"),
        "password_resets",
        ["ip", "created_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_password_resets_user_id"), "password_resets", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_password_resets_user_id"), table_name="password_resets")
    op.drop_index(op.f("ix_password_resets_ip_created_at"), table_name="password_resets")
    op.drop_index(op.f("ix_password_resets_email_created_at"), table_name="password_resets")
    op.drop_table("password_resets")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("password_changed_at")
