"""A workspace served by a real server for browser tests: its own SQLite database, the
users asked for, and the app on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from accord.app import create_app
from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import create_db_engine, create_session_factory
from tests.conftest import new_database
from tests.helpers import PASSWORD, add_user, bearer, live_server, provision


@dataclass
class Served:
    base: str
    ws: ProvisionedWorkspace
    url: str = ""  # the database's, for a test that prepares rows behind the app

    def api(self) -> httpx.Client:
        """The API of the served workspace, with its token."""
        return httpx.Client(base_url=self.base, headers=bearer(self.ws.api_token), timeout=30)


def log_in(page: Any, base: str, email: str, next_path: str, password: str = PASSWORD) -> None:
    """Sign in through the login form and land on ``next_path``, returning once that
    page has loaded (its scripts have run, so what a test does next reaches their
    listeners: htmx's triggers are attached on load, and a change made before would be
    lost)."""
    page.goto(f"{base}/login?next={next_path}")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation(wait_until="load"):
        page.click("button[type=submit]")


def signed_in(browser: Any, base: str, email: str, next_path: str) -> Any:
    """A new page of a new browser context, signed in as ``email`` (with the tests'
    password) and on ``next_path``, loaded."""
    context = browser.new_context(viewport={"width": 1440, "height": 960})
    page = context.new_page()
    log_in(page, base, email, next_path)
    return page


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
