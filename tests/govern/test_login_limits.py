"""Sign-in limits count failures of one email from one client address, so wrong passwords
sent from elsewhere never lock the account's owner out; the limits per address and per
account still hold; a password change signs the user's other sessions out."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from accord.app import create_app
from accord.config import Settings
from accord.govern.access.repository import UserRepository
from accord.govern.audit.models import AuditEvent
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import PASSWORD, add_user, csrf_from

OWNER_IP = "198.51.100.7"
NEW_PASSWORD = "a brand new passphrase"


def make_app(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    **overrides: Any,
) -> FastAPI:
    return create_app(
        settings.model_copy(update=overrides), engine=engine, session_factory=session_factory
    )


def browser_at(app: FastAPI, ip: str) -> TestClient:
    """A client whose requests come from ``ip``."""
    return TestClient(app, client=(ip, 50000), raise_server_exceptions=False)


def sign_in(client: TestClient, email: str, password: str) -> httpx.Response:
    form = client.get("/login")
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )


def test_wrong_passwords_from_one_address_do_not_lock_the_owner_out(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
) -> None:
    add_user(session, workspace, "ada@example.com")
    app = make_app(settings, engine, session_factory)
    attacker = browser_at(app, "203.0.113.66")
    for _ in range(settings.login_max_failures):
        assert sign_in(attacker, "ada@example.com", "guess").status_code == 401
    blocked = sign_in(attacker, "ada@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0

    owner = browser_at(app, OWNER_IP)
    signed_in = sign_in(owner, "ADA@example.com", PASSWORD)
    assert signed_in.status_code == 303, signed_in.text
    assert owner.get("/account").status_code == 200


def test_an_address_that_keeps_failing_is_stopped_for_every_email(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
) -> None:
    add_user(session, workspace, "ada@example.com")
    add_user(session, workspace, "bob@example.com")
    app = make_app(settings, engine, session_factory, login_max_failures_per_ip=5)
    attacker = browser_at(app, "203.0.113.66")
    for _ in range(5):
        assert sign_in(attacker, "ada@example.com", "guess").status_code == 401
    # Bob never failed, but the address did: it is stopped whatever email it tries.
    assert sign_in(attacker, "bob@example.com", PASSWORD).status_code == 429
    # Ada, from her own address, signs in.
    assert sign_in(browser_at(app, OWNER_IP), "ada@example.com", PASSWORD).status_code == 303


def test_a_guess_spread_over_many_addresses_stops_at_the_account_limit(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
) -> None:
    add_user(session, workspace, "ada@example.com")
    app = make_app(settings, engine, session_factory, login_max_failures_per_account=8)
    for n in range(7):
        assert sign_in(browser_at(app, f"203.0.113.{n}"), "ada@example.com", "x").status_code == 401
    # Seven failures, more than five but from different addresses: the owner signs in.
    assert sign_in(browser_at(app, OWNER_IP), "ada@example.com", PASSWORD).status_code == 303
    assert sign_in(browser_at(app, "203.0.113.7"), "ada@example.com", "x").status_code == 401
    # The eighth reaches the account's limit: every address waits, the owner's too.
    blocked = sign_in(browser_at(app, "192.0.2.1"), "ada@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert 'data-code="login_throttled"' in blocked.text
    assert sign_in(browser_at(app, OWNER_IP), "ada@example.com", PASSWORD).status_code == 429


def change(client: TestClient, csrf: str, current: str, new: str, confirm: str) -> httpx.Response:
    return client.post(
        "/account/password",
        data={
            "csrf_token": csrf,
            "current_password": current,
            "new_password": new,
            "confirm": confirm,
        },
    )


def test_a_changed_password_signs_the_other_sessions_out(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    add_user(session, workspace, "ada@example.com")
    add_user(session, other_workspace, "ada@example.com", "agent")
    app = make_app(settings, engine, session_factory)
    laptop, phone = browser_at(app, OWNER_IP), browser_at(app, "192.0.2.44")
    assert sign_in(laptop, "ada@example.com", PASSWORD).status_code == 303
    assert sign_in(phone, "ada@example.com", PASSWORD).status_code == 303

    # The sidebar's user block leads to the account page.
    account = laptop.get("/account")
    assert 'href="/account"' in laptop.get("/analytics").text
    assert "Change your password" in account.text
    csrf = csrf_from(account.text)

    refused = change(laptop, csrf, "not my password", NEW_PASSWORD, NEW_PASSWORD)
    assert refused.status_code == 400
    assert 'data-code="wrong_password"' in refused.text
    short = change(laptop, csrf, PASSWORD, "short", "short")
    assert 'data-code="password_too_short"' in short.text
    differ = change(laptop, csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert 'data-code="passwords_differ"' in differ.text
    assert phone.get("/account", follow_redirects=False).status_code == 200  # nothing changed

    done = change(laptop, csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert done.status_code == 200
    assert 'id="password-changed"' in done.text
    # This session stays; the phone's ended.
    assert laptop.get("/account", follow_redirects=False).status_code == 200
    gone = phone.get("/account", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == "/login?next=/account"
    assert sign_in(phone, "ada@example.com", PASSWORD).status_code == 401
    assert sign_in(phone, "ada@example.com", NEW_PASSWORD).status_code == 303

    session.expire_all()
    user = UserRepository.from_session(session).get_by_email("ada@example.com")
    assert user is not None
    assert user.password_changed_at is not None
    audited = session.scalars(
        select(AuditEvent.workspace_id).where(AuditEvent.action == "user.password_changed")
    ).all()
    # Recorded in both of her workspaces, as done by her.
    assert set(audited) == {workspace.workspace.id, other_workspace.workspace.id}


def test_guessing_the_current_password_from_a_session_is_limited(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
) -> None:
    add_user(session, workspace, "ada@example.com")
    app = make_app(settings, engine, session_factory)
    left_open = browser_at(app, "203.0.113.66")
    assert sign_in(left_open, "ada@example.com", PASSWORD).status_code == 303
    csrf = csrf_from(left_open.get("/account").text)
    for _ in range(settings.login_max_failures):
        assert change(left_open, csrf, "guess", NEW_PASSWORD, NEW_PASSWORD).status_code == 400
    # Even the right one is refused now, from that address.
    blocked = change(left_open, csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD)
    assert blocked.status_code == 429
    assert 'data-code="login_throttled"' in blocked.text
    assert sign_in(browser_at(app, OWNER_IP), "ada@example.com", PASSWORD).status_code == 303


def test_failures_before_a_password_change_no_longer_count(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
) -> None:
    add_user(session, workspace, "ada@example.com")
    app = make_app(settings, engine, session_factory)
    owner = browser_at(app, OWNER_IP)
    assert sign_in(owner, "ada@example.com", PASSWORD).status_code == 303
    csrf = csrf_from(owner.get("/account").text)
    elsewhere = browser_at(app, "192.0.2.44")
    for _ in range(settings.login_max_failures):
        assert sign_in(elsewhere, "ada@example.com", "guess").status_code == 401
    assert sign_in(elsewhere, "ada@example.com", PASSWORD).status_code == 429
    assert change(owner, csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).status_code == 200
    assert sign_in(elsewhere, "ada@example.com", NEW_PASSWORD).status_code == 303
