"""How PostgreSQL plans a few statements, set for them alone: planner settings local to
the transaction and put back after, and whether a table has statistics yet. SQLite
plans without them: there each is nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.orm import Session


@contextmanager
def planner(session: Session, **settings: str) -> Iterator[None]:
    """PostgreSQL planner settings for the statements run inside (``set_config`` local to
    the transaction, put back after); nothing elsewhere. For batch reads of whole tables,
    e.g. ``planner(s, enable_indexscan="off")``: an index walk in another order than the
    heap's would read a large table page by page at random."""
    if session.get_bind().dialect.name != "postgresql":
        yield
        return
    connection = session.connection()
    names = list(settings)
    # One round trip each way: the settings as they were are read (a materialized CTE,
    # evaluated first) in the statement that changes them.
    olds = ", ".join(f"current_setting(:n{i}) AS v{i}" for i in range(len(names)))
    sets = ", ".join(f"set_config(:n{i}, :s{i}, true)" for i in range(len(names)))
    keys = {f"n{i}": name for i, name in enumerate(names)}
    row = connection.execute(
        text(f"WITH old AS MATERIALIZED (SELECT {olds}) SELECT old.*, {sets} FROM old"),  # noqa: S608 - numbered parameters only
        {**keys, **{f"s{i}": settings[name] for i, name in enumerate(names)}},
    ).one()
    try:
        yield
    finally:
        connection.execute(
            text(f"SELECT {sets}"), {**keys, **{f"s{i}": str(row[i]) for i in range(len(names))}}
        )


@contextmanager
def in_index_order(session: Session) -> Iterator[None]:
    """Statements run inside take their order from an index wherever one gives it,
    statistics or not. Without statistics (a table never analyzed: a fresh import before
    autovacuum) PostgreSQL may guess that a workspace holds a few hundred rows and choose
    to read them all and sort them, where the index gives the order for the first rows
    alone: a page of 50 out of a million people then reads and sorts the million. Here
    PostgreSQL plans with sorting disabled, so a plan that sorts is taken only when none
    reads an index in order (the setting is restored after, and is the transaction's
    only); SQLite needs nothing."""
    with planner(session, enable_sort="off"):
        yield


def never_analyzed(session: Session, table: str) -> bool:
    """Whether PostgreSQL holds no statistics of ``table`` yet (never analyzed nor
    vacuumed: a fresh import before autovacuum); always False on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    sql = "SELECT reltuples < 0 FROM pg_class WHERE oid = to_regclass(:t)"
    return bool(session.scalar(text(sql), {"t": table}))
