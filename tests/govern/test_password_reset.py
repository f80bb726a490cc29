"""A forgotten password is reset by a link sent through the server's relay (a real SMTP
server on loopback here): one answer whether or not the account exists, a single-use
token stored only as a hash, an hour to use it, every session ended and the sign-in
limits of the account restarted; requests are limited; without a relay an admin makes the
link with `accord user reset-link`."""

from __future__ import annotations

import re
import socket
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from accord.app import create_app
from accord.cli.main import app as cli
from accord.config import Settings
from accord.govern.access.models import PasswordReset
from accord.govern.access.resets import REQUESTS_PER_ADDRESS, REQUESTS_PER_EMAIL
from accord.govern.audit.models import AuditEvent
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.security import lookup_hash
from accord.kit.time import utcnow
from tests.govern.test_login_limits import OWNER_IP, browser_at, make_app, sign_in
from tests.helpers import PASSWORD, add_user, csrf_from
from tests.smtp_sink import Sink

NEW_PASSWORD = "a fresh start at last"
LINK = re.compile(r"(http://\S+/login/reset\?token=\S+)")


def relay_app(
    settings: Settings, engine: Engine, factory: sessionmaker[Session], sink: Sink
) -> FastAPI:
    return make_app(settings, engine, factory, smtp_url=f"smtp://127.0.0.1:{sink.port}")


def ask_for_link(client: TestClient, email: str) -> httpx.Response:
    form = client.get("/login/forgot")
    return client.post("/login/forgot", data={"email": email, "csrf_token": csrf_from(form.text)})


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match, body.get_content()
    return match.group(1)


def local(link: str) -> str:
    """The path and query of a link, to follow it on the test client."""
    parts = urlsplit(link)
    return f"{parts.path}?{parts.query}"


def set_new(client: TestClient, path: str, password: str, confirm: str) -> httpx.Response:
    form = client.get(path)
    token = path.split("token=", 1)[1]
    return client.post(
        "/login/reset",
        data={
            "token": token,
            "password": password,
            "confirm": confirm,
            "csrf_token": csrf_from(form.text),
        },
        follow_redirects=False,
    )


def test_the_reset_flow_over_smtp(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
    smtp_sink: Sink,
) -> None:
    add_user(session, workspace, "ada@example.com")
    app = relay_app(settings, engine, session_factory, smtp_sink)
    browser = browser_at(app, OWNER_IP)
    # Ada's own address is locked out by her own mistakes, and a session is open elsewhere.
    for _ in range(settings.login_max_failures):
        assert sign_in(browser, "ada@example.com", "which one was it").status_code == 401
    assert sign_in(browser, "ada@example.com", PASSWORD).status_code == 429
    other = browser_at(app, "192.0.2.44")
    assert sign_in(other, "ada@example.com", PASSWORD).status_code == 303

    login = browser.get("/login")
    assert 'href="/login/forgot"' in login.text
    assert "Forgot your password?" in login.text
    answer = ask_for_link(browser, "Ada@Example.com")
    assert answer.status_code == 200
    assert "If an account exists for" in answer.text

    email = smtp_sink.wait_for(1)[0]
    assert email["To"] == "ada@example.com"
    assert email["From"] == "no-reply@127.0.0.1"
    link = link_in(email)
    assert link.startswith(settings.base_url + "/login/reset?token=")
    token = link.split("token=", 1)[1]
    # Only a hash of the token is kept.
    session.expire_all()
    stored = session.scalars(select(PasswordReset).where(PasswordReset.email == "ada@example.com"))
    (reset,) = stored.all()
    assert reset.token_hash == lookup_hash(token)
    assert token not in repr([getattr(reset, c) for c in ("email", "ip", "token_hash", "user_id")])
    assert timedelta(minutes=59) < reset.expires_at - utcnow() <= timedelta(hours=1)

    path = local(link)
    form = browser.get(path)
    assert form.status_code == 200
    assert "ada@example.com" in form.text
    assert form.headers["cache-control"] == "no-store"
    # A refused password leaves the link usable.
    differ = set_new(browser, path, NEW_PASSWORD, NEW_PASSWORD + "?")
    assert 'data-code="passwords_differ"' in differ.text
    short = set_new(browser, path, "short", "short")
    assert 'data-code="password_too_short"' in short.text

    done = set_new(browser, path, NEW_PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303
    assert done.headers["location"] == "/login?password=reset"
    assert "new password is set" in browser.get(done.headers["location"]).text

    # Every session ended; the old password is gone.
    assert other.get("/account", follow_redirects=False).status_code == 303
    assert sign_in(other, "ada@example.com", PASSWORD).status_code == 401
    # The throttle of the account starts afresh: her own address signs in again.
    assert sign_in(browser, "ada@example.com", NEW_PASSWORD).status_code == 303

    # The link worked once.
    again = browser.get(path)
    assert again.status_code == 400
    assert 'data-code="reset_link_used"' in again.text
    assert "already been used" in again.text
    reused = set_new_with_token(browser, token, "yet another password")
    assert 'data-code="reset_link_used"' in reused.text
    assert sign_in(browser_at(app, "192.0.2.9"), "ada@example.com", NEW_PASSWORD).status_code == 303

    audited = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "user.password_reset")
    ).all()
    assert [(a.workspace_id, a.actor) for a in audited] == [
        (workspace.workspace.id, "user:ada@example.com")
    ]


