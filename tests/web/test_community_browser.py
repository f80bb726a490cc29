"""The help center's community in a real browser (Debian's Chromium through Playwright):
a customer signs in by the link emailed to them (a real SMTP server on loopback), asks;
the first post waits until a moderator approves it in the console; another customer
answers; the asker accepts the answer. At desktop and phone width, with axe-core's WCAG
2.x A/AA rules on each page (no serious or critical violation). Screenshots land in
/tmp/shots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from accord.app import create_app
from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import create_db_engine, create_session_factory
from tests.conftest import new_database
from tests.helpers import PASSWORD, add_user, live_server, provision
from tests.smtp_sink import Sink, smtp_sink  # noqa: F401 (the fixture)
from tests.web.test_browser import browser  # noqa: F401 (Chromium)
from tests.web.test_helpcenter_browser import SEVERE, _axe, _describe

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
SHOTS = Path("/tmp/shots")
LINK = re.compile(r"(http://\S+/community/sign-in/link\?token=\S+)")
MODERATOR = "mod@ridge.example"


@dataclass
class Forum:
    base: str
    ws: ProvisionedWorkspace
    sink: Sink

    @property
    def home(self) -> str:
        return f"{self.base}/help/{self.ws.workspace.slug}/community"


@pytest.fixture
def forum(tmp_path: Path, smtp_sink: Sink) -> Iterator[Forum]:  # noqa: F811
    with new_database("sqlite", tmp_path) as url:
        engine = create_db_engine(url)
        with create_session_factory(engine)() as session:
            ws = provision(session, "Ridge Outfitters")
            add_user(session, ws, MODERATOR, role="agent")
        config = Settings(
            data_dir=tmp_path / "data",
            database_url=url,
            secret_key="browser-tests-" + "k" * 32,
            resolve_worker=False,
            resolve_inline=True,
            outbox_worker=False,
            imap_poll_seconds=0,
            smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}",
        )
        with live_server(create_app(config)) as base:
            yield Forum(base, ws, smtp_sink)
        engine.dispose()


def _shot(page: Any, name: str, **options: Any) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"community-{name}.png"), **options)


def _clean(page: Any) -> None:
    severe = [v for v in _axe(page) if v["impact"] in SEVERE]
    assert severe == [], f"axe on {page.url}:\n{_describe(severe)}"


def _fits(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll}px wide on a {width}px screen"


def _sign_in(page: Any, forum: Forum, email: str, name: str, count: int) -> None:
    """From the sign-in page: ask for a link, open it from the email, confirm."""
    from playwright.sync_api import expect

    page.get_by_label("Your email address").fill(email)
    page.get_by_label("The name shown beside your posts (optional)").fill(name)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.locator("h1")).to_have_text("Check your email")
    _clean(page)
    message = forum.sink.wait_for(count)[count - 1]
    body = message.get_body(("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match
    link = urlsplit(match.group(1))
    page.goto(f"{forum.base}{link.path}?{link.query}")
    expect(page.locator("h1")).to_have_text("Sign in to the community")
    _clean(page)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#notice")).to_have_text("You are signed in.")


def test_sign_in_by_link_ask_moderate_answer_and_accept(forum: Forum, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    asker = browser.new_context(viewport=DESKTOP)
    page = asker.new_page()
    page.goto(forum.home)
    expect(page.locator("h1")).to_have_text("Community")
    expect(page.locator("#no-questions")).to_be_visible()
    expect(page.get_by_role("link", name="Community", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    _clean(page)
    _shot(page, "empty-desktop", full_page=True)

    page.get_by_role("link", name="Ask a question").click()
    expect(page).to_have_url(re.compile(r"/community/sign-in\?next="))
    _shot(page, "sign-in-desktop", full_page=True)
    _sign_in(page, forum, "ann@example.com", "Ann", 1)
    expect(page).to_have_url(re.compile(r"/community/ask\?notice=signed-in$"))
    expect(page.locator("h1")).to_have_text("Ask a question")
    _clean(page)
    page.get_by_label("Your question in one line").fill("Can I wash my rain jacket at 40 degrees?")
    page.get_by_label("The details").fill(
        "The care label is gone. I do not want to ruin the **membrane**. Any tips?"
    )
    _shot(page, "ask-desktop", full_page=True)
    page.get_by_role("button", name="Post your question").click()
    expect(page.locator("#question-waiting")).to_be_visible()
    _clean(page)
    _shot(page, "pending-desktop", full_page=True)

    # A moderator approves it in the console's queue.
    console = browser.new_context(viewport=DESKTOP)
    mod = console.new_page()
    mod.goto(f"{forum.base}/login?next=/knowledge/community")
    mod.fill("#email", MODERATOR)
    mod.fill("#password", PASSWORD)
    mod.click("button[type=submit]")
    expect(mod.locator("h1")).to_have_text("Community")
    expect(mod.locator("#pending li")).to_have_count(1)
    expect(mod.locator("#pending")).to_contain_text("first post")
    _shot(mod, "console-queue", full_page=True)
    mod.get_by_role("button", name="Approve: Can I wash my rain jacket at 40 degrees?").click()
    expect(mod.locator("#community-notice")).to_contain_text("Approved")
    expect(mod.locator("#pending-empty")).to_be_visible()

    # Another customer answers it.
    helper = browser.new_context(viewport=DESKTOP)
    other = helper.new_page()
    other.goto(forum.home)
    other.get_by_role("link", name="Can I wash my rain jacket at 40 degrees?").click()
    question_url = other.url
    other.get_by_role("link", name="Sign in to answer").click()
    _sign_in(other, forum, "ben@example.com", "Ben", 2)
    expect(other).to_have_url(re.compile(r"/questions/[0-9a-f-]+\?notice=signed-in$"))
    other.get_by_label("Answer", exact=True).fill(
        "Wash it at **30 degrees** without softener, then tumble dry low: the heat "
        "revives the water-repellent coating."
    )
    other.get_by_role("button", name="Post your answer").click()
    # A first post waits; the moderator approves it from the queue.
    mod.goto(f"{forum.base}/knowledge/community")
    mod.locator("#pending").get_by_role("button", name=re.compile("^Approve")).click()
    expect(mod.locator("#pending-empty")).to_be_visible()

    # The asker votes it up and accepts it.
    page.goto(question_url)
    expect(page.get_by_role("heading", name="1 answer")).to_be_visible()
    page.get_by_role("button", name="Useful: vote this answer up").click()
    expect(page.locator(".cm-answer .cm-score")).to_have_text("1")
    page.get_by_role("button", name="This solved it: accept").click()
    expect(page.locator("#notice")).to_have_text("Marked as the answer that solved it.")
    expect(page.locator(".cm-accepted-badge")).to_be_visible()
    _clean(page)
    _fits(page, DESKTOP["width"])
    _shot(page, "question-desktop", full_page=True)
    page.goto(forum.home)
    expect(page.locator(".cm-badge-solved")).to_have_count(1)
    _clean(page)
    _shot(page, "list-desktop", full_page=True)

    # The moderator makes a draft article of the accepted answer.
    mod.goto(f"{forum.base}/knowledge/community")
    mod.get_by_role("link", name="Can I wash my rain jacket at 40 degrees?").first.click()
    mod.get_by_role("button", name="Make a draft article of it").click()
    expect(mod).to_have_url(re.compile(r"/knowledge/[0-9a-f-]+\?notice=created$"))
    console.close()
    helper.close()
    asker.close()

    # At phone width: the list and the question fit, buttons are a finger's size.
    phone = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    small = phone.new_page()
    small.goto(forum.home)
    _fits(small, PHONE["width"])
    _clean(small)
    ask_box = small.get_by_role("link", name="Ask a question").bounding_box()
    assert ask_box is not None
    assert ask_box["height"] >= 44
    _shot(small, "list-phone", full_page=True)
    small.goto(question_url)
    _fits(small, PHONE["width"])
    _clean(small)
    _shot(small, "question-phone", full_page=True)
    small.goto(f"{forum.home}/sign-in")
    _fits(small, PHONE["width"])
    _clean(small)
    _shot(small, "sign-in-phone", full_page=True)
    phone.close()
