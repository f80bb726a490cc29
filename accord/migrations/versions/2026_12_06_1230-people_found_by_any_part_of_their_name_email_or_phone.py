"""people found by any part of their name, email or phone

A search of the people list matches the start of any word of a person's name, the start
of their email, or their phone's digits. Read along the list's own order, a search that
few people match walks every person of the workspace: about a second for a million. On
PostgreSQL, trigram indexes (``pg_trgm``, shipped with PostgreSQL and trusted, so a
database's owner may create it) of the three columns find the few first; the planner
still walks the list's index for a search that many people match. SQLite needs nothing.
The indexes are built under the table's lock: about 10 s for a million people, during
which writes to ``profiles`` wait.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-06 12:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Made here, not by the model: an index of PostgreSQL's alone (``kit/migrate.py``).
COLUMNS = ("search_name", "email", "phone")


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        op.execute(
            f"CREATE INDEX ix_profiles_{column}_trgm ON profiles USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS ix_profiles_{column}_trgm")
