"""A forgotten password in a real browser (Debian's Chromium through Playwright): the
sign-in page's link, the form, the email (a real SMTP server on loopback), the link, the
new password, signing in with it. Screenshots land in test-artifacts/."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.app import create_app
from accord.config import Settings
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces import service as workspaces
from accord.kit import migrate
from accord.kit.db import create_db_engine, create_session_factory, transaction
from tests.helpers import PASSWORD, live_server
from tests.smtp_sink import Sink

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
NEW_PASSWORD = "lantern meadow copper"


@pytest.fixture
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def test_forgot_email_link_new_password_sign_in(  # type: ignore[no-untyped-def]
    tmp_path: Path, smtp_sink: Sink, browser
) -> None:
    from playwright.sync_api import expect

    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'accord.db'}",
        secret_key="k" * 40,
        smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}",
        mail_from="Accord <accord@outfitters.example>",
        outbox_worker=False,
        match_worker=False,
        resolve_worker=False,
        imap_poll_seconds=0,
    )
    migrate.upgrade(settings.resolved_database_url)
    engine = create_db_engine(settings.resolved_database_url)
    with transaction(create_session_factory(engine)) as session:
        ws = workspaces.create_workspace(session, "Demo Outfitters").workspace
        access.add_member(
            session,
            workspace_id=ws.id,
            email="maya@outfitters.example",
            role="admin",
            name="Maya Lind",
            password=PASSWORD,
            actor=Principal.cli(ws.id),
        )
    engine.dispose()
    ARTIFACTS.mkdir(exist_ok=True)
    app = create_app(settings)
    with live_server(app) as base:
        # Links in emails name where the console is served.
        app.state.settings = settings.model_copy(update={"base_url": base})
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.goto(f"{base}/login")
        page.click("text=Forgot your password?")
        expect(page).to_have_url(f"{base}/login/forgot")
        page.fill("#email", "maya@outfitters.example")
        page.click("button[type=submit]")
        expect(page.locator("#sent")).to_contain_text("If an account exists for")
        page.screenshot(path=str(ARTIFACTS / "password-forgot-sent.png"))

        email = smtp_sink.wait_for(1)[0]
        assert email["To"] == "maya@outfitters.example"
        body = email.get_body(("plain",))
        assert body is not None
        found = re.search(r"(http://\S+/login/reset\?token=\S+)", body.get_content())
        assert found
        link = found.group(1)
        assert link.startswith(f"{base}/login/reset?token=")

        page.goto(link)
        expect(page.locator("main")).to_contain_text("maya@outfitters.example")
        page.fill("#password", NEW_PASSWORD)
        page.fill("#confirm", NEW_PASSWORD + "?")
        page.click("button[type=submit]")
        expect(page.locator(".alert.error")).to_contain_text("not the same")
        page.fill("#password", NEW_PASSWORD)
        page.fill("#confirm", NEW_PASSWORD)
        page.screenshot(path=str(ARTIFACTS / "password-reset-form.png"))
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/login?password=reset")
        expect(page.locator("#notice")).to_contain_text("new password is set")
        page.screenshot(path=str(ARTIFACTS / "password-reset-done.png"))

        page.fill("#email", "maya@outfitters.example")
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator(".alert.error")).to_contain_text("not correct")
        page.fill("#email", "maya@outfitters.example")
        page.fill("#password", NEW_PASSWORD)
        page.click("button[type=submit]")
        expect(page).to_have_url(f"{base}/customers")
        page.click("nav.sidebar >> text=Account & password")
        expect(page).to_have_url(f"{base}/account")
        expect(page.locator("#account-facts")).to_contain_text("Password changed")
        page.screenshot(path=str(ARTIFACTS / "account-password.png"), full_page=True)

        page.goto(link)
        expect(page.locator("#refused")).to_contain_text("already been used")
        page.screenshot(path=str(ARTIFACTS / "password-reset-link-used.png"))
        context.close()
