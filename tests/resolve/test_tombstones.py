"""Marking a profile merged writes the tombstone and nothing else: profiles name their
survivor without a foreign key, so SQLite does not rewrite every index of the row and
PostgreSQL does not check the survivor for each tombstone (on both databases)."""

from __future__ import annotations

from sqlalchemy import inspect
from sqlalchemy.orm import Session


def test_profiles_name_their_survivor_without_a_key_to_their_own_table(
    session: Session, backend: str
) -> None:
    connection = session.connection()
    keys = inspect(connection).get_foreign_keys("profiles")
    assert [k["referred_table"] for k in keys] == ["workspaces"]
    indexes = {i["name"]: i["column_names"] for i in inspect(connection).get_indexes("profiles")}
    assert indexes["ix_profiles_merged_into_id"] == ["merged_into_id"]
    if backend != "sqlite":
        return
    program = connection.exec_driver_sql(
        "EXPLAIN UPDATE profiles SET merged_into_id = ? WHERE id = ?", ("a" * 32, "b" * 32)
    ).all()
    ops = [row[1] for row in program]
    # The tombstones' partial index alone: its old entry out, its new one in. With a key
    # to its own table SQLite deleted and inserted the entries of all six indexes.
    assert ops.count("IdxDelete") == 1
    assert ops.count("IdxInsert") == 1
