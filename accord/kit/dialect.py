"""The little SQL that differs between SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
import zlib
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    Uuid,
    and_,
    any_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    not_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType, TypeDecorator, TypeEngine

from accord.kit import jsonio, sqlite_rows
from accord.kit.db import UTCDateTime, written
from accord.kit.planning import planner

# Rows one statement carries at most: a run that writes a million rows sends them in
# parts, so no statement's text or parameters grow with the whole.
ROWS_PER_STATEMENT = 5000


def insert_ignore(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], conflict: Sequence[str]
) -> int:
    """INSERT ... ON CONFLICT (conflict) DO NOTHING; returns how many rows were inserted."""
    if len(rows) > ROWS_PER_STATEMENT:
        return sum(
            insert_ignore(session, table, rows[i : i + ROWS_PER_STATEMENT], conflict)
            for i in range(0, len(rows), ROWS_PER_STATEMENT)
        )
    if not rows:
        return 0
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        plan = _plan(dialect, table, tuple(rows[0]))
        payload = plan.payload(rows, dialect)
        if payload is not None:
            quote = dialect.identifier_preparer.quote
            # Counted in the database: the inserted rows' ids need not travel back.
            sql = (
                f"WITH inserted AS (INSERT INTO {plan.table} "  # noqa: S608
                f"({', '.join(map(quote, plan.names))}) "
                f"SELECT {', '.join(plan.selected)} FROM {plan.source} "
                f"ON CONFLICT ({', '.join(map(quote, conflict))}) DO NOTHING RETURNING 1) "
                "SELECT count(*) FROM inserted"
            )
            counted = session.connection().exec_driver_sql(sql, {"rows": payload}).scalar()
            return int(counted or 0)
    if dialect.name == "sqlite":
        inserted = sqlite_rows.insert_ignore(session, table, rows, conflict)
        if inserted is not None:
            return inserted
    module: Any = postgresql if dialect.name == "postgresql" else sqlite
    stmt = (
        module.insert(table).on_conflict_do_nothing(index_elements=conflict).returning(table.c.id)
    )
    # One cached statement run over all rows (batched by SQLAlchemy's "insertmanyvalues");
    # counted from RETURNING, as drivers disagree on rowcount for ON CONFLICT inserts.
    return len(session.execute(stmt, list(rows)).all())


def update_by_id(
    session: Session, table: Any, rows: Sequence[dict[str, Any]], *, key: str = "id"
) -> None:
    """Set each row's columns where the ``key`` column (the primary key) matches: one
    statement for the rows (up to ``ROWS_PER_STATEMENT`` each) on PostgreSQL (UPDATE ...
    FROM the rows), one prepared statement run over them on SQLite. Every row names the
    same columns. A ``key`` other than ``id`` must lead an index (it may be partial, on
    the rows where the key is not null)."""
    if len(rows) > ROWS_PER_STATEMENT:
        for i in range(0, len(rows), ROWS_PER_STATEMENT):
            update_by_id(session, table, rows[i : i + ROWS_PER_STATEMENT], key=key)
        return
    if not rows:
        return
    dialect = session.get_bind().dialect
    names = tuple(rows[0])
    if dialect.name == "postgresql":
        plan = _plan(dialect, table, names)
        payload = plan.payload(rows, dialect)
        if payload is not None:
            quote = dialect.identifier_preparer.quote
            sets = ", ".join(
                f"{quote(n)} = {sel}"
                for n, sel in zip(names, plan.selected, strict=True)
                if n != key
            )
            sql = (
                f"UPDATE {plan.table} SET {sets} FROM {plan.source} "  # noqa: S608
                f"WHERE {plan.table}.{quote(key)} = r.{quote(key)}"
            )
            if key == "id":
                session.connection().exec_driver_sql(sql, {"rows": payload})
                return
            # Another key leads an index (partial where it is not null). Without the
            # table's statistics the planner takes it for a column of few values and
            # would read the whole table for each part: the rows are few, so they are
            # looked up through the index.
            with planner(session, enable_hashjoin="off", enable_mergejoin="off"):
                session.connection().exec_driver_sql(
                    f"{sql} AND {plan.table}.{quote(key)} IS NOT NULL", {"rows": payload}
                )
            return
    elif dialect.name == "sqlite" and sqlite_rows.update_by_key(session, table, rows, key):
        return
    stmt = (
        update(table)
        .where(table.c[key] == bindparam(f"v_{key}"))
        .values({n: bindparam(f"v_{n}") for n in names if n != key})
    )
    params = [{f"v_{n}": v for n, v in row.items()} for row in rows]
    session.connection().execute(stmt, params)


@dataclass(frozen=True)
class _JsonRows:
    """How rows of one table and columns travel to PostgreSQL as one JSON document:
    ``json_to_recordset`` turns it back into typed rows. The statement's text is the same
    whatever the number of rows, where a multi-row VALUES list is built and parsed anew
    in the driver for every batch (which costs more than the write itself)."""

    table: str
    names: tuple[str, ...]
    selected: tuple[str, ...]  # per column, the expression that reads it from ``r``
    # Sent as the driver's own statement (its only parameter is the rows), so it is
    # written with the driver's parameter style.
    source: str
    # Columns whose type converts a value before it is bound (UTC times), and that type.
    convert: tuple[tuple[str, TypeDecorator[Any]], ...]
    # Every conversion is UTCDateTime's, which leaves a time already in UTC as it is.
    utc_only: bool = False

    def payload(self, rows: Sequence[dict[str, Any]], dialect: Dialect) -> str | None:
        """The rows as JSON; None when they hold a NUL character, which PostgreSQL's JSON
        functions refuse (a json column stores it as given, so the caller binds them)."""
        docs: Sequence[dict[str, Any]] = rows
        if self.convert and not self._already_converted(rows):
            docs = []
            for row in rows:
                doc = dict(row)
                for name, decorator in self.convert:
                    doc[name] = decorator.process_bind_param(doc[name], dialect)
                docs.append(doc)
        # UUIDs, dates, times and decimals become strings that PostgreSQL casts back.
        out = jsonio.dumps(docs)
        return None if "\\u0000" in out else out

    def _already_converted(self, rows: Sequence[dict[str, Any]]) -> bool:
        """Whether the conversions would leave every row as it is (each time already in
        UTC): the rows then go without a copy each."""
        if not self.utc_only:
            return False
        names = [name for name, _ in self.convert]
        return all(
            row[name] is None or getattr(row[name], "tzinfo", None) is UTC
            for row in rows
            for name in names
        )


_plans: dict[tuple[str, tuple[str, ...]], _JsonRows] = {}


def _plan(dialect: Dialect, table: Table, names: tuple[str, ...]) -> _JsonRows:
    found = _plans.get((table.name, names))
    if found is not None:
        return found
    quote = dialect.identifier_preparer.quote
    convert: list[tuple[str, TypeDecorator[Any]]] = []
    columns = []
    selected = []
    for name in names:
        column_type: TypeEngine[Any] = table.c[name].type
        decorator = column_type if isinstance(column_type, TypeDecorator) else None
        if decorator is not None:
            column_type = decorator.impl_instance
        columns.append(f"{quote(name)} {column_type.compile(dialect=dialect)}")
        if isinstance(column_type, JSON):
            # As the JSON type binds it, None is JSON null unless none_as_null, and
            # json_to_recordset reads a JSON null as SQL NULL.
            keep = column_type.none_as_null
            selected.append(f"r.{quote(name)}" if keep else f"COALESCE(r.{quote(name)}, 'null')")
        else:
            selected.append(f"r.{quote(name)}")
            if decorator is not None:
                convert.append((name, decorator))
    # Names and types come from the table's metadata, quoted; the rows are a parameter.
    found = _plans[(table.name, names)] = _JsonRows(
        table=dialect.identifier_preparer.format_table(table),
        names=names,
        selected=tuple(selected),
        source=f"json_to_recordset(CAST(%(rows)s AS json)) AS r({', '.join(columns)})",
        convert=tuple(convert),
        utc_only=all(isinstance(decorator, UTCDateTime) for _, decorator in convert),
    )
    return found


def one_of(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(array)``, one parameter, so the
    statement's text stays the same whatever the number of values (a long IN list is
    parsed anew by the driver on every execution). The array travels as one array literal
    cast by the database: the driver dumps a list of thousands of values one by one.
    One value is an equality: PostgreSQL then always matches the whole index, where on a
    table never analyzed it may leave ``= ANY`` on an index's last column to a filter over
    the rows of its prefix (every identifier of a type, for instance)."""
    values = list(values)
    if len(values) == 1:
        return column == values[0]  # type: ignore[no-any-return]
    if session.get_bind().dialect.name == "postgresql":
        # Untyped, so the database reads the parameter as the array itself (a constant to
        # the planner) rather than as text cast again for every row it compares.
        literal = bindparam(None, pg_array_literal(values), type_=NullType())
        return column == any_(cast(literal, postgresql.ARRAY(column.type)))  # type: ignore[no-any-return]
    return column.in_(list(values))  # type: ignore[no-any-return]


