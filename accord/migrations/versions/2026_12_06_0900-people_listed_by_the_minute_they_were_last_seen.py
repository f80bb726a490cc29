"""people listed by the minute they were last seen

Every event a person sends moves their ``last_seen_at``, and an index of it made every
update of a person's counts a new row version written to every index of ``profiles``
(PostgreSQL updates a row in place, heap-only, only when no indexed column changes). The
people list now reads a generated column, the minute of ``last_seen_at``, which moves at
most once a minute, with the id: the latest seen minute first, the newest person first
within it, read along the index without sorting. On PostgreSQL the table also leaves a
little room on each page, so that the new version of a row fits beside the old one.
Adding the column writes the table again under its lock: 6.2 s for a million people on
PostgreSQL (index included).

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-06 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from accord.kit.dialect import minute_of

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD = "ix_profiles_workspace_id_last_seen_at"
NEW = "ix_profiles_workspace_id_seen_minute_id"
FILLFACTOR = 85


def _column() -> sa.Column[object]:
    return sa.Column(
        "seen_minute",
        sa.DateTime(),
        sa.Computed(minute_of(sa.column("last_seen_at")), persisted=True),
        nullable=True,
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index(OLD, table_name="profiles")
    if postgresql:
        op.add_column("profiles", _column())
        op.execute(f"ALTER TABLE profiles SET (fillfactor = {FILLFACTOR})")
    else:
        # SQLite adds a stored generated column only by building the table again.
        with op.batch_alter_table("profiles", recreate="always") as batch:
            batch.add_column(_column())
    op.create_index(NEW, "profiles", ["workspace_id", "seen_minute", "id"], unique=False)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    op.drop_index(NEW, table_name="profiles")
    if postgresql:
        op.execute("ALTER TABLE profiles RESET (fillfactor)")
    with op.batch_alter_table("profiles") as batch:
        batch.drop_column("seen_minute")
    op.create_index(OLD, "profiles", ["workspace_id", "last_seen_at"], unique=False)
