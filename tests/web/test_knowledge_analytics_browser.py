"""Knowledge > Analytics in a real browser (Debian's Chromium through Playwright), with a
month of readers: some through the help center's pages (searches that find nothing, a
vote with a comment, questions written to the team), the rest through its tracking
functions, spread over the days. An agent opens the page from the Knowledge list, the
figures and the four charts per day are drawn (SVG with a point per day), the content
gaps are listed with a link to write the article, the period switches to 7 days and the
charts follow; nothing is wider than the screen and the browser reports no error.
Screenshots land in /tmp/shots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from accord.govern.workspaces.models import Workspace
from accord.helpcenter import reading, tracking
from accord.helpcenter.models import HelpArticle, HelpRead, HelpSearch, HelpVisit
from accord.kit.db import create_db_engine, create_session_factory
from accord.kit.time import utcnow
from tests.helpers import PASSWORD, bearer
from tests.served import Served, served_workspace
from tests.web.test_browser import browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
AGENT = "mara.agent@ridge.test"
DESKTOP = {"width": 1280, "height": 900}
SHOTS = Path("/tmp/shots")

ARTICLES = {
    "returns-window": (
        "How long you have to return an order",
        "Send unworn items back within 30 days.",
    ),
    "tent-repair": ("Repairing a torn tent", "Patch small tears with the repair kit."),
    "boot-sizes": ("Choosing a boot size", "Our boots run true to size; go up for thick socks."),
    "shipping-times": ("Shipping times", "Standard delivery takes 2 to 4 business days."),
}
# Searches readers made over the month: those nobody wrote an answer for come back.
QUESTIONS = ["return tent", "kayak rental", "boot size", "gift voucher", "kayak rental", "ship"]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("knowledge-analytics")
    with served_workspace(tmp, "Ridge Outfitters", {AGENT: "agent"}) as served:
        _readers(served)
        yield served


def _readers(s: Served) -> None:
    ids = {}
    for slug, (title, body) in ARTICLES.items():
        r = httpx.post(
            f"{s.base}/api/v1/help/articles",
            json={"slug": slug, "title": title, "body": body, "status": "published"},
            headers=bearer(s.ws.api_token),
        )
        assert r.status_code == 201, r.text
        ids[slug] = r.json()["id"]
    help_ = f"{s.base}/help/{s.ws.workspace.slug}"
    # On the pages: two readers found nothing for a snow-shoe question and wrote to the
    # team, one after reading the tent repair; three voted on the boot sizes.
    for n in range(2):
        with httpx.Client() as reader:
            reader.get(f"{help_}/search", params={"q": "snow shoes for kids"})
            reader.get(f"{help_}/articles/tent-repair")
            sent = reader.post(
                f"{help_}/contact",
                data={"email": f"r{n}@example.com", "message": "Do you rent snow shoes?"},
            )
            assert sent.status_code == 200, sent.text
    for verdict, comment in (("no", "Nothing about half sizes"), ("no", ""), ("yes", "")):
        with httpx.Client() as reader:
            reader.get(f"{help_}/articles/boot-sizes")
            reader.post(
                f"{help_}/articles/boot-sizes/vote", data={"helpful": verdict, "comment": comment}
            )
    # Through the tracking functions: a month of readers, a few more each week.
    engine = create_db_engine(s.url)
    now = utcnow()
    with create_session_factory(engine)() as session:
        workspace = session.get(Workspace, s.ws.workspace.id)
        assert workspace is not None
        articles = list(
            session.scalars(select(HelpArticle).where(HelpArticle.workspace_id == workspace.id))
        )
        for day in range(1, 29):
            at = now - timedelta(days=day, hours=day % 5)
            for i in range(2 + (29 - day) // 5 + day % 3):
                visit = tracking.visit(session, workspace.id, f"reader-{day}-{i}")
                if i % 2 == 0:
                    question = QUESTIONS[(day + i) % len(QUESTIONS)]
                    reading.search(session, workspace, question, None, visit_id=visit.id)
                article = articles[(day * 3 + i) % len(articles)]
                read = tracking.read(
                    session, workspace, visit, article, "en", title=article.slug, url="/"
                )
                tracking.reading_time(session, workspace.id, read.id, 20 + (day * 7 + i * 13) % 150)
                session.flush()
                session.execute(update(HelpRead).where(HelpRead.id == read.id).values(at=at))
                session.execute(
                    update(HelpSearch).where(HelpSearch.visit_id == visit.id).values(at=at)
                )
                session.execute(
                    update(HelpVisit)
                    .where(HelpVisit.id == visit.id)
                    .values(started_at=at, last_at=at + timedelta(minutes=3))
                )
        # The page readers' visits are over, one of them two days ago.
        session.execute(
            update(HelpVisit)
            .where(
                HelpVisit.workspace_id == workspace.id, HelpVisit.last_at > now - timedelta(hours=1)
            )
            .values(started_at=now - timedelta(hours=2), last_at=now - timedelta(hours=1))
        )
        session.commit()
    engine.dispose()


def test_an_agent_reads_the_help_centers_analytics(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location['url']}")
            if m.type == "error" and not m.location["url"].endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{s.base}/login?next=/knowledge")
    page.fill("#email", AGENT)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{s.base}/knowledge")

    page.locator("#knowledge-analytics").click()
    expect(page).to_have_url(f"{s.base}/knowledge/analytics")
    expect(page.locator("h1")).to_have_text("Knowledge analytics")
    period = page.get_by_role("navigation", name="Period")
    expect(period.locator("[aria-current=page]")).to_have_text("30 days")
    figures = page.locator("#ka-figures .figure")
    expect(figures).to_have_count(7)
    month = _figures(page)
    assert int(month["views"].replace(",", "")) > 100, month
    assert month["deflection"].endswith("%"), month
    assert re.fullmatch(r"\d+m \d+s|\d+s", month["reading-time"]), month

    # The charts: drawn, named by their titles, a point for every day of the period.
    for name in (
        "Article views per day",
        "Searches per day",
        "Share of searches that found nothing",
        "Searches followed by a contact per day",
    ):
        chart = page.get_by_role("img", name=re.compile(f"^{re.escape(name)}"))
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None, name
        assert box["width"] > 380, (name, box)
        assert box["height"] > 150, (name, box)
    views = page.locator("#chart-views svg")
    expect(views.locator("g > title")).to_have_count(30)  # every day of the 30, today the last
    line = views.locator("path[stroke-width='2.5']").get_attribute("d")
    assert line is not None
    assert line.count("L") == 29
    expect(page.locator("#chart-contacts svg rect[fill]").first).to_be_attached()
    # Two charts side by side at desktop width.
    first = page.locator("#chart-views").bounding_box()
    second = page.locator("#chart-searches").bounding_box()
    assert first is not None
    assert second is not None
    assert second["x"] > first["x"] + first["width"] - 1
    assert abs(second["y"] - first["y"]) < 2

    # The content gaps: what was searched for and found nothing, most asked first.
    gaps = page.locator("#ka-gaps tbody tr")
    expect(gaps.first.locator("th")).to_have_text("kayak rental")
    expect(page.locator("#ka-gaps")).to_contain_text("snow shoes for kids")
    expect(page.locator("#ka-search-contacts")).to_contain_text("snow shoes for kids")
    expect(page.locator("#ka-read-contacts")).to_contain_text("Repairing a torn tent")
    least = page.locator("#ka-least-helpful tbody tr").first
    expect(least).to_contain_text("Choosing a boot size")
    expect(least).to_contain_text("33%")
    expect(page.locator("#ka-top tbody tr")).to_have_count(4)
    _fits(page, DESKTOP["width"])
    page.screenshot(path=str(SHOTS / "knowledge-analytics-30.png"), full_page=True)
    page.locator("#ka-trends").screenshot(path=str(SHOTS / "knowledge-analytics-charts.png"))

    # The data under a chart opens in place.
    page.locator("#chart-views .chart-data > summary").click()
    expect(page.locator("#chart-views .chart-table tbody tr")).to_have_count(30)

    # The period: 7 days, fewer views and a point per day of the week.
    period.get_by_role("link", name="7 days").click()
    expect(page).to_have_url(f"{s.base}/knowledge/analytics?days=7")
    expect(period.locator("[aria-current=page]")).to_have_text("7 days")
    expect(page.locator("#chart-views svg g > title")).to_have_count(7)
    week = _figures(page)
    assert int(week["views"].replace(",", "")) < int(month["views"].replace(",", "")), week
    _fits(page, DESKTOP["width"])
    page.screenshot(path=str(SHOTS / "knowledge-analytics-7.png"), full_page=True)

    # A gap's link opens the editor for a new article.
    page.locator("#ka-gaps [data-write]").first.click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(s.base)}/knowledge/new"))
    expect(page.locator("h1")).to_have_text("New article")

    page.goto(f"{s.base}/knowledge/analytics?days=90")
    expect(page.locator("[aria-current=page]", has_text="90 days")).to_be_visible()
    line = page.locator("#chart-views svg path[stroke-width='2.5']").get_attribute("d")
    assert line is not None
    assert line.count("L") == 89
    page.screenshot(path=str(SHOTS / "knowledge-analytics-90.png"), full_page=True)
    assert problems == [], problems
    context.close()


def _figures(page: Any) -> dict[str, str]:
    found: dict[str, str] = page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll('#ka-figures .figure')]
            .map(f => [f.dataset.figure, f.querySelector('.value').textContent.trim()]))"""
    )
    return found


def _fits(page: Any, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll}px wide on a {width}px screen"
