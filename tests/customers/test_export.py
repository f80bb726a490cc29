"""The profile export: spreadsheet-safe CSV, and a stream that releases the database when
the client goes away (on SQLite, a reader must never hold the write lock)."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from accord.app import create_app
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit import csvsafe
from accord.kit.db import create_db_engine, create_session_factory, read_only, transaction
from tests.conftest import new_database
from tests.helpers import Committed, bearer, live_server


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
        ("+1 555", "'+1 555"),
        ("-cmd", "'-cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("Ada", "Ada"),
        (42, 42),
        ("-inf", "'-inf"),
    ],
)
def test_formula_cells_are_written_as_text(value: object, written: object) -> None:
    assert csvsafe.cell(value) == written


def test_csv_export_escapes_formulas(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    sent = client.post(
        "/v1/identify",
        json={"userId": "u1", "traits": {"firstName": '=HYPERLINK("http://evil","x")'}},
        auth=(workspace.write_key, ""),
    )
    assert sent.status_code == 200, sent.text
    body = client.get(
        "/api/v1/profiles/export?format=csv", headers=bearer(workspace.api_token)
    ).text
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[1][1].startswith("'=HYPERLINK")
    assert all(not cell.startswith("=") for row in rows for cell in row)


def test_read_only_units_take_no_write_lock_on_sqlite(tmp_path: Path) -> None:
    """SQLite has one write lock for the whole database (PostgreSQL has none to take)."""
    with new_database("sqlite", tmp_path) as url:
        engine = create_db_engine(url)
        factory = create_session_factory(engine)
        with transaction(factory) as session:
            ws = workspaces.create_workspace(session, "Acme")
        try:
            _read_beside_a_writer(factory, ws)
        finally:
            engine.dispose()


def _read_beside_a_writer(factory: sessionmaker[Session], ws: ProvisionedWorkspace) -> None:
    with read_only(factory) as reader:
        reader.execute(text("SELECT count(*) FROM events")).scalar()
        with transaction(factory) as writer:
            found = writer.get(Workspace, ws.workspace.id)
            assert found is not None
            found.name = "Acme 2"


def test_an_aborted_export_releases_the_database(committed: Committed) -> None:
    ws = committed.workspace("Acme")
    settings = committed.settings(resolve_worker=False, resolve_inline=True, match_worker=False)
    with live_server(create_app(settings)) as base:
        auth = (ws.write_key, "")
        batch = [
            {"type": "identify", "userId": f"u{i}", "traits": {"email": f"p{i}@example.com"}}
            for i in range(1500)
        ]
        loaded = httpx.post(f"{base}/v1/batch", json={"batch": batch}, auth=auth, timeout=60)
        assert loaded.status_code == 200  # resolved within the request (a loaded machine)
        headers = bearer(ws.api_token)
        url = f"{base}/api/v1/profiles/export?format=csv"
        with httpx.stream("GET", url, headers=headers, timeout=10) as response:
            first = next(response.iter_bytes())
            assert first.startswith(b"id,")
        # The client went away after its first chunk: the app keeps serving, and writes.
        deadline = time.monotonic() + 5
        while True:
            health = httpx.get(f"{base}/health", timeout=10)
            if health.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert health.status_code == 200, health.text
        more = httpx.post(
            f"{base}/v1/track", json={"userId": "u1", "event": "Viewed"}, auth=auth, timeout=15
        )
        assert more.status_code == 200, more.text
