"""Database plumbing: the declarative base with constraint naming conventions, the engine
factory (SQLite pragmas, PostgreSQL pool) and the session factory.

Services receive a ``Session`` and only ``flush``; the edge (a request dependency, a CLI
command or a job) opens the transaction and commits it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, Dialect, Engine, MetaData, String, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    make_transient_to_detached,
    mapped_column,
    sessionmaker,
)
from sqlalchemy.types import TypeDecorator

from accord.kit import jsonio, signals
from accord.kit.ids import new_id
from accord.kit.time import utcnow

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value if value.tzinfo is UTC else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class IdMixin:
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class WorkspaceScoped:
    """Marks a table whose rows belong to one workspace (tenant)."""

    workspace_id: Mapped[uuid.UUID]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself so SAVEPOINTs and transactions behave as documented.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Deleted content is overwritten with zeros, not left in free pages of the file: an
    # erased person's data must not survive in the database file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


READ_ONLY = "accord_read_only"


def _sqlite_begin(conn: Any) -> None:
    # IMMEDIATE takes the write lock up front (waiting up to busy_timeout), so a
    # transaction that reads and then writes never fails on a stale snapshot. A read-only
    # unit of work (``read_only``) begins deferred: it takes no write lock, so a long read
    # (an export streamed to a slow client) never holds up the writers.
    if conn.get_execution_options().get(READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """Build the engine for ``url``. Called at start-up (app lifespan, CLI), never at import."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 10},
            json_deserializer=jsonio.loads,  # orjson, exact as the standard library
            json_serializer=jsonio.dumps,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
        json_deserializer=jsonio.loads,
        json_serializer=jsonio.dumps,
    )
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
    return engine


# A pooled connection that sat unused this long is checked with a round trip before it is
# handed out; one in steady use is not (a ping on every checkout is a round trip per
# request, and under load a connection comes back to the pool every few milliseconds).
PING_AFTER_IDLE_SECONDS = 2.0


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    """A checkout listener that hands out a connection which sat idle only once it
    answers: one the server dropped meanwhile (a restart, an idle timeout) is replaced by
    a new one, transparently."""

    def ping(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("checked_in")
        if idle_since is None or time.monotonic() - idle_since < PING_AFTER_IDLE_SECONDS:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            # The pool discards this connection and checks out (connects) another.
            raise DisconnectionError(str(error)) from error

    return ping


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)
    signals.install(factory)
    return factory


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


@contextmanager
def read_only(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work that only reads: it takes no write lock (SQLite) and is rolled back
    at the end, whatever happens."""
    with factory() as session:
        session.connection(execution_options={READ_ONLY: True})
        try:
            yield session
        finally:
            session.rollback()


def checkpoint_wal(engine: Engine) -> None:
    """SQLite: copy the write-ahead log into the database and empty it, so the old
    versions of deleted pages it holds are gone too (best effort: a reader in the middle
    of a transaction leaves it for the next checkpoint). Nothing on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # outside any transaction, which a checkpoint needs
    try:
        cursor = raw.cursor()
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        cursor.close()
    finally:
        raw.close()


def short_str(length: int = 255) -> String:
    return String(length)


_Mapped = TypeVar("_Mapped", bound=Base)


def as_loaded(cls: type[_Mapped], values: dict[str, Any]) -> _Mapped:
    """An instance of a mapped class holding ``values`` (every column), built as the ORM
    builds the rows it loads: the values go straight into the instance, none recorded as
    a change. The mapped constructor records each value as a change through its
    attribute's events, which costs more than writing the row. Held in a session with
    ``hold`` once its row is written."""
    obj: _Mapped = cls.__mapper__.class_manager.new_instance()
    obj.__dict__.update(values)
    return obj


def written(table: Any) -> list[Any]:
    """The columns a row written to ``table`` gives, in the table's order: all but those
    the database computes (``profiles.seen_minute``)."""
    return [c for c in table.columns if c.computed is None]


@cache
def _column_keys(cls: type[Base]) -> tuple[str, ...]:
    """The columns an insert names (``written``), by their keys."""
    return tuple(c.key for c in written(cls.__table__))


def rows_of(objects: Iterable[Base]) -> list[dict[str, Any]]:
    """Every column of each new object as a row (what ``as_loaded`` takes), its values as
    they are now (None where never set): for writing many new objects in one statement
    outside the unit of work, then held with ``hold``. Read from the instance's own
    state, not through the attributes' instrumentation, which costs five times as much
    on the resolver's path."""
    return [{k: vars(obj).get(k) for k in _column_keys(type(obj))} for obj in objects]


def hold(session: Session, objects: Iterable[Base]) -> None:
    """Objects whose rows were just written outside the unit of work, held in the
    session as if loaded (changes made to them from now on are flushed as updates)."""
    for obj in objects:
        make_transient_to_detached(obj)
        session.add(obj)
