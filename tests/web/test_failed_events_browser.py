"""Settings > Workspace lists the events that failed to resolve, with their error, and an
admin sends them back to be resolved again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from accord.collect.models import Event
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.resolve import failures
from tests.helpers import PASSWORD
from tests.served import Served, served_workspace
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ADMIN = "ada.admin@ridge.test"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("failed-events")
    with served_workspace(tmp, "Ridge Outfitters", {ADMIN: "admin"}) as served:
        yield served


def test_an_admin_sees_and_retries_failed_events(served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    # An event resolution could not take, as the resolver leaves it.
    sent = httpx.post(
        f"{served.base}/v1/track",
        json={"userId": "u-9", "event": "Order Completed", "properties": {"order_id": "A-9"}},
        auth=(served.ws.write_key, ""),
    )
    assert sent.status_code == 200, sent.text
    engine = create_db_engine(served.url)
    with transaction(create_session_factory(engine)) as session:
        event = session.scalars(select(Event).where(Event.workspace_id == served.ws.workspace.id))
        row = next(iter(event))
        row.status = "pending"
        session.flush()
        failures.mark_failed(
            session, served.ws.workspace.id, row.id, ValueError("numeric field overflow")
        )
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{served.base}/login?next=/settings/workspace")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    table = page.locator("#failed-events-table")
    expect(table).to_contain_text("numeric field overflow")
    expect(table).to_contain_text("Order Completed")
    page.locator("#failed-events").screenshot(path=str(ARTIFACTS / "failed-events.png"))
    page.click("#failed-events >> text=Retry all")
    expect(page.locator("#failed-events-table")).to_contain_text("No failed events")
    with create_session_factory(engine)() as session:
        status = session.scalar(select(Event.status).where(Event.id == row.id))
    assert status in ("pending", "resolved")
    engine.dispose()
