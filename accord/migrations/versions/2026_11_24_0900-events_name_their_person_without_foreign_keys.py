"""events name their person without foreign keys; only attributed events are indexed

Resolution writes an event's person and primary identifier from rows it holds in the
same transaction, and people and identifiers are never deleted, so the two columns stop
being foreign keys (checking them locked the person's row for every event written to
it). Pending events name nobody yet: the two indexes on these columns leave them out.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ATTRIBUTED = {
    "ix_events_profile_id_timestamp": (["profile_id", "timestamp"], "profile_id IS NOT NULL"),
    "ix_events_primary_identifier_id": (
        ["primary_identifier_id"],
        "primary_identifier_id IS NOT NULL",
    ),
}


def upgrade() -> None:
    with op.batch_alter_table("events") as batch:
        batch.drop_constraint("fk_events_profile_id_profiles", type_="foreignkey")
        batch.drop_constraint("fk_events_primary_identifier_id_identifiers", type_="foreignkey")
        for name, (columns, where) in ATTRIBUTED.items():
            batch.drop_index(name)
            batch.create_index(
                name,
                columns,
                unique=False,
                postgresql_where=sa.text(where),
                sqlite_where=sa.text(where),
            )


def downgrade() -> None:
    with op.batch_alter_table("events") as batch:
        for name, (columns, _) in ATTRIBUTED.items():
            batch.drop_index(name)
            batch.create_index(name, columns, unique=False)
        batch.create_foreign_key(
            "fk_events_profile_id_profiles",
            "profiles",
            ["profile_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            "fk_events_primary_identifier_id_identifiers",
            "identifiers",
            ["primary_identifier_id"],
            ["id"],
            ondelete="SET NULL",
        )
