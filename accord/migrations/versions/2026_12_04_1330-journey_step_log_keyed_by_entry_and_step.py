"""Journey step log keyed by entry and step; keys a batch of steps need not check dropped.

A step log row is keyed by its entry and step (the unique pair it already had) instead
of an id of its own, and keeps no keys to its workspace and journey: the entry's key
removes it with the entry, which goes with its journey and workspace. A queued message
keeps only the key to its campaign or journey (a new check makes sure one is set; either
goes with the workspace) and names its person without a key: checking it locked, and so
wrote into, every person messaged (erasing a person still removes their messages, found
by the column's declared reference). Each person a batch of journey steps moves on then
costs two index entries, four key checks and a row lock fewer. On SQLite the tables are
copied (a primary key cannot change in place).

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 13:30:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("journey_step_log") as batch:
        batch.drop_constraint("fk_journey_step_log_workspace_id_workspaces", type_="foreignkey")
        batch.drop_constraint("fk_journey_step_log_journey_id_journeys", type_="foreignkey")
        batch.drop_constraint("uq_journey_step_log_entry_id_step", type_="unique")
        batch.drop_constraint("pk_journey_step_log", type_="primary")
        batch.drop_column("id")
        batch.create_primary_key("pk_journey_step_log", ["entry_id", "step"])
    with op.batch_alter_table("outreach_sends") as batch:
        batch.drop_constraint("fk_outreach_sends_profile_id_profiles", type_="foreignkey")
        batch.drop_constraint("fk_outreach_sends_workspace_id_workspaces", type_="foreignkey")
        batch.create_check_constraint("source", "campaign_id IS NOT NULL OR journey_id IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("outreach_sends") as batch:
        batch.drop_constraint(op.f("ck_outreach_sends_source"), type_="check")
        batch.create_foreign_key(
            "fk_outreach_sends_workspace_id_workspaces",
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            "fk_outreach_sends_profile_id_profiles",
            "profiles",
            ["profile_id"],
            ["id"],
            ondelete="CASCADE",
        )
    op.add_column("journey_step_log", sa.Column("id", sa.Uuid(), nullable=True))
    log = sa.table(
        "journey_step_log",
        sa.column("id", sa.Uuid()),
        sa.column("entry_id", sa.Uuid()),
        sa.column("step", sa.String()),
    )
    bind = op.get_bind()
    for entry_id, step in bind.execute(sa.select(log.c.entry_id, log.c.step)).all():
        bind.execute(
            sa.update(log)
            .where(log.c.entry_id == entry_id, log.c.step == step)
            .values(id=uuid.uuid4())
        )
    with op.batch_alter_table("journey_step_log") as batch:
        batch.drop_constraint("pk_journey_step_log", type_="primary")
        batch.alter_column("id", existing_type=sa.Uuid(), nullable=False)
        batch.create_primary_key("pk_journey_step_log", ["id"])
        batch.create_unique_constraint("uq_journey_step_log_entry_id_step", ["entry_id", "step"])
        batch.create_foreign_key(
            "fk_journey_step_log_journey_id_journeys",
            "journeys",
            ["journey_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            "fk_journey_step_log_workspace_id_workspaces",
            "workspaces",
            ["workspace_id"],
            ["id"],
            ondelete="CASCADE",
        )