def set_new_with_token(client: TestClient, token: str, password: str) -> httpx.Response:
    form = client.get("/login/forgot")
    return client.post(
        "/login/reset",
        data={
            "token": token,
            "password": password,
            "confirm": password,
            "csrf_token": csrf_from(form.text),
        },
        follow_redirects=False,
    )


def test_wrong_and_expired_links_are_refused_with_a_clear_page(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
    smtp_sink: Sink,
) -> None:
    add_user(session, workspace, "ada@example.com")
    app = relay_app(settings, engine, session_factory, smtp_sink)
    browser = browser_at(app, OWNER_IP)
    for bad in (
        "/login/reset?token=not-a-token",
        "/login/reset",
        "/login/reset?token=" + "x" * 300,
    ):
        refused = browser.get(bad)
        assert refused.status_code == 400
        assert 'data-code="reset_link_invalid"' in refused.text
        assert 'href="/login/forgot"' in refused.text
    assert 'data-code="reset_link_invalid"' in set_new_with_token(browser, "nope", "x" * 12).text

    ask_for_link(browser, "ada@example.com")
    path = local(link_in(smtp_sink.wait_for(1)[0]))
    assert browser.get(path).status_code == 200
    session.expire_all()
    reset = session.scalars(select(PasswordReset)).one()
    reset.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    expired = browser.get(path)
    assert expired.status_code == 400
    assert 'data-code="reset_link_expired"' in expired.text
    assert "expired" in expired.text
    token = path.split("token=", 1)[1]
    posted = set_new_with_token(browser, token, NEW_PASSWORD)
    assert 'data-code="reset_link_expired"' in posted.text
    assert sign_in(browser, "ada@example.com", PASSWORD).status_code == 303


def _answer(text: str) -> str:
    """The page without what differs between two requests for sure: the form token and
    the email typed."""
    text = re.sub(r'name="csrf_token" value="[^"]+"', "", text)
    return re.sub(r"[a-z]+@example\.com", "EMAIL", text)


def test_an_unknown_email_gets_the_same_answer_and_no_email(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
    smtp_sink: Sink,
) -> None:
    add_user(session, workspace, "ada@example.com")
    app = relay_app(settings, engine, session_factory, smtp_sink)
    unknown = ask_for_link(browser_at(app, "192.0.2.1"), "nobody@example.com")
    known = ask_for_link(browser_at(app, "192.0.2.2"), "ada@example.com")
    assert unknown.status_code == known.status_code == 200
    assert _answer(unknown.text) == _answer(known.text)
    assert sorted(unknown.headers) == sorted(known.headers)
    (only,) = smtp_sink.wait_for(1)
    time.sleep(0.3)
    assert len(smtp_sink.messages) == 1
    assert only["To"] == "ada@example.com"


def test_the_answer_does_not_wait_for_the_relay(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
) -> None:
    """The email leaves after the answer, so a relay that hangs (it takes the connection
    and never greets) shows in neither the answer nor its time."""
    add_user(session, workspace, "ada@example.com")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        port = silent.getsockname()[1]
        app = make_app(settings, engine, session_factory, smtp_url=f"smtp://127.0.0.1:{port}")
        started = time.monotonic()
        known = ask_for_link(browser_at(app, "192.0.2.2"), "ada@example.com")
        took = time.monotonic() - started
        unknown = ask_for_link(browser_at(app, "192.0.2.1"), "nobody@example.com")
    assert took < 5  # the relay would hold a sender for its 30 s timeout
    assert known.status_code == unknown.status_code == 200
    assert _answer(unknown.text) == _answer(known.text)


