"""acquisition touches campaigns and links

Acquisition: each person's first touch, last touch before their first order and latest
touch (one row per profile, erased with it), the workspace's campaigns with their cost,
and their short links with a click count.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOUCHES = ("first", "last", "latest")


def _touch_columns(prefix: str) -> list[sa.Column[object]]:
    return [
        sa.Column(f"{prefix}_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column(f"{prefix}_group", sa.String(length=32), nullable=True),
        sa.Column(f"{prefix}_source", sa.String(length=120), nullable=True),
        sa.Column(f"{prefix}_medium", sa.String(length=120), nullable=True),
        sa.Column(f"{prefix}_campaign", sa.String(length=200), nullable=True),
        sa.Column(f"{prefix}_term", sa.String(length=200), nullable=True),
        sa.Column(f"{prefix}_content", sa.String(length=200), nullable=True),
        sa.Column(f"{prefix}_referrer", sa.String(length=255), nullable=True),
        sa.Column(f"{prefix}_channel", sa.String(length=32), nullable=True),
    ]


def upgrade() -> None:
    op.create_table(
        "acquisition_campaigns",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("utm_campaign", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=120), nullable=False),
        sa.Column("medium", sa.String(length=120), nullable=False),
        sa.Column("cost", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_acquisition_campaigns_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acquisition_campaigns")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_acquisition_campaigns_workspace_id_name")
        ),
        sa.UniqueConstraint(
            "workspace_id",
            "utm_campaign",
            name=op.f("uq_acquisition_campaigns_workspace_id_utm_campaign"),
        ),
    )
    op.create_table(
        "acquisition_links",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("campaign_id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("label", sa.String(length=120), nullable=True),
        sa.Column("destination", sa.String(length=2000), nullable=False),
        sa.Column("utm_source", sa.String(length=120), nullable=True),
        sa.Column("utm_medium", sa.String(length=120), nullable=True),
        sa.Column("utm_term", sa.String(length=200), nullable=True),
        sa.Column("utm_content", sa.String(length=200), nullable=True),
        sa.Column("append_utm", sa.Boolean(), nullable=False),
        sa.Column("clicks", sa.Integer(), nullable=False),
        sa.Column("last_clicked_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=True),
        sa.Column("updated_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["acquisition_campaigns.id"],
            name=op.f("fk_acquisition_links_campaign_id_acquisition_campaigns"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_acquisition_links_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_acquisition_links")),
        sa.UniqueConstraint("code", name=op.f("uq_acquisition_links_code")),
    )
    with op.batch_alter_table("acquisition_links", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_acquisition_links_campaign_id"), ["campaign_id"])
        batch_op.create_index(
            batch_op.f("ix_acquisition_links_workspace_id_created_at"),
            ["workspace_id", "created_at"],
        )

    op.create_table(
        "acquisition_touches",
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        *[column for prefix in TOUCHES for column in _touch_columns(prefix)],
        sa.Column("first_order_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("link_only", sa.Boolean(), nullable=False),
        sa.Column("computed_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_acquisition_touches_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_acquisition_touches_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_acquisition_touches")),
    )
    with op.batch_alter_table("acquisition_touches", schema=None) as batch_op:
        for column in ("first_at", "first_campaign", "first_group", "first_source"):
            batch_op.create_index(
                batch_op.f(f"ix_acquisition_touches_workspace_id_{column}"),
                ["workspace_id", column],
            )


def downgrade() -> None:
    with op.batch_alter_table("acquisition_touches", schema=None) as batch_op:
        for column in ("first_source", "first_group", "first_campaign", "first_at"):
            batch_op.drop_index(batch_op.f(f"ix_acquisition_touches_workspace_id_{column}"))

    op.drop_table("acquisition_touches")
    with op.batch_alter_table("acquisition_links", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_acquisition_links_workspace_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_acquisition_links_campaign_id"))

    op.drop_table("acquisition_links")
    op.drop_table("acquisition_campaigns")
