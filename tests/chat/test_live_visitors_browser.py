"""The live visitors list in a real browser (Debian's Chromium through Playwright): the
list is drawn again while an agent types a first message to a visitor; what they typed
stays, and "Start chat" then opens the chat (the redrawn form carries the session's
CSRF token). Screenshots land in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD
from tests.served import Served as Console
from tests.served import served_workspace
from tests.web.test_browser import ARTIFACTS

pytestmark = pytest.mark.browser
AGENT = "sam.okafor@shop.test"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    tmp = tmp_path_factory.mktemp("live-visitors")
    with served_workspace(tmp, "Ridge Outfitters", {AGENT: "agent"}) as served:
        yield served


def visitor_on_site(c: Console, anon: str) -> str:
    """A browser with the widget open on the site; returns its visitor id."""
    r = httpx.post(
        f"{c.base}/v1/chat/session", json={"writeKey": c.ws.write_key, "anonymousId": anon}
    )
    assert r.status_code == 200, r.text
    return str(r.json()["visitor_id"])


def test_typing_survives_the_redraw_and_starts_the_chat(console: Console, browser: Any) -> None:
    from playwright.sync_api import expect

    c = console
    ARTIFACTS.mkdir(exist_ok=True)
    first = visitor_on_site(c, "anon-browsing-1")
    visitor_on_site(c, "anon-browsing-2")
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{c.base}/login?next=/inbox/visitors")
    page.fill("#email", AGENT)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Live visitors")
    field = page.locator(f"#visitor-{first} input[name=body]")
    field.click()
    page.keyboard.type("Hi! Looking for a tent for two?")
    # The list is drawn again (as every 15 s, or when a visitor moves) while typing.
    for _ in range(2):
        with page.expect_response(lambda r: "/inbox/visitors" in r.url) as got:
            page.evaluate("htmx.trigger(document.getElementById('visitor-list'), 'accord:refresh')")
        assert got.value.status == 200
        page.wait_for_timeout(300)  # the swap settles
    expect(field).to_have_value("Hi! Looking for a tent for two?")
    expect(field).to_be_focused()
    token = page.locator(f"#visitor-{first} input[name=csrf_token]")
    assert token.get_attribute("value")
    page.screenshot(path=str(ARTIFACTS / "live-visitors-typing.png"), full_page=True)
    page.keyboard.type(" We have three.")
    page.keyboard.press("Enter")
    expect(page.locator("#messages")).to_contain_text("Looking for a tent for two? We have three.")
    expect(page.locator("#chat-panel")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "live-visitors-chat-started.png"), full_page=True)
    context.close()
