"""profiles name their survivor without a foreign key

A foreign key from ``profiles`` to itself made marking a profile merged cost as much as
rewriting it: SQLite rewrites every index of a row when a key to its own table changes,
and PostgreSQL checks the survivor's row for every tombstone written. Profiles are
deleted only with everyone merged into them (an erase), so the key guarded nothing.
The partial index of tombstones stays.

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-05 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_profiles_merged_into_id"
WHERE = "merged_into_id IS NOT NULL"


def _tombstones_index() -> None:
    op.create_index(
        INDEX,
        "profiles",
        ["merged_into_id"],
        unique=False,
        postgresql_where=sa.text(WHERE),
        sqlite_where=sa.text(WHERE),
    )


def upgrade() -> None:
    op.drop_index(INDEX, table_name="profiles")
    with op.batch_alter_table("profiles") as batch:
        batch.drop_constraint("fk_profiles_merged_into_id_profiles", type_="foreignkey")
    _tombstones_index()


def downgrade() -> None:
    op.drop_index(INDEX, table_name="profiles")
    with op.batch_alter_table("profiles") as batch:
        batch.create_foreign_key(
            "fk_profiles_merged_into_id_profiles",
            "profiles",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
    _tombstones_index()
