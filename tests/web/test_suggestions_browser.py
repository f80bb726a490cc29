"""Answers before an agent in real browsers (Debian's Chromium through Playwright): a shop
served by the suite on its own origin carries the chat widget on every page and the
contact form on /contact; as the customer types a question, the help center's articles
that may answer it appear; "This answered my question" ends it there (a deflected visit),
a question sent anyway goes on as a chat or a form and is kept among the searches that
led to a contact. With suggestions turned off, nothing appears. At desktop and phone
width; screenshots land in test-artifacts/ (and /tmp/shots/)."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from accord.app import create_app
from accord.config import Settings
from accord.demo.site import site_router
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter import analytics
from accord.helpcenter.models import HelpSearch, HelpVisit
from accord.kit.db import create_db_engine, create_session_factory
from accord.kit.time import utcnow
from accord.web.templating import create_templates
from tests.conftest import new_database
from tests.helpcenter.corpus import ARTICLES
from tests.helpers import add_user, held_port, live_server, port_of, provision
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401

pytestmark = pytest.mark.browser
AGENT = "sam.okoro@shop.test"
SHOTS = Path("/tmp/shots")
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
RETURNS = "how do I send back boots that don't fit"
SYNONYMS = ["return, send back", "refund, money back", "broken, damaged, faulty, defect"]


@dataclass
class Served:
    accord: str
    site: str
    ws: ProvisionedWorkspace
    factory: sessionmaker[Session]

    def article_url(self, slug: str) -> str:
        return f"{self.accord}/help/{self.ws.workspace.slug}/articles/{slug}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("suggestions-browser")
    with new_database("sqlite", tmp) as url:
        engine = create_db_engine(url)
        factory = create_session_factory(engine)
        with factory() as session:
            ws = provision(session, "Trail Shop")
            add_user(session, ws, AGENT, role="admin")  # an agent is there: the chat is open
            session.commit()
        held = held_port()
        port = port_of(held)
        settings = Settings(
            data_dir=tmp / "data",
            database_url=url,
            base_url=f"http://127.0.0.1:{port}",
            secret_key="browser-suggestions-" + "k" * 32,
            resolve_worker=False,
            resolve_inline=True,
            outbox_worker=False,
            imap_poll_seconds=0,
        )
        with live_server(create_app(settings), held) as accord:
            s = Served(accord, "", ws, factory)
            r = api(s, "PUT", "/api/v1/help/settings", json={"synonyms": SYNONYMS})
            assert r.status_code == 200, r.text
            for article in ARTICLES:
                r = api(
                    s,
                    "POST",
                    "/api/v1/help/articles",
                    json={**article, "locale": "en", "status": "published"},
                )
                assert r.status_code == 201, r.text
            shop = FastAPI()
            shop.state.templates = create_templates()
            shop.include_router(site_router(lambda _: ws.write_key, prefix="", accord_base=accord))
            with live_server(shop) as site:
                s.site = site
                yield s
        engine.dispose()


def api(s: Served, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {s.ws.api_token}"}
    return httpx.request(method, f"{s.accord}{path}", headers=headers, timeout=20, **kwargs)


def shot(page: Any, name: str, **options: Any) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    SHOTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"suggestions-{name}.png"
    page.screenshot(path=str(path), **options)
    shutil.copy(path, SHOTS / path.name)


def eventually(s: Served, read: Callable[[Session], Any], what: str) -> Any:
    """What ``read`` finds in the database once it finds something (the browser's
    outcome goes out in the background)."""
    for _ in range(100):
        with s.factory() as session:
            found = read(session)
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"never saw {what}")


def visits(session: Session, source: str) -> list[HelpVisit]:
    return list(session.scalars(select(HelpVisit).where(HelpVisit.source == source)).all())


def contained(outer: dict[str, float], inner: dict[str, float]) -> bool:
    return (
        inner["x"] >= outer["x"] - 0.5
        and inner["y"] >= outer["y"] - 0.5
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + 0.5
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + 0.5
    )


def open_chat(page: Any, site: str) -> None:
    from playwright.sync_api import expect

    page.goto(f"{site}/tents")
    page.click("#accord-chat .launch")
    expect(page.locator("#accord-chat .panel")).to_be_visible()
    expect(page.locator("#accord-chat .compose textarea")).to_be_visible()


def test_the_widget_answers_before_an_agent(served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    open_chat(page, s.site)
    sugg = page.locator("#accord-chat .sugg")
    expect(sugg).to_be_hidden()
    textarea = page.locator("#accord-chat .compose textarea")
    textarea.press_sequentially(RETURNS, delay=15)
    expect(sugg).to_be_visible()
    expect(sugg.locator("h3")).to_have_text("These articles may answer your question")
    items = sugg.locator("li")
    assert 1 <= items.count() <= 3
    returns = items.filter(has_text="Returns and refunds")
    expect(returns.locator("a")).to_have_attribute("href", s.article_url("returns-and-refunds"))
    expect(returns.locator("a")).to_have_attribute("target", "_blank")
    expect(returns).to_contain_text("30 days")
    # The list sits inside the panel, and its widest line fits it.
    panel_box = page.locator("#accord-chat .panel").bounding_box()
    assert contained(panel_box, sugg.bounding_box())
    assert sugg.evaluate("e => e.scrollWidth <= e.clientWidth")
    shot(page, "widget-desktop")

    returns.get_by_role("button", name="This answered my question").click()
    expect(sugg).to_be_hidden()
    expect(textarea).to_have_value("")
    expect(page.locator("#accord-chat .log .note").last).to_contain_text("Glad it helped")
    shot(page, "widget-answered")
    [visit] = eventually(
        s, lambda db: [v for v in visits(db, "widget") if v.answered], "an answered visit"
    )
    assert not visit.contacted
    # Nothing was sent: no conversation.
    assert api(s, "GET", "/api/v1/conversations", params={"view": "all"}).json()["data"] == []

    # Another question: suggestions again, but the customer sends it anyway.
    question = "my boots are damaged after one hike, can I return them?"
    textarea.press_sequentially(question, delay=10)
    expect(sugg.locator("li").first).to_be_visible()
    textarea.press("Enter")
    log = page.locator("#accord-chat .log")
    expect(log.locator(".m.in")).to_contain_text(question)
    expect(sugg).to_be_hidden()
    # Once a message is sent, typing more suggests nothing.
    textarea.press_sequentially("and how long does the refund take", delay=10)
    page.wait_for_timeout(1200)
    expect(sugg).to_be_hidden()
    shot(page, "widget-sent")

    found = eventually(
        s,
        lambda db: db.scalars(select(HelpSearch).where(HelpSearch.query == question)).all(),
        "the question among the searches",
    )
    [search] = found
    assert (search.source, search.contacted, search.visit_id) == ("widget", True, visit.id)
    assert search.results >= 1
    with s.factory() as session:
        again = session.get(HelpVisit, visit.id)
        assert again is not None
        assert (again.answered, again.contacted) == (True, True)
    for _ in range(100):
        conversations = api(s, "GET", "/api/v1/conversations", params={"view": "all"}).json()
        if conversations["data"]:
            break
        time.sleep(0.1)
    [conversation] = conversations["data"]
    assert conversation["channel"] == "chat"

    # Once the visit is over it counts in the help center's analytics.
    with s.factory() as session:
        session.execute(
            update(HelpVisit)
            .where(HelpVisit.id == visit.id)
            .values(started_at=utcnow() - timedelta(hours=2), last_at=utcnow() - timedelta(hours=1))
        )
        session.commit()
        report = analytics.report(session, s.ws.workspace.id, utcnow() - timedelta(days=1))
    assert (report.visits, report.visits_answered, report.visits_contacted) == (1, 1, 1)
    context.close()


def test_the_widget_suggestions_fit_a_phone(served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    open_chat(page, s.site)
    page.locator("#accord-chat .compose textarea").press_sequentially(
        "my rain jacket is not waterproof anymore", delay=15
    )
    sugg = page.locator("#accord-chat .sugg")
    expect(sugg.locator("li").first).to_be_visible()
    expect(sugg).to_contain_text("Caring for waterproof jackets")
    panel = page.locator("#accord-chat .panel").bounding_box()
    assert contained({"x": 0, "y": 0, **PHONE}, panel)  # the panel is on the screen
    assert contained(panel, sugg.bounding_box())
    assert sugg.evaluate("e => e.scrollWidth <= e.clientWidth")
    # The compose box stays on screen under the list.
    assert contained(panel, page.locator("#accord-chat .compose").bounding_box())
    shot(page, "widget-phone")
    context.close()


def test_the_contact_form_answers_before_an_agent(served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{s.site}/contact")
    form = page.locator("#accord-contact form")
    expect(form).to_be_visible()
    sugg = page.locator("#accord-contact .sugg")
    expect(sugg).to_be_hidden()
    form.locator("input[name=subject]").press_sequentially("Boots too small", delay=15)
    form.locator("textarea[name=message]").press_sequentially(RETURNS, delay=15)
    expect(sugg.locator("li").first).to_be_visible()
    expect(sugg.locator("h3")).to_have_text("These articles may answer your question")
    returns = sugg.locator("li", has_text="Returns and refunds")
    link = returns.get_by_role("link", name="Returns and refunds")
    expect(link).to_have_attribute("href", s.article_url("returns-and-refunds"))
    expect(link).to_have_attribute("target", "_blank")
    # Under the message, above the Send button.
    message_box = form.locator("textarea[name=message]").bounding_box()
    sugg_box = sugg.bounding_box()
    send_box = form.get_by_role("button", name="Send").bounding_box()
    assert message_box["y"] + message_box["height"] <= sugg_box["y"]
    assert sugg_box["y"] + sugg_box["height"] <= send_box["y"]
    assert sugg.evaluate("e => e.scrollWidth <= e.clientWidth")
    shot(page, "form-desktop", full_page=True)

    # The link opens the article in a new tab.
    with context.expect_page() as opened:
        link.click()
    article = opened.value
    article.wait_for_load_state()
    assert article.url == s.article_url("returns-and-refunds")
    expect(article.locator("h1")).to_contain_text("Returns and refunds")
    article.close()

    returns.get_by_role("button", name="This answered my question").click()
    status = form.get_by_role("status")
    expect(status).to_contain_text("Glad it helped")
    expect(sugg).to_be_hidden()
    expect(form.locator("textarea[name=message]")).to_have_value("")
    shot(page, "form-answered")
    [visit] = eventually(
        s, lambda db: [v for v in visits(db, "form") if v.answered], "an answered form visit"
    )
    assert not visit.contacted

    # Not answered after all: the same question again, and this time it is sent.
    form.locator("input[name=name]").fill("Robin Okafor")
    form.locator("input[name=email]").fill("robin.okafor@example.com")
    form.locator("input[name=subject]").press_sequentially("Boots too small", delay=10)
    form.locator("textarea[name=message]").press_sequentially(RETURNS, delay=10)
    expect(sugg.locator("li").first).to_be_visible()
    form.get_by_role("button", name="Send").click()
    expect(status).to_contain_text("Thank you")
    expect(sugg).to_be_hidden()
    shot(page, "form-sent")

    def contacted(db: Session) -> list[HelpVisit]:
        return [v for v in visits(db, "form") if v.contacted]

    [done] = eventually(s, contacted, "a contacted form visit")
    assert done.id == visit.id
    [search] = eventually(
        s,
        lambda db: db.scalars(select(HelpSearch).where(HelpSearch.source == "form")).all(),
        "the form's question among the searches",
    )
    assert search.contacted
    assert search.query.startswith("Boots too small")
    found = api(s, "GET", "/api/v1/conversations", params={"view": "all", "q": "Robin"}).json()
    assert len(found["data"]) == 1
    context.close()


def test_no_suggestions_when_they_are_turned_off(served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    s = served

    def counted() -> int:
        with s.factory() as session:
            return len(session.scalars(select(HelpVisit)).all())

    before = counted()
    current = api(s, "GET", "/api/v1/help/settings").json()
    r = api(s, "PUT", "/api/v1/help/settings", json={**current, "suggest": False})
    assert r.status_code == 200, r.text
    assert r.json()["suggest"] is False
    context = browser.new_context(viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(f"{s.site}/contact")
        page.locator("#accord-contact textarea[name=message]").press_sequentially(RETURNS, delay=10)
        page.wait_for_timeout(1500)
        expect(page.locator("#accord-contact .sugg")).to_be_hidden()
        shot(page, "form-off")
        open_chat(page, s.site)
        page.locator("#accord-chat .compose textarea").press_sequentially(RETURNS, delay=10)
        page.wait_for_timeout(1500)
        expect(page.locator("#accord-chat .sugg")).to_be_hidden()
        shot(page, "widget-off")
    finally:
        api(s, "PUT", "/api/v1/help/settings", json=current)
    context.close()
    assert counted() == before  # nothing offered, no visit begun
