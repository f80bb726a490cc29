"""The public help center in a real browser (Debian's Chromium through Playwright), on
both databases: the home page's sections at desktop and phone width, instant answers as
the reader types, the search form without JavaScript (results, a typo read as the
article word, nothing found), an article's headings and table, the skip link as the
first Tab stop, and axe-core's WCAG 2.x A/AA rules on each public page, served from the
axe-playwright-python package (no CDN). Screenshots land in test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import httpx
import pytest

from accord.app import create_app
from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import create_db_engine, create_session_factory
from tests.conftest import new_database
from tests.helpcenter.corpus import ARTICLES
from tests.helpers import bearer, live_server, provision
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}

# Categories of the help center, in the order they are shown, and their articles.
CATEGORIES: list[dict[str, Any]] = [
    {
        "slug": "orders",
        "names": {"en": "Orders and shipping"},
        "descriptions": {"en": "Paying, changing an order and getting it delivered."},
        "position": 1,
        "articles": ["shipping-times", "change-or-cancel-order", "payment-methods"],
    },
    {
        "slug": "returns",
        "names": {"en": "Returns and warranty"},
        "descriptions": {"en": "Sending things back and getting them repaired."},
        "position": 2,
        "articles": ["returns-and-refunds", "warranty"],
    },
    {
        "slug": "gear",
        "names": {"en": "Sizing and gear care"},
        "descriptions": {"en": "Finding your size and keeping your gear working."},
        "position": 3,
        "articles": ["size-guide", "boot-size-chart", "waterproofing-care", "tent-repair"],
    },
]
# An article with the Markdown a support team writes for a reference page: headings
# ("#" is the first level under the article's title) and a table.
SIZE_CHART: dict[str, Any] = {
    "slug": "boot-size-chart",
    "title": "Boot size chart",
    "summary": "EU, US and UK boot sizes by foot length.",
    "body": "# Measuring your foot\n\nStand on a sheet of paper with your heel against a "
    "wall and mark the tip of your longest toe. Measure from the wall to the mark.\n\n"
    "# Sizes\n\n"
    "| EU | US | UK | Foot length (cm) |\n"
    "| --- | --- | --- | --- |\n"
    "| 40 | 7 | 6.5 | 25.4 |\n"
    "| 41 | 8 | 7.5 | 26.0 |\n"
    "| 42 | 9 | 8 | 26.7 |\n"
    "| 43 | 10 | 9 | 27.3 |\n\n"
    "## Between two sizes\n\nChoose the larger size for hiking with thick socks.",
}


@dataclass
class Center:
    base: str  # the server's
    ws: ProvisionedWorkspace
    backend: str

    @property
    def home(self) -> str:
        return f"{self.base}/help/{self.ws.workspace.slug}"


def _publish(base: str, token: str) -> None:
    """The categories and the articles, through the API as a support team would."""
    category_of = {slug: c for c in CATEGORIES for slug in c["articles"]}
    with httpx.Client(base_url=base, headers=bearer(token)) as api:
        ids = {}
        for c in CATEGORIES:
            body = {k: v for k, v in c.items() if k != "articles"}
            r = api.post("/api/v1/help/categories", json=body)
            assert r.status_code == 201, r.text
            ids[c["slug"]] = r.json()["id"]
        for article in [*ARTICLES, SIZE_CHART]:
            r = api.post(
                "/api/v1/help/articles",
                json={
                    **article,
                    "locale": "en",
                    "status": "published",
                    "visibility": "public",
                    "category_id": ids[category_of[article["slug"]]["slug"]],
                },
            )
            assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def center(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Center]:
    """A workspace with its help center, served on loopback (tests/served.py's way, on
    this run's database backend: search is each database's own)."""
    tmp = tmp_path_factory.mktemp("helpcenter")
    with new_database(backend, tmp) as url:
        engine = create_db_engine(url)
        with create_session_factory(engine)() as session:
            ws = provision(session, "Ridge Outfitters")
        config = Settings(
            data_dir=tmp / "data",
            database_url=url,
            secret_key="browser-tests-" + "k" * 32,
            resolve_worker=False,
            resolve_inline=True,
            outbox_worker=False,
            imap_poll_seconds=0,
        )
        with live_server(create_app(config)) as base:
            _publish(base, ws.api_token)
            yield Center(base, ws, backend)
        engine.dispose()


def _shot(page: Any, name: str, center: Center, **options: Any) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"helpcenter-{name}-{center.backend}.png"
    page.screenshot(path=str(path), **options)
    return path


def _fits(page: Any, width: int) -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll}px wide on a {width}px screen"


def _sections(page: Any) -> list[str]:
    names: list[str] = page.locator(".help-section h2").all_inner_texts()
    return [n.strip() for n in names]


def test_the_home_page_at_desktop_and_phone_width(center: Center, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    response = page.goto(center.home)
    assert response is not None
    assert response.status == 200
    expect(page).to_have_title("Help center · Ridge Outfitters")
    expect(page.locator("h1")).to_have_text("How can we help?")
    expect(page.get_by_role("search")).to_be_visible()
    assert _sections(page) == [c["names"]["en"] for c in CATEGORIES]
    gear = page.get_by_role("region", name="Sizing and gear care")
    expect(gear).to_contain_text("Finding your size and keeping your gear working.")
    expect(gear.get_by_role("listitem")).to_have_count(4)
    expect(gear.get_by_role("link", name="Boot size chart")).to_have_attribute(
        "href", f"/help/{center.ws.workspace.slug}/articles/boot-size-chart"
    )
    # At desktop width the sections stand side by side.
    boxes = [s.bounding_box() for s in page.locator(".help-section").all()]
    assert all(b is not None for b in boxes)
    assert len({round(b["y"]) for b in boxes if b is not None}) == 1, boxes
    _fits(page, DESKTOP["width"])
    _shot(page, "home-desktop", center, full_page=True)

    # A category's heading opens its page with all its answers.
    page.get_by_role("link", name="Returns and warranty").click()
    expect(page).to_have_url(f"{center.home}/categories/returns")
    expect(page.locator("h1")).to_have_text("Returns and warranty")
    expect(page.locator(".help-list-long li")).to_have_count(2)
    expect(page.locator(".help-list-long")).to_contain_text("Return unworn items within 30 days")
    _shot(page, "category-desktop", center, full_page=True)
    context.close()

    context = browser.new_context(viewport=PHONE, device_scale_factor=2, has_touch=True)
    page = context.new_page()
    page.goto(center.home)
    expect(page.locator("h1")).to_have_text("How can we help?")
    assert _sections(page) == [c["names"]["en"] for c in CATEGORIES]
    # At phone width the sections stack, each the width of the page.
    boxes = [s.bounding_box() for s in page.locator(".help-section").all()]
    assert [b is not None for b in boxes] == [True, True, True]
    xs = {round(b["x"]) for b in boxes if b is not None}
    ys = [b["y"] for b in boxes if b is not None]
    assert len(xs) == 1, boxes
    assert ys == sorted(ys), boxes
    _fits(page, PHONE["width"])
    search = page.get_by_role("button", name="Search").bounding_box()
    assert search is not None
    assert search["height"] >= 44  # a finger's target
    _shot(page, "home-phone", center, full_page=True)

    # The article with a table at phone width: the table scrolls, the page does not.
    page.get_by_role("link", name="Boot size chart").click()
    expect(page.locator("h1")).to_have_text("Boot size chart")
    _fits(page, PHONE["width"])
    _shot(page, "article-phone", center, full_page=True)
    context.close()


def test_instant_results_as_the_reader_types(center: Center, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(center.home)
    instant = page.locator("#help-instant")
    expect(instant).to_be_hidden()
    box = page.get_by_label("Search the help center")
    box.press_sequentially("refund", delay=40)
    expect(instant).to_be_visible()
    expect(page.get_by_role("region", name="Suggested answers")).to_be_visible()
    answer = instant.get_by_role("link").filter(has_text="Returns and refunds")
    expect(answer).to_have_count(1)
    expect(answer).to_contain_text("Return unworn items within 30 days")
    _shot(page, "instant", center)
    # The page did not change: the answers come while typing.
    expect(page).to_have_url(center.home)

    # Escape closes them (and clears a search field); typing again brings them back.
    box.press("Escape")
    expect(instant).to_be_hidden()
    box.press_sequentially("refunds", delay=40)
    expect(answer).to_be_visible()

    answer.click()
    expect(page).to_have_url(f"{center.home}/articles/returns-and-refunds")
    expect(page.locator("h1")).to_have_text("Returns and refunds")
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_contain_text(
        "Returns and warranty"
    )
    context.close()


def test_the_search_form_without_javascript(center: Center, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    context = browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = context.new_page()
    page.goto(center.home)
    page.get_by_label("Search the help center").fill("shipping costs")
    page.get_by_role("button", name="Search").click()
    expect(page).to_have_url(re.compile(r"/search\?q=shipping\+costs&lang=en$"))
    expect(page).to_have_title("Search: shipping costs · Ridge Outfitters")
    expect(page.locator("h1")).to_contain_text("for “shipping costs”")
    results = page.locator("ol.help-results > li")
    expect(results.first).to_contain_text("Shipping times and costs")
    expect(page.locator("#corrected")).to_have_count(0)
    expect(page.locator("#no-results")).to_have_count(0)
    # The question stays in the box, to change it.
    expect(page.get_by_label("Search the help center")).to_have_value("shipping costs")
    _shot(page, "search-results", center, full_page=True)

    # A word typed wrong is read as the article word, and the page says so.
    page.get_by_label("Search the help center").fill("shiping")
    page.get_by_label("Search the help center").press("Enter")
    expect(page).to_have_url(re.compile(r"/search\?q=shiping&lang=en$"))
    corrected = page.locator("#corrected")
    expect(corrected).to_contain_text("Also searched for shipping")
    expect(corrected).to_contain_text("you typed “shiping”")
    expect(results.first).to_contain_text("Shipping times and costs")
    _shot(page, "search-corrected", center, full_page=True)

    # Nothing found: said, with a way on.
    page.get_by_label("Search the help center").fill("zqxj vvkw")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("h1")).to_contain_text("0 answers for “zqxj vvkw”")
    expect(page.locator("#no-results")).to_contain_text("We found nothing for this")
    expect(results).to_have_count(0)
    _shot(page, "search-nothing", center, full_page=True)

    # A result opens its article.
    page.get_by_label("Search the help center").fill("waterproof jacket")
    page.get_by_role("button", name="Search").click()
    page.locator("ol.help-results").get_by_role(
        "link", name="Caring for waterproof jackets"
    ).click()
    expect(page).to_have_url(re.compile(r"/articles/waterproofing-care(\?from=.+)?$"))
    expect(page.locator("h1")).to_have_text("Caring for waterproof jackets")
    context.close()


def test_an_article_its_headings_and_table_and_the_skip_link(
    center: Center,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{center.home}/articles/boot-size-chart")
    expect(page).to_have_title("Boot size chart · Ridge Outfitters")
    article = page.locator("article.help-article")
    expect(article.get_by_role("heading", level=1)).to_have_text("Boot size chart")
    expect(article.get_by_role("heading", level=2)).to_have_text(["Measuring your foot", "Sizes"])
    expect(article.get_by_role("heading", level=3)).to_have_text(["Between two sizes"])
    expect(page.locator(".help-lead")).to_have_text("EU, US and UK boot sizes by foot length.")
    table = article.get_by_role("table")
    expect(table).to_have_count(1)
    expect(table.get_by_role("columnheader")).to_have_text(["EU", "US", "UK", "Foot length (cm)"])
    expect(table.locator("tbody tr")).to_have_count(4)
    expect(table.locator("tbody tr").nth(2).get_by_role("cell")).to_have_text(
        ["42", "9", "8", "26.7"]
    )
    crumbs = page.get_by_role("navigation", name="Breadcrumb")
    expect(crumbs.get_by_role("link")).to_have_text(["Help center", "Sizing and gear care"])
    expect(crumbs.locator("[aria-current=page]")).to_have_text("Boot size chart")
    expect(page.locator("link[rel=canonical]")).to_have_attribute(
        "href", f"{center.home}/articles/boot-size-chart"
    )
    _shot(page, "article-desktop", center, full_page=True)

    # The keyboard: the first Tab stop is the skip link, shown when focused.
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "[document.activeElement.textContent.trim(), document.activeElement.getAttribute('href')]"
    )
    assert focused == ["Skip to content", "#main"], focused
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    shown = skip.bounding_box()
    assert shown is not None
    assert shown["x"] >= 0
    assert shown["y"] >= 0
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
    _shot(page, "skip-link", center, clip={"x": 0, "y": 0, "width": 640, "height": 200})
    # Enter skips the header: the next Tab stop is the first link in the content.
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{center.home}/articles/boot-size-chart#main")
    page.keyboard.press("Tab")
    expect(crumbs.get_by_role("link", name="Help center")).to_be_focused()
    context.close()


# axe-core, from the axe-playwright-python package: the tests serve it to the page.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
SEVERE = ("serious", "critical")


def _axe_source() -> str:
    return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")


def _describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} <{v['helpUrl']}>")
        for node in v["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    {node['target']} {node['html'][:160]}\n      {summary}")
    return "\n".join(lines)


def _axe(page: Any) -> list[dict[str, Any]]:
    """axe's WCAG 2.x A/AA violations on the page as it is now. The source is evaluated
    by the browser's debugging protocol, which the page's Content-Security-Policy (inline
    scripts need the response's nonce) does not apply to: the page is checked as served."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    results: dict[str, Any] = page.evaluate(
        "options => axe.run(document, options)",
        {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]},
    )
    violations: list[dict[str, Any]] = results["violations"]
    return violations


