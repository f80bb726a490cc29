"""The possible-duplicates review queue in a real browser (Debian's Chromium driven by
Playwright): two profiles side by side with the per-field evidence, accept and reject.
The screenshot lands in test-artifacts/review-queue.png."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from accord.app import create_app
from accord.config import Settings
from accord.demo import service as demo_service
from accord.demo.load import load_retail
from accord.kit import migrate
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.match.tasks import run_workspace
from tests.helpers import live_server
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (the fixture)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def served_review(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, demo_service.DemoInfo]]:
    data_dir = tmp_path_factory.mktemp("review")
    settings = Settings(
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'accord.db'}",
        match_worker=False,
        match_auto_merge=1.0,  # every likely pair waits for a person
    )
    migrate.upgrade(settings.resolved_database_url)
    engine = create_db_engine(settings.resolved_database_url)
    factory = create_session_factory(engine)
    with transaction(factory) as session:
        info = demo_service.ensure_demo(session, {})
    workspace_id = uuid.UUID(info.workspace_id)
    load_retail(factory, workspace_id, customers=80)
    run = run_workspace(factory, workspace_id, settings, trigger="test")
    assert run.status == "done"
    assert run.proposed >= 3
    engine.dispose()
    with live_server(create_app(settings)) as base:
        yield base, info


def test_review_queue_shows_both_profiles_with_evidence_and_decides(
    served_review: tuple[str, demo_service.DemoInfo],
    browser,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    base, info = served_review
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 1000})
    page = context.new_page()
    page.goto(f"{base}/login?next=/customers/duplicates")
    page.fill("#email", info.admin_email)
    page.fill("#password", info.admin_password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/customers/duplicates")
    cards = page.locator("#candidates .pair")
    expect(cards.first).to_be_visible()
    before = cards.count()
    assert before >= 3
    first = cards.first
    expect(first.locator("table.evidence")).to_contain_text("Last name")
    expect(first.locator("table.evidence")).to_contain_text("exact")
    expect(first).to_contain_text("Match probability")
    page.screenshot(path=str(ARTIFACTS / "review-queue.png"), full_page=False)

    # Accept the first: the two become one customer, with the merge in its history.
    names = first.locator("thead a")
    customer_url = names.first.get_attribute("href")
    first.locator("text=Same person: merge").click()
    expect(page).to_have_url(f"{base}/customers/duplicates")
    expect(cards).to_have_count(before - 1)
    # Reject the next: it leaves the queue.
    cards.first.locator("text=Different people").click()
    expect(cards).to_have_count(before - 2)

    page.goto(f"{base}{customer_url}")
    expect(page.locator("#merges")).to_contain_text("probabilistic")
    expect(page.locator("#merges")).to_contain_text("Undo merge")
    page.screenshot(path=str(ARTIFACTS / "review-merged-customer.png"), full_page=True)
    context.close()
