"""The benches' statement timing names each statement by its verb and its first table,
and adds up the time of those it ran."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from accord.bench.statements import label, timed_statements


def test_statements_are_named_by_verb_and_table() -> None:
    assert label("UPDATE events SET status = 'x' FROM json_to_recordset(%(r)s)") == (
        "UPDATE events"
    )
    assert label("WITH inserted AS (INSERT INTO identifiers (id) VALUES (1)) SELECT 1") == (
        "INSERT identifiers"
    )
    assert label(
        "SELECT n FROM unnest(CAST(%(v)s AS UUID[])) AS e(value) JOIN LATERAL "
        "(SELECT a_id FROM identity_links WHERE a_id = e.value) AS r ON true"
    ) == ("SELECT identity_links")
    assert label("SELECT pg_advisory_xact_lock(1)") == "SELECT -"


def test_the_statements_run_inside_are_timed(session: Session) -> None:
    engine = session.get_bind()
    with timed_statements(engine) as times:  # type: ignore[arg-type]
        for _ in range(3):
            session.execute(text("SELECT count(*) FROM workspaces"))
    session.execute(text("SELECT count(*) FROM workspaces"))  # after: not counted
    timed = times.by_label["SELECT workspaces"]
    assert timed.runs == 3
    assert len(timed.texts) == 1
    assert 0 < timed.seconds <= times.seconds
