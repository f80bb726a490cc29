"""customer scores and scoring runs

Customer analytics: each person's RFM scores and group, lifetime value (BG/NBD and
Gamma-Gamma), churn risk with its factors, persona and relationship value, as of the last
recompute of their workspace; and every recompute with its progress, fitted models and
held-out metrics.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "scoring_runs",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("stage", sa.String(length=120), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("requested_by", sa.String(length=200), nullable=True),
        sa.Column("queued_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("as_of", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("models", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_scoring_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scoring_runs")),
    )
    with op.batch_alter_table("scoring_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_scoring_runs_workspace_id_started_at"), ["workspace_id", "started_at"]
        )
    op.create_table(
        "customer_scores",
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=True),
        sa.Column("computed_at", accord.kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_order_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_order_at", accord.kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("recency_days", sa.Integer(), nullable=True),
        sa.Column("frequency", sa.Integer(), nullable=False),
        sa.Column("monetary", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("r_score", sa.SmallInteger(), nullable=True),
        sa.Column("f_score", sa.SmallInteger(), nullable=True),
        sa.Column("m_score", sa.SmallInteger(), nullable=True),
        sa.Column("rfm_group", sa.String(length=24), nullable=True),
        sa.Column("expected_purchases", sa.Float(), nullable=True),
        sa.Column("p_alive", sa.Float(), nullable=True),
        sa.Column("expected_value", sa.Float(), nullable=True),
        sa.Column("clv", sa.Float(), nullable=True),
        sa.Column("churn_risk", sa.Float(), nullable=True),
        sa.Column("churn_factors", sa.JSON(), nullable=False),
        sa.Column("persona", sa.SmallInteger(), nullable=True),
        sa.Column("persona_name", sa.String(length=80), nullable=True),
        sa.Column("conversations", sa.Integer(), nullable=False),
        sa.Column("service_cost", sa.Float(), nullable=False),
        sa.Column("acquisition_cost", sa.Float(), nullable=False),
        sa.Column("relationship_value", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_customer_scores_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_customer_scores")),
    )
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_customer_scores_workspace_id"), ["workspace_id"])


def downgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_scores_workspace_id"))
    op.drop_table("customer_scores")
    op.drop_table("scoring_runs")
