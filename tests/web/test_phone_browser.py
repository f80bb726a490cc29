"""The console at phone width (390 x 844) in a real browser (Debian's Chromium through
Playwright): the sidebar folds into a bar with a menu button, the page never scrolls
sideways (a table scrolls inside its card instead) and forms stack. Screenshots of
Customers, a conversation and Settings land in test-artifacts/."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.test_browser import ARTIFACTS, browser, served_demo, sign_in  # noqa: F401

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _fits(page: Any) -> None:
    """Nothing on the page is wider than the screen."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width}px wide"


def test_the_console_at_phone_width(served_demo: Any, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    base, info = served_demo
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    sign_in(page, base, info, "/customers")
    expect(page.locator("h1")).to_have_text("Customers")

    # The sidebar is a bar: the menu opens and closes it.
    menu = page.locator(".menu-button")
    expect(menu).to_be_visible()
    expect(page.locator("#side-menu")).to_be_hidden()
    _fits(page)
    # The table scrolls inside its card; the page does not.
    card = page.locator("section.card.flush").first
    assert card.evaluate("c => c.scrollWidth > c.clientWidth")
    page.screenshot(path=str(ARTIFACTS / "phone-customers.png"))
    card.evaluate("c => { c.scrollLeft = c.scrollWidth; }")
    page.screenshot(path=str(ARTIFACTS / "phone-customers-scrolled.png"))
    card.evaluate("c => { c.scrollLeft = 0; }")
    menu.click()
    expect(page.locator("#side-menu")).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    page.screenshot(path=str(ARTIFACTS / "phone-menu.png"))
    page.locator("#side-menu").get_by_role("link", name="Inbox").click()
    expect(page).to_have_url(f"{base}/inbox")
    expect(page.locator("#side-menu")).to_be_hidden()

    # A conversation: one column, the composer's fields stacked at full width.
    page.goto(f"{base}/inbox?view=all&status=")
    page.locator("#conversations a").first.click()
    expect(page.locator("#conversation-title")).to_be_visible()
    _fits(page)
    body = page.locator("#reply-body").bounding_box()
    assert body is not None
    assert body["width"] > 300
    sidebar = page.locator("#customer-sidebar").bounding_box()
    thread = page.locator("#thread").bounding_box()
    assert sidebar is not None
    assert thread is not None
    assert sidebar["y"] > thread["y"]  # below the thread, not beside it
    page.screenshot(path=str(ARTIFACTS / "phone-conversation.png"))
    page.locator("#composer").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "phone-conversation-composer.png"))

    # Settings: the tabs scroll, the forms stack, the tables scroll in their cards.
    page.goto(f"{base}/settings/inbox")
    expect(page.locator("#teams")).to_be_visible()
    _fits(page)
    name = page.locator("#team-form input[name=name]").bounding_box()
    submit = page.locator("#team-form button[type=submit]").bounding_box()
    assert name is not None
    assert submit is not None
    assert name["width"] > 280
    assert submit["y"] > name["y"]  # stacked, one under the other
    page.screenshot(path=str(ARTIFACTS / "phone-settings.png"))
    page.locator("#teams").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "phone-settings-teams.png"))
    page.goto(f"{base}/settings/users")
    _fits(page)
    page.screenshot(path=str(ARTIFACTS / "phone-settings-users.png"))
    context.close()