def each_of(
    session: Session,
    column: Any,
    values: Collection[Any],
    build: Callable[[ColumnElement[bool]], Select[*tuple[Any, ...]]],
) -> Select[*tuple[Any, ...]]:
    """The rows ``build(condition)`` selects where ``column`` is one of ``values``, shaped
    so PostgreSQL finds each value through the whole index whatever it knows of the table.

    ``column = ANY(array)`` after equalities on an index's first columns is matched
    against the whole index only while the planner sees the array: once the driver has
    prepared the statement, PostgreSQL's generic plan (used from about the tenth
    execution) may take the equalities alone as the index condition and filter every row
    they select (every identifier of a type, every member of a segment), as may a table
    that was never analyzed. So several values become a join of the unnested array with
    a LATERAL subquery that compares ``column`` to one value at a time (``OFFSET 0``
    keeps the planner from flattening it into a join it could hash): an equality,
    matched against the whole index in any plan. SQLite and one value use ``one_of``."""
    values = list(values)
    if len(values) < 2 or session.get_bind().dialect.name != "postgresql":
        return build(one_of(session, column, values))
    return _each_pg(column, bindparam(None, pg_array_literal(values), type_=NullType()), build)


def _each_pg(
    column: Any,
    array: BindParameter[Any],
    build: Callable[[ColumnElement[bool]], Select[*tuple[Any, ...]]],
) -> Select[*tuple[Any, ...]]:
    typed = cast(array, postgresql.ARRAY(column.type))
    each = func.unnest(typed).table_valued("value").render_derived("each_value")
    inner = build(column == each.c.value).offset(literal_column("0")).lateral("each_row")
    return select(*inner.c).select_from(each).join(inner, true())


