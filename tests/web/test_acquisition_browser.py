"""Analytics > Acquisition in a real browser (Debian's Chromium through Playwright): an
analyst creates a campaign and a short link with the forms, downloads the link's QR code
(SVG and PNG), follows the short link as a visitor would (redirected with the campaign's
UTM parameters), and sees the click counted, the return tables and the charts.
Screenshots land in test-artifacts/."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.helpers import PASSWORD
from tests.served import Served, served_workspace
from tests.web.test_browser import ARTIFACTS, browser

pytestmark = pytest.mark.browser
__all__ = ["browser"]
ANALYST = "cam.paign@ridge.test"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("acquisition")
    with served_workspace(tmp, "Ridge Outfitters", {ANALYST: "analyst"}) as served:
        _seed(served)
        yield served


def _send(s: Served, kind: str, **message: Any) -> None:
    key = base64.b64encode(f"{s.ws.write_key}:".encode()).decode()
    r = httpx.post(f"{s.base}/v1/{kind}", json=message, headers={"Authorization": f"Basic {key}"})
    assert r.status_code == 200, r.text


def _seed(s: Served) -> None:
    """A few customers from a search engine, a social network and a newsletter."""
    shop = "https://ridge.example/"
    arrivals = [
        ("ada", {"referrer": "https://www.google.com/"}, None, 180),
        ("bo", {"referrer": "https://l.facebook.com/"}, None, 0),
        ("cy", {}, {"source": "newsletter", "medium": "email", "name": "spring-news"}, 95),
        ("dee", {"referrer": "https://www.google.com/"}, None, 60),
    ]
    for user, page, campaign, total in arrivals:
        context: dict[str, Any] = {"page": {"url": shop, **page}}
        if campaign:
            context["campaign"] = campaign
        _send(s, "page", anonymousId=f"anon-{user}", context=context)
        _send(s, "identify", anonymousId=f"anon-{user}", userId=user)
        if total:
            _send(
                s,
                "track",
                userId=user,
                event="Order Completed",
                properties={"order_id": f"O-{user}", "total": total},
            )


def test_a_campaign_its_link_its_qr_code_and_a_click(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{s.base}/login?next=/analytics/acquisition")
    page.fill("#email", ANALYST)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#nav-acquisition")).to_have_attribute("aria-current", "page")
    expect(page.locator("#no-campaigns")).to_be_visible()
    expect(page.locator("#roi-by-source")).to_contain_text("google")

    # A campaign through the form.
    page.fill("#campaign-name", "Trail Magazine")
    page.select_option("#campaign-channel", "print")
    page.fill("#campaign-source", "trail-mag")
    page.fill("#campaign-cost", "250")
    page.fill("#campaign-currency", "USD")
    page.click("#save-campaign")
    expect(page.locator("#acquisition-notice")).to_contain_text("Campaign saved")
    card = page.locator("article[id^=campaign-]")
    expect(card).to_contain_text("utm_campaign=trail-magazine")
    expect(card).to_contain_text("No short link yet")

    # Its short link, to a page of the site (here, a page this server has).
    destination = f"{s.base}/health"
    card.locator("input[name=destination]").fill(destination)
    card.locator("input[name=label]").fill("Full page, p. 12")
    card.locator("button", has_text="Add short link").click()
    expect(page.locator("#acquisition-notice")).to_contain_text("Short link added")
    short = page.locator("a.short-url").first
    short_url = short.get_attribute("href")
    assert short_url
    code = short_url.rsplit("/", 1)[1]
    row = page.locator(f"#link-{code}")
    expect(row.locator(".clicks")).to_have_text("0")
    page.screenshot(path=str(ARTIFACTS / "acquisition-campaign.png"), full_page=True)

    # The QR code, as SVG for print and as PNG.
    with page.expect_download() as svg:
        row.locator("a.qr-svg").click()
    assert svg.value.suggested_filename == f"qr-{code}.svg"
    svg_text = Path(svg.value.path()).read_text(encoding="utf-8")
    assert "<svg" in svg_text
    assert f"/l/{code}" in svg_text
    with page.expect_download() as png:
        row.locator("a.qr-png").click()
    assert Path(png.value.path()).read_bytes().startswith(b"\x89PNG")
    qr_page = context.new_page()
    inline = base64.b64encode(svg_text.encode()).decode()
    qr_page.set_content(f'<img id="qr" src="data:image/svg+xml;base64,{inline}" width="240">')
    qr_page.locator("#qr").screenshot(path=str(ARTIFACTS / "acquisition-qr.png"))
    qr_page.close()

    # A visitor scans it: the click is recorded and they land with the campaign's UTM.
    visitor = browser.new_context()
    scan = visitor.new_page()
    scan.goto(f"{s.base}/l/{code}")
    landed = urlsplit(scan.url)
    assert landed.path == "/health"
    assert parse_qs(landed.query) == {
        "utm_source": ["trail-mag"],
        "utm_medium": ["print"],
        "utm_campaign": ["trail-magazine"],
    }
    assert any(c["name"] == "accord_aid" for c in visitor.cookies())
    visitor.close()
    missing = httpx.get(f"{s.base}/l/not-a-code")
    assert missing.status_code == 404

    page.reload()
    expect(row.locator(".clicks")).to_contain_text("1")
    expect(card).to_contain_text("1 click")
    expect(page.locator("#roi-by-campaign")).to_contain_text("Trail Magazine")
    expect(page.locator("#revenue-cost svg[role=img]")).to_be_visible()
    expect(page.locator("#acquired-by-channel svg[role=img]")).to_be_visible()
    expect(page.locator("#acquired-by-channel figcaption")).not_to_be_empty()
    page.screenshot(path=str(ARTIFACTS / "acquisition-page.png"), full_page=True)

    # A bad destination is refused beside its field.
    card.locator("input[name=destination]").evaluate("el => el.type = 'text'")
    card.locator("input[name=destination]").fill("ftp://files.example/x")
    card.locator("button", has_text="Add short link").click()
    expect(page.locator("#destination-error")).to_contain_text("http")

    # The Customer 360 says where a customer came from.
    found = httpx.get(
        f"{s.base}/api/v1/profiles/lookup",
        params={"user_id": "cy"},
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
    )
    page.goto(f"{s.base}/customers/{found.json()['id']}")
    acquisition = page.locator("#customer-acquisition")
    expect(acquisition.locator("#first-touch")).to_contain_text("Email")
    expect(acquisition.locator("#first-touch")).to_contain_text("spring-news")
    expect(acquisition.locator("#last-touch")).to_contain_text("before the first order")
    acquisition.screenshot(path=str(ARTIFACTS / "acquisition-360-card.png"))
    assert errors == []
    context.close()
