"""A workspace served by a real server for browser tests: its own SQLite database, the
users asked for, and the app on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from accord.app import create_app
from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import create_db_engine, create_session_factory
from tests.conftest import new_database
from tests.helpers import add_user, live_server, provision


@dataclass
class Served:
    base: str
    ws: ProvisionedWorkspace
    url: str = ""  # the database's, for a test that prepares rows behind the app


@contextmanager
def served_workspace(
    tmp: Path, name: str, users: dict[str, str], **settings: object
) -> Iterator[Served]:
    """Serve a new workspace called ``name`` with ``users`` (email -> role)."""
    with new_database("sqlite", tmp) as url:
        engine = create_db_engine(url)
        with create_session_factory(engine)() as session:
            ws = provision(session, name)
            for email, role in users.items():
                add_user(session, ws, email, role=role)
        config = Settings(
            data_dir=tmp / "data",
            database_url=url,
            secret_key="browser-tests-" + "k" * 32,
            resolve_worker=False,
            resolve_inline=True,
            outbox_worker=False,
            imap_poll_seconds=0,
            **settings,  # type: ignore[arg-type]
        )
        with live_server(create_app(config)) as base:
            yield Served(base, ws, url)
        engine.dispose()