_each_texts: dict[str, str] = {}


def each_of_text(
    session: Session,
    key: str,
    column: Any,
    build: Callable[[ColumnElement[bool]], Select[*tuple[Any, ...]]],
) -> str | None:
    """On PostgreSQL, the text of ``each_of``'s statement for any number of values, built
    and compiled once per process (``key`` names it), to run with the driver
    (``exec_driver_sql``): the values are bound as ``values`` (``pg_array_literal``), the
    rest by the names of the bind parameters ``build`` writes. For a statement run on
    every request, whose building and compiling cost more than running it. None on
    SQLite, where ``each_of`` is a plain ``IN``."""
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        return None
    found = _each_texts.get(key)
    if found is None:
        stmt = _each_pg(column, bindparam("values", type_=NullType()), build)
        found = _each_texts[key] = str(stmt.compile(dialect=dialect))
    return found


def full_join(session: Session) -> bool:
    """Whether the database runs ``FULL OUTER JOIN``: PostgreSQL always, SQLite from
    3.39."""
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql":
        return True
    info = getattr(dialect.dbapi, "sqlite_version_info", (0, 0, 0))
    return tuple(info) >= (3, 39, 0)


def pg_array_literal(values: Iterable[Any]) -> str:
    """PostgreSQL's text form of an array: each element double-quoted, with backslashes
    and double quotes escaped (any value, commas and braces included, reads back as it
    was). UUIDs and numbers are written as they print."""
    parts = []
    for value in values:
        if isinstance(value, uuid.UUID | int):
            parts.append(str(value))
        else:
            text_value = str(value).replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'"{text_value}"')
    return "{" + ",".join(parts) + "}"


def lock_workspace(
    session: Session, workspace_id: uuid.UUID, purpose: str, *, plan_each_time: bool = False
) -> None:
    """Serialize one kind of work per workspace across processes. PostgreSQL takes a
    transaction-level advisory lock; SQLite transactions already begin IMMEDIATE.

    ``plan_each_time``: for the rest of the transaction, PostgreSQL plans each statement
    for its values and the tables as they are (``plan_cache_mode``, in the same round
    trip). The driver prepares a statement run five times, and PostgreSQL then plans it
    once for any values and keeps that plan for the connection's life, until ANALYZE or
    a change of the table. For batch work over many values (the resolver's, the
    touches'), such a plan is made while a workspace's tables are small, where any index
    looks as cheap as another, and may seek an index by the workspace alone however the
    tables grow."""
    if session.get_bind().dialect.name == "postgresql":
        mixed = (workspace_id.int >> 64) ^ (workspace_id.int & 0xFFFFFFFFFFFFFFFF)
        key = (mixed ^ zlib.crc32(purpose.encode())) & 0x7FFFFFFFFFFFFFFF
        planned = ", set_config('plan_cache_mode', 'force_custom_plan', true)"
        sql = f"SELECT pg_advisory_xact_lock(:k){planned if plan_each_time else ''}"
        session.execute(text(sql), {"k": key})


