"""data-subject requests, retention runs and the access log

``privacy_requests`` holds requests by any identifier (export, access, erase) with their
due date and receipt; an erase keeps only a salted hash and a masked form of the
identifier once done. ``retention_runs`` records what each pass of the retention policies
removed (or would remove). ``access_log`` records who read which person's data.

Erasing a person must go through an index at every step, on a database with a million
people and ten million events. The indexes it was missing:

- ``ix_profiles_merged_into_id`` (tombstones only): the people merged into a person are
  found by ``merged_into_id``, and deleting a person makes the database look up the rows
  whose ``merged_into_id`` names it (the self-referencing foreign key) for every person
  deleted: without it, a scan of every profile per person.
- ``ix_events_unattributed`` (unattributed events only): events resolution left without a
  person carry only blocked identifiers (a shared device). An erase by such an
  identifier finds them here; attributed events are found by their person and primary
  identifier (indexed already), pending and failed ones by their own partial indexes. Only
  these events are indexed, so accepting and resolving an attributed event writes nothing
  more.
- ``ix_identity_links_a_id`` and ``ix_identity_links_b_id``: deleting an identifier makes
  the database delete its identity links (the foreign keys cascade), looking each end up
  for every identifier deleted; the links' own indexes start with the workspace, so that
  look-up read every link of the table (0.2 s an identifier with 300,000 links, growing
  with the graph).
- ``ix_conversations_profile_id``, ``ix_merges_survivor_id``,
  ``ix_match_candidates_profile_a_id``, and, only for the rows that name something,
  ``ix_match_candidates_merge_id``, ``ix_separations_merge_id`` and
  ``ix_chat_trigger_shows_conversation_id``: deleting a person, a merge or a conversation
  makes the database look up the rows whose foreign key names it, for every row deleted;
  without an index leading with the key, each look-up read the whole table or an index
  led by the workspace. Now every foreign key to a person's table has one, so the cost of
  an erase follows the person's rows, not the size of the tables.
- ``ix_attachments_sha256``: files are stored once by their hash, so a file is removed
  from disk only when no attachment row names it any longer.
- ``ix_audit_events_workspace_id_target``: audit events whose target is an erased person
  are removed with them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import accord.kit.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = accord.kit.db.UTCDateTime(timezone=True)
TOMBSTONES = "merged_into_id IS NOT NULL"
UNATTRIBUTED = "status = 'unattributed'"
# Foreign keys an erase makes the database follow (see the docstring).
KEYED = [
    ("ix_conversations_profile_id", "conversations", "profile_id", None),
    ("ix_merges_survivor_id", "merges", "survivor_id", None),
    ("ix_match_candidates_profile_a_id", "match_candidates", "profile_a_id", None),
    ("ix_match_candidates_merge_id", "match_candidates", "merge_id", "merge_id IS NOT NULL"),
    ("ix_separations_merge_id", "separations", "merge_id", "merge_id IS NOT NULL"),
    (
        "ix_chat_trigger_shows_conversation_id",
        "chat_trigger_shows",
        "conversation_id",
        "conversation_id IS NOT NULL",
    ),
]


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("identifier_type", sa.String(40), nullable=False),
        sa.Column("identifier_value", sa.String(255), nullable=True),
        sa.Column("identifier_hint", sa.String(80), nullable=False),
        sa.Column("identifier_digest", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(200), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("completed_at", UTC, nullable=True),
        sa.Column("completed_by", sa.String(200), nullable=True),
        sa.Column("profile_ids", sa.JSON(), nullable=False),
        sa.Column("receipt", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_privacy_requests_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(
        op.f("ix_privacy_requests_workspace_id_created_at"),
        "privacy_requests",
        ["workspace_id", "created_at"],
    )
    op.create_index(
        op.f("ix_privacy_requests_workspace_id_status_due_at"),
        "privacy_requests",
        ["workspace_id", "status", "due_at"],
    )
    op.create_table(
        "retention_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("finished_at", UTC, nullable=True),
        sa.Column("report", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_retention_runs_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )
    op.create_index(
        op.f("ix_retention_runs_workspace_id_created_at"),
        "retention_runs",
        ["workspace_id", "created_at"],
    )
    op.create_table(
        "access_log",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("profile_id", sa.Uuid(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("actor_kind", sa.String(12), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("via", sa.String(12), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_access_log_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profiles.id"],
            name=op.f("fk_access_log_profile_id_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_log")),
    )
    op.create_index(op.f("ix_access_log_profile_id_at"), "access_log", ["profile_id", "at"])
    op.create_index(
        op.f("ix_profiles_merged_into_id"),
        "profiles",
        ["merged_into_id"],
        postgresql_where=sa.text(TOMBSTONES),
        sqlite_where=sa.text(TOMBSTONES),
    )
    op.create_index(
        "ix_events_unattributed",
        "events",
        ["workspace_id", "id"],
        postgresql_where=sa.text(UNATTRIBUTED),
        sqlite_where=sa.text(UNATTRIBUTED),
    )
    op.create_index("ix_identity_links_a_id", "identity_links", ["a_id"])
    op.create_index("ix_identity_links_b_id", "identity_links", ["b_id"])
    for name, table, column, where in KEYED:
        partial = (
            {}
            if where is None
            else {"postgresql_where": sa.text(where), "sqlite_where": sa.text(where)}
        )
        op.create_index(name, table, [column], **partial)
    op.create_index(op.f("ix_attachments_sha256"), "attachments", ["sha256"])
    op.create_index(
        op.f("ix_audit_events_workspace_id_target"), "audit_events", ["workspace_id", "target"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_events_workspace_id_target"), table_name="audit_events")
    op.drop_index(op.f("ix_attachments_sha256"), table_name="attachments")
    for name, table, _, _ in reversed(KEYED):
        op.drop_index(name, table_name=table)
    op.drop_index("ix_identity_links_b_id", table_name="identity_links")
    op.drop_index("ix_identity_links_a_id", table_name="identity_links")
    op.drop_index("ix_events_unattributed", table_name="events")
    op.drop_index(op.f("ix_profiles_merged_into_id"), table_name="profiles")
    op.drop_index(op.f("ix_access_log_profile_id_at"), table_name="access_log")
    op.drop_table("access_log")
    op.drop_index(op.f("ix_retention_runs_workspace_id_created_at"), table_name="retention_runs")
    op.drop_table("retention_runs")
    op.drop_index(
        op.f("ix_privacy_requests_workspace_id_status_due_at"), table_name="privacy_requests"
    )
    op.drop_index(
        op.f("ix_privacy_requests_workspace_id_created_at"), table_name="privacy_requests"
    )
    op.drop_table("privacy_requests")
