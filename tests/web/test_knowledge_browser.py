"""Knowledge in a real browser (Debian's Chromium through Playwright): an agent opens
Knowledge, writes a new article whose Markdown (a heading, a list and a table) the live
preview renders while typing, creates it, publishes it, reads it in the public help
center, edits the text and saves a draft with a note, restores version 1 from the
versions table, and finds the article by searching the list with a typo; and the
console's links to the help center open its own page (its stylesheet, not the console's).
Screenshots land in test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.helpers import PASSWORD, bearer
from tests.served import Served, served_workspace
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
AGENT = "lena.agent@ridge.test"
DESKTOP = {"width": 1280, "height": 900}

TITLE = "Packing a wet tent"
SUMMARY = "Dry it, fold it loosely and keep the poles apart."
BODY = (
    "A tent packed wet grows mould within days.\n"
    "\n"
    "## Before you pack\n"
    "\n"
    "- Shake out the sand\n"
    "- Dry the fly sheet in the sun\n"
    "- Roll the poles separately\n"
    "\n"
    "## Packed sizes\n"
    "\n"
    "| Tent | Packed length |\n"
    "| --- | --- |\n"
    "| Solo | 40 cm |\n"
    "| Family | 65 cm |\n"
)
EDITED = BODY.replace("within days.", "within two days: air it at home.")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("knowledge")
    with served_workspace(tmp, "Ridge Outfitters", {AGENT: "agent"}) as served:
        yield served


def test_write_preview_publish_edit_restore_and_find_an_article(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    problems: list[str] = []
    # What the browser reports as errors (scripts, blocked or missing resources), but
    # the favicon Chromium asks for on its own: the app serves none.
    page.on(
        "console",
        lambda m: (
            problems.append(f"{m.text} {m.location['url']}")
            if m.type == "error" and not m.location["url"].endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{s.base}/login?next=/customers")
    page.fill("#email", AGENT)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{s.base}/customers")

    # Knowledge, from the main navigation: the article is not written yet.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Knowledge").click()
    expect(page).to_have_url(f"{s.base}/knowledge")
    expect(page.locator("h1")).to_have_text("Knowledge")
    expect(page.locator("#article-packing-a-wet-tent")).to_have_count(0)

    # A new article, typed: the preview follows the Markdown as it is written.
    page.click("#new-article")
    expect(page).to_have_url(f"{s.base}/knowledge/new")
    expect(page.locator("h1")).to_have_text("New article")
    expect(page.locator("#kb-publish")).to_have_count(0)  # created first, then published
    page.locator("#kb-title").press_sequentially(TITLE, delay=10)
    page.locator("#kb-summary").fill(SUMMARY)
    page.locator("#kb-body").press_sequentially(BODY, delay=5)
    preview = page.locator("#kb-preview")
    expect(page.locator("#kb-preview h2").first).to_be_visible()
    expect(preview.locator("h2")).to_have_text(["Before you pack", "Packed sizes"])
    expect(preview.locator("ul > li")).to_have_text(
        ["Shake out the sand", "Dry the fly sheet in the sun", "Roll the poles separately"]
    )
    table = preview.get_by_role("table")
    expect(table.get_by_role("columnheader")).to_have_text(["Tent", "Packed length"])
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table.locator("tbody tr").nth(1).get_by_role("cell")).to_have_text(["Family", "65 cm"])
    # The Markdown is the text typed, and the preview sits beside it at desktop width.
    expect(page.locator("#kb-body")).to_have_value(BODY)
    form = page.locator("#article-form").bounding_box()
    side = page.locator(".kb-preview-card").bounding_box()
    assert form is not None
    assert side is not None
    assert side["x"] >= form["x"] + form["width"], (form, side)
    _fits(page, DESKTOP["width"])
    page.screenshot(path=str(ARTIFACTS / "knowledge-editor-preview.png"), full_page=True)

    # Created, as a draft: version 1.
    page.click("#kb-save")
    expect(page.locator("#knowledge-notice")).to_have_text("Article created.")
    expect(page).to_have_url(re.compile(rf"^{re.escape(s.base)}/knowledge/[0-9a-f-]{{36}}\?"))
    article_id = page.url.split("/knowledge/")[1].split("?")[0]
    editor = f"{s.base}/knowledge/{article_id}?lang=en"
    expect(page.locator("h1")).to_have_text(TITLE)
    state = page.locator("#kb-state")
    expect(state).to_contain_text("draft")
    expect(state).to_contain_text("version 1")
    expect(page.locator("#view-public")).to_have_count(0)  # nothing for readers yet
    expect(page.locator("#kb-body")).to_have_value(BODY)
    expect(page.locator("#kb-preview h2")).to_have_text(["Before you pack", "Packed sizes"])

    # Saved and published.
    page.get_by_role("button", name="Save and publish").click()
    notice = page.locator("#knowledge-notice")
    expect(notice).to_have_text("Published: readers see this version now.")
    expect(state).to_contain_text("published")
    expect(state).to_contain_text("version 2 is live")
    expect(page.locator("#kb-versions tbody tr")).to_have_count(2)
    expect(page.locator("#version-2")).to_contain_text("live")
    expect(page.get_by_role("navigation", name="Languages")).to_contain_text("EN published")

    # The article in the public help center, with its heading, list and table.
    public = f"/help/{s.ws.workspace.slug}/articles/packing-a-wet-tent"
    link = page.get_by_role("link", name="View in the help center")
    expect(link).to_have_attribute("href", public)
    link.click()
    expect(page).to_have_url(f"{s.base}{public}")
    article = page.locator("article.help-article")
    expect(article.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(article.get_by_role("heading", level=2)).to_have_text(
        ["Before you pack", "Packed sizes"]
    )
    expect(article.locator("li", has_text="Roll the poles separately")).to_have_count(1)
    expect(article.get_by_role("table").get_by_role("cell", name="65 cm")).to_be_visible()
    expect(page.locator(".help-lead")).to_have_text(SUMMARY)
    page.screenshot(path=str(ARTIFACTS / "knowledge-public-article.png"), full_page=True)

    # Back to the editor: the text edited and saved as a draft with a note.
    page.go_back()
    expect(page).to_have_url(re.compile(rf"/knowledge/{article_id}(\?.*)?$"))
    expect(page.locator("#kb-body")).to_be_visible()
    page.goto(editor)  # the editor as it is now, not as history kept it
    body = page.locator("#kb-body")
    body.fill(EDITED)
    expect(preview.locator("p").first).to_have_text(
        "A tent packed wet grows mould within two days: air it at home."
    )
    page.fill("#kb-note", "Drying at home")
    page.get_by_role("button", name="Save draft").click()
    expect(notice).to_have_text("Saved as a new version. Readers see it once it is published.")
    expect(state).to_contain_text("draft")
    expect(state).to_contain_text("version 3")
    expect(state).to_contain_text("version 2 is live")
    expect(page.locator("#version-3")).to_contain_text("Drying at home")
    expect(page.locator("#kb-body")).to_have_value(EDITED)

    # Version 1 restored from the versions table: it comes back as version 4.
    versions = page.locator("#kb-versions")
    expect(versions.locator("tbody tr")).to_have_count(3)
    expect(page.locator("#version-3").get_by_role("button", name="Restore")).to_have_count(0)
    page.locator("#version-1").get_by_role("button", name="Restore").click()
    expect(notice).to_have_text("Restored as the newest version (publish it to show it).")
    expect(versions.locator("tbody tr")).to_have_count(4)
    row = page.locator("#version-4")
    expect(row).to_be_visible()
    expect(row).to_contain_text("restored version 1")
    expect(row).to_contain_text(TITLE)
    expect(state).to_contain_text("version 4")
    expect(page.locator("#kb-body")).to_have_value(BODY)
    expect(preview.locator("p").first).to_have_text("A tent packed wet grows mould within days.")
    page.screenshot(path=str(ARTIFACTS / "knowledge-editor-versions.png"), full_page=True)

    # The list: the article, then found by a search with a typo.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Knowledge").click()
    expect(page).to_have_url(f"{s.base}/knowledge")
    listed = page.locator("#article-packing-a-wet-tent")
    expect(listed).to_contain_text(TITLE)
    expect(listed).to_contain_text("EN · draft")
    page.fill("#kb-q", "mowld")
    page.get_by_role("button", name="Search", exact=True).click()
    expect(page).to_have_url(f"{s.base}/knowledge?q=mowld")
    results = page.locator("#kb-results")
    expect(results.locator("h2")).to_have_text("1 answer for “mowld”")
    expect(results).to_contain_text("Also searched for mould")
    expect(results.get_by_role("link", name=TITLE)).to_have_attribute(
        "href", f"/knowledge/{article_id}?lang=en"
    )
    _fits(page, DESKTOP["width"])
    page.screenshot(path=str(ARTIFACTS / "knowledge-list.png"), full_page=True)
    results.get_by_role("link", name=TITLE).click()
    expect(page.locator("h1")).to_have_text(TITLE)

    assert problems == [], problems
    context.close()


def test_the_links_to_the_help_center_open_its_own_page(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    """The console's links to the public help center (the editor's "View in the help
    center", the list's "public help center") open the help center as readers get it:
    its own stylesheet and scripts, not the console's head kept around its body."""
    from playwright.sync_api import expect

    s = served
    r = httpx.post(
        f"{s.base}/api/v1/help/articles",
        json={
            "slug": "returns-window",
            "title": "How long you have to return an order",
            "body": "Send unworn items back within **30 days**.",
            "locale": "en",
            "status": "published",
            "visibility": "public",
        },
        headers=bearer(s.ws.api_token),
    )
    assert r.status_code == 201, r.text
    article_id = r.json()["id"]
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/knowledge/{article_id}")
    page.fill("#email", AGENT)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("How long you have to return an order")

    wrong: list[str] = []
    page.locator("#view-public").click()
    expect(page).to_have_url(f"{s.base}/help/{s.ws.workspace.slug}/articles/returns-window")
    expect(page.locator("article.help-article h1")).to_be_visible()
    if (head := _head(page)) != HELP_HEAD:
        wrong.append(f"#view-public opened the help center with {head}")
    page.screenshot(path=str(ARTIFACTS / "knowledge-view-public.png"), full_page=True)

    page.goto(f"{s.base}/knowledge")
    page.locator("#public-center").click()
    expect(page).to_have_url(f"{s.base}/help/{s.ws.workspace.slug}")
    expect(page.get_by_role("search")).to_be_visible()
    if (head := _head(page)) != HELP_HEAD:
        wrong.append(f"#public-center opened the help center with {head}")

    # Loaded by itself, the page has the help center's head: what the links should give.
    page.goto(f"{s.base}/help/{s.ws.workspace.slug}/articles/returns-window")
    assert _head(page) == HELP_HEAD
    assert wrong == [], wrong
    context.close()


