"""Analytics > Service in a real browser (Debian's Chromium through Playwright): the
dashboards over the demo inbox, costs set through their form, a filter changed, a data
table opened, a chart's CSV downloaded; screenshots land in test-artifacts/."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.web.test_browser import ARTIFACTS, browser, served_demo, sign_in

pytestmark = pytest.mark.browser
__all__ = ["browser", "served_demo"]


def test_service_dashboards(served_demo, browser) -> None:  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect

    base, info = served_demo
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Costs first, so the cost charts have something to show.
    sign_in(page, base, info, "/analytics/costs")
    expect(page.locator("#costs-form")).to_be_visible()
    page.fill("input[name=currency]", "USD")
    page.fill("input[name=agent_hourly]", "36")
    page.fill("input[name=fixed_phone]", "1.20")
    page.fill("input[name=fixed_chat]", "0.40")
    page.fill("input[name=fixed_email]", "0.05")
    page.click("text=Save costs")
    expect(page.locator(".alert.success")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "analytics-costs.png"), full_page=True)

    page.goto(f"{base}/analytics")
    expect(page.locator("#service-figures")).to_contain_text("Chat abandonment")
    expect(page.locator("#service-figures")).to_contain_text("Cost per conversation")
    for key in ("channel-mix", "first-response", "resolution", "csat", "cost-by-channel"):
        expect(page.locator(f"#{key} svg[role=img]")).to_be_visible()
    expect(page.locator("#channel-mix figcaption")).not_to_be_empty()
    expect(page.locator("#by-agent")).to_contain_text("Maya Lopez")
    page.screenshot(path=str(ARTIFACTS / "analytics-dashboards.png"), full_page=True)
    page.locator("#channel-mix").screenshot(path=str(ARTIFACTS / "analytics-chart-mix.png"))

    # A data table opens under its chart.
    table = page.locator("#first-response details table")
    expect(table).to_be_hidden()
    page.click("#first-response details > summary")
    expect(table).to_be_visible()
    expect(table.locator("thead")).to_contain_text("Median")

    # A filter: only email, over 90 days (by week).
    page.select_option("select[name=channel]", "email")
    page.select_option("select[name=days]", "90")
    page.click("#service-filters button[type=submit]")
    expect(page).to_have_url(
        f"{base}/analytics?days=90&bucket=&team=&agent=&channel=email&priority="
    )
    expect(page.locator("#service-scope")).to_contain_text("by week")
    expect(page.locator("select[name=channel]")).to_have_value("email")
    expect(page.locator("#channel-mix details thead")).to_contain_text("email")
    expect(page.locator("#channel-mix details thead")).not_to_contain_text("chat")

    # The chart's CSV, with the filters the page shows.
    with page.expect_download() as download:
        page.click("#channel-mix a[data-export=csv]")
    assert download.value.suggested_filename == "channel-mix.csv"
    text = Path(download.value.path()).read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Period", "email"]
    assert len(rows) > 1
    with page.expect_download() as image:
        page.click("#cost-by-channel a[data-export=svg]")
    assert Path(image.value.path()).read_text(encoding="utf-8").startswith("<?xml")
    page.screenshot(path=str(ARTIFACTS / "analytics-dashboards-email.png"), full_page=True)

    # At phone width the charts stay readable (they scroll inside their card).
    phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
    sign_in(phone, base, info, "/analytics")
    expect(phone.locator("#first-response svg[role=img]")).to_be_visible()
    phone.screenshot(path=str(ARTIFACTS / "analytics-dashboards-phone.png"))
    phone.locator("#channel-mix").scroll_into_view_if_needed()
    phone.screenshot(path=str(ARTIFACTS / "analytics-chart-phone.png"))
    phone.context.close()
    assert errors == []
    context.close()
