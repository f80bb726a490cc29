"""The journey editor's date trigger and its task, webhook and audience steps in a real
browser (Debian's Chromium through Playwright): a blank journey made to start on the
date a trait holds (a week before, once), with a task for an agent, a webhook and an
audience step added in the editor (the destinations made first through the API), saved,
published and read again after a reload; a step with no destination refused beside it;
then the re-engage template (a text, a wait, a call) opened and published as it is.
Screenshots land in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.served import Served, served_workspace, signed_in
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ANALYST = "sam.analyst@northwind.test"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("journey-steps")
    with served_workspace(tmp, "Northwind Outdoor", {ANALYST: "analyst"}) as served:
        yield served


def _destination(s: Served, name: str) -> str:
    with s.api() as api:
        r = api.post("/api/v1/destinations", json={"name": name, "url": "http://127.0.0.1:9/in"})
        assert r.status_code == 201, r.text
        return str(r.json()["id"])


def _add(page: Any, after: int, kind: str) -> None:
    """Open the add menu below step ``after`` (-1: at the start) and pick ``kind``."""
    menu = page.locator(".jy-gap .jy-add") if after < 0 else page.locator(".jy-item").nth(after)
    menu.locator(".jy-add summary").first.click()
    menu.locator(".jy-add button", has_text=kind).first.click()


def test_a_dated_journey_with_a_task_a_webhook_and_an_audience(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    page = signed_in(browser, s.base, ANALYST, "/outreach/journeys/new")

    # A blank journey; with no destination yet, a webhook step says where to make one.
    page.locator("label[for=template-blank]").click()
    page.fill("#journey-name", "Renewal reminders")
    page.click("#create-journey")
    expect(page.locator("#journey-notice")).to_contain_text("Draft created")
    _add(page, 0, "Webhook")
    expect(page.locator("#journey-error")).to_contain_text("A webhook step names its destination")
    card = page.locator("#step-webhook-1")
    expect(card.locator(".jy-error")).to_have_text("A webhook step names its destination")
    expect(card.locator(".jy-none")).to_contain_text("POST /api/v1/destinations")
    card.screenshot(path=str(ARTIFACTS / "journeys-webhook-none.png"))
    card.get_by_role("button", name="Remove webhook-1").click()
    expect(page.locator("#journey-notice")).to_have_text("Saved.")

    crm = _destination(s, "CRM")
    ads = _destination(s, "Ad network")

    # The date trigger: shown once chosen.
    expect(page.locator("#trigger-field")).to_be_hidden()
    page.select_option("#trigger-kind", "date")
    expect(page.locator("#trigger-field")).to_be_visible()
    expect(page.locator("#trigger-event")).to_be_hidden()
    page.fill("#trigger-field", "renewal_date")
    page.fill("#trigger-days-before", "7")
    page.check("#trigger-once")

    # A task after the wait, then a webhook and an audience after it (each add saves).
    _add(page, 0, "Task for an agent")
    expect(page.locator("#journey-notice")).to_have_text("Saved.")
    task = page.locator("#step-task-1")
    expect(task).to_be_visible()
    task.locator("input[name='steps.1.subject']").fill(
        "Call {{ person.first_name }}: renewal in a week"
    )
    task.locator("textarea[name='steps.1.text']").fill("Offer the two-year plan.")
    task.locator("select[name='steps.1.via']").select_option("email")
    task.locator("select[name='steps.1.priority']").select_option("high")
    _add(page, 1, "Webhook")
    expect(page.locator("#journey-notice")).to_have_text("Saved.")
    webhook = page.locator("#step-webhook-1")
    expect(webhook.locator("select[name='steps.2.destination_id']")).to_have_value(ads)
    webhook.locator("select[name='steps.2.destination_id']").select_option(label="CRM")
    _add(page, 2, "Audience")
    expect(page.locator("#journey-notice")).to_have_text("Saved.")
    audience = page.locator("#step-audience-1")
    audience.locator("select[name='steps.3.action']").select_option("remove")
    audience.locator("input[name='steps.3.audience']").fill("Renewing soon")
    steps = page.locator("article.jy-step")
    expect(steps).to_have_count(5)
    assert [steps.nth(i).get_attribute("data-step") for i in range(5)] == [
        "wait-1",
        "task-1",
        "webhook-1",
        "audience-1",
        "end",
    ]
    page.screenshot(path=str(ARTIFACTS / "journeys-steps-editor.png"), full_page=True)

    # Published, then read again from the server.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#publish-journey")
    expect(page.locator("#journey-notice")).to_contain_text("Published as version 1")
    page.reload()
    expect(page.locator("#trigger-kind")).to_have_value("date")
    expect(page.locator("#trigger-field")).to_have_value("renewal_date")
    expect(page.locator("#trigger-days-before")).to_have_value("7")
    expect(page.locator("#trigger-once")).to_be_checked()
    expect(page.locator("#trigger-every-year")).not_to_be_checked()
    expect(task.locator("input[name='steps.1.subject']")).to_have_value(
        "Call {{ person.first_name }}: renewal in a week"
    )
    expect(task.locator("textarea[name='steps.1.text']")).to_have_value("Offer the two-year plan.")
    expect(task.locator("select[name='steps.1.via']")).to_have_value("email")
    expect(task.locator("select[name='steps.1.priority']")).to_have_value("high")
    expect(webhook.locator("select[name='steps.2.destination_id']")).to_have_value(crm)
    expect(audience.locator("select[name='steps.3.destination_id']")).to_have_value(ads)
    expect(audience.locator("select[name='steps.3.action']")).to_have_value("remove")
    expect(audience.locator("input[name='steps.3.audience']")).to_have_value("Renewing soon")
    expect(page.locator("#journey-version")).to_contain_text("Version 1 published")
    page.screenshot(path=str(ARTIFACTS / "journeys-steps-published.png"), full_page=True)
    page.locator("#journey-settings").screenshot(path=str(ARTIFACTS / "journeys-date-trigger.png"))
    task.screenshot(path=str(ARTIFACTS / "journeys-task-step.png"))
    audience.screenshot(path=str(ARTIFACTS / "journeys-audience-step.png"))

    # A missing task subject is refused beside the task.
    task.locator("input[name='steps.1.subject']").fill("")
    page.click("#save-journey")
    expect(page.locator("#step-task-1 .jy-error")).to_have_text("A task needs a subject")
    expect(page.locator("#journey-error")).to_have_text(
        "Not saved. Step 2 (task-1): A task needs a subject"
    )

    # The list names the trigger; the re-engage template opens and publishes as it is.
    page.goto(f"{s.base}/outreach/journeys")
    row = page.locator("#journeys tr", has_text="Renewal reminders")
    expect(row).to_contain_text("7 days before the date in renewal_date, once")
    page.click("#new-journey")
    page.locator("label[for=template-re_engage]").click()
    page.click("#create-journey")
    expect(page.locator("#journey-notice")).to_contain_text("Draft created")
    expect(steps).to_have_count(3)
    assert [steps.nth(i).get_attribute("data-step") for i in range(3)] == [
        "text",
        "wait-7d",
        "call",
    ]
    expect(page.locator("#step-call .jy-kind")).to_have_text("Task for an agent")
    expect(page.locator("#step-call select[name='steps.2.via']")).to_have_value("phone")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#publish-journey")
    expect(page.locator("#journey-notice")).to_contain_text("Published as version 1")
    expect(page.locator("#journey-status")).to_have_text("active")
    page.screenshot(path=str(ARTIFACTS / "journeys-re-engage.png"), full_page=True)

    # At phone width.
    page.set_viewport_size({"width": 390, "height": 844})
    page.locator("#step-call").screenshot(path=str(ARTIFACTS / "journeys-task-phone.png"))
    page.context.close()


def test_the_composer_offers_the_usual_hour(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = signed_in(browser, served.base, ANALYST, "/outreach/campaigns/new")
    box = page.locator("#campaign-usual-hour")
    expect(box).not_to_be_checked()
    page.get_by_label("Send each person's message at the hour they are usually active").check()
    expect(box).to_be_checked()
    page.locator("fieldset.oc-measure").screenshot(path=str(ARTIFACTS / "campaign-usual-hour.png"))
    page.context.close()
