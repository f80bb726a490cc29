"""Text messages in a real browser (Debian's Chromium through Playwright), with an SMS
provider speaking Twilio's API on loopback (tests/sms_provider.py) and the served app's
outbox and job consumer sending through it. An admin sets the provider up in Settings >
SMS (the token never in the page); an agent answers a customer's text by text, the count
of characters and SMS following the reply and a text too long refused, and sees the
carrier's receipts; a text campaign is composed with its preview as a phone shows it, a
test texted to a number, then launched and reported; a text message step is added to a
journey, edited in place and sent to a person put in by hand. Screenshots land in
test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from accord.app import create_app
from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import create_db_engine, create_session_factory
from tests.conftest import new_database
from tests.helpers import add_user, bearer, held_port, live_server, port_of, provision
from tests.served import signed_in
from tests.sms_provider import ACCOUNT, NUMBER, TOKEN, Provider, Text, sms_provider
from tests.smtp_sink import wait_until
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ADMIN = "ada.admin@northwind.test"
AGENT = "jo.agent@northwind.test"
NEWCOMER = "lee.admin@harbor.test"  # the admin of a workspace without a provider yet
CUSTOMER = "+14155550134"


@dataclass
class Texting:
    base: str
    ws: ProvisionedWorkspace  # its provider set up (through the API)
    blank: ProvisionedWorkspace  # no provider yet
    provider: Provider

    @property
    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base, headers=bearer(self.ws.api_token), timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Texting]:
    """Two workspaces on a server whose public address is its own (the provider's
    callbacks are signed over it), with the outbox and the job consumer running."""
    tmp = tmp_path_factory.mktemp("sms")
    held = held_port()
    port = port_of(held)
    with sms_provider() as provider, new_database("sqlite", tmp) as url:
        engine = create_db_engine(url)
        with create_session_factory(engine)() as session:
            ws = provision(session, "Northwind Outdoor")
            add_user(session, ws, ADMIN, "admin")
            add_user(session, ws, AGENT, "agent")
            blank = provision(session, "Harbor Supply")
            add_user(session, blank, NEWCOMER, "admin")
        config = Settings(
            data_dir=tmp / "data",
            database_url=url,
            secret_key="browser-tests-" + "k" * 32,
            resolve_worker=False,
            resolve_inline=True,
            outbox_worker=True,
            jobs_worker=True,
            imap_poll_seconds=0,
            base_url=f"http://127.0.0.1:{port}",
        )
        with live_server(create_app(config), held) as base:
            setup = Texting(base, ws, blank, provider)
            r = setup.api.put("/api/v1/sms", json=provider.settings())
            assert r.status_code == 200, r.text
            # Quiet hours would hold the promotions by the hour the tests happen to run.
            r = setup.api.put("/api/v1/outreach/settings", json={"quiet_hours": None})
            assert r.status_code == 200, r.text
            yield setup
        engine.dispose()


def _texted(provider: Provider, before: int, count: int) -> list[Text]:
    """The ``count`` texts the provider took after the first ``before`` (the tests of
    this module share it)."""
    return provider.wait_for(before + count)[before:]


def test_an_admin_sets_up_the_provider_in_settings(served: Texting, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = signed_in(browser, s.base, NEWCOMER, "/settings/sms")
    expect(page.locator(".tabs .tab.active")).to_have_text("SMS")
    expect(page.locator("#sms-state")).to_have_text("not set up")
    expect(page.locator("#token-state")).to_contain_text("No token is stored yet")
    webhook = f"{s.base}/v1/sms/{s.blank.workspace.id}/inbound"
    expect(page.locator("#webhook-url")).to_have_value(webhook)
    expect(page.locator("#webhook-url")).to_have_js_property("readOnly", True)

    # A number not in E.164 form: refused beside its field, the rest kept as typed.
    page.fill("#api_url", s.provider.url)
    page.fill("#account_sid", ACCOUNT)
    page.fill("#auth_token", TOKEN)
    page.fill("#from_number", "555 0100")
    page.check("#keyword_replies")
    page.fill("#help_text", "Harbor Supply: reply to this text to reach us.")
    page.click("#save-sms")
    expect(page.locator("#from_number-error")).to_contain_text("E.164")
    expect(page.locator("#from_number")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#account_sid")).to_have_value(ACCOUNT)
    expect(page.locator("#auth_token")).to_have_value("")
    expect(page.locator("#token-retype")).to_be_visible()
    assert TOKEN not in page.content()
    page.screenshot(path=str(ARTIFACTS / "sms-settings-error.png"), full_page=True)

    # Corrected and saved: the token is stored, and never in the page.
    page.fill("#from_number", NUMBER)
    page.fill("#auth_token", TOKEN)
    page.click("#save-sms")
    expect(page.locator("#sms-saved")).to_contain_text("version 1")
    expect(page.locator("#sms-state")).to_have_text("ready to send")
    expect(page.locator("#token-state")).to_contain_text("A token is stored")
    expect(page.locator("#auth_token")).to_have_value("")
    expect(page.locator("#from_number")).to_have_value(NUMBER)
    expect(page.locator("#keyword_replies")).to_be_checked()
    assert TOKEN not in page.content()
    page.screenshot(path=str(ARTIFACTS / "sms-settings.png"), full_page=True)
    api = httpx.Client(base_url=s.base, headers=bearer(s.blank.api_token), timeout=30)
    stored = api.get("/api/v1/sms").json()
    assert (stored["auth_token_set"], stored["from_number"]) == (True, NUMBER)
    assert TOKEN not in str(stored)

    # Someone changes the settings after the page was read: its save is refused.
    r = api.put("/api/v1/sms", json={**s.provider.settings(), "help_text": "Hi", "version": 1})
    assert r.status_code == 200, r.text
    page.fill("#help_text", "Harbor Supply: we answer texts 9 to 5.")
    page.click("#save-sms")
    expect(page.locator("#sms-error")).to_contain_text("changed by someone else")
    assert api.get("/api/v1/sms").json()["help_text"] == "Hi"
    page.context.close()


def _conversation_of(s: Texting, phone: str) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        rows = s.api.get("/api/v1/conversations", params={"status": "open"}).json()["data"]
        return next((c for c in rows if c["channel"] == "sms"), None)

    return wait_until(found)


def test_an_agent_answers_a_text_by_text(served: Texting, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    inbound = f"{s.base}/v1/sms/{s.ws.workspace.id}/inbound"
    r = s.provider.inbound(inbound, CUSTOMER, "Hi, my order #1042 has not arrived yet")
    assert r.status_code == 200, r.text
    number = _conversation_of(s, CUSTOMER)["number"]
    page = signed_in(browser, s.base, AGENT, f"/inbox/{number}")
    first = page.locator("#messages li").first
    expect(first).to_contain_text("my order #1042")
    expect(first.locator(".chip.ch-sms")).to_have_text("✆ text")
    expect(first.locator(".chip.ch-sms")).to_have_attribute("title", "Text message")

    # The reply goes by text (the channel the customer wrote on), counted as it is typed.
    channel = page.locator("#reply-channel")
    expect(channel).to_have_value("sms")
    expect(channel.locator("option:checked")).to_have_text(f"✆ Text message · {CUSTOMER}")
    count = page.locator("#reply-sms-count")
    body = page.locator("#reply-body")
    body.press_sequentially("Checking now!", delay=5)
    expect(count).to_be_visible()
    expect(count).to_have_text("13 / 1,600 characters · 1 SMS")
    body.fill("x" * 161)
    expect(count).to_have_text("161 / 1,600 characters · 2 SMS")
    body.fill("Your parcel is on its way 🚚")
    expect(count).to_contain_text("1 SMS (Unicode: 70 characters an SMS)")
    # More than a text holds: counted in red, and the form is not sent.
    body.fill("y" * 1601)
    expect(count).to_contain_text("too long for a text message")
    expect(count).to_have_class("sms-count sms-over")
    page.click("#send-button")
    assert body.evaluate("el => el.validity.valid") is False
    expect(page.locator("#messages li")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "conversation-sms-too-long.png"), full_page=True)
    # An internal note is no text: no count, no limit.
    page.check("input[name=kind][value=note]")
    expect(count).to_be_hidden()
    assert body.evaluate("el => el.validity.valid") is True
    page.check("input[name=kind][value=reply]")
    expect(count).to_be_visible()

    reply = "Checking now, Dana! Your parcel left our warehouse on Friday."
    before = len(s.provider.texts)
    body.fill(reply)
    page.click("#send-button")
    (text,) = _texted(s.provider, before, 1)
    assert (text.to, text.sender, text.body) == (CUSTOMER, NUMBER, reply)
    last = page.locator("#messages li").last
    expect(last).to_contain_text(reply)
    expect(last.locator(".chip.ch-sms")).to_have_text("✆ text")
    expect(last.locator(".delivery")).to_have_text("sent")  # live, from the outbox
    assert s.provider.receipt(text, "delivered").status_code == 204
    expect(last.locator(".delivery")).to_have_text("delivered")
    expect(last.locator(".delivery")).to_have_class("delivery dl-delivered")

    # A second text the carrier could not deliver: the state, with the error on hover.
    body.fill("Tracking number: 1Z999AA10123456784")
    page.click("#send-button")
    (second,) = _texted(s.provider, before + 1, 1)
    last = page.locator("#messages li").last
    expect(last.locator(".delivery")).to_have_text("sent")
    assert s.provider.receipt(second, "undelivered", "30006").status_code == 204
    expect(last.locator(".delivery")).to_have_text("undelivered")
    expect(last.locator(".delivery")).to_have_attribute(
        "title", "the carrier did not deliver the text (undelivered, error 30006)"
    )
    expect(page.locator(".alert.error")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "conversation-sms.png"), full_page=True)

    # The inbox lists the conversation with its channel.
    page.goto(f"{s.base}/inbox?view=all")
    expect(page.locator("#conversations .chip.ch-sms").first).to_have_text("✆ text")
    page.context.close()


TEXTERS = [
    ("kai", "Kai", "+14155550141"),
    ("lin", "Lin", "+14155550142"),
    ("mo", "Mo", "+14155550143"),
]
OFFER = "Hi {{ person.first_name }}, boots are 20% off this weekend at Northwind: https://shop.example/boots"


def _texters(s: Texting) -> None:
    """Three people with mobile numbers, and a segment of them."""
    batch = [
        {
            "type": "identify",
            "userId": uid,
            "traits": {"firstName": first, "phone": phone, "club": "texters"},
            "messageId": f"seed-{uid}",
        }
        for uid, first, phone in TEXTERS
    ]
    r = httpx.post(f"{s.base}/v1/batch", json={"batch": batch}, auth=(s.ws.write_key, ""))
    assert r.status_code == 200, r.text
    definition = {"kind": "trait", "field": "club", "op": "eq", "value": "texters"}
    r = s.api.post("/api/v1/segments", json={"name": "Texters", "definition": definition})
    assert r.status_code == 201, r.text


def test_a_text_campaign_is_composed_tested_and_sent(served: Texting, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    _texters(s)
    page = signed_in(browser, s.base, ADMIN, "/outreach/campaigns/new")
    expect(page.locator("#campaign-channel-email")).to_be_checked()
    expect(page.locator("#campaign-subject")).to_be_visible()

    # A text message: no subject, HTML or sender name; the text, counted as it is typed.
    page.check("#campaign-channel-sms")
    for hidden in ("#campaign-subject", "#campaign-html", "#campaign-from-name", "#test-address"):
        expect(page.locator(hidden)).to_be_hidden()
    expect(page.locator("#test-phone")).to_be_visible()
    page.fill("#campaign-name", "Weekend boots")
    page.select_option("#campaign-segment", label="Texters · 3 people")
    page.fill("#campaign-holdout", "0")
    page.fill("#campaign-text", OFFER)
    expect(page.locator("#campaign-sms-count")).to_have_text("99 / 1,600 characters · 1 SMS")

    # The preview: the text as a phone shows it, how to opt out added to a promotion.
    bubble = page.locator("#preview-sms")
    expect(bubble).to_have_text(
        "Hi Alex, boots are 20% off this weekend at Northwind: https://shop.example/boots\n"
        "Reply STOP to opt out"
    )
    expect(page.locator("#preview-sms-count")).to_have_text("102 characters · 1 SMS")
    page.select_option("#campaign-purpose", "service")
    expect(bubble).not_to_contain_text("Reply STOP")
    page.select_option("#campaign-purpose", "marketing")
    expect(bubble).to_contain_text("Reply STOP to opt out")
    # A template that does not compile: its error under the text.
    page.fill("#campaign-text", "Hi {{ person.first_name ,")
    expect(page.locator("#text-error")).to_contain_text("Line 1")
    expect(page.locator("#preview-error")).to_be_visible()
    page.fill("#campaign-text", OFFER)
    expect(page.locator("#text-error")).to_have_text("")
    expect(bubble).to_contain_text("Hi Alex, boots are 20% off")
    page.screenshot(path=str(ARTIFACTS / "outreach-composer-sms.png"), full_page=True)

    # A test to a colleague's phone: a number, in E.164 form.
    page.fill("#test-phone", "555 0177")
    page.click("#send-test")
    expect(page.locator("#test_phone-error")).to_contain_text("E.164")
    expect(page.locator("#composer-notice")).to_contain_text("Draft saved")
    page.fill("#test-phone", "+14155550177")
    before = len(s.provider.texts)
    page.click("#send-test")
    expect(page.locator("#composer-notice")).to_contain_text("a test sent to +14155550177")
    (test,) = _texted(s.provider, before, 1)
    assert test.to == "+14155550177"
    assert test.body == (
        "[Test] Hi Alex, boots are 20% off this weekend at Northwind: "
        "https://shop.example/boots\nReply STOP to opt out"
    )
    expect(page.locator("h1")).to_contain_text("Edit campaign")
    expect(page.locator("#campaign-channel-sms")).to_be_checked()
    expect(page.locator("#campaign-channel-sms")).to_be_disabled()
    expect(page.locator("#test-phone")).to_have_value("+14155550177")
    expect(bubble).to_contain_text("Hi Alex, boots are 20% off")

    # Launched: each member is texted by name; the campaign's page says it is a text.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#launch-now")
    expect(page.locator("#campaign-notice")).to_contain_text("Launched")
    texts = _texted(s.provider, before + 1, 3)
    assert sorted(t.to for t in texts) == [phone for _, _, phone in TEXTERS]
    assert {t.body.split(",")[0] for t in texts} == {"Hi Kai", "Hi Lin", "Hi Mo"}
    page.reload()
    expect(page.locator("#campaign-status")).to_have_text("sent", timeout=20_000)
    assert s.provider.receipt(texts[0], "delivered").status_code == 204
    page.reload()
    expect(page.locator("#campaign-facts")).to_contain_text("Marketing text message to Texters")
    expect(page.locator("#campaign-text")).to_have_text(OFFER)
    expect(page.locator("#figure-sent")).to_have_text("3")
    expect(page.locator("#report-figures")).not_to_contain_text("Opened")
    expect(page.locator("#links")).to_have_count(0)
    recipients = page.locator("#recipient-list")
    expect(recipients.locator("thead")).to_contain_text("Delivered")
    expect(recipients).to_contain_text(texts[0].to)
    page.screenshot(path=str(ARTIFACTS / "outreach-campaign-sms.png"), full_page=True)

    page.goto(f"{s.base}/outreach/campaigns")
    row = page.locator("#campaigns tbody tr", has_text="Weekend boots")
    expect(row.locator(".oc-chan")).to_contain_text("Text message")
    expect(row).to_contain_text("Hi {{ person.first_name }}, boots are 20% off")
    page.screenshot(path=str(ARTIFACTS / "outreach-campaigns-sms.png"), full_page=True)
    page.context.close()


BACK_IN_STOCK = "Hi {{ person.first_name }}, your size is back in stock: https://shop.example/boots"


def test_a_text_message_step_is_added_to_a_journey_and_sent(
    served: Texting,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    definition = {
        "trigger": {"kind": "manual"},
        "steps": [{"id": "end", "kind": "exit"}],
    }
    r = s.api.post(
        "/api/v1/outreach/journeys", json={"name": "Back in stock", "definition": definition}
    )
    assert r.status_code == 201, r.text
    journey_id = r.json()["id"]
    page = signed_in(browser, s.base, ADMIN, f"/outreach/journeys/{journey_id}")

    # A text message step at the start: its own card, edited in place.
    page.locator(".jy-gap .jy-add summary").click()
    page.locator(".jy-gap .jy-add button", has_text="Text message").click()
    expect(page.locator("#journey-notice")).to_have_text("Saved.")
    card = page.locator("#step-sms-1")
    expect(card).to_have_attribute("data-kind", "sms")
    expect(card).to_have_class(re.compile(r"\bjy-k-sms\b"))
    expect(card.locator(".jy-kind")).to_have_text("Text message")
    text = card.locator("textarea[name='steps.0.text']")
    expect(text).to_have_value(
        "Hi {{ person.first_name | default('there') }}, a word from {{ workspace.name }}."
    )
    count = card.locator(".sms-count")
    expect(count).to_have_text("80 / 1,600 characters · 1 SMS")

    # Without its text it is refused beside the step; then written and saved.
    text.fill("")
    page.click("#save-journey")
    expect(page.locator("#step-sms-1 .jy-error")).to_contain_text("A text message needs its text")
    expect(page.locator("#journey-error")).to_contain_text("Step 1 (sms-1)")
    card = page.locator("#step-sms-1")
    card.locator("textarea[name='steps.0.text']").fill(BACK_IN_STOCK)
    expect(card.locator(".sms-count")).to_have_text("82 / 1,600 characters · 1 SMS")
    card.locator("select[name='steps.0.purpose']").select_option("service")
    card.locator("input[name='steps.0.name']").fill("Back in stock text")
    page.click("#save-journey")
    expect(page.locator("#journey-notice")).to_have_text("Saved.")
    expect(page.locator("#step-sms-1 h2")).to_contain_text("Back in stock text")
    expect(page.locator("#step-sms-1 select[name='steps.0.purpose']")).to_have_value("service")
    page.screenshot(path=str(ARTIFACTS / "journeys-editor-sms.png"), full_page=True)
    stored = s.api.get(f"/api/v1/outreach/journeys/{journey_id}").json()["definition"]["steps"][0]
    kept = {k: stored.get(k) for k in ("id", "kind", "name", "text", "purpose")}
    assert kept == {
        "id": "sms-1",
        "kind": "sms",
        "name": "Back in stock text",
        "text": BACK_IN_STOCK,
        "purpose": "service",
    }

    # Published, and a person with a number put in: the text goes out, in their name.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#publish-journey")
    expect(page.locator("#journey-notice")).to_contain_text("Published as version 1")
    batch = [
        {
            "type": "identify",
            "userId": "nia",
            "traits": {"firstName": "Nia", "phone": "+14155550161"},
            "messageId": "seed-nia",
        }
    ]
    r = httpx.post(f"{s.base}/v1/batch", json={"batch": batch}, auth=(s.ws.write_key, ""))
    assert r.status_code == 200, r.text
    pid = s.api.get("/api/v1/profiles/lookup", params={"phone": "+14155550161"}).json()["id"]
    before = len(s.provider.texts)
    r = s.api.post(f"/api/v1/outreach/journeys/{journey_id}/enter", json={"profile_ids": [pid]})
    assert r.status_code == 201, r.text
    (sent,) = _texted(s.provider, before, 1)
    assert (sent.to, sent.body) == (
        "+14155550161",
        "Hi Nia, your size is back in stock: https://shop.example/boots",
    )
    page.context.close()
