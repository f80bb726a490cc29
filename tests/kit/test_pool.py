"""The PostgreSQL pool hands out connections that work: one the server dropped while it
sat idle is replaced before anyone uses it, and one in steady use costs no extra round
trip."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.pool import NullPool

from accord.kit import db
from accord.kit.db import create_db_engine
from tests.conftest import new_database


@pytest.fixture
def pg_engine(tmp_path: Path) -> Iterator[Engine]:
    with new_database("postgresql", tmp_path, migrated=False) as url:
        engine = create_db_engine(url, pool_size=1)
        yield engine
        engine.dispose()


def _backend_pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def test_a_connection_dropped_while_idle_is_replaced(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _backend_pid(pg_engine)
    admin = create_engine(pg_engine.url, poolclass=NullPool)
    with admin.connect() as conn:  # the pooled connection's server process ends
        assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first}).scalar()
    admin.dispose()
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    # The pooled connection is dead; the checkout notices and connects anew.
    second = _backend_pid(pg_engine)
    assert second != first
    with pg_engine.connect() as conn:
        assert conn.execute(text("SELECT 41 + 1")).scalar_one() == 42


def test_a_connection_in_steady_use_is_not_pinged(
    pg_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 3600.0)
    _backend_pid(pg_engine)  # opened and returned to the pool
    pings: list[object] = []
    event.listen(pg_engine.pool, "checkout", lambda *args: pings.append(args), insert=True)
    real_ping = pg_engine.dialect.do_ping
    monkeypatch.setattr(pg_engine.dialect, "do_ping", lambda c: pings.append(c) or real_ping(c))
    for _ in range(5):
        _backend_pid(pg_engine)
    assert len(pings) == 5  # five checkouts, and not one ping among them

    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    _backend_pid(pg_engine)
    assert len(pings) == 7  # a checkout of an idle connection pings it first
