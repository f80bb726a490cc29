"""Consent in a real browser (Debian's Chromium through Playwright): the customer's
preference center works with JavaScript turned off and records its evidence, a grant of
email marketing waits for its confirmation in the EU, the unsubscribe page's button, the
Customer 360's consent section where an agent records a withdrawal, the conversation
sidebar, Settings > Consent, and the preference center at phone width and by keyboard
alone. Screenshots land in test-artifacts/."""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from accord.customers.preferences import confirm_url, preference_url, unsubscribe_url
from accord.govern.consent import service as consent
from accord.govern.consent import settings as consent_settings
from accord.govern.consent.models import ConsentRecord
from accord.kit.db import create_db_engine, create_session_factory
from tests.served import Served, log_in, served_workspace
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ADMIN = "lena.admin@ridge.test"
AGENT = "omar.agent@ridge.test"
SECRET = "browser-tests-" + "k" * 32  # tests/served.py's secret key
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AccordConsentTest/1.0"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("consent")
    with served_workspace(tmp, "Ridge Outfitters", {ADMIN: "admin", AGENT: "agent"}) as served:
        yield served


@pytest.fixture(scope="module")
def db(served: Served) -> Iterator[sessionmaker[Session]]:
    """Sessions on the served database, each closed at once (SQLite: no lock is held
    while the server writes)."""
    engine = create_db_engine(served.url)
    yield create_session_factory(engine)
    engine.dispose()


def _person(s: Served, email: str, **traits: str) -> uuid.UUID:
    key = base64.b64encode(f"{s.ws.write_key}:".encode()).decode()
    r = httpx.post(
        f"{s.base}/v1/identify",
        json={"userId": email, "traits": {"email": email, **traits}},
        headers={"Authorization": f"Basic {key}"},
    )
    assert r.status_code == 200, r.text
    r = httpx.get(
        f"{s.base}/api/v1/profiles/lookup",
        params={"email": email},
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
    )
    assert r.status_code == 200, r.text
    return uuid.UUID(r.json()["id"])


def _records(db: sessionmaker[Session], pid: uuid.UUID) -> list[ConsentRecord]:
    with db() as session:
        return consent.history(session, [pid])


def _prefs(s: Served, pid: uuid.UUID) -> str:
    return preference_url(s.base, SECRET, s.ws.workspace.id, pid)


def _sign_in(page: Any, s: Served, email: str, next_path: str) -> None:
    log_in(page, s.base, email, next_path)


def test_the_preference_center_without_javascript(
    served: Served,
    db: sessionmaker[Session],
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    pid = _person(s, "nora@example.com", name="Nora Lind", country="US")
    context = browser.new_context(
        java_script_enabled=False, user_agent=BROWSER_UA, viewport={"width": 1024, "height": 900}
    )
    page = context.new_page()
    page.goto(_prefs(s, pid))
    expect(page.locator("h1")).to_have_text("Choose what you hear from us")
    expect(page.locator(".lead")).to_contain_text("Hello Nora Lind")
    expect(page.locator("#service-note")).to_contain_text("always sent")
    email_news = page.get_by_role("group", name="News and offers").get_by_label("Email")
    expect(email_news).to_be_checked()  # the US is opt-out: on until she says no
    page.screenshot(path=str(ARTIFACTS / "consent-preferences.png"), full_page=True)

    email_news.uncheck()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(page).to_have_title("Saved: Your preferences · Ridge Outfitters")
    expect(
        page.get_by_role("group", name="News and offers").get_by_label("Email")
    ).not_to_be_checked()
    expect(
        page.get_by_role("group", name="News and offers").get_by_label("Text message")
    ).to_be_checked()
    page.screenshot(path=str(ARTIFACTS / "consent-preferences-saved.png"), full_page=True)
    [record] = _records(db, pid)
    assert (record.channel, record.purpose, record.status) == ("email", "marketing", "withdrawn")
    assert record.source == "preference_center"
    assert record.ip == "127.0.0.1"
    assert record.user_agent == BROWSER_UA

    # In the EU (opt-in, double opt-in): ticking email marketing waits for the click.
    eu = _person(s, "jan@example.nl", name="Jan de Vries", country="NL")
    page.goto(_prefs(s, eu))
    email_news = page.get_by_role("group", name="News and offers").get_by_label("Email")
    expect(email_news).not_to_be_checked()
    email_news.check()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    # No outbound mail in this workspace: the page says the email could not be sent.
    expect(page.get_by_role("status")).to_contain_text("could not send the email")
    pending = page.locator("#c-email-marketing-pending")
    expect(pending).to_have_text("Waiting for your confirmation: the email could not be sent")
    expect(page.locator("#c-email-marketing")).to_be_checked()
    expect(page.locator("#c-email-marketing")).to_have_attribute(
        "aria-describedby", "c-email-marketing-pending"
    )
    page.screenshot(path=str(ARTIFACTS / "consent-preferences-pending.png"), full_page=True)
    [pending_row] = _records(db, eu)
    assert pending_row.status == "pending"

    # The link of the confirmation email: a page with one button (a scanner confirms
    # nothing by opening it); the button confirms.
    page.goto(confirm_url(s.base, SECRET, pending_row))
    expect(page.locator("h1")).to_have_text("Confirm your subscription")
    page.screenshot(path=str(ARTIFACTS / "consent-confirm.png"), full_page=True)
    assert len(_records(db, eu)) == 1
    page.get_by_role("button", name="Yes, subscribe me").click()
    expect(page.locator("h1")).to_have_text("Subscription confirmed")
    expect(page.get_by_role("status")).to_contain_text("news and offers by email")
    page.screenshot(path=str(ARTIFACTS / "consent-confirmed.png"), full_page=True)
    assert [r.status for r in _records(db, eu)] == ["pending", "granted"]
    assert _records(db, eu)[-1].source == "double_opt_in"
    page.get_by_role("link", name="Choose what you hear from us").click()
    expect(page.locator("#c-email-marketing")).to_be_checked()
    expect(page.locator("#c-email-marketing-pending")).to_have_count(0)

    # An altered link: a 403 page in the customer's words.
    response = page.goto(_prefs(s, pid)[:-2] + "00")
    assert response is not None
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("This link does not work")
    page.screenshot(path=str(ARTIFACTS / "consent-bad-link.png"), full_page=True)
    context.close()


def test_the_unsubscribe_page_button(
    served: Served,
    db: sessionmaker[Session],
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    pid = _person(s, "theo@example.com", name="Theo Park", country="US")
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1024, "height": 700}
    )
    page = context.new_page()
    page.goto(unsubscribe_url(s.base, SECRET, s.ws.workspace.id, pid, "email", "marketing"))
    expect(page.locator("h1")).to_have_text("Unsubscribe from news and offers by email?")
    page.screenshot(path=str(ARTIFACTS / "consent-unsubscribe.png"), full_page=True)
    assert _records(db, pid) == []  # opening the page changes nothing
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.locator("h1")).to_have_text("You are unsubscribed")
    expect(page.get_by_role("status")).to_contain_text("news and offers by email")
    page.screenshot(path=str(ARTIFACTS / "consent-unsubscribed.png"), full_page=True)
    [record] = _records(db, pid)
    assert (record.source, record.status, record.evidence) == (
        "unsubscribe_link",
        "withdrawn",
        {"one_click": False},
    )
    page.get_by_role("link", name="Choose what you hear from us").click()
    expect(page.locator("h1")).to_have_text("Choose what you hear from us")
    expect(
        page.get_by_role("group", name="News and offers").get_by_label("Email")
    ).not_to_be_checked()
    context.close()