PAGES = {
    "home": "",
    "category": "/categories/gear",
    "article": "/articles/boot-size-chart",
    "search-results": "/search?q=shiping",
    "search-nothing": "/search?q=zqxj",
    "article-voted": "/articles/boot-size-chart?voted=yes",
    "contact": "/contact?article=boot-size-chart",
}


@pytest.mark.parametrize("width", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_serious_violations(
    center: Center,
    browser: Any,  # noqa: F811
    name: str,
    width: dict[str, int],
) -> None:
    context = browser.new_context(viewport=width)
    page = context.new_page()
    response = page.goto(f"{center.home}{PAGES[name]}")
    assert response is not None
    assert response.status == 200
    assert page.evaluate("typeof window.axe") == "undefined"  # nothing from elsewhere
    found = _axe(page)
    severe = [v for v in found if v["impact"] in SEVERE]
    assert severe == [], f"axe on {page.url}:\n{_describe(severe)}"
    context.close()


def test_axe_on_the_instant_results(center: Center, browser: Any) -> None:  # noqa: F811
    """The answers box that the script opens under the search field, checked open."""
    from playwright.sync_api import expect

    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(center.home)
    page.get_by_label("Search the help center").press_sequentially("jacket", delay=40)
    expect(page.locator("#help-instant li").first).to_be_visible()
    found = _axe(page)
    severe = [v for v in found if v["impact"] in SEVERE]
    assert severe == [], f"axe on {page.url} with instant results:\n{_describe(severe)}"
    context.close()


def test_the_axe_check_sees_a_violation(center: Center, browser: Any) -> None:  # noqa: F811
    """The check above can fail: an image without a text alternative and pale text put
    into the page are reported, as critical and serious."""
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(center.home)
    page.evaluate(
        """() => {
            const main = document.getElementById('main');
            const img = document.createElement('img');
            img.src = '/static/helpcenter.css';
            img.width = 10;
            img.height = 10;
            main.append(img);
            const pale = document.createElement('p');
            pale.textContent = 'Barely readable';
            pale.style.color = '#cccccc';
            main.append(pale);
        }"""
    )
    impacts = {v["id"]: v["impact"] for v in _axe(page)}
    assert impacts.get("image-alt") == "critical", impacts
    assert impacts.get("color-contrast") == "serious", impacts
    context.close()
