"""The time a piece of work spends in the database, statement by statement: each
statement's execution is timed (from sending it to its answer) and named by what it
does and to which table, so a bench can print where resolution's time goes."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE)\b")
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+\(?\s*([a-z_][a-z0-9_]*)", re.I)
# What a statement reads from that is not a table of ours.
_NOT_TABLES = frozenset({"unnest", "json_to_recordset", "jsonb_to_recordset", "lateral", "select"})


def label(sql: str) -> str:
    """``UPDATE events``, ``INSERT identifiers``, ``SELECT identity_links``: the verb of
    the statement (of its data-changing part, after a WITH) and the first table of ours
    it names."""
    words = sql.split(None, 1)
    verb = words[0].upper().lstrip("(") if words else "?"
    if verb == "WITH":
        writes = _WRITES.search(sql)
        verb = writes.group(1) if writes else "SELECT"
    tables = [t for t in _TABLE.findall(sql) if t.lower() not in _NOT_TABLES]
    return f"{verb} {tables[0] if tables else '-'}"


@dataclass
class Timed:
    seconds: float = 0.0
    runs: int = 0
    texts: set[str] = field(default_factory=set)


@dataclass
class StatementTimes:
    """Seconds and runs by statement label (``label``)."""

    by_label: dict[str, Timed] = field(default_factory=dict)

    def top(self, n: int) -> list[tuple[str, Timed]]:
        return sorted(self.by_label.items(), key=lambda kv: -kv[1].seconds)[:n]

    @property
    def seconds(self) -> float:
        return sum(t.seconds for t in self.by_label.values())


@contextmanager
def timed_statements(engine: Engine) -> Iterator[StatementTimes]:
    """Time every statement ``engine`` runs inside the block."""
    times = StatementTimes()
    started: dict[int, float] = {}

    def before(conn: Any, *_: Any) -> None:
        started[id(conn)] = time.perf_counter()

    def after(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        began = started.pop(id(conn), None)
        if began is None:
            return
        timed = times.by_label.setdefault(label(statement), Timed())
        timed.seconds += time.perf_counter() - began
        timed.runs += 1
        timed.texts.add(statement)

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield times
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
