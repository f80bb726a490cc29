"""The conversation page in a real browser (Debian's Chromium through Playwright). An
analyst reads it without Reply, Resolve, Transfer, Assign or Settings, and a console form
the role cannot use answers with the error page, never raw JSON. An agent answers a
caller by calling back: no phone "reply", a logged call or a scheduled callback.
Screenshots land in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD
from tests.served import Served, served_workspace
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ANALYST = "noor.analyst@ridge.test"
AGENT = "jo.agent@ridge.test"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("roles")
    with served_workspace(tmp, "Ridge Outfitters", {ANALYST: "analyst", AGENT: "agent"}) as served:
        yield served


def test_an_analyst_reads_a_conversation(served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    r = httpx.post(
        f"{s.base}/api/v1/messages",
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
        json={
            "channel": "email",
            "contact": {"email": "kim.tran@example.com", "name": "Kim Tran"},
            "subject": "Do the Summit boots run small?",
            "body": "I wear a 42 in most brands. Which size should I order?",
        },
    )
    assert r.status_code == 201, r.text
    number = r.json()["conversation"]["number"]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/inbox/{number}")
    page.fill("#email", ANALYST)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#conversation-title")).to_contain_text("Summit boots")
    expect(page.locator("#messages")).to_contain_text("I wear a 42")
    expect(page.locator("#read-only")).to_be_visible()
    for hidden in ("#reply-form", "#resolve-button", "#transfer-form", "text=Assign to me"):
        expect(page.locator(hidden)).to_have_count(0)
    expect(page.locator(".sidebar")).not_to_contain_text("Settings")
    expect(page.locator("#customer-sidebar")).to_contain_text("Kim Tran")
    page.screenshot(path=str(ARTIFACTS / "analyst-conversation.png"), full_page=True)

    # A form the role cannot use (a page opened before, or made by hand), sent the way
    # every console form is: the error page, in the console's frame of mind, not JSON.
    page.evaluate(
        """(number) => {
            const form = document.createElement("form");
            form.method = "post";
            form.action = "/inbox/" + number + "/status";
            form.id = "stale-form";
            form.innerHTML = '<input type="hidden" name="status" value="resolved">' +
                '<button type="submit">Resolve</button>';
            document.getElementById("main").appendChild(form);
            htmx.process(form);
        }""",
        number,
    )
    page.click("#stale-form button")
    error = page.locator(".error-page")
    expect(error).to_be_visible()
    expect(error).to_contain_text("403")
    expect(error).to_contain_text("conversations:write")
    expect(page.locator("body")).not_to_contain_text('"status":403')
    page.screenshot(path=str(ARTIFACTS / "analyst-refused-form.png"), full_page=True)
    context.close()


def test_an_agent_answers_a_caller_by_calling_back(served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served
    r = httpx.post(
        f"{s.base}/api/v1/calls",
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
        json={
            "phone": "+14155550199",
            "name": "Lee Park",
            "direction": "in",
            "duration_seconds": 95,
            "notes": "Tent pole snapped on the first night; wants a replacement.",
        },
    )
    assert r.status_code == 201, r.text
    number = r.json()["conversation"]["number"]
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/inbox/{number}")
    page.fill("#email", AGENT)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#messages")).to_contain_text("Tent pole snapped")
    channels = page.locator("#reply-channel option")
    expect(channels).to_have_count(1)
    expect(channels).to_have_text("no channel Accord can send on")
    card = page.locator("#call-back")
    expect(card).to_contain_text("+14155550199")
    page.screenshot(path=str(ARTIFACTS / "conversation-call-back.png"), full_page=True)
    card.locator("input[name=minutes]").fill("4")
    card.locator("input[name=outcome]").fill("reached")
    card.locator("#call-form input[name=notes]").fill("Replacement pole ships today.")
    card.get_by_role("button", name="Log the call").click()
    last = page.locator("#messages li").last
    expect(last).to_contain_text("Outbound call · 4m 00s · reached")
    expect(last).to_contain_text("Replacement pole ships today.")
    expect(last.locator(".delivery")).to_have_count(0)  # nothing claims it was "sent"
    expect(page.locator(".alert.error")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "conversation-call-logged.png"), full_page=True)
    context.close()