HELP_HEAD = {"stylesheets": ["/static/helpcenter.css"], "console_js": False}


def _head(page: Any) -> dict[str, Any]:
    """The stylesheets the page has, and whether the console's script is in it."""
    found: dict[str, Any] = page.evaluate(
        """() => ({
            stylesheets: [...document.querySelectorAll('link[rel=stylesheet]')]
                .map(l => new URL(l.href).pathname),
            console_js: !!document.querySelector('script[src$="/static/console.js"]'),
        })"""
    )
    return found


def _fits(page: Any, width: int) -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling."""
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"the page is {scroll}px wide on a {width}px screen"


# A 24x16 PNG: a green band over white (drawn so it shows in the screenshots).
def _png(width: int = 24, height: int = 16) -> bytes:
    import struct
    import zlib

    rows = b"".join(
        b"\x00" + (b"\x2f\x6b\x3f" if y < height // 2 else b"\xff\xff\xff") * width
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_an_image_is_uploaded_inserted_previewed_and_shown_to_readers(
    served: Served,
    browser: Any,  # noqa: F811
    tmp_path: Any,
) -> None:
    """In the editor an agent uploads an image, inserts it at the cursor, sees it in the
    preview, publishes, and readers of the help center see it in the article."""
    from playwright.sync_api import expect

    s = served
    r = httpx.post(
        f"{s.base}/api/v1/help/articles",
        json={"slug": "guy-lines", "title": "Tensioning guy lines", "body": "Pull each line taut."},
        headers=bearer(s.ws.api_token),
    )
    assert r.status_code == 201, r.text
    article_id = r.json()["id"]
    image = tmp_path / "guy line knot.png"
    image.write_bytes(_png())
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/knowledge/{article_id}")
    page.fill("#email", AGENT)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#kb-files")).to_contain_text("No images or files yet")
    page.locator("#kb-upload input[type=file]").set_input_files(str(image))
    page.locator("#kb-upload button[type=submit]").click()
    expect(page.locator("#kb-files")).to_contain_text("guy-line-knot.png")
    thumb = page.locator("#kb-files img.kb-thumb")
    expect(thumb).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", thumb.element_handle()) == 24
    page.locator("#kb-body").click()
    page.keyboard.press("End")
    page.locator(".kb-insert-file").click()
    expect(page.locator("#kb-body")).to_have_value(re.compile(r"!\[guy line knot\]\(/help/"))
    preview_img = page.locator("#kb-preview img")
    expect(preview_img).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "knowledge-editor-image.png"), full_page=True)
    page.locator("button[name=then][value=published]").click()
    expect(page.locator("#knowledge-notice")).to_have_text(
        "Published: readers see this version now."
    )
    page.goto(f"{s.base}/help/{s.ws.workspace.slug}/articles/guy-lines")
    shown = page.locator("article.help-article img")
    expect(shown).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth", shown.element_handle()) == 24
    page.screenshot(path=str(ARTIFACTS / "helpcenter-article-image.png"), full_page=True)
    context.close()
