"""What the matching tests share."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli.main import app as cli

runner = CliRunner()


@pytest.fixture
def cli_db(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh, migrated database the command line uses."""
    monkeypatch.setenv("ACCORD_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    return fresh_db_url
