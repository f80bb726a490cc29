"""Chat runs WebSockets, whose server work overlaps the test's own queries, so these
tests use a database of their own per backend whose writes really commit (each test in a
workspace of its own), and an app with its own connection pool."""

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
from accord.kit.db import create_db_engine, create_session_factory
from tests.conftest import new_database
from tests.helpers import Committed
from tests.web.test_browser import browser  # noqa: F401 (Chromium, for the browser tests here)


@pytest.fixture(scope="module")
def chat_db(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Committed]:
    tmp = tmp_path_factory.mktemp("chat")
    with new_database(backend, tmp) as url:
        engine = create_db_engine(url, pool_size=5)
        yield Committed(url, create_session_factory(engine), tmp / "data")
        engine.dispose()


@pytest.fixture
def chat_settings(chat_db: Committed, tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        database_url=chat_db.url,
        secret_key="chat-test-secret-" + "x" * 30,
        resolve_worker=False,
        resolve_inline=True,
        outbox_worker=False,
        imap_poll_seconds=0,
    )


@pytest.fixture
def chat_app(chat_settings: Settings) -> Iterator[FastAPI]:
    engine = create_db_engine(chat_settings.resolved_database_url, pool_size=5)
    yield create_app(chat_settings, engine=engine)
    engine.dispose()


@pytest.fixture
def chat_client(chat_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(chat_app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def site(chat_db: Committed) -> ProvisionedWorkspace:
    return chat_db.workspace(f"Shop {uuid.uuid4().hex[:8]}")


@pytest.fixture
def db(chat_db: Committed) -> Iterator[Session]:
    with chat_db.factory() as session:
        yield session
