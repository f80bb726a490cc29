from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from accord.app import create_app
from accord.cli.main import app as cli
from accord.config import Settings

runner = CliRunner()


@pytest.fixture
def cli_env(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ACCORD_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    return Settings()


def invoke(*args: str) -> str:
    result = runner.invoke(cli, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_workspace_and_user_commands(cli_env: Settings) -> None:
    out = json.loads(invoke("workspace", "create", "Acme Stores", "--json"))
    assert out["slug"] == "acme-stores"
    assert out["write_key"].startswith("wk_")
    assert out["api_token"].startswith("acc_")
    user = json.loads(
        invoke(
            "user",
            "create",
            "Lead@Acme.test",
            "--role",
            "agent",
            "--workspace",
            out["workspace_id"],
            "--json",
        )
    )
    assert user["email"] == "lead@acme.test"
    assert user["role"] == "agent"
    assert len(user["password"]) >= 12

    # What the CLI printed works against the API.
    with TestClient(create_app(cli_env)) as client:
        auth = {"Authorization": f"Bearer {out['api_token']}"}
        members = client.get("/api/v1/users", headers=auth).json()["data"]
        assert [m["email"] for m in members] == ["lead@acme.test"]


def test_cli_errors_are_clear(cli_env: Settings) -> None:
    out = json.loads(invoke("workspace", "create", "Acme", "--json"))
    bad = runner.invoke(
        cli, ["user", "create", "x@acme.test", "--role", "boss", "--workspace", out["workspace_id"]]
    )
    assert bad.exit_code == 2
    assert "Unknown role 'boss'" in bad.output
    assert "[invalid]" in bad.output
    missing = runner.invoke(
        cli,
        [
            "user",
            "create",
            "x@acme.test",
            "--role",
            "agent",
            "--workspace",
            "00000000-0000-0000-0000-000000000000",
        ],
    )
    assert missing.exit_code == 2
    assert "Workspace not found" in missing.output


def _people_and_merges(s: Settings) -> tuple[int, int]:
    from sqlalchemy import func, select

    from accord.kit.db import create_db_engine
    from accord.profile.models import Profile
    from accord.resolve.models import Merge

    engine = create_db_engine(s.resolved_database_url)
    try:
        with engine.connect() as conn:
            live = conn.scalar(
                select(func.count()).select_from(Profile).where(Profile.merged_into_id.is_(None))
            )
            merges = conn.scalar(select(func.count()).select_from(Merge))
    finally:
        engine.dispose()
    return int(live or 0), int(merges or 0)


def test_demo_is_idempotent_and_its_login_works(cli_env: Settings) -> None:
    first = invoke("demo", "--customers", "25")
    assert "Probabilistic matching:" in first  # run once, on the data just loaded
    people_and_merges = _people_and_merges(cli_env)
    second = invoke("demo", "--customers", "25")
    assert "created" in first
    assert "already set up" in second
    assert "Probabilistic matching:" not in second
    assert _people_and_merges(cli_env) == people_and_merges
    login = next(line for line in second.splitlines() if "Sign in:" in line)
    email, password = login.split("Sign in:")[1].strip().split(" / ")
    assert login in first  # the same credentials both times
    creds = json.loads((cli_env.data_dir / "demo-credentials.json").read_text())
    assert creds["admin_password"] == password
    with TestClient(create_app(cli_env)) as client:
        page = client.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        response = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
        assert response.status_code == 200
        assert "Demo Outfitters" in response.text
        assert "Maria Gonzalez" in client.get("/customers?q=maria").text
        # The retailer's help center: public answers, one in German, the internal one hidden.
        assert "Demo help center: 11 answers" in first
        assert "Demo help center" not in second
        center = client.get("/help/demo-outfitters")
        assert "Boot size guide" in center.text
        assert "Refund overrides" not in center.text
        german = client.get("/help/demo-outfitters/articles/boot-size-guide?lang=de")
        assert "Größentabelle für Schuhe" in german.text
        found = client.get("/help/demo-outfitters/search.json?q=send back my boots").json()
        assert found["results"][0]["title"] == "Returns and exchanges"
    # Outreach: a finished campaign with its results, and a running journey, made once.
    assert "Demo campaign: Spring sale, sent to" in first
    assert "Demo journey: Cart abandonment, running with" in first
    assert "Demo campaign" not in second
    assert "Demo journey" not in second
    with TestClient(create_app(cli_env)) as client:
        auth = {"Authorization": f"Bearer {creds['api_token']}"}
        [campaign] = client.get("/api/v1/outreach/campaigns", headers=auth).json()["data"]
        assert campaign["status"] == "sent"
        report = client.get(
            f"/api/v1/outreach/campaigns/{campaign['id']}/report", headers=auth
        ).json()
        assert report["recipients"] == campaign["audience"] > 0
        assert (
            report["sent"] + report["holdout"] + report["counts"].get("refused", 0)
            == (report["recipients"])
        )
        [journey] = client.get("/api/v1/outreach/journeys", headers=auth).json()["data"]
        assert (journey["name"], journey["status"], journey["version"]) == (
            "Cart abandonment",
            "active",
            1,
        )


def test_serve_turns_the_demo_shop_on_when_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    served: list[str | None] = []
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ACCORD_RESOLVE_WORKER", "false")
    # Else serve starts a job worker process and tells the API (this test process, for
    # every later test in it) to run none: ACCORD_JOBS_WORKER=false in os.environ.
    monkeypatch.setenv("ACCORD_JOBS_WORKER", "false")
    monkeypatch.delenv("ACCORD_DEMO_SITE", raising=False)
    monkeypatch.delenv("ACCORD_BASE_URL", raising=False)  # serve sets it
    monkeypatch.setattr(
        uvicorn, "run", lambda *a, **kw: served.append(os.environ.get("ACCORD_DEMO_SITE"))
    )
    invoke("serve")
    assert served == [None]
    assert Settings().demo_site is False
    invoke("serve", "--demo-site")
    assert served == [None, "true"]
    assert Settings().demo_site is True


def test_serve_links_to_its_own_port_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    seen: list[str] = []
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ACCORD_RESOLVE_WORKER", "false")
    # Else serve starts a job worker process and tells the API (this test process, for
    # every later test in it) to run none: ACCORD_JOBS_WORKER=false in os.environ.
    monkeypatch.setenv("ACCORD_JOBS_WORKER", "false")
    monkeypatch.delenv("ACCORD_BASE_URL", raising=False)
    monkeypatch.setattr(uvicorn, "run", lambda *a, **kw: seen.append(Settings().base_url))
    invoke("serve", "--port", "8100")
    assert seen == ["http://127.0.0.1:8100"]
    monkeypatch.setenv("ACCORD_BASE_URL", "https://support.example.com")
    invoke("serve", "--port", "8100")
    assert seen[-1] == "https://support.example.com"