def test_requests_are_limited_per_email_and_per_address(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
    smtp_sink: Sink,
) -> None:
    add_user(session, workspace, "ada@example.com")
    app = relay_app(settings, engine, session_factory, smtp_sink)
    for email in ("ada@example.com", "nobody@example.com"):
        for n in range(REQUESTS_PER_EMAIL):
            assert ask_for_link(browser_at(app, f"192.0.2.{n}"), email).status_code == 200
        # The same for an account and for no account: no answer tells them apart.
        flooded = ask_for_link(browser_at(app, "192.0.2.99"), email.upper())
        assert flooded.status_code == 429
        assert 'data-code="reset_throttled"' in flooded.text
        assert int(flooded.headers["retry-after"]) > 0
    assert len(smtp_sink.wait_for(REQUESTS_PER_EMAIL)) == REQUESTS_PER_EMAIL
    time.sleep(0.3)
    assert len(smtp_sink.messages) == REQUESTS_PER_EMAIL

    one_address = browser_at(app, "203.0.113.5")
    for n in range(REQUESTS_PER_ADDRESS):
        assert ask_for_link(one_address, f"someone{n}@example.org").status_code == 200
    refused = ask_for_link(one_address, "someone-else@example.org")
    assert refused.status_code == 429
    assert 'data-code="reset_throttled"' in refused.text


def test_without_a_relay_the_form_says_to_ask_an_administrator(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com")
    page = client.get("/login/forgot")
    assert page.status_code == 200
    assert 'data-code="mail_not_configured"' in page.text
    assert "accord user reset-link" in page.text
    assert 'action="/login/forgot"' not in page.text
    posted = client.post(
        "/login/forgot",
        data={"email": "ada@example.com", "csrf_token": client.cookies.get("accord_login_csrf")},
    )
    assert posted.status_code == 200
    assert 'data-code="mail_not_configured"' in posted.text
    assert session.scalars(select(PasswordReset)).all() == []


def test_the_forgot_form_needs_its_token(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
    smtp_sink: Sink,
) -> None:
    add_user(session, workspace, "ada@example.com")
    browser = browser_at(relay_app(settings, engine, session_factory, smtp_sink), OWNER_IP)
    browser.get("/login/forgot")
    forged = browser.post("/login/forgot", data={"email": "ada@example.com", "csrf_token": "x"})
    assert forged.status_code == 403
    assert 'data-code="csrf_failed"' in forged.text
    assert session.scalars(select(PasswordReset)).all() == []


runner = CliRunner()


@pytest.fixture
def cli_env(fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ACCORD_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ACCORD_BASE_URL", "https://accord.example.test")
    monkeypatch.setenv("ACCORD_OUTBOX_WORKER", "false")
    monkeypatch.setenv("ACCORD_MATCH_WORKER", "false")
    monkeypatch.setenv("ACCORD_RESOLVE_WORKER", "false")
    monkeypatch.setenv("ACCORD_IMAP_POLL_SECONDS", "0")
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    return Settings()


def test_an_admin_makes_a_link_on_the_command_line(cli_env: Settings) -> None:
    import json

    made = runner.invoke(cli, ["workspace", "create", "Acme", "--json"])
    workspace_id = json.loads(made.stdout)["workspace_id"]
    args = ["user", "create", "ada@example.com", "--role", "agent", "--workspace", workspace_id]
    assert runner.invoke(cli, [*args, "--password", PASSWORD]).exit_code == 0

    result = runner.invoke(cli, ["user", "reset-link", "Ada@Example.com"])
    assert result.exit_code == 0, result.output
    link = result.stdout.strip()
    assert link.startswith("https://accord.example.test/login/reset?token=")
    unknown = runner.invoke(cli, ["user", "reset-link", "nobody@example.com"])
    assert unknown.exit_code == 2
    assert "Account not found" in unknown.output

    with TestClient(create_app(cli_env), client=(OWNER_IP, 50000)) as browser:
        path = local(link)
        assert browser.get(path).status_code == 200
        assert set_new(browser, path, NEW_PASSWORD, NEW_PASSWORD).status_code == 303
        assert sign_in(browser, "ada@example.com", PASSWORD).status_code == 401
        assert sign_in(browser, "ada@example.com", NEW_PASSWORD).status_code == 303
        assert 'data-code="reset_link_used"' in browser.get(path).text
        # The forgot form, with no relay set, points at this command.
        assert "accord user reset-link" in browser.get("/login/forgot").text
        token = json.loads(made.stdout)["api_token"]
        audit = browser.get("/api/v1/audit", headers={"Authorization": f"Bearer {token}"})
        actions = {(e["action"], e["actor"]) for e in audit.json()["data"]}
        assert ("user.password_reset_link_issued", "cli") in actions
        assert ("user.password_reset", "user:ada@example.com") in actions