def test_the_360_consent_section_and_an_agent_recording_a_withdrawal(
    served: Served,
    db: sessionmaker[Session],
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    pid = _person(s, "ines@example.com", name="Ines Moreau", country="US")
    with db() as session:
        consent.record(
            session,
            s.ws.workspace.id,
            pid,
            channel="email",
            purpose="marketing",
            status="granted",
            source="form",
            ip="198.51.100.7",
            user_agent="Mozilla/5.0 (signup form)",
            notice_version="1",
        )
        session.commit()
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=s.base)
    page = context.new_page()
    _sign_in(page, s, AGENT, f"/customers/{pid}")
    section = page.locator("#consent")
    expect(section.get_by_role("heading", name="Consent", exact=True)).to_be_visible()
    expect(page.locator("#consent-region")).to_contain_text("Region US")
    history = page.locator("#consent-history")
    expect(history).to_contain_text("198.51.100.7")
    expect(history).to_contain_text("Mozilla/5.0 (signup form)")
    cell = page.locator('#consent-grid td[data-purpose="marketing"][data-channel="sms"]')
    expect(cell).to_contain_text("Allowed")
    section.scroll_into_view_if_needed()
    section.screenshot(path=str(ARTIFACTS / "consent-360.png"))
    # The preference center link, for the agent to send: copied in one click.
    link = page.get_by_label("Preference center link")
    expect(link).to_have_value(re.compile(r"^http://127\.0\.0\.1:8000/preferences/"))
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == link.input_value()

    page.get_by_label("Channel", exact=True).select_option("sms")
    page.get_by_label("Purpose", exact=True).select_option("marketing")
    page.get_by_label("Status", exact=True).select_option("withdrawn")
    page.get_by_role("button", name="Record", exact=True).click()
    # The reason is required: said beside the field, nothing recorded.
    expect(page.locator("#consent-reason-error")).to_be_visible()
    expect(page.locator("#consent-reason")).to_have_attribute("aria-invalid", "true")
    assert len(_records(db, pid)) == 1
    page.locator("#consent-form").screenshot(
        path=str(ARTIFACTS / "consent-360-reason-required.png")
    )
    page.locator("#consent-reason").fill("Called in: no more texts about offers, please")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.locator("#consent-recorded")).to_contain_text("Recorded")
    cell = page.locator('#consent-grid td[data-purpose="marketing"][data-channel="sms"]')
    expect(cell).to_contain_text("Refused")
    expect(cell).to_contain_text("withdrew consent to marketing by sms")
    expect(cell).to_contain_text("an agent")
    expect(page.locator("#consent-history tbody tr").first).to_contain_text(
        "Called in: no more texts about offers, please"
    )
    expect(page.locator("#consent-history tbody tr").first).to_contain_text(AGENT)
    page.locator("#consent").screenshot(path=str(ARTIFACTS / "consent-360-recorded.png"))
    latest = _records(db, pid)[-1]
    assert (latest.channel, latest.purpose, latest.status, latest.source) == (
        "sms",
        "marketing",
        "withdrawn",
        "agent",
    )

    # Beside a conversation: one line per channel, and a link to this section.
    r = httpx.post(
        f"{s.base}/api/v1/messages",
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
        json={
            "channel": "email",
            "contact": {"email": "ines@example.com", "phone": "+33612345678"},
            "subject": "Return label",
            "body": "Could you send me a return label?",
        },
    )
    assert r.status_code == 201, r.text
    page.goto(f"{s.base}/inbox/{r.json()['conversation']['number']}")
    lines = page.locator("#consent-lines")
    sms = lines.locator('tr[data-channel="sms"]')
    expect(sms.get_by_role("cell").nth(0)).to_have_text("✓ allowed")
    expect(sms.get_by_role("cell").nth(1)).to_have_text("✕ not allowed")
    email = lines.locator('tr[data-channel="email"]')
    expect(email.get_by_role("cell").nth(1)).to_have_text("✓ allowed")
    page.locator("#customer-sidebar").screenshot(path=str(ARTIFACTS / "consent-inbox-sidebar.png"))
    lines.get_by_role("link", name="Consent details and history").click()
    expect(page).to_have_url(f"{s.base}/customers/{pid}#consent")
    context.close()


