"""Journeys in a real browser (Debian's Chromium through Playwright): a cart abandonment
journey created from its template, its first wait changed to a second, a step added,
moved and removed, then published; ten people and their "Checkout Started" events sent
through the tracking API, the served app's job consumer taking their steps and the
support mailbox's relay (an SMTP sink on loopback) receiving the reminders; the report's
funnel showing people at the email step, the entries, and a person's journeys on the
Customer 360. Screenshots land in test-artifacts/."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.helpers import free_port
from tests.outreach import helpers
from tests.served import Served, served_workspace, signed_in
from tests.smtp_sink import Sink, listening
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ANALYST = "sam.analyst@northwind.test"


@pytest.fixture(scope="module")
def sink() -> Iterator[Sink]:
    with listening(Sink(port=free_port())) as found:
        yield found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, sink: Sink) -> Iterator[Served]:
    """The workspace, served with its job consumer (it takes the steps and sends)."""
    tmp = tmp_path_factory.mktemp("journeys")
    with served_workspace(
        tmp, "Northwind Outdoor", {ANALYST: "analyst"}, jobs_worker=True
    ) as served:
        helpers.mailbox(served.api(), sink)
        yield served


def test_build_publish_and_follow_a_cart_abandonment_journey(
    served: Served,
    sink: Sink,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = signed_in(browser, s.base, ANALYST, "/outreach/journeys")
    expect(page.locator("#nav-journeys")).to_have_attribute("aria-current", "page")
    expect(page.locator("#journeys-empty")).to_contain_text("No journeys yet")

    # From the template: its steps in order, trigger and goal at the top.
    page.click("#new-journey")
    page.locator("label[for=template-cart_abandonment]").click()
    page.screenshot(path=str(ARTIFACTS / "journeys-new.png"), full_page=True)
    page.click("#create-journey")
    expect(page.locator("#journey-notice")).to_contain_text("Draft created")
    steps = page.locator("article.jy-step")
    cart = ["wait-1h", "reminder", "wait-1d", "opened", "second-reminder", "end"]
    expect(steps).to_have_count(6)
    assert [steps.nth(i).get_attribute("data-step") for i in range(6)] == cart
    expect(page.locator("#trigger-event")).to_have_value("Checkout Started")
    expect(page.locator("#goal-event")).to_have_value("Order Completed")
    expect(page.locator("#step-opened .jy-j-yes")).to_contain_text("If yes → end")

    # The first wait down to a second; a step added after it (saved with the change).
    first = page.locator("#step-wait-1h")
    first.locator("input[name='steps.0.amount']").fill("1")
    first.locator("select[name='steps.0.unit']").select_option("seconds")
    page.locator(".jy-item").nth(0).locator(".jy-add summary").click()
    page.locator(".jy-item").nth(0).locator(".jy-add button", has_text="Wait for an event").click()
    expect(page.locator("#journey-notice")).to_have_text("Saved.")
    added = page.locator("#step-wait-event-1")
    expect(added).to_be_visible()
    assert [steps.nth(i).get_attribute("data-step") for i in range(3)] == [
        "wait-1h",
        "wait-event-1",
        "reminder",
    ]
    expect(page.locator("#step-wait-1h select[name='steps.0.unit']")).to_have_value("seconds")
    page.screenshot(path=str(ARTIFACTS / "journeys-editor-added.png"), full_page=True)

    # Moved down below the email, then removed.
    page.get_by_role("button", name="Move wait-event-1 down").click()
    expect(steps.nth(2)).to_have_attribute("data-step", "wait-event-1")
    expect(page.locator("#journey-notice")).to_have_text("Saved.")
    page.get_by_role("button", name="Remove wait-event-1").click()
    expect(steps).to_have_count(6)
    expect(page.locator("#journey-notice")).to_have_text("Saved.")
    assert [steps.nth(i).get_attribute("data-step") for i in range(6)] == cart

    # A mistake is shown by its step, then mended.
    page.locator("input[name='steps.1.subject']").fill("")
    page.click("#save-journey")
    error = page.locator("#step-reminder .jy-error")
    expect(error).to_contain_text("An email needs a subject and a body")
    expect(page.locator("#journey-error")).to_have_text(
        "Not saved. Step 2 (reminder): An email needs a subject and a body"
    )
    page.screenshot(path=str(ARTIFACTS / "journeys-editor-error.png"), full_page=True)
    page.locator("input[name='steps.1.subject']").fill(
        "{{ person.first_name | default('Hello') }}, you left something behind"
    )

    # Published (after a question): version 1.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#publish-journey")
    expect(page.locator("#journey-notice")).to_contain_text("Published as version 1")
    expect(page.locator("#journey-status")).to_have_text("active")
    page.screenshot(path=str(ARTIFACTS / "journeys-editor.png"), full_page=True)
    journey_id = page.url.split("/outreach/journeys/")[1].split("?")[0].split("#")[0]

    # People start checking out: the job engine takes their steps, the reminders go.
    helpers.send_people(s.base, s.ws.write_key)
    for uid, _, _ in helpers.PEOPLE:
        helpers.track(s.base, s.ws.write_key, uid, "Checkout Started", cart_id=f"c-{uid}")
    api = s.api()

    def reached() -> int:
        report = api.get(f"/api/v1/outreach/journeys/{journey_id}/report").json()
        return next(x["reached"] for x in report["funnel"] if x["step"] == "reminder")

    def due_to_reach() -> int:
        rows = api.get(f"/api/v1/outreach/journeys/{journey_id}/entries").json()["data"]
        return sum(1 for r in rows if not r["holdout"]) if len(rows) == 10 else -1

    # Everyone but the holdout reaches the reminder (and the funnel stops moving).
    deadline = time.monotonic() + 40
    while (reached() != due_to_reach() or reached() == 0) and time.monotonic() < deadline:
        time.sleep(0.5)
    n = reached()
    assert n == due_to_reach() > 0
    sink.wait_for(1, timeout=40)

    page.click("#tab-report")
    expect(page.locator("#tab-report")).to_have_attribute("aria-current", "page")
    expect(page.locator("#funnel svg")).to_be_visible()
    expect(page.locator("#funnel-caption")).to_contain_text("People who reached each step")
    email_row = page.locator("#funnel .chart-table tbody tr", has_text="reminder · Email")
    expect(email_row.first.locator("td")).to_have_text(str(n))
    expect(page.locator("#goal-words")).to_contain_text("Order Completed")
    rows = page.locator("#entry-list tbody tr")
    expect(rows).to_have_count(10)
    page.screenshot(path=str(ARTIFACTS / "journeys-report.png"), full_page=True)

    # A person waiting a day after the reminder (for the branch), on their Customer 360.
    waiting = page.locator("#entry-list tbody tr[data-status=waiting]").first
    expect(waiting).to_contain_text("next: opened")
    waiting.locator("a").first.click()
    expect(page.locator("#customer-name")).to_be_visible()
    card = page.locator("#person-journeys")
    expect(card).to_contain_text("Cart abandonment")
    expect(card).to_contain_text("next: opened")
    expect(card).to_contain_text("until")
    sent = page.locator("#messages li[data-status=sent]", has_text="Cart abandonment")
    expect(sent).to_contain_text("reminder")
    page.locator("#customer-messages").screenshot(path=str(ARTIFACTS / "journeys-360-card.png"))
    page.screenshot(path=str(ARTIFACTS / "journeys-360.png"), full_page=True)

    # The list, then the editor and report at phone width.
    page.locator("#nav-journeys").click()
    row = page.locator("#journeys tr", has_text="Cart abandonment")
    expect(row).to_contain_text("active")
    page.screenshot(path=str(ARTIFACTS / "journeys-list.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{s.base}/outreach/journeys/{journey_id}")
    expect(page.locator("#journey-title")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "journeys-editor-phone.png"), full_page=True)
    page.locator("#journey-settings").screenshot(
        path=str(ARTIFACTS / "journeys-settings-phone.png")
    )
    page.locator("#step-opened").screenshot(path=str(ARTIFACTS / "journeys-branch-phone.png"))
    page.goto(f"{s.base}/outreach/journeys/{journey_id}/report")
    expect(page.locator("#funnel svg")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "journeys-report-phone.png"), full_page=True)
    page.context.close()
