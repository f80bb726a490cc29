"""An import is resolved beside it (``cli/resolving.py``): a process of its own resolves
what the import has accepted while it accepts more, and whatever that process leaves
is resolved by the import afterwards; nothing accepted stays pending (both databases)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from accord.cli import resolving
from accord.cli.main import app as cli
from accord.cli.resolving import BESIDE_FROM, alongside
from accord.collect import service as collect
from accord.collect.models import Event
from accord.config import Settings
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.resolve.worker import resolve_workspace

runner = CliRunner()


def _workspace(url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> uuid.UUID:
    monkeypatch.setenv("ACCORD_DATABASE_URL", url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(cli, ["workspace", "create", "Shop", "--json"])
    return uuid.UUID(json.loads(made.output)["workspace_id"])


@pytest.fixture
def shop(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[uuid.UUID, sessionmaker[Session]]]:
    """A workspace made by the command line on a database of its own, and a session
    factory on that database."""
    workspace_id = _workspace(fresh_db_url, tmp_path, monkeypatch)
    engine = create_db_engine(fresh_db_url)
    try:
        yield workspace_id, create_session_factory(engine)
    finally:
        engine.dispose()


def _contacts(start: int, count: int) -> list[dict[str, object]]:
    return [
        {
            "type": "identify",
            "userId": f"c-{i}",
            "traits": {"email": f"person{i}@example.com", "firstName": f"N{i}"},
        }
        for i in range(start, start + count)
    ]


def _accept(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, messages: list[dict[str, object]]
) -> None:
    with transaction(factory) as session:
        collect.accept(
            session,
            workspace_id=workspace_id,
            source="import:contacts:test",
            region="US",
            messages=messages,
            received_at=utcnow(),
        )


def _counts(factory: sessionmaker[Session], workspace_id: uuid.UUID) -> tuple[int, int]:
    with factory() as session:
        pending = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.workspace_id == workspace_id, Event.status == "pending")
        )
        people = session.scalar(
            select(func.count()).select_from(Profile).where(Profile.workspace_id == workspace_id)
        )
    return int(pending), int(people)


def test_the_process_beside_resolves_each_batch_as_it_is_accepted(
    shop: tuple[uuid.UUID, sessionmaker[Session]], fresh_db_url: str
) -> None:
    workspace_id, factory = shop
    with alongside(fresh_db_url, Settings(), workspace_id, BESIDE_FROM) as resolver:
        for start in range(0, 1500, 300):
            _accept(factory, workspace_id, _contacts(start, 300))
        heard: list[int] = []
        resolver.finish(heard.append)
        assert resolver.resolved == 1500  # all of it by the process beside
    assert heard
    assert heard[-1] == 1500
    assert resolve_workspace(factory, workspace_id) == 0
    assert _counts(factory, workspace_id) == (0, 1500)


def test_what_the_process_beside_leaves_the_import_resolves(
    shop: tuple[uuid.UUID, sessionmaker[Session]], fresh_db_url: str
) -> None:
    workspace_id, factory = shop
    with alongside(fresh_db_url, Settings(), workspace_id, BESIDE_FROM) as resolver:
        resolver._process.terminate()  # it dies before anything is accepted
        resolver._process.join()
        _accept(factory, workspace_id, _contacts(0, 700))
        resolver.finish()
        assert resolver.resolved == 0
    assert _counts(factory, workspace_id) == (700, 0)
    assert resolve_workspace(factory, workspace_id) == 700
    assert _counts(factory, workspace_id) == (0, 700)


def test_a_small_file_has_no_process_beside_it(
    shop: tuple[uuid.UUID, sessionmaker[Session]], fresh_db_url: str
) -> None:
    workspace_id, _ = shop
    with alongside(fresh_db_url, Settings(), workspace_id, BESIDE_FROM - 1) as resolver:
        assert resolver._process is None
        resolver.finish()
        assert resolver.resolved == 0


@pytest.mark.parametrize("beside_from", [1, BESIDE_FROM], ids=["beside", "after"])
def test_an_imported_file_is_resolved_whole(
    shop: tuple[uuid.UUID, sessionmaker[Session]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    beside_from: int,
) -> None:
    monkeypatch.setattr(resolving, "BESIDE_FROM", beside_from)
    workspace_id, factory = shop
    rows = ["email,first_name,last_name"]
    rows += [f"p{i}@example.com,Ana{i},Lee" for i in range(1200)]
    rows += ["not an email,Bad,Row"]
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("\n".join(rows) + "\n")
    result = runner.invoke(cli, ["import", "contacts", str(contacts), "-w", str(workspace_id)])
    assert result.exit_code == 0, result.output
    assert "1201 rows: 1200 loaded" in result.output
    assert _counts(factory, workspace_id) == (0, 1200)