def test_settings_consent_saves(
    served: Served,
    db: sessionmaker[Session],
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    _sign_in(page, s, ADMIN, "/settings/consent")
    expect(page.get_by_role("link", name="Consent", exact=True)).to_have_attribute(
        "class", "tab active"
    )
    page.get_by_label("Notice version").fill("2026-12")
    page.get_by_label("Always, in every region").check()
    page.get_by_label("New region code", exact=True).fill("Australia")
    page.get_by_role("button", name="Save consent settings").click()
    # A bad region code: said beside the table, what was typed kept.
    expect(page.locator("#regions-error")).to_contain_text("is not a region")
    expect(page.get_by_label("Notice version")).to_have_value("2026-12")
    page.screenshot(path=str(ARTIFACTS / "consent-settings-error.png"), full_page=True)

    page.get_by_label("Region code (row 6)").fill("AU")
    page.locator('select[name="r5-surveys"]').select_option("opt_out")
    page.get_by_role("button", name="Add a region row").click()
    # One more empty row, nothing saved yet.
    expect(page.locator("tr.new-row")).to_have_count(2)
    expect(page.get_by_label("AU surveys")).to_have_value("opt_out")
    page.get_by_label("New region code", exact=True).fill("NZ")
    page.get_by_label("Every other region marketing").select_option("opt_in")
    page.get_by_label("Quarantine it: stored apart, never resolved onto anyone").check()
    page.get_by_role("button", name="Save consent settings").click()
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    page.screenshot(path=str(ARTIFACTS / "consent-settings-saved.png"), full_page=True)
    with db() as session:
        value, version = consent_settings.with_version(session, s.ws.workspace.id)
    assert value.notice_version == "2026-12"
    assert value.double_opt_in == "always"
    assert value.regions["AU"]["surveys"] == "opt_out"
    assert value.regions["NZ"]["marketing"] == "opt_in"
    assert value.default["marketing"] == "opt_in"
    assert value.suppressed_events == "quarantine"
    assert version >= 1
    context.close()


def test_the_preference_center_at_phone_width_and_by_keyboard(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    pid = _person(s, "ruth@example.com", name="Ruth Okafor", country="US")
    context = browser.new_context(viewport={"width": 375, "height": 812})
    page = context.new_page()
    page.goto(_prefs(s, pid))
    expect(page.locator("h1")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, width  # nothing wider than the phone: no sideways scrolling
    page.screenshot(path=str(ARTIFACTS / "consent-preferences-phone.png"), full_page=True)

    # Keyboard only: Tab from the top reaches every checkbox, then Save.
    boxes = page.locator("input[type=checkbox]").evaluate_all("els => els.map(e => e.id)")
    assert len(boxes) >= 9
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement && document.activeElement.id")
        reached.append(focused)
        if focused == "save":
            break
    assert reached[-1] == "save", reached
    assert [r for r in reached if r in boxes] == boxes
    # Space ticks the focused box; the focus ring shows where the keyboard is.
    # (Whether it starts ticked depends on the workspace's rule, which another test sets.)
    sms = page.locator("#c-sms-marketing")
    was = sms.is_checked()
    sms.focus()
    page.keyboard.press("Space")
    expect(sms).to_be_checked(checked=not was)
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.locator("#purpose-marketing").screenshot(
        path=str(ARTIFACTS / "consent-preferences-focus.png")
    )
    page.locator("#save").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Saved.")
    expect(sms).to_be_checked(checked=not was)
    context.close()
