"""Privacy tests run against a database of their own per backend whose writes really
commit (an erase is checked on the stored rows and files, and the chat it erases runs
over WebSockets), each test in a workspace of its own. On SQLite the database file lives
in the data directory, as it does by default, so the files an erase must leave clean
include the database itself."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.app import create_app
from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit import migrate
from accord.kit.db import create_db_engine, create_session_factory
from tests.conftest import new_database
from tests.helpers import Committed


@pytest.fixture(scope="module")
def privacy_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Committed]:
    tmp = tmp_path_factory.mktemp("privacy")
    data_dir = tmp / "data"
    data_dir.mkdir()
    if backend == "sqlite":
        url = f"sqlite:///{data_dir / 'accord.db'}"
        migrate.upgrade(url)
        engine = create_db_engine(url, pool_size=5)
        yield Committed(url, create_session_factory(engine), data_dir)
        engine.dispose()
        return
    with new_database(backend, tmp) as url:
        engine = create_db_engine(url, pool_size=5)
        yield Committed(url, create_session_factory(engine), data_dir)
        engine.dispose()


@pytest.fixture
def privacy_settings(privacy_db: Committed) -> Settings:
    return Settings(
        data_dir=privacy_db.data_dir,
        database_url=privacy_db.url,
        secret_key="privacy-test-secret-" + "x" * 30,
        resolve_worker=False,
        resolve_inline=True,
        outbox_worker=False,
        imap_poll_seconds=0,
        match_worker=False,
        retention_worker=False,
    )


@pytest.fixture
def privacy_app(privacy_settings: Settings) -> Iterator[FastAPI]:
    engine = create_db_engine(privacy_settings.resolved_database_url, pool_size=5)
    yield create_app(privacy_settings, engine=engine)
    engine.dispose()


@pytest.fixture
def api(privacy_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(privacy_app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def ws(privacy_db: Committed) -> ProvisionedWorkspace:
    return privacy_db.workspace(f"Shop {uuid.uuid4().hex[:8]}")


@pytest.fixture
def other_ws(privacy_db: Committed) -> ProvisionedWorkspace:
    return privacy_db.workspace(f"Other {uuid.uuid4().hex[:8]}")


@pytest.fixture
def db(privacy_db: Committed) -> Iterator[Session]:
    with privacy_db.factory() as session:
        yield session


@pytest.fixture
def data_dir(privacy_db: Committed) -> Path:
    return privacy_db.data_dir
