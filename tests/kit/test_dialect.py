"""insert_ignore stores rows exactly as the ORM would, on both databases: the PostgreSQL
path sends a batch as one JSON document, so every column type has to come back as given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.dialect import epoch_days, insert_ignore, one_of, read_numbers, update_by_id
from accord.kit.ids import new_id
from accord.kit.planning import planner


def row(workspace: ProvisionedWorkspace, message_id: str, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": new_id(),
        "workspace_id": workspace.workspace.id,
        "message_id": message_id,
        "type": "track",
        "name": None,
        "user_id": None,
        "anonymous_id": "anon-1",
        "channel": "web",
        "source": "test",
        "identifiers": [["anonymous_id", "anon-1"]],
        "traits": None,
        "properties": {"nested": {"list": [1, 2.5, None, True]}, "text": 'quote " and \\'},
        "context": {},
        "timestamp": datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=UTC),
        "sent_at": None,
        "received_at": datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        "status": "pending",
        "profile_id": None,
        "primary_identifier_id": None,
    }
    return {**base, **over}


def test_insert_ignore_round_trips_every_column(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    rows = [
        row(workspace, "m1"),
        row(
            workspace,
            "m2",
            name="Ünïcode ✓ 名前",
            traits={"firstName": "Zoë", "emoji": "🙂", "empty": "", "none": None},
            context={"ip": "127.0.0.1", "library": {"name": "x", "version": "1"}},
            sent_at=datetime(2026, 5, 1, 9, 59, tzinfo=UTC),
        ),
        # A NUL character inside JSON: PostgreSQL's JSON functions refuse it, a json
        # column keeps it.
        row(workspace, "m3", properties={"raw": "a\u0000b"}),
    ]
    conflict = ["workspace_id", "message_id"]
    assert insert_ignore(session, Event.__table__, rows[:2], conflict) == 2
    assert insert_ignore(session, Event.__table__, rows[2:], conflict) == 1
    session.expire_all()
    stored = {
        e.message_id: e
        for e in session.scalars(select(Event).where(Event.workspace_id == workspace.workspace.id))
    }
    assert set(stored) == {"m1", "m2", "m3"}
    for given in rows:
        event = stored[given["message_id"]]
        for name, value in given.items():
            assert getattr(event, name) == value, name
    # None in a JSON column is JSON null (the JSON type's default), as the ORM stores it.
    nulls = session.scalar(
        select(func.count())
        .select_from(Event)
        .where(Event.workspace_id == workspace.workspace.id, Event.traits.is_(None))
    )
    assert nulls == 0


def test_times_in_utc_or_in_another_zone_are_stored_as_the_same_instant(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    """Rows whose times are all in UTC go as they are; one time in another zone makes the
    batch converted; a time without a zone is refused, as the ORM refuses it."""
    at = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    plus_two = at.astimezone(timezone(timedelta(hours=2)))
    conflict = ["workspace_id", "message_id"]
    all_utc = [row(workspace, f"utc-{i}", received_at=at, sent_at=None) for i in range(3)]
    mixed = [row(workspace, "utc-3", received_at=at), row(workspace, "zoned", sent_at=plus_two)]
    assert insert_ignore(session, Event.__table__, all_utc, conflict) == 3
    assert insert_ignore(session, Event.__table__, mixed, conflict) == 2
    session.expire_all()
    stored = {
        e.message_id: e
        for e in session.scalars(select(Event).where(Event.workspace_id == workspace.workspace.id))
    }
    assert {e.received_at for m, e in stored.items() if m.startswith("utc-")} == {at}
    assert stored["zoned"].sent_at == at
    assert stored["zoned"].sent_at.tzinfo is UTC
    naive = row(workspace, "naive", received_at=at.replace(tzinfo=None))
    with pytest.raises(Exception, match="naive datetime"):
        insert_ignore(session, Event.__table__, [naive], conflict)


def test_insert_ignore_skips_conflicts_and_counts_inserted(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    first = [row(workspace, f"m{i}") for i in range(5)]
    assert insert_ignore(session, Event.__table__, first, ["workspace_id", "message_id"]) == 5
    again = [row(workspace, f"m{i}") for i in range(3, 8)]
    assert insert_ignore(session, Event.__table__, again, ["workspace_id", "message_id"]) == 3
    assert insert_ignore(session, Event.__table__, [], ["workspace_id", "message_id"]) == 0
    count = session.scalar(
        select(func.count()).select_from(Event).where(Event.workspace_id == workspace.workspace.id)
    )
    assert count == 8


def test_update_by_id_sets_each_rows_columns(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    rows = [row(workspace, f"m{i}") for i in range(4)]
    insert_ignore(session, Event.__table__, rows, ["workspace_id", "message_id"])
    at = datetime(2027, 1, 1, tzinfo=UTC)
    changes = [
        {"id": rows[0]["id"], "status": "resolved", "traits": {"a": 1}, "timestamp": at},
        {"id": rows[2]["id"], "status": "unattributed", "traits": None, "timestamp": at},
    ]
    update_by_id(session, Event.__table__, changes)
    update_by_id(session, Event.__table__, [])
    session.expire_all()
    stored = {
        e.id: e
        for e in session.scalars(select(Event).where(Event.workspace_id == workspace.workspace.id))
    }
    assert (stored[rows[0]["id"]].status, stored[rows[0]["id"]].traits) == ("resolved", {"a": 1})
    assert stored[rows[2]["id"]].status == "unattributed"
    assert stored[rows[2]["id"]].timestamp == at
    for untouched in (rows[1], rows[3]):
        assert stored[untouched["id"]].status == "pending"
        assert stored[untouched["id"]].timestamp == untouched["timestamp"]


def test_rows_written_through_the_driver_are_stored_as_the_orm_stores_them(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    """On SQLite the rows go through the driver, each value converted by its column's
    type: the stored text is the ORM's, and a column left out that the ORM fills in
    Python (a default) still gets its value."""
    conflict = ["workspace_id", "message_id"]
    session.add(Event(**row(workspace, "orm")))
    session.flush()
    insert_ignore(session, Event.__table__, [row(workspace, "rows")], conflict)
    sqlite = session.get_bind().dialect.name == "sqlite"
    short = row(workspace, "short")
    if sqlite:  # PostgreSQL's path takes every column from the rows
        del short["status"], short["identifiers"]  # both have a default in Python
    assert insert_ignore(session, Event.__table__, [short], conflict) == 1
    update_by_id(
        session,
        Event.__table__,
        [{"id": short["id"], "sent_at": datetime(2026, 5, 1, 11, 0, 0, 5, tzinfo=UTC)}],
    )
    columns = "timestamp, received_at, workspace_id, properties, context, traits, status"
    stored = {
        m: rest
        for m, *rest in session.execute(
            text(f"SELECT message_id, {columns} FROM events WHERE workspace_id = :w"),  # noqa: S608
            {"w": workspace.workspace.id.hex if sqlite else workspace.workspace.id},
        )
    }
    assert stored["rows"] == stored["orm"]
    assert stored["short"][-1] == "pending"
    session.expire_all()
    written = session.scalars(select(Event).where(Event.message_id == "short")).one()
    assert written.identifiers == ([] if sqlite else short["identifiers"])
    assert written.sent_at == datetime(2026, 5, 1, 11, 0, 0, 5, tzinfo=UTC)


def test_one_of_matches_any_value_exactly(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    """Values that mean something in an array literal (commas, braces, quotes, backslashes,
    spaces, the word NULL) are matched as given; a long list is one parameter."""
    tricky = ["a,b", "{x}", 'q"uote', "back\\slash", " sp ", "NULL", "é 名前", "", "plain"]
    rows = [row(workspace, f"one-of-{i}", anonymous_id=v) for i, v in enumerate(tricky)]
    insert_ignore(session, Event.__table__, rows, ["workspace_id", "message_id"])
    others = [f"absent-{i}" for i in range(3000)]
    found = session.scalars(
        select(Event.anonymous_id).where(
            Event.workspace_id == workspace.workspace.id,
            one_of(session, Event.anonymous_id, [*tricky[:-1], *others]),
        )
    ).all()
    assert sorted(found) == sorted(tricky[:-1])
    ids = [r["id"] for r in rows[:3]]
    by_id = session.scalars(select(Event.message_id).where(one_of(session, Event.id, ids)))
    assert sorted(by_id) == ["one-of-0", "one-of-1", "one-of-2"]


def test_read_numbers_gives_ids_and_a_matrix_with_nulls_as_nan(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    """Ids, counts, money, NULLs and moments as days since 1970: the same numbers on both
    backends (COPY parsed as CSV on PostgreSQL, a cursor elsewhere), in several chunks."""
    import numpy as np

    moments = [datetime(2026, 5, 1, 10, 0, tzinfo=UTC) + timedelta(hours=i) for i in range(5)]
    rows = [
        row(workspace, f"numbers-{i}", timestamp=t, name=None if i == 2 else f"Event {i}")
        for i, t in enumerate(moments)
    ]
    insert_ignore(session, Event.__table__, rows, ["workspace_id", "message_id"])
    stmt = (
        select(
            Event.id,
            func.length(Event.name),
            epoch_days(session, Event.timestamp),
        )
        .where(Event.workspace_id == workspace.workspace.id)
        .order_by(Event.timestamp)
    )
    heard: list[int] = []
    with planner(session, enable_indexscan="off", jit="off"):
        ids, matrix = read_numbers(session, stmt, chunk=2, progress=heard.append)
    assert ids == [r["id"] for r in rows]
    assert matrix.shape == (5, 2)
    assert sum(heard) == 5
    assert matrix[0, 0] == len("Event 0")
    assert np.isnan(matrix[2, 0])
    expected = [(t - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() / 86400 for t in moments]
    assert np.allclose(matrix[:, 1], expected, rtol=0, atol=1e-6)


def test_planner_settings_last_only_inside(session: Session) -> None:
    """Inside the block the planner settings hold; after it, the earlier ones are back."""
    from sqlalchemy import text

    if session.get_bind().dialect.name != "postgresql":
        with planner(session, jit="off"):
            assert session.execute(text("SELECT 1")).scalar() == 1
        return
    show = text("SELECT current_setting('enable_indexscan')")
    assert session.execute(show).scalar() == "on"
    with planner(session, enable_indexscan="off"):
        assert session.execute(show).scalar() == "off"
    assert session.execute(show).scalar() == "on"
    both = text("SELECT current_setting('enable_sort'), current_setting('work_mem')")
    before = tuple(session.execute(both).one())
    with planner(session, enable_sort="off", work_mem="7MB"):
        assert tuple(session.execute(both).one()) == ("off", "7MB")
    assert tuple(session.execute(both).one()) == before
