"""The Customer 360's merge history in a real browser (Debian's Chromium through
Playwright): undoing a merge asks first (a dismissed question changes nothing), the
other profile is linked, and the identifiers the split moved back offer no undo of their
own; the people list shows the latest seen first. Screenshots land in test-artifacts/."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.served import Served, served_workspace, signed_in
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
AGENT = "jo.agent@ridge.test"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("customer")
    with served_workspace(tmp, "Ridge Outfitters", {AGENT: "agent"}) as served:
        yield served


def _send(s: Served, kind: str, **message: Any) -> None:
    key = base64.b64encode(f"{s.ws.write_key}:".encode()).decode()
    r = httpx.post(f"{s.base}/v1/{kind}", json=message, headers={"Authorization": f"Basic {key}"})
    assert r.status_code == 200, r.text


def _profile(s: Served, **query: str) -> str:
    r = httpx.get(
        f"{s.base}/api/v1/profiles/lookup",
        params=query,
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def test_undoing_a_merge_asks_first_and_links_the_other_profile(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    _send(s, "identify", userId="u-7", traits={"email": "dana@example.com", "name": "Dana Ortiz"})
    _send(
        s,
        "identify",
        anonymousId="pos-3",
        traits={"name": "D. Ortiz (walk-in)", "phone": "+15035550177"},
        context={"channel": "store"},
    )
    walk_in = _profile(s, phone="+15035550177")
    _send(s, "identify", anonymousId="pos-3", traits={"email": "dana@example.com"})
    main = _profile(s, email="dana@example.com")
    page = signed_in(browser, s.base, AGENT, f"/customers/{main}")
    merges = page.locator("#merges")
    expect(merges).to_contain_text("Merged in")
    expect(merges).to_contain_text("D. Ortiz (walk-in)")
    page.screenshot(path=str(ARTIFACTS / "customer-merge-history.png"), full_page=True)

    # Dismissed: nothing happens.
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", dismiss)
    page.get_by_role("button", name="Undo merge").click()
    page.wait_for_timeout(500)
    assert asked
    assert "D. Ortiz (walk-in)" in asked[0]
    expect(page.locator("#undone")).to_have_count(0)
    expect(merges.get_by_role("button", name="Undo merge")).to_have_count(1)

    # Accepted: the merge is undone and the other profile is a link away.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo merge").click()
    notice = page.locator("#undone")
    expect(notice).to_contain_text("Merge undone")
    expect(merges).to_contain_text("Identifiers moved")
    expect(merges.get_by_role("button", name="Undo merge")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "customer-merge-undone.png"), full_page=True)
    notice.get_by_role("link").click()
    expect(page).to_have_url(f"{s.base}/customers/{walk_in}")
    expect(page.locator("#customer-name")).to_have_text("D. Ortiz (walk-in)")
    expect(page.locator("#merges").get_by_role("button", name="Undo merge")).to_have_count(0)
    expect(page.locator(f'#merges a[href="/customers/{main}"]').first).to_be_visible()
    page.context.close()


def test_the_people_list_shows_the_latest_seen_first(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    """Three people last seen on three days, sent out of order: the list shows them
    newest first, and a search keeps that order."""
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    for user, name, day in (
        ("u-list-2", "Brook Listerton", "2026-03-02"),
        ("u-list-3", "Cary Listerton", "2026-03-03"),
        ("u-list-1", "Avery Listerton", "2026-03-01"),
    ):
        _send(s, "identify", userId=user, traits={"name": name}, timestamp=f"{day}T10:00:00Z")
    page = signed_in(browser, s.base, AGENT, "/customers?q=listerton")
    rows = page.locator("#customers tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.nth(0)).to_contain_text("Cary Listerton")
    expect(rows.nth(0)).to_contain_text("2026-03-03 10:00")
    expect(rows.nth(1)).to_contain_text("Brook Listerton")
    expect(rows.nth(2)).to_contain_text("Avery Listerton")
    page.screenshot(path=str(ARTIFACTS / "customers-latest-seen-first.png"), full_page=True)
    page.context.close()
