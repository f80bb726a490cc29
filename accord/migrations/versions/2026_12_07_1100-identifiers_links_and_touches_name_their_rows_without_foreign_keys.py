"""identifiers, links and touches name their rows without foreign keys

Each identifier resolution made or gave to someone, each link it recorded and each
acquisition row the touches made was checked against the rows it named: the workspace's
row, which all of a workspace's writers share, and the person's or the identifiers'. A
check locks the row it finds, a write of that row for every row made. These rows are
written only by resolution and the touches that follow it, for the workspace they serve
and rows they hold in the same transaction; workspaces are never deleted, and people
and identifiers only by an erase, which deletes what names them by the columns (now
marked in the models' ``info``). So the columns stop being foreign keys.

Revision ID: 0042
Revises: 0041
Create Date: 2026-12-07 11:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table: (constraint, column, referred table, on delete)
KEYS = {
    "identifiers": (
        ("fk_identifiers_workspace_id_workspaces", "workspace_id", "workspaces", "CASCADE"),
        ("fk_identifiers_profile_id_profiles", "profile_id", "profiles", "SET NULL"),
    ),
    "identity_links": (
        ("fk_identity_links_workspace_id_workspaces", "workspace_id", "workspaces", "CASCADE"),
        ("fk_identity_links_a_id_identifiers", "a_id", "identifiers", "CASCADE"),
        ("fk_identity_links_b_id_identifiers", "b_id", "identifiers", "CASCADE"),
    ),
    "acquisition_touches": (
        ("fk_acquisition_touches_workspace_id_workspaces", "workspace_id", "workspaces", "CASCADE"),
        ("fk_acquisition_touches_profile_id_profiles", "profile_id", "profiles", "CASCADE"),
    ),
}


def upgrade() -> None:
    for table, keys in KEYS.items():
        with op.batch_alter_table(table) as batch:
            for name, _, _, _ in keys:
                batch.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    for table, keys in KEYS.items():
        with op.batch_alter_table(table) as batch:
            for name, column, referred, ondelete in keys:
                batch.create_foreign_key(name, referred, [column], ["id"], ondelete=ondelete)