class minute_of(FunctionElement[Any]):
    """The minute a stored moment falls in (UTC), as a value that only changes when the
    minute does: what a generated column keeps so that an index of it is not written
    each time the moment moves within its minute (``profiles.seen_minute``)."""

    inherit_cache = True
    name = "minute_of"


@compiles(minute_of, "postgresql")
def _minute_of_pg(element: minute_of, compiler: SQLCompiler, **kw: Any) -> str:
    # ``AT TIME ZONE`` makes the expression immutable, as a generated column's must be.
    return f"date_trunc('minute', ({compiler.process(element.clauses, **kw)}) AT TIME ZONE 'UTC')"


@compiles(minute_of, "sqlite")
def _minute_of_sqlite(element: minute_of, compiler: SQLCompiler, **kw: Any) -> str:
    # Moments are stored as 'YYYY-MM-DD HH:MM:SS.ffffff': the minute is the first 16.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 16)"


def naive_utc(moment: datetime) -> datetime:
    """A moment as a ``minute_of`` column is compared with: naive, in UTC. On SQLite the
    minute is the first part of the moment's text and sorts before every moment within
    it, so a range of minutes is bounded a minute wide and the moments checked too."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def plus_seconds(session: Session, column: Any, seconds: float) -> ColumnElement[Any]:
    """A timestamp column moved by ``seconds``, comparable with the column itself: on
    SQLite, in the text form SQLAlchemy stores (to the millisecond)."""
    if session.get_bind().dialect.name == "postgresql":
        return column + text(f"interval '{float(seconds)} seconds'")  # type: ignore[no-any-return]
    return func.strftime("%Y-%m-%d %H:%M:%f", column, f"{float(seconds):+} seconds")


def json_number(session: Session, value: ColumnElement[Any]) -> ColumnElement[Any]:
    """A JSON value read as text, as a number when it is one (a number or a numeric
    string), else NULL: never an error on text that is not a number."""
    if session.get_bind().dialect.name == "postgresql":
        pattern = r"^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?\s*$"
        return case((value.op("~", is_comparison=True)(pattern), cast(value, Float)), else_=None)
    return case(
        (
            and_(
                value.op("GLOB", is_comparison=True)("*[0-9]*"),
                not_(value.op("GLOB", is_comparison=True)("*[^0-9.eE+ -]*")),
            ),
            cast(value, Float),
        ),
        else_=None,
    )


def hour_of_day(session: Session, column: Any) -> ColumnElement[Any]:
    """A timestamp's hour of the day (0..23), in UTC."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.extract("hour", func.timezone("UTC", column)), Integer)
    return cast(func.strftime("%H", column), Integer)


def month_index(session: Session, column: Any) -> ColumnElement[Any]:
    """A timestamp's calendar month as one integer (year * 12 + month - 1), in UTC."""
    if session.get_bind().dialect.name == "postgresql":
        moment = func.timezone("UTC", column)
        return cast(func.extract("year", moment) * 12 + func.extract("month", moment) - 1, Integer)
    year = cast(func.strftime("%Y", column), Integer)
    return year * 12 + cast(func.strftime("%m", column), Integer) - 1


def copy_rows(session: Session, table: Table, rows: Iterable[Sequence[Any]]) -> int:
    """Append many rows (tuples of ``written(table)``, in that order) as fast as the
    backend takes them: COPY on PostgreSQL, one prepared INSERT run over them on SQLite.
    JSON columns take lists and dicts."""
    columns = written(table)
    names = [c.name for c in columns]
    count = 0
    if session.get_bind().dialect.name == "postgresql":
        raw: Any = session.connection().connection.driver_connection
        quote = session.get_bind().dialect.identifier_preparer.quote
        sql = f"COPY {quote(table.name)} ({', '.join(map(quote, names))}) FROM STDIN"
        kinds = [_copy_kind(c.type) for c in columns]
        json_at = [i for i, kind in enumerate(kinds) if kind == "json"]
        with raw.cursor() as cur, cur.copy(sql) as copy:
            if all(kinds):  # each value dumped by its column's type, not by its own
                copy.set_types(["text" if k == "json" else k for k in kinds])
            for row in rows:
                if json_at:
                    row = list(row)
                    for i in json_at:
                        if isinstance(row[i], dict | list):
                            row[i] = jsonio.dumps(row[i])
                copy.write_row(row)
                count += 1
        return count
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(dict(zip(names, row, strict=True)))
        if len(batch) >= 10_000:
            session.execute(table.insert(), batch)
            count += len(batch)
            batch = []
    if batch:
        session.execute(table.insert(), batch)
        count += len(batch)
    return count


