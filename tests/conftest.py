"""Test fixtures. Every storage test runs against SQLite and PostgreSQL: each backend gets
a fresh database built by the migrations, and each test runs inside a transaction that is
rolled back at the end (the code under test commits to savepoints).

PostgreSQL (127.0.0.1:5432, trust auth) is used when reachable and skipped otherwise,
unless ``ACCORD_TEST_POSTGRES=required`` (CI), where its absence fails the run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from accord.app import create_app
from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit import migrate, signals
from accord.kit.db import create_db_engine, create_session_factory
from tests.helpers import Committed, provision

# The test process builds many apps and keeps its collector as Python sets it (freezing
# at each app's start would keep every earlier test's cycles); servers the tests start
# inherit this. tests/kit/test_runtime.py tests the tuning itself.
os.environ.setdefault("ACCORD_GC_THRESHOLD", "0")

PG_ADMIN_URL = os.environ.get(
    "ACCORD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(autouse=True)
def _accord_environment() -> Iterator[None]:
    """Each test leaves the ACCORD_ environment as it found it: code under test that sets
    a variable for its child processes (``accord serve`` does) must not change the
    settings of every later test in this process."""
    before = {k: v for k, v in os.environ.items() if k.startswith("ACCORD_")}
    yield
    for key in [k for k in os.environ if k.startswith("ACCORD_") and k not in before]:
        del os.environ[key]
    os.environ.update(before)


def _postgres_required() -> bool:
    return os.environ.get("ACCORD_TEST_POSTGRES", "").lower() == "required"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _create_postgres_database() -> tuple[str, Engine]:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"accord_test_{_worker()}_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        admin.dispose()
        if _postgres_required():
            pytest.fail(f"PostgreSQL is required (ACCORD_TEST_POSTGRES=required): {exc}")
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    url = admin.url.set(database=name).render_as_string(hide_password=False)
    return url, admin


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@contextmanager
def new_database(backend: str, tmp: Path, *, migrated: bool = True) -> Iterator[str]:
    """A new empty database on ``backend``, dropped afterwards."""
    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'accord-{uuid.uuid4().hex[:8]}.db'}"
        if migrated:
            migrate.upgrade(url)
        yield url
        return
    url, admin = _create_postgres_database()
    try:
        if migrated:
            migrate.upgrade(url)
        yield url
    finally:
        name = url.rsplit("/", 1)[1]
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def db_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The migrated database this backend's tests share (each test rolls back)."""
    with new_database(backend, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def fresh_db_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """A database of its own, for tests that commit for real (CLI, migrations)."""
    with new_database(backend, tmp_path, migrated=False) as url:
        yield url


@pytest.fixture(scope="session")
def engine(db_url: str) -> Iterator[Engine]:
    eng = create_db_engine(db_url, pool_size=5)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> Iterator[sessionmaker[Session]]:
    """Sessions bound to one connection whose outer transaction is rolled back."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    signals.install(factory)
    yield factory
    outer.rollback()
    connection.close()


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    with session_factory() as s:
        yield s


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + "x" * 32,
        resolve_worker=False,
        resolve_inline=True,
        # Tests share one connection per test: no background threads may use it.
        outbox_worker=False,
        imap_poll_seconds=0,
        match_worker=False,
        jobs_worker=False,
        # The social networks of the tests are servers on loopback.
        social_private_hosts=True,
        social_streams=False,
    )


@pytest.fixture
def app(settings: Settings, engine: Engine, session_factory: sessionmaker[Session]) -> FastAPI:
    return create_app(settings, engine=engine, session_factory=session_factory)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def workspace(session: Session) -> ProvisionedWorkspace:
    return provision(session, "Acme")


@pytest.fixture
def other_workspace(session: Session) -> ProvisionedWorkspace:
    return provision(session, "Globex")


@pytest.fixture
def committed(fresh_db_url: str, tmp_path: Path) -> Iterator[Committed]:
    migrate.upgrade(fresh_db_url)
    eng = create_db_engine(fresh_db_url)
    yield Committed(fresh_db_url, create_session_factory(eng), tmp_path)
    eng.dispose()
