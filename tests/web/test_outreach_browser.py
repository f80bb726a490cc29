"""Campaigns in a real browser (Debian's Chromium through Playwright): ten people sent in
through the tracking API, a segment of them, the support mailbox's relay pointing at an
SMTP sink on loopback and the served app's job consumer delivering. A campaign composed
with the keyboard (the live preview following the subject as it is typed, a person
picked to preview as, a broken template shown under its field), a test sent, the
campaign launched and followed to "sent" on its page, then its report with the charts,
the holdout comparison and the recipients, and the message on a person's Customer 360.
Screenshots land in test-artifacts/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.helpers import free_port
from tests.outreach import helpers
from tests.served import Served, served_workspace, signed_in
from tests.smtp_sink import Sink, listening
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ANALYST = "sam.analyst@northwind.test"
SUBJECT = "{{ person.first_name }}, the spring sale starts today"
HTML = (
    '<html><body>\n<h1 style="font-family:sans-serif">Spring sale</h1>\n'
    "<p>Hi {{ person.first_name }},</p>\n"
    '<p>Everything for the trail is 20% off this week. <a href="https://shop.example/spring">'
    "See the sale</a></p>\n</body></html>"
)


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with listening(Sink(port=free_port())) as found:
        yield found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sink: Sink) -> Iterator[Served]:
    """The workspace, served with its job consumer (it delivers the campaign)."""
    tmp = tmp_path_factory.mktemp("outreach")
    with served_workspace(
        tmp, "Northwind Outdoor", {ANALYST: "analyst"}, jobs_worker=True
    ) as served:
        api = served.api()
        helpers.mailbox(api, sink)
        r = api.put(
            "/api/v1/outreach/settings",
            json={
                "postal_address": "Northwind Outdoor, 1 Harbour Road, Portland ME 04101",
                # Slow enough to watch the progress move.
                "email_per_second": 1.5,
            },
        )
        assert r.status_code == 200, r.text
        helpers.send_people(served.base, served.ws.write_key)
        helpers.segment(api, "Trail club")
        yield served


def test_compose_test_launch_and_read_the_report(
    served: Served,
    sink: Sink,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = signed_in(browser, s.base, ANALYST, "/outreach/campaigns")
    expect(page.locator("#nav-campaigns")).to_have_attribute("aria-current", "page")
    expect(page.locator("#campaigns-empty")).to_contain_text("No campaigns yet")

    # The composer: the preview follows the subject as it is typed.
    page.click("#new-campaign")
    expect(page.locator("h1")).to_have_text("New campaign")
    page.fill("#campaign-name", "Spring sale")
    page.select_option("#campaign-segment", label="Trail club · 10 people")
    page.fill("#campaign-from-name", "Northwind Outdoor")
    subject = page.locator("#campaign-subject")
    subject.click()
    subject.press_sequentially(SUBJECT, delay=5)
    preview_subject = page.locator("#preview-subject")
    expect(preview_subject).to_have_text("Alex, the spring sale starts today")
    page.fill("#campaign-html", HTML)
    frame = page.frame_locator("#preview-frame")
    expect(frame.locator("p").first).to_have_text("Hi Alex,")
    expect(frame.locator("body")).to_contain_text("1 Harbour Road")  # the footer
    page.fill("#campaign-text", "Hi {{ person.first_name }}, the sale: https://shop.example/spring")
    page.fill("#campaign-holdout", "20")

    # Preview as a person found by name.
    page.locator("#person-search").press_sequentially("ivy", delay=20)
    ivy = page.locator("#people-found label", has_text="ivy@example.com")
    expect(ivy).to_be_visible()
    ivy.locator("input").check()
    expect(preview_subject).to_have_text("Ivy, the spring sale starts today")
    expect(page.locator("#preview-as")).to_contain_text("ivy@example.com")
    expect(frame.locator("p").first).to_have_text("Hi Ivy,")

    # A broken template: the error under the field, with its line; then mended.
    page.fill("#campaign-html", HTML.replace("{{ person.first_name }},", "{{ person.first_name ,"))
    html_error = page.locator("#html-error")
    expect(html_error).to_contain_text("Line 3")
    expect(page.locator("#preview-error")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "outreach-composer-error.png"), full_page=True)
    page.fill("#campaign-html", HTML)
    expect(html_error).to_have_text("")
    expect(frame.locator("p").first).to_have_text("Hi Ivy,")
    page.screenshot(path=str(ARTIFACTS / "outreach-composer.png"), full_page=True)

    # A test to a colleague: the draft is saved, the test rendered as Ivy.
    page.fill("#test-address", "sam@northwind.example")
    page.click("#send-test")
    expect(page.locator("#composer-notice")).to_contain_text("a test sent to sam@northwind.example")
    [test] = sink.wait_for(1)
    assert test["Subject"] == "[Test] Ivy, the spring sale starts today"
    assert str(test["To"]) == "sam@northwind.example"
    expect(page.locator("h1")).to_contain_text("Edit campaign")
    expect(preview_subject).to_have_text("Ivy, the spring sale starts today")

    # Launched (after a question): the page follows the sending to its end.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#launch-now")
    expect(page.locator("#campaign-notice")).to_contain_text("Launched")
    progress = page.locator("#campaign-progress")
    expect(progress).to_have_attribute("data-status", "sending")
    expect(page.locator("#progress-counts [data-status=sent]")).to_be_visible(timeout=20_000)
    page.screenshot(path=str(ARTIFACTS / "outreach-sending.png"), full_page=True)
    expect(page.locator("#progress-status")).to_have_text("Sent", timeout=40_000)
    expect(page.locator("#campaign-status")).to_have_text("sent")
    expect(page.locator("#progress-words")).to_have_text("10 of 10 recipients decided")
    expect(page.locator("#progress-bar")).to_have_attribute("value", "100")
    campaign_id = page.url.split("/outreach/campaigns/")[1].split("?")[0].split("#")[0]

    # The people respond: one clicks the email's link, one sent it and one held out buy.
    messages = sink.wait_for(9)[1:]
    assert len(messages) == 8
    first = messages[0]
    body = first.get_body(("html",))
    assert body is not None
    tracked = re.search(r'href="([^"]+/r/[^"]+)"', str(body.get_content()))  # type: ignore[attr-defined]
    assert tracked is not None
    r = httpx.get(f"{s.base}{urlsplit(tracked.group(1)).path}", follow_redirects=False)
    assert r.status_code == 302
    sends = s.api().get(f"/api/v1/outreach/campaigns/{campaign_id}/sends").json()["data"]
    by_status: dict[str, list[str]] = {}
    for x in sends:
        by_status.setdefault(x["status"], []).append(x["address"].split("@")[0])
    assert len(by_status["holdout"]) == 2
    for n, (user, total) in enumerate(
        ((by_status["sent"][0], 120), (by_status["sent"][1], 80), (by_status["holdout"][0], 40))
    ):
        helpers.track(
            s.base,
            s.ws.write_key,
            user,
            "Order Completed",
            order_id=f"o-{n}",
            total=total,
            currency="USD",
        )

    page.reload()
    expect(page.locator("#figure-sent")).to_have_text("8")
    expect(page.locator("#by-status svg")).to_be_visible()
    expect(page.locator("#funnel svg")).to_be_visible()
    expect(page.locator("#funnel-caption")).to_contain_text("Sent (8)")
    expect(page.locator("#conversion-words")).to_contain_text("of the holdout")
    expect(page.locator("#conversion-words")).to_contain_text("95% CI")
    expect(page.locator("#lift-table")).to_contain_text("Conversion rate")
    expect(page.locator("#link-clicks")).to_contain_text("https://shop.example/spring")
    recipients = page.locator("#recipient-list tbody tr")
    expect(recipients).to_have_count(10)
    page.screenshot(path=str(ARTIFACTS / "outreach-report.png"), full_page=True)

    # The recipients held out, then one of them on their Customer 360.
    page.locator("#recipients .chip", has_text="Holdout").click()
    expect(recipients).to_have_count(2)
    expect(recipients.first).to_contain_text("holdout group")
    page.locator("#recipients .chip", has_text="Sent").click()
    expect(recipients).to_have_count(8)
    recipients.first.locator("a").click()
    expect(page.locator("#customer-name")).to_be_visible()
    card = page.locator("#customer-messages")
    expect(card).to_contain_text("Spring sale")
    expect(card).to_contain_text("sent")
    card.screenshot(path=str(ARTIFACTS / "outreach-customer-360-card.png"))
    page.screenshot(path=str(ARTIFACTS / "outreach-customer-360.png"), full_page=True)

    # The list: the campaign with its counts and rates.
    page.locator("#nav-campaigns").click()
    row = page.locator("#campaigns tr", has_text="Spring sale")
    expect(row).to_contain_text("sent")
    expect(row).to_contain_text("Trail club")
    page.screenshot(path=str(ARTIFACTS / "outreach-campaigns.png"), full_page=True)

    # At phone width the campaign's page stacks.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{s.base}/outreach/campaigns/{campaign_id}")
    expect(page.locator("#campaign-name")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "outreach-report-phone.png"), full_page=True)
    page.locator("#holdout").screenshot(path=str(ARTIFACTS / "outreach-holdout-phone.png"))
    page.goto(f"{s.base}/outreach/campaigns/new")
    expect(page.locator("#people-choices")).to_contain_text("Alex Example")
    expect(page.frame_locator("#preview-frame").locator("p").first).to_have_text("Hi Alex,")
    page.screenshot(path=str(ARTIFACTS / "outreach-composer-phone.png"), full_page=True)
    page.locator("#preview-card").screenshot(path=str(ARTIFACTS / "outreach-preview-phone.png"))
    page.context.close()