def _copy_kind(kind: TypeEngine[Any]) -> str | None:
    """The PostgreSQL type that COPY dumps a column's values as ("json": JSON text)."""
    if isinstance(kind, TypeDecorator):
        kind = kind.impl_instance
    if isinstance(kind, JSON):
        return "json"
    if isinstance(kind, Uuid):
        return "uuid"
    if isinstance(kind, DateTime):
        return "timestamptz" if kind.timezone else "timestamp"
    if isinstance(kind, Integer):
        return "int8"
    if isinstance(kind, Float):
        return "float8"
    if isinstance(kind, Numeric):
        return "numeric"
    if isinstance(kind, String):
        return "text"
    return None


COPY_CHUNK_BYTES = 16 << 20  # CSV parsed a block at a time: some 60,000 rows of features


def epoch_days(session: Session, column: Any) -> ColumnElement[Any]:
    """A timestamp as days since 1970-01-01 UTC (a fraction): a plain number that any
    reader parses without knowing the backend's form of a timestamp."""
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", column) / 86400.0
    return func.julianday(column) - 2440587.5


def read_numbers(
    session: Session,
    stmt: Any,
    *,
    chunk: int = 50_000,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[uuid.UUID], Any]:
    """The rows of ``stmt`` (an id first, then numbers) as their ids and a float matrix
    (NULL as NaN), read in chunks: on PostgreSQL through ``COPY (query) TO STDOUT``,
    which unlike a cursor lets the planner use parallel workers, parsed as CSV by
    pyarrow; elsewhere from a streamed cursor. ``progress(rows)`` hears of each chunk."""
    import numpy as np

    tell = progress or (lambda rows: None)
    dialect = session.get_bind().dialect
    width = len(stmt.selected_columns) - 1
    ids: list[uuid.UUID] = []
    blocks: list[np.ndarray] = []
    if dialect.name == "postgresql":
        sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
        raw: Any = session.connection().connection.driver_connection
        parts: list[bytes] = []
        size = 0
        with raw.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT (FORMAT csv)") as copy:
            for data in copy:
                parts.append(bytes(data))
                size += len(data)
                if size >= COPY_CHUNK_BYTES:
                    pending = b"".join(parts)
                    cut = pending.rindex(b"\n") + 1
                    _parse_csv(pending[:cut], width, ids, blocks, tell)
                    parts, size = [pending[cut:]], len(pending) - cut
        if size:
            _parse_csv(b"".join(parts), width, ids, blocks, tell)
    else:
        result = session.execute(stmt.execution_options(yield_per=chunk))
        for part in result.partitions(chunk):
            block = np.array(
                [[np.nan if v is None else float(v) for v in row[1:]] for row in part],
                dtype=np.float64,
            ).reshape(len(part), width)
            ids.extend(row[0] for row in part)
            blocks.append(block)
            tell(len(part))
    matrix = np.vstack(blocks) if blocks else np.empty((0, width))
    return ids, matrix


def _parse_csv(
    data: bytes, width: int, ids: list[uuid.UUID], blocks: list[Any], tell: Callable[[int], None]
) -> None:
    import numpy as np
    import pyarrow as pa
    from pyarrow import csv

    names = ["id", *(f"c{j}" for j in range(width))]
    table = csv.read_csv(
        pa.py_buffer(data),
        read_options=csv.ReadOptions(column_names=names),
        convert_options=csv.ConvertOptions(
            column_types={"id": pa.string(), **{n: pa.float64() for n in names[1:]}},
            null_values=[""],
            strings_can_be_null=True,
        ),
    )
    block = np.empty((table.num_rows, width), dtype=np.float64)
    for j in range(width):
        block[:, j] = table.column(j + 1).to_numpy(zero_copy_only=False)
    ids.extend(uuid.UUID(v) for v in table.column(0).to_pylist())
    blocks.append(block)
    tell(table.num_rows)
