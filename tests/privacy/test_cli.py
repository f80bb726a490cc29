"""``accord privacy``: record, list, export and erase from the command line."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import Committed, bearer
from tests.privacy.people import new_person, track_person

runner = CliRunner()


def invoke(*args: str, code: int = 0) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result.output


def test_requests_from_the_command_line(
    privacy_db: Committed,
    api: TestClient,
    ws: ProvisionedWorkspace,
    data_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACCORD_DATABASE_URL", privacy_db.url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(data_dir))
    slug = ws.workspace.slug
    p = new_person()
    track_person(api, ws, p)

    made = json.loads(
        invoke("privacy", "request", "export", f"email:{p.email}", "-w", slug, "--json")
    )
    assert made["found"]["profiles"] == 3
    listed = invoke("privacy", "list", "-w", slug)
    assert made["id"] in listed
    assert "1 open, 0 overdue" in listed
    target = tmp_path / "them.zip"
    out = invoke("privacy", "export", made["id"], "-w", slug, "-o", str(target))
    assert "wrote" in out
    person = json.loads(zipfile.ZipFile(target).read("person.json"))
    assert len(person["profiles"]) == 3

    wrong = runner.invoke(cli, ["privacy", "request", "erase", "email:nope", "-w", slug])
    assert wrong.exit_code == 2
    assert "(identifier_value)" in wrong.output
    erase = json.loads(
        invoke("privacy", "request", "erase", f"user_id:{p.user_id}", "-w", slug, "--json")
    )
    out = invoke("privacy", "erase", erase["id"], "-w", slug, "--yes")
    assert "erased user_id:u***: 3 profiles" in out
    assert "profiles" in out
    r = api.get("/api/v1/profiles/lookup", params={"email": p.email}, headers=bearer(ws.api_token))
    assert r.status_code == 404
    again = runner.invoke(cli, ["privacy", "erase", erase["id"], "-w", slug, "--yes"])
    assert again.exit_code == 2
    assert "[request_completed]" in again.output
