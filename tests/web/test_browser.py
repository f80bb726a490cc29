"""The console in a real browser: Debian's Chromium driven by Playwright (never a
downloaded browser). Screenshots land in test-artifacts/ for a person to look at."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.app import create_app
from accord.config import Settings
from accord.demo import service as demo_service
from accord.demo.conversations import load_conversations
from accord.demo.load import load_retail
from accord.kit import migrate
from accord.kit.db import create_db_engine, create_session_factory, transaction
from tests.helpers import live_server
from tests.served import log_in

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def served_demo(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, demo_service.DemoInfo]]:
    data_dir = tmp_path_factory.mktemp("browser")
    settings = Settings(data_dir=data_dir, database_url=f"sqlite:///{data_dir / 'accord.db'}")
    migrate.upgrade(settings.resolved_database_url)
    engine = create_db_engine(settings.resolved_database_url)
    factory = create_session_factory(engine)
    with transaction(factory) as session:
        info = demo_service.ensure_demo(session, {})
    load_retail(factory, uuid.UUID(info.workspace_id), customers=40)
    with transaction(factory) as session:
        made = load_conversations(
            session,
            uuid.UUID(info.workspace_id),
            secret_key=settings.resolved_secret_key,
            base_url=settings.base_url,
            count=24,
        )
    assert made == 24
    engine.dispose()
    with live_server(create_app(settings)) as base:
        yield base, info


def sign_in(page, base: str, info: demo_service.DemoInfo, next_path: str) -> None:  # type: ignore[no-untyped-def]
    """Sign in as the demo admin through the login form, landing on ``next_path``."""
    log_in(page, base, info.admin_email, next_path, info.admin_password)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_sign_in_and_manage_keys(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base, info = served_demo
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()

    page.goto(f"{base}/settings/keys")
    expect(page).to_have_url(f"{base}/login?next=/settings/keys")
    page.fill("#email", info.admin_email)
    page.fill("#password", "wrong password")
    page.click("button[type=submit]")
    expect(page.locator(".alert.error")).to_contain_text("not correct")
    page.screenshot(path=str(ARTIFACTS / "login-error.png"))

    page.fill("#email", info.admin_email)
    page.fill("#password", info.admin_password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/settings/keys")
    expect(page.locator("h1")).to_have_text("Settings")
    expect(page.locator("#write-keys")).to_contain_text(info.write_key)

    page.fill("input[name=name]", "Warehouse sync")
    page.check("input[value='profiles:read']")
    page.click("text=Create key")
    secret = page.locator("#new-secret")
    expect(secret).to_contain_text("acc_")
    expect(page.locator("#tokens")).to_contain_text("Warehouse sync")
    page.screenshot(path=str(ARTIFACTS / "settings-keys.png"), full_page=True)

    # Revoking asks first: dismissed, nothing happens; accepted, the token is gone.
    token_row = page.locator("#tokens tr", has_text="Warehouse sync")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    token_row.locator("text=Revoke").click()
    page.wait_for_timeout(300)
    assert asked
    assert "Revoke Warehouse sync" in asked[0]
    expect(token_row.locator("text=Revoke")).to_be_visible()
    page.once("dialog", lambda d: d.accept())
    token_row.locator("text=Revoke").click()
    expect(page.locator("#tokens tr", has_text="Warehouse sync")).to_have_count(0)

    page.click("nav.sidebar >> text=Customers")
    expect(page).to_have_url(f"{base}/customers")
    expect(page.locator(".sidebar")).to_contain_text("Demo Outfitters")
    rows = page.locator("#customers tbody tr")
    expect(rows.first).to_be_visible()
    assert rows.count() > 40
    page.screenshot(path=str(ARTIFACTS / "console-customers.png"), full_page=True)

    page.click("text=Sign out")
    expect(page).to_have_url(f"{base}/login")
    context.close()


def test_customer_360_shows_one_person_across_channels(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base, info = served_demo
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    sign_in(page, base, info, "/customers")
    page.fill("input[name=q]", "maria gon")
    page.press("input[name=q]", "Enter")
    expect(page.locator("#customers tbody tr")).to_have_count(1)
    page.click("#customers >> text=Maria Gonzalez")
    expect(page.locator("#customer-name")).to_have_text("Maria Gonzalez")
    # Web browsing, a store purchase by loyalty card and a call, as one person.
    chips = page.locator(".chips")
    for label in ("Web", "Store", "Call center"):
        expect(chips).to_contain_text(label)
    timeline = page.locator("#timeline")
    expect(timeline).to_contain_text("Call Completed")
    expect(timeline).to_contain_text("Viewed /checkout")
    expect(page.locator("#orders")).to_contain_text("Portland Pearl District")
    expect(page.locator("#identifiers")).to_contain_text("loyalty_card")
    expect(page.locator("#identifiers")).to_contain_text("+15035550142")
    expect(page.locator("#merges li")).not_to_have_count(0)
    expect(page.locator("#figures")).to_contain_text("Orders")
    page.screenshot(path=str(ARTIFACTS / "customer-360.png"), full_page=True)

    # Filter the timeline to the store.
    page.click(".chips >> text=Store")
    expect(page.locator("#timeline .tl-item")).to_have_count(1)
    context.close()


def test_inbox_and_conversation_page(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    """The agent's inbox: views, SLA marks, a live update without reloading, and the
    conversation page with its cross-channel thread, composer and customer sidebar."""
    import httpx
    from playwright.sync_api import expect

    base, info = served_demo
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    sign_in(page, base, info, "/inbox?view=all")
    expect(page).to_have_url(f"{base}/inbox?view=all")
    rows = page.locator("#conversations tbody tr.row-link")
    expect(rows.first).to_be_visible()
    before = rows.count()
    assert before > 5
    # The live stream is open before anything is sent.
    # A function, not an expression: the console's CSP refuses the eval an expression needs.
    page.wait_for_function("() => window.accordEvents && window.accordEvents.readyState === 1")

    # A customer writes in while the agent watches: the list updates by itself.
    response = httpx.post(
        f"{base}/api/v1/messages",
        headers={"Authorization": f"Bearer {info.api_token}"},
        json={
            "channel": "chat",
            "contact": {"email": "walk.in@example.com", "name": "Robin Walker"},
            "body": "Hi! Do you have the Ridgeline 2 tent in green?",
            "subject": "Ridgeline 2 in green?",
        },
    )
    assert response.status_code == 201, response.text
    expect(page.locator("#conversations")).to_contain_text("Robin Walker", timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "inbox.png"), full_page=True)

    page.locator("#conversations a", has_text="Robin Walker").click()
    expect(page.locator("#conversation-title")).to_contain_text("Ridgeline 2 in green?")
    expect(page.locator("#customer-sidebar")).to_contain_text("walk.in@example.com")
    page.fill("#reply-body", "Yes, we have it in green in Portland and online.")
    page.click("#send-button")
    expect(page.locator("#messages")).to_contain_text("we have it in green")
    expect(page.locator("#assignee")).not_to_contain_text("nobody")

    # An internal note with the keyboard: n focuses the note, Ctrl+Enter sends.
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("n")
    page.keyboard.type("Offered the green one; follow up if no order by Friday.")
    page.keyboard.press("Control+Enter")
    expect(page.locator("#messages .dir-note")).to_contain_text("follow up if no order")
    page.screenshot(path=str(ARTIFACTS / "conversation.png"), full_page=True)


def test_inbox_settings_add_a_team_with_business_hours(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base, info = served_demo
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    sign_in(page, base, info, "/settings/inbox")
    expect(page.locator("#teams")).to_contain_text("Support")
    form = page.locator("#team-form")
    form.locator("input[name=name]").fill("Returns desk")
    form.locator("select[name=routing]").select_option("least_loaded")
    form.locator("select[name=members]").select_option(index=0)
    form.locator("input[name=hours]").check()
    form.locator("input[name=timezone]").fill("Europe/Lisbon")
    form.locator("button[type=submit]").click()
    expect(page.locator("#teams table")).to_contain_text("Returns desk")
    expect(page.locator("#teams table")).to_contain_text("Europe/Lisbon")
    # A bad time zone is refused with the field named, and nothing is saved.
    form = page.locator("#team-form")
    form.locator("input[name=name]").fill("Night shift")
    form.locator("input[name=hours]").check()
    form.locator("input[name=timezone]").fill("Mars/Olympus")
    form.locator("button[type=submit]").click()
    expect(page.locator(".alert.error")).to_contain_text("time zone")
    expect(page.locator("#teams table")).not_to_contain_text("Night shift")
    # An agent's capacity and skills.
    row = page.locator("#agents tr", has_text="Maya Lopez")
    row.locator("input[name=capacity]").fill("7")
    row.locator("input[name=skills]").fill("Returns, Spanish")
    row.locator("button[type=submit]").click()
    row = page.locator("#agents tr", has_text="Maya Lopez")
    expect(row.locator("input[name=capacity]")).to_have_value("7")
    expect(row.locator("input[name=skills]")).to_have_value("returns, spanish")
    page.screenshot(path=str(ARTIFACTS / "inbox-settings.png"), full_page=True)


def test_phone_screen_pop_and_logging_a_call(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    import httpx
    from playwright.sync_api import expect

    base, info = served_demo
    r = httpx.post(
        f"{base}/api/v1/messages",
        headers={"Authorization": f"Bearer {info.api_token}"},
        json={
            "channel": "email",
            "contact": {
                "email": "casey.rowe@example.com",
                "phone": "+1 503 555 0199",
                "name": "Casey Rowe",
            },
            "subject": "Stove arrived dented",
            "body": "My camping stove arrived dented. Can you replace it?",
        },
    )
    assert r.status_code == 201, r.text
    number = r.json()["conversation"]["number"]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    sign_in(page, base, info, "/inbox/phone")
    page.fill("input[name=number]", "(503) 555-0199")
    page.click("#lookup-form button")
    pop = page.locator("#screen-pop")
    expect(pop).to_contain_text("Casey Rowe")
    expect(page.locator("#likely-reason")).to_contain_text(f"#{number}")
    expect(page.locator("#route")).to_contain_text("has conversation")
    page.screenshot(path=str(ARTIFACTS / "phone-screen-pop.png"), full_page=True)
    form = page.locator("#call-form")
    form.locator("input[name=minutes]").fill("4")
    form.locator("input[name=disposition]").fill("replacement agreed")
    form.locator("input[name=notes]").fill("Ship a new stove to her home address.")
    form.locator("button[type=submit]").click()
    expect(page).to_have_url(f"{base}/inbox/{number}")
    expect(page.locator("#messages")).to_contain_text("Inbound call · 4m 00s · replacement agreed")


def test_embedded_contact_form_on_another_site(served_demo, browser, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A shop's own page (another origin) embeds the form with one script tag; the
    submission crosses origins (CORS) and opens a conversation in the inbox."""
    import functools
    import http.server
    import threading

    import httpx
    from playwright.sync_api import expect

    base, info = served_demo
    (tmp_path / "contact.html").write_text(
        "<!doctype html><html><head><title>Northwind - Contact</title></head><body>"
        "<h1>Contact us</h1><div id='accord-contact'></div>"
        f"<script src='{base}/static/accord-form.js' data-write-key='{info.write_key}'></script>"
        "</body></html>"
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    site = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    try:
        page = browser.new_context().new_page()
        page.goto(f"http://127.0.0.1:{site.server_address[1]}/contact.html")
        form = page.locator("#accord-contact form")
        form.locator("input[name=name]").fill("Jordan Miles")
        form.locator("input[name=email]").fill("jordan.miles@example.com")
        form.locator("input[name=subject]").fill("Bulk order for a scout troop")
        form.locator("textarea[name=message]").fill("Do you offer discounts on 20 sleeping bags?")
        form.locator("button[type=submit]").click()
        expect(form.locator("[role=status]")).to_contain_text("Thank you")
        page.screenshot(path=str(ARTIFACTS / "embedded-form.png"))
    finally:
        site.shutdown()
    found = httpx.get(
        f"{base}/api/v1/conversations",
        headers={"Authorization": f"Bearer {info.api_token}"},
        params={"q": "scout troop"},
    ).json()["data"]
    assert len(found) == 1
    assert found[0]["channel"] == "web"
    assert found[0]["contact_name"] == "Jordan Miles"


def test_service_analytics_chart(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base, info = served_demo
    page = browser.new_context(viewport={"width": 1360, "height": 900}).new_page()
    sign_in(page, base, info, "/analytics")
    expect(page.locator("#service-figures")).to_contain_text("First-contact resolution")
    expect(page.locator("#by-agent")).to_contain_text("Maya Lopez")
    expect(page.locator("#by-channel svg rect").first).to_be_visible()
    with page.expect_download() as download:
        page.click("text=Download one row per conversation")
    header = Path(download.value.path()).read_text(encoding="utf-8").splitlines()[0]
    assert header.startswith("number,id,created_at")
    page.screenshot(path=str(ARTIFACTS / "analytics-service.png"), full_page=True)


def test_identity_settings(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base, info = served_demo
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    sign_in(page, base, info, "/settings/identity")
    expect(page).to_have_url(f"{base}/settings/identity")
    expect(page.locator("#identity-types")).to_contain_text("loyalty_card")

    page.fill("input[aria-label='New identifier type']", "pos_customer")
    page.fill("input[aria-label='New type priority']", "90")
    page.select_option("select[aria-label='New type unique']", "yes")
    page.click("text=Save identity rules")
    expect(page.locator(".alert.success")).to_be_visible()
    expect(page.locator("#identity-types")).to_contain_text("pos_customer")

    page.fill("textarea[name=sources]", "crm = 10\nweb = -5")
    page.click("text=Save source priority")
    expect(page.locator("textarea[name=sources]")).to_have_value("crm = 10\nweb = -5\n")

    page.fill("input[name=auto_merge]", "0.5")
    page.fill("input[name=review]", "0.7")
    page.fill("input[name=id_traits]", "memberNumber, nationalId")
    page.click("text=Save matching")
    expect(page.locator(".alert.error")).to_contain_text("review cannot be above auto_merge")
    # What the admin typed stays in the form, to correct.
    expect(page.locator("input[name=auto_merge]")).to_have_value("0.5")
    expect(page.locator("input[name=review]")).to_have_value("0.7")
    expect(page.locator("input[name=id_traits]")).to_have_value("memberNumber, nationalId")
    page.fill("input[name=review]", "0.4")
    page.click("text=Save matching")
    expect(page.locator(".alert.success")).to_be_visible()
    expect(page.locator("input[name=id_traits]")).to_have_value("memberNumber, nationalId")
    expect(page.locator("input[name=review]")).to_have_value("0.4")
    page.screenshot(path=str(ARTIFACTS / "settings-identity.png"), full_page=True)
    context.close()


def test_pages_run_under_the_security_policy_offline(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    """Every page works with its Content-Security-Policy and loads nothing from another
    host: the API reference included (no CDN)."""
    from playwright.sync_api import expect

    base, info = served_demo
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    elsewhere: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.on(
        "request",
        lambda r: None if r.url.startswith((base, "data:", "blob:")) else elsewhere.append(r.url),
    )
    page.goto(f"{base}/docs")
    # Every tag is listed; one opens on a click.
    tag = page.locator(".opblock-tag", has_text="profiles").first
    expect(tag).to_be_visible(timeout=20000)
    expect(page.locator(".opblock-tag", has_text="segments").first).to_be_visible()
    tag.click()
    expect(page.locator(".opblock").first).to_be_visible(timeout=20000)
    expect(page.locator("body")).to_contain_text("/api/v1/profiles", timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "api-docs.png"))
    page.goto(f"{base}/redoc")
    expect(page.locator("body")).to_contain_text("Search people", timeout=20000)
    page.screenshot(path=str(ARTIFACTS / "api-redoc.png"))
    sign_in(page, base, info, "/settings/chat")
    expect(page).to_have_url(f"{base}/settings/chat")
    for path in ("/customers", "/inbox", "/analytics", "/settings/inbox"):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
    assert violations == []
    assert elsewhere == []
    context.close()
