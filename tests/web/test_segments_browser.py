"""Segments in a real browser (Debian's Chromium through Playwright): a workspace of
people sent through the tracking API; the builder made with the mouse and keyboard
(a trait with suggested values, a nested group negated, an event with a property test
and a count), the live estimate following each change, the JSON view, saving onto the
segment's page with its size chart and members, why a member is in it and a non-member
is not, and the segment on the member's Customer 360. Screenshots land in
test-artifacts/."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from accord.analyze.segments.models import SegmentSize
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.time import utcnow
from tests.helpers import PASSWORD
from tests.served import Served, served_workspace
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ANALYST = "sam.analyst@ridge.test"
PEOPLE = {
    # user: (name, plan, city)
    "ada": ("Ada Moreau", "VIP", "Paris"),
    "bo": ("Bo Larsen", "VIP", "Boston"),
    "cy": ("Cy Park", "free", "Paris"),
    "dee": ("Dee Quinn", "Pro", "Lyon"),
    "eli": ("Eli Stone", "VIP", "London"),
    "fay": ("Fay Chen", "free", "Boston"),
}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("segments")
    with served_workspace(tmp, "Ridge Outfitters", {ANALYST: "analyst"}) as served:
        _seed(served)
        yield served


def _send(s: Served, kind: str, **message: Any) -> None:
    key = base64.b64encode(f"{s.ws.write_key}:".encode()).decode()
    r = httpx.post(f"{s.base}/v1/{kind}", json=message, headers={"Authorization": f"Basic {key}"})
    assert r.status_code == 200, r.text


def _seed(s: Served) -> None:
    for user, (name, plan, city) in PEOPLE.items():
        _send(
            s,
            "identify",
            userId=user,
            traits={
                "email": f"{user}@example.com",
                "name": name,
                "plan": plan,
                "address": {"city": city},
            },
        )
    for user, total in (("ada", 320), ("ada", 120), ("bo", 90), ("cy", 40)):
        _send(s, "track", userId=user, event="Order Completed", properties={"total": total})
    _send(s, "track", userId="eli", event="Product Viewed", properties={"category": "tents"})
    r = httpx.post(
        f"{s.base}/api/v1/computed-traits",
        json={
            "key": "order_total",
            "name": "Order total",
            "event": "Order Completed",
            "aggregate": "sum",
            "property": "total",
        },
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
    )
    assert r.status_code == 201, r.text


def _profile(s: Served, email: str) -> str:
    r = httpx.get(
        f"{s.base}/api/v1/profiles/lookup",
        params={"email": email},
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
    )
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _past_sizes(s: Served, segment_id: str) -> None:
    """Sizes of earlier days, as the segment would have recorded them had it existed
    (the chart draws what the days held)."""
    import uuid

    engine = create_db_engine(s.url)
    today = utcnow().date()
    with transaction(create_session_factory(engine)) as session:
        session.execute(
            insert(SegmentSize),
            [
                {
                    "segment_id": uuid.UUID(segment_id),
                    "workspace_id": s.ws.workspace.id,
                    "day": (today - timedelta(days=days)).isoformat(),
                    "size": size,
                }
                for days, size in ((60, 2), (45, 3), (20, 2))
            ],
        )
    engine.dispose()


def test_build_a_segment_save_it_and_explain_it(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/segments")
    page.fill("#email", ANALYST)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("#nav-segments")).to_have_attribute("aria-current", "page")
    expect(page.locator("#segments-empty")).to_contain_text("No segments yet")

    page.click("#new-segment")
    expect(page.locator("h1")).to_have_text("New segment")
    page.fill("#segment-name", "VIP buyers outside Boston")
    page.fill("#segment-description", "VIPs who ordered twice, wherever they live but Boston")
    estimate = page.locator("#estimate")
    expect(estimate).to_contain_text("Add a condition")

    # A trait: plan is VIP, with the workspace's values suggested.
    page.get_by_role("button", name="+ Condition").last.click()
    row = page.locator('.sg-cond[data-path="root.0"]')
    expect(row.get_by_label("Condition", exact=True)).to_be_focused()
    expect(row.get_by_label("Condition", exact=True)).to_have_value("trait")
    row.get_by_label("Trait", exact=True).fill("plan")
    expect(estimate).to_contain_text("Waiting for a value")
    value = row.get_by_label("Value", exact=True)
    value.click()
    expect(row.locator("datalist option[value=VIP]")).to_have_count(1)
    value.fill("VIP")
    size = page.locator("#estimate-size")
    expect(size).to_have_text("3")
    expect(estimate).to_contain_text("3 of 6 people")
    expect(page.locator("#estimate-people")).to_contain_text("Eli Stone")

    # A group, negated: not (city is Boston).
    page.get_by_role("button", name="+ Group").first.click()
    group = page.locator('.sg-group:has(> .sg-group-head [data-key="root.1:kind"])')
    inner = page.locator('.sg-cond[data-path="root.1.0"]')
    inner.get_by_label("Condition", exact=True).select_option("location")
    expect(inner.get_by_label("Where", exact=True)).to_have_value("country")
    inner.get_by_label("Where", exact=True).select_option("city")
    inner.get_by_label("Value", exact=True).fill("Boston")
    expect(size).to_have_text("1")  # VIP and in Boston: Bo
    group.locator('.sg-group-head input[type="checkbox"]').check()
    expect(page.locator('.sg-group-head [data-key="root.1:not"]')).to_be_checked()
    expect(size).to_have_text("2")  # VIPs but Bo: Ada and Eli

    # An event with a property test and a count: Order Completed twice, total above 100.
    page.get_by_role("button", name="+ Condition").last.click()
    third = page.locator('.sg-cond[data-path="root.2"]')
    third.get_by_label("Condition", exact=True).select_option("event")
    third.get_by_label("Event", exact=True).fill("Order Completed")
    expect(size).to_have_text("1")  # at least once: Ada (Eli never ordered)
    third.get_by_role("button", name="+ where property…").click()
    prop = third.get_by_label("Property", exact=True)
    expect(prop).to_be_focused()
    prop.fill("total")
    third.locator('[data-key="root.2.w0:op"]').select_option("gt")
    third.locator('[data-key="root.2.w0:value"]').fill("100")
    third.get_by_label("Happened", exact=True).select_option("gte")
    third.get_by_label("Times", exact=True).fill("2")
    expect(size).to_have_text("1")
    third.get_by_label("Times", exact=True).fill("3")
    expect(size).to_have_text("0")
    third.get_by_label("Times", exact=True).fill("2")
    expect(size).to_have_text("1")
    expect(page.locator("#estimate-people")).to_contain_text("Ada Moreau")

    # The JSON view holds the same tree, as the REST API takes it.
    page.locator("#json-view summary").click()
    tree = json.loads(page.locator("#definition").input_value())
    assert tree == {
        "kind": "all",
        "conditions": [
            {"kind": "trait", "field": "plan", "op": "eq", "value": "VIP"},
            {
                "kind": "not",
                "condition": {
                    "kind": "any",
                    "conditions": [
                        {"kind": "location", "field": "city", "op": "eq", "value": "Boston"}
                    ],
                },
            },
            {
                "kind": "event",
                "name": "Order Completed",
                "where": [{"property": "total", "op": "gt", "value": 100}],
                "count": {"op": "gte", "value": 2},
                "within": None,
            },
        ],
    }
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "segments-builder.png"), full_page=True)

    page.get_by_role("button", name="Save and build").click()
    expect(page.locator("#saved-notice")).to_contain_text("Saved and built: 1 person is in it")
    expect(page.locator("h1#segment-name")).to_contain_text("VIP buyers outside Boston")
    segment_id = page.url.split("/segments/")[1].split("?")[0]
    words = page.locator("#definition")
    expect(words).to_contain_text("plan is VIP")
    expect(words).to_contain_text("city is Boston")
    expect(words).to_contain_text("Order Completed with total is more than 100 at least 2 times")
    expect(page.locator("#members")).to_contain_text("Ada Moreau")
    expect(page.locator("#history")).to_contain_text("Entered")

    # The chart, with earlier days' sizes.
    _past_sizes(s, segment_id)
    page.reload()
    chart = page.locator("svg.sg-chart")
    expect(chart).to_be_visible()
    expect(chart.locator("desc")).to_contain_text("highest 3")
    page.screenshot(path=str(ARTIFACTS / "segments-page.png"), full_page=True)

    # Why a member is in it, and why a non-member is not.
    page.fill("#explain-person", "ada@example.com")
    page.get_by_role("button", name="Explain").click()
    verdict = page.locator("#explain-verdict")
    expect(verdict).to_contain_text("Ada Moreau is in this segment")
    # Only the group under the "not" and its condition (the city) fail: the "not" holds.
    expect(page.locator("#explain-tree .fails")).to_have_count(2)
    expect(page.locator("#explain-tree li.sg-not")).to_have_class(re.compile(r"\bholds\b"))
    expect(page).to_have_url(f"{s.base}/segments/{segment_id}?days=90&person=ada%40example.com")
    page.locator("#explain").screenshot(path=str(ARTIFACTS / "segments-explain-member.png"))

    page.fill("#explain-person", "bo@example.com")
    page.get_by_role("button", name="Explain").click()
    expect(verdict).to_contain_text("Bo Larsen is not in this segment")
    fails = page.locator("#explain-tree > li.fails > .sg-line")
    expect(fails).to_contain_text("all of")
    expect(page.locator("#explain-tree li.sg-not.fails")).to_have_count(1)
    page.locator("#explain").screenshot(path=str(ARTIFACTS / "segments-explain-non-member.png"))

    # The member's Customer 360 lists the segment.
    page.locator("#members").get_by_role("link", name="Ada Moreau", exact=True).click()
    expect(page.locator("#customer-name")).to_have_text("Ada Moreau")
    card = page.locator("#customer-segments")
    expect(card.locator("#current-segments")).to_contain_text("VIP buyers outside Boston")
    expect(card.locator("#segment-changes")).to_contain_text("Entered")
    expect(card.locator("#computed-traits")).to_contain_text("order_total")
    expect(card.locator("#computed-traits")).to_contain_text("440")
    card.screenshot(path=str(ARTIFACTS / "segments-customer-360.png"))
    page.screenshot(path=str(ARTIFACTS / "segments-customer-360-page.png"), full_page=True)

    # The list: size, status and the actions, then the segment edited again.
    page.locator("#nav-segments").click()
    listed = page.locator("#segments tr", has_text="VIP buyers outside Boston")
    expect(listed).to_contain_text("1")
    expect(listed).to_contain_text("active")
    page.screenshot(path=str(ARTIFACTS / "segments-list.png"), full_page=True)
    listed.get_by_role("link", name="Edit").click()
    expect(page.locator("h1")).to_have_text("Edit segment")
    expect(
        page.locator('.sg-cond[data-path="root.2"]').get_by_label("Times", exact=True)
    ).to_have_value("2")
    expect(page.locator("#estimate-size")).to_have_text("1")
    assert _profile(s, "ada@example.com") in page.locator("#estimate-people a").first.get_attribute(
        "href"
    )

    # Duplicated: the copy opens in the builder; archived (after a question) and restored.
    page.locator("#nav-segments").click()
    listed.get_by_role("button", name="Duplicate VIP buyers outside Boston").click()
    expect(page.locator("#copied-notice")).to_contain_text("This is a copy of")
    expect(page.locator("#segment-name")).to_have_value("VIP buyers outside Boston (copy)")
    page.locator("#nav-segments").click()
    copy = page.locator("#segments tr", has_text="(copy)")
    page.once("dialog", lambda dialog: dialog.accept())
    copy.get_by_role("button", name="Archive VIP buyers outside Boston (copy)").click()
    expect(page.locator("#segments-notice")).to_contain_text("(copy)” archived")
    expect(page.locator("#segments tr", has_text="(copy)")).to_have_count(0)
    page.get_by_role("link", name="Archived 1").click()
    archived = page.locator("#segments tr", has_text="(copy)")
    expect(archived).to_contain_text("archived")
    page.screenshot(path=str(ARTIFACTS / "segments-list-archived.png"), full_page=True)
    archived.get_by_role("button", name="Restore VIP buyers outside Boston (copy)").click()
    expect(page.locator("#segments-notice")).to_contain_text("restored")
    expect(page.locator("#segments tr", has_text="(copy)")).to_contain_text("1")

    # At phone width the segment's page stacks.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{s.base}/segments/{segment_id}?person=bo%40example.com")
    expect(page.locator("#explain-verdict")).to_contain_text("is not in this segment")
    page.screenshot(path=str(ARTIFACTS / "segments-page-phone.png"), full_page=True)
    context.close()


KINDS: list[tuple[str, list[tuple[str, str, str]], int | None]] = [
    # kind, the fields to set (how, label or data-key, value), the size expected
    ("trait", [("fill", "Trait", "plan"), ("op", "op", "in"), ("key", "list", "VIP, Pro")], 4),
    ("location", [("select", "Where", "city"), ("fill", "Value", "Paris")], 2),
    ("value", [("select", "Profile value", "order_count"), ("key", "value", "1")], None),
    ("computed", [("op", "op", "gt"), ("fill", "Value", "100")], 1),
    (
        "event",
        [
            ("fill", "Event", "Order Completed"),
            ("select", "When", "last"),
            ("fill", "How many", "7"),
        ],
        3,
    ),
    (
        "sequence",
        [
            ("fill", "First this event", "Product Viewed"),
            ("fill", "…not followed by", "Order Completed"),
        ],
        0,
    ),
    ("identifier", [("fill", "Identifier type", "email")], 6),
    ("consent", [("select", "Consent for", "marketing"), ("select", "Is", "denied")], 0),
    ("service", [("select", "Fact", "conversations"), ("fill", "Number", "0")], 6),
    ("segment", [("select", "The person", "false")], 4),
]


def test_every_kind_of_condition_makes_a_definition_the_api_takes(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    """Each kind of condition, set with its form row, sends a definition the estimate
    accepts, with the size it should have."""
    from playwright.sync_api import expect

    s = served
    paris = {"kind": "location", "field": "city", "op": "eq", "value": "Paris"}
    r = httpx.post(
        f"{s.base}/api/v1/segments",
        json={"name": "Parisians", "definition": paris},
        headers={"Authorization": f"Bearer {s.ws.api_token}"},
    )
    assert r.status_code == 201, r.text
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/segments/new")
    page.fill("#email", ANALYST)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("button", name="+ Condition").last.click()
    row = page.locator('.sg-cond[data-path="root.0"]')
    for kind, steps, expected in KINDS:
        with page.expect_response("**/segments/estimate") as answer:
            row.get_by_label("Condition", exact=True).select_option(kind)
            for how, where, value in steps:
                if how == "fill":
                    row.get_by_label(where, exact=True).fill(value)
                elif how == "select":
                    row.get_by_label(where, exact=True).select_option(value)
                elif how == "op":
                    row.locator('[data-key="root.0:op"]').select_option(value)
                elif how == "key":
                    row.locator(f'[data-key="root.0:{where}"]').fill(value)
        assert answer.value.status == 200, (kind, answer.value.text())
        tree = json.loads(page.locator("#definition").input_value())
        assert tree["conditions"][0]["kind"] == kind
        if expected is not None:
            expect(page.locator("#estimate-size")).to_have_text(str(expected))
        row.screenshot(path=str(ARTIFACTS / f"segments-kind-{kind}.png"))
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "segments-builder-kinds.png"), full_page=True)
    context.close()


def test_the_builder_by_keyboard_and_by_its_json(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    """Every control is reached with Tab and labelled; a redraw keeps the focus where it
    was; Enter in a field does not save a half-built segment; the JSON typed in its view
    redraws the conditions without moving the cursor."""
    from playwright.sync_api import expect

    s = served
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/segments/new")
    page.fill("#email", ANALYST)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("New segment")
    add = page.get_by_role("button", name="+ Condition").last
    add.focus()
    page.keyboard.press("Enter")
    row = page.locator('.sg-cond[data-path="root.0"]')
    kind = row.get_by_label("Condition", exact=True)
    expect(kind).to_be_focused()
    # Location, chosen with the arrow key: the row is drawn again, the focus stays.
    page.keyboard.press("ArrowDown")
    expect(kind).to_have_value("location")
    expect(row.get_by_label("Where", exact=True)).to_be_visible()
    expect(row.get_by_label("Condition", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(row.get_by_label("Where", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    expect(row.get_by_label("Operator", exact=True)).to_be_focused()
    page.keyboard.press("Tab")
    value = row.get_by_label("Value", exact=True)
    expect(value).to_be_focused()
    page.keyboard.type("FR")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{s.base}/segments/new")
    expect(page.locator("#estimate-size")).to_have_text("0")
    page.keyboard.press("Tab")
    expect(row.get_by_label("Not", exact=True)).to_be_focused()
    page.keyboard.press("Space")
    expect(page.locator('.sg-cond[data-path="root.0"]')).to_have_class(re.compile("negated"))
    expect(page.locator("#estimate-size")).to_have_text("6")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Remove this condition")).to_be_focused()

    # Typed in the JSON view: the conditions follow.
    page.locator("#json-view summary").click()
    area = page.locator("#definition")
    area.fill("")
    area.press_sequentially(
        '{"kind": "any", "conditions": [{"kind": "consent", "channel": "email", '
        '"purpose": "marketing", "status": "none"}]}',
        delay=2,
    )
    expect(page.locator("#json-status")).to_contain_text("follow the JSON")
    consent = page.locator('.sg-cond[data-path="root.0"]')
    expect(consent).to_have_attribute("data-kind", "consent")
    expect(consent.get_by_label("Is", exact=True)).to_have_value("none")
    expect(page.locator("#estimate-size")).to_have_text("6")
    assert area.input_value().startswith('{"kind": "any"')  # as typed, not rewritten
    area.press("End")
    area.press_sequentially(" x")
    expect(page.locator("#json-status")).to_contain_text("Not valid JSON yet")

    # At phone width the builder stacks: the conditions, then the size.
    page.goto(f"{s.base}/segments/new")
    page.get_by_role("button", name="+ Condition").last.click()
    page.locator('[data-key="root.0:field"]').fill("plan")
    page.locator('[data-key="root.0:value"]').fill("VIP")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("#estimate-size")).to_have_text("3")
    page.screenshot(path=str(ARTIFACTS / "segments-builder-phone.png"), full_page=True)
    context.close()
