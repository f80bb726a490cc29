"""Privacy in a real browser: an admin finds a request past its due date marked in the
list, records an erase request by email, confirms the erase and reads the receipt."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from accord.govern.access.principal import Principal
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.time import utcnow
from accord.privacy import service as privacy
from accord.privacy.models import PrivacyRequest
from tests.helpers import PASSWORD
from tests.served import Served, served_workspace
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ADMIN = "olga.officer@ridge.test"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("privacy")
    with served_workspace(tmp, "Ridge Outfitters", {ADMIN: "admin"}) as served:
        yield served


def test_an_officer_erases_a_person_and_reads_the_receipt(served: Served, browser: Any) -> None:  # noqa: F811
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:6]
    email = f"ines.{tag}@example.com"
    for body in (
        {
            "userId": f"u-{tag}",
            "anonymousId": f"a-{tag}",
            "traits": {
                "firstName": "Ines",
                "lastName": "Varga",
                "email": email,
                "phone": "+1 415 555 0142",
            },
        },
        {
            "userId": f"u-{tag}",
            "event": "Order Completed",
            "properties": {"order_id": f"R-{tag}", "total": 59},
        },
    ):
        kind = "track" if "event" in body else "identify"
        sent = httpx.post(f"{served.base}/v1/{kind}", json=body, auth=(served.ws.write_key, ""))
        assert sent.status_code == 200, sent.text
    # A request that came in weeks ago and is past its due date.
    engine = create_db_engine(served.url)
    workspace_id = served.ws.workspace.id
    with transaction(create_session_factory(engine)) as session:
        late = privacy.create(
            session,
            Principal.cli(workspace_id),
            kind="access",
            identifier_type="email",
            identifier_value="old.request@example.com",
            note="Letter of 3 November",
        )
        session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.id == late.id)
            .values(due_at=utcnow() - timedelta(days=3))
        )
    engine.dispose()

    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(f"{served.base}/login?next=/privacy")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("nav.sidebar a[href='/privacy']")).to_have_class("active")
    expect(page.locator("#requests tr.overdue")).to_contain_text("overdue")
    page.select_option("#new-request select[name=kind]", "erase")
    page.fill("#new-request input[name=identifier_value]", email)
    page.fill("#new-request input[name=note]", "Asked by email; identity checked")
    page.screenshot(path=str(ARTIFACTS / "privacy-requests.png"), full_page=True)
    page.click("#new-request button[type=submit]")
    expect(page.locator("#found")).to_contain_text("1 profile")
    page.once("dialog", lambda d: d.accept())
    page.click("#erase")
    expect(page.locator("#request-status")).to_have_text("completed")
    expect(page.locator("#receipt-tables")).to_contain_text("events")
    expect(page.locator("#identifier")).not_to_contain_text(email)
    page.screenshot(path=str(ARTIFACTS / "privacy-receipt.png"), full_page=True)
    lookup = httpx.get(
        f"{served.base}/api/v1/profiles/lookup",
        params={"email": email},
        headers={"Authorization": f"Bearer {served.ws.api_token}"},
    )
    assert lookup.status_code == 404
