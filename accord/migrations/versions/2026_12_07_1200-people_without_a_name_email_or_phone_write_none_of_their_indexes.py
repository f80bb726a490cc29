"""people without a name, email or phone write none of their indexes

Most people a site's stream makes are visitors known by a device alone: no name, no
email, no phone. Each was still written into six indexes of those columns, a NULL
entry in each: the three plain ones (``ix_profiles_workspace_id_*``) and, on PostgreSQL,
the three trigram ones (``*_trgm``), whose entries gather in a pending list that the
writer that fills it merges (the resolver, in the middle of a batch). So was every
update of a person that could not stay on its page. Nothing reads the NULL entries: a
look-up by value, a search by part of a value and the list of named people each ask
for a value, which PostgreSQL and SQLite both know a partial index of the rows with one
serves. The six indexes now hold only the rows with a value.

Built under the table's lock: about 10 s a trigram index for a million people, during
which writes to ``profiles`` wait (as migration 0037).

Revision ID: 0043
Revises: 0042
Create Date: 2026-12-07 12:00:00
"""

from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("search_name", "email", "phone")


def _plain(column: str, partial: bool) -> None:
    name = f"ix_profiles_workspace_id_{column}"
    op.drop_index(name, table_name="profiles")
    where = {}
    if partial:
        condition = text(f"{column} IS NOT NULL")
        where = {"postgresql_where": condition, "sqlite_where": condition}
    op.create_index(name, "profiles", ["workspace_id", column], **where)


def _trigram(column: str, partial: bool) -> None:
    name = f"ix_profiles_{column}_trgm"
    op.execute(f"DROP INDEX IF EXISTS {name}")
    where = f" WHERE {column} IS NOT NULL" if partial else ""
    op.execute(f"CREATE INDEX {name} ON profiles USING gin ({column} gin_trgm_ops){where}")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for column in COLUMNS:
        _plain(column, partial=True)
        if postgresql:
            _trigram(column, partial=True)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for column in COLUMNS:
        _plain(column, partial=False)
        if postgresql:
            _trigram(column, partial=False)
