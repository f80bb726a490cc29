from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from accord.config import Settings


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    key = settings.resolved_secret_key
    assert len(key) >= 48
    path = tmp_path / "d" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert Settings(data_dir=tmp_path / "d").resolved_secret_key == key


def test_configured_secret_key_wins(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", secret_key="configured")
    assert settings.resolved_secret_key == "configured"
    assert not (tmp_path / "d").exists()


def test_environment_prefix(monkeypatch, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "x"))
    monkeypatch.setenv("ACCORD_DATABASE_URL", "postgresql+psycopg://u@h/db")
    settings = Settings()
    assert settings.data_dir == tmp_path / "x"
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/db"
    assert not settings.is_sqlite
    monkeypatch.delenv("ACCORD_DATABASE_URL")
    assert Settings().resolved_database_url.endswith("/x/accord.db")


def test_importing_creates_nothing(tmp_path: Path) -> None:
    """Importing the app, the CLI and every model touches neither disk nor database."""
    code = "import accord.app, accord.cli.main, accord.models; accord.app.create_app()"
    env = {**os.environ, "ACCORD_DATA_DIR": str(tmp_path / "data")}
    subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, check=True)
    assert list(tmp_path.iterdir()) == []
