"""Proactive triggers: the rule language alone, then on both databases through the widget's
socket: conditions over visitor facts, frequency caps, the holdout group, edits taking
effect at once, notices to agents, the console editor, and the report (shown, accepted,
converted within N days, lift against the holdout)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.chat import rules, triggers
from accord.chat.models import ChatTriggerShow, ChatVisitor
from accord.chat.service import ChatContext
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.context import InboxContext
from accord.kit.db import transaction
from tests.chat.test_chat import socket_url, start
from tests.chat.test_chat_console import admin_console
from tests.helpers import Committed, bearer

# --- the language ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("actual", "op", "expected", "result"),
    [
        ("https://shop.example/checkout/step-2", "glob", "*/checkout*", True),
        ("https://shop.example/cart", "glob", "*/checkout*", False),
        ("https://shop.example/p/tent-42", "regex", r"/p/tent-\d+$", True),
        ("https://shop.example/p/TENT-42", "regex", r"/p/tent-\d+$", True),
        ("/pricing", "starts_with", "/pri", True),
        (Decimal("129.50"), ">=", "100", True),
        (Decimal("99.99"), ">=", 100, False),
        (3, "<", "5", True),
        ("DE", "in", "de, at, ch", True),
        ("FR", "in", ["de", "at"], False),
        (True, "is", "true", True),
        (False, "is", True, False),
        ("google.com/search", "contains", "GOOGLE", True),
        (None, "contains", "x", False),
        (None, "is_not", "x", True),
        ("x", "regex", "(", False),
        ("12", "is", "12.0", True),
    ],
)
def test_compare(actual: Any, op: str, expected: Any, result: bool) -> None:
    assert rules.compare(actual, op, expected) is result


def test_events_and_all_or_any() -> None:
    rule = rules.Rule(
        event="time_on_page",
        event_value="30",
        match="all",
        conditions=[
            rules.Condition("path", "glob", "/checkout*"),
            rules.Condition("cart_value", ">", 50),
        ],
    )
    facts = {"path": "/checkout", "cart_value": Decimal("80")}
    assert rule.fires(rules.Event("time_on_page", seconds=30), facts)
    assert not rule.fires(rules.Event("time_on_page", seconds=10), facts)
    assert not rule.fires(rules.Event("page_view"), facts)
    assert not rule.fires(rules.Event("time_on_page", seconds=30), {**facts, "cart_value": 10})
    rule.match = "any"
    assert rule.fires(rules.Event("time_on_page", seconds=30), {**facts, "cart_value": 10})
    custom = rules.Rule(event="custom", event_value="pricing-help")
    assert custom.fires(rules.Event("custom", name="Pricing-Help"), {})
    assert not custom.fires(rules.Event("custom", name="other"), {})


def test_bad_rules_name_the_field() -> None:
    with pytest.raises(rules.RuleError) as bad_fact:
        rules.parse_conditions([{"fact": "shoe_size", "op": "is", "value": 1}])
    assert bad_fact.value.field == "conditions[0].fact"
    with pytest.raises(rules.RuleError) as bad_regex:
        rules.parse_conditions(
            [{"fact": "url", "op": "is"}, {"fact": "url", "op": "regex", "value": "("}]
        )
    assert bad_regex.value.field == "conditions[1].value"
    with pytest.raises(rules.RuleError) as bad_number:
        rules.parse_conditions([{"fact": "cart_value", "op": ">", "value": "lots"}])
    assert bad_number.value.field == "conditions[0].value"
    assert rules.parse_conditions([{"fact": "profile.tier", "op": "is", "value": "gold"}])
    with pytest.raises(rules.RuleError):
        rules.check_event("time_on_page", "")
    with pytest.raises(rules.RuleError) as bad_action:
        rules.check_action({"kind": "article", "title": "Sizes", "url": "javascript:alert(1)"})
    assert bad_action.value.field == "action.url"


def test_holdout_is_stable_and_near_its_share() -> None:
    trigger = uuid.uuid4()
    visitors = [uuid.uuid4() for _ in range(4000)]
    held = [v for v in visitors if rules.in_holdout(trigger, v, 25)]
    assert 800 < len(held) < 1200
    assert all(rules.in_holdout(trigger, v, 25) for v in held)
    assert not any(rules.in_holdout(trigger, v, 0) for v in visitors[:100])


# --- through the socket ---------------------------------------------------------------------


def add_trigger(client: TestClient, ws: ProvisionedWorkspace, **body: Any) -> dict[str, Any]:
    payload = {
        "name": "Checkout help",
        "event": "page_view",
        "conditions": [{"fact": "url", "op": "glob", "value": "*/checkout*"}],
        "action": {"kind": "message", "author": "Maya", "body": "Need a hand?"},
        **body,
    }
    r = client.post("/api/v1/chat/triggers", headers=bearer(ws.api_token), json=payload)
    assert r.status_code == 201, r.text
    return dict(r.json())


def visit(
    client: TestClient, ws: ProvisionedWorkspace, hello: dict[str, Any], *urls: str
) -> list[dict[str, Any]]:
    """Open the visitor's socket, view each page; what the triggers pushed."""
    got: list[dict[str, Any]] = []
    with client.websocket_connect(socket_url(ws, hello)) as sock:
        assert sock.receive_json()["type"] == "hello"
        for url in urls:
            sock.send_json({"type": "page", "url": url, "title": url.rsplit("/", 1)[-1]})
            while (item := sock.receive_json())["type"] != "page_ack":
                got.append(item)
    return got


def test_a_trigger_fires_within_its_cap_and_edits_apply_at_once(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    trigger = add_trigger(chat_client, site)
    hello = start(chat_client, site, "anon-cap")
    pushed = visit(
        chat_client, site, hello, "https://shop.example/", "https://shop.example/checkout"
    )
    assert [p["type"] for p in pushed] == ["proactive"]
    assert pushed[0]["message"]["body"] == "Need a hand?"
    assert pushed[0]["message"]["author"] == "Maya"
    # Capped at one per visitor a day: the next checkout view shows nothing.
    assert visit(chat_client, site, hello, "https://shop.example/checkout?step=2") == []
    # Raise the cap and change the text: the very next event uses the new rule.
    r = chat_client.put(
        f"/api/v1/chat/triggers/{trigger['id']}",
        headers=bearer(site.api_token),
        json={
            "name": "Checkout help",
            "event": "page_view",
            "conditions": [{"fact": "url", "op": "glob", "value": "*/checkout*"}],
            "action": {"kind": "message", "author": "Sam", "body": "Questions about shipping?"},
            "max_per_visitor": 5,
        },
    )
    assert r.status_code == 200, r.text
    [again] = visit(chat_client, site, hello, "https://shop.example/checkout?step=3")
    assert again["message"]["body"] == "Questions about shipping?"
    # A disabled trigger is silent.
    body = {**r.json(), "enabled": False}
    for key in ("id", "updated_at"):
        body.pop(key)
    r = chat_client.put(
        f"/api/v1/chat/triggers/{trigger['id']}", headers=bearer(site.api_token), json=body
    )
    assert r.status_code == 200, r.text
    assert visit(chat_client, site, hello, "https://shop.example/checkout?step=4") == []


def test_conditions_over_visits_cart_and_profile(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    add_trigger(
        chat_client,
        site,
        name="Big carts of known customers",
        match="all",
        conditions=[
            {"fact": "cart_value", "op": ">=", "value": 200},
            {"fact": "identified", "op": "is", "value": True},
            {"fact": "profile.tier", "op": "is", "value": "gold"},
        ],
        action={"kind": "article", "title": "Free returns", "url": "https://shop.example/returns"},
    )
    hello = start(chat_client, site, "anon-gold")
    r = chat_client.post(
        "/v1/identify",
        json={
            "writeKey": site.write_key,
            "anonymousId": "anon-gold",
            "userId": "u-gold",
            "traits": {"email": "gold@example.com", "tier": "gold"},
        },
    )
    assert r.status_code == 200, r.text
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json({"type": "page", "url": "https://shop.example/cart", "cart": 50})
        assert sock.receive_json()["type"] == "page_ack"  # cart too small, not identified
        sock.send_json(
            {"type": "identify", "userId": "u-gold", "traits": {"email": "gold@example.com"}}
        )
        assert sock.receive_json() == {"type": "identified", "verified": False}
        sock.send_json({"type": "cart", "value": 240, "currency": "usd"})
        sock.send_json({"type": "page", "url": "https://shop.example/cart?x=1"})
        article = sock.receive_json()
        assert article == {
            "type": "article",
            "trigger": article["trigger"],
            "title": "Free returns",
            "url": "https://shop.example/returns",
            "body": None,
        }


def test_holdout_is_recorded_not_shown_and_the_report_measures_lift(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    trigger = add_trigger(chat_client, site, holdout_percent=50, convert_days=7)
    trigger_id = uuid.UUID(trigger["id"])
    shown: list[str] = []
    held: list[str] = []
    hellos: dict[str, dict[str, Any]] = {}
    # Visitor ids are random, so the draw is too: visit until both groups are big enough.
    for i in range(60):
        if i >= 12 and len(shown) >= 2 and held:
            break
        anon = f"anon-lift-{i}"
        hello = hellos[anon] = start(chat_client, site, anon)
        pushed = visit(chat_client, site, hello, "https://shop.example/checkout")
        (shown if pushed else held).append(anon)
        expected_holdout = rules.in_holdout(trigger_id, uuid.UUID(hello["visitor_id"]), 50)
        assert bool(pushed) is not expected_holdout
    assert len(shown) >= 2
    assert held
    # One shown visitor answers; two shown visitors and one held-out visitor order.
    with chat_client.websocket_connect(socket_url(site, hellos[shown[0]])) as sock:
        sock.receive_json()
        sock.send_json({"type": "message", "body": "Yes please", "client_id": "1"})
        while sock.receive_json()["type"] != "ack":
            pass
    for n, anon in enumerate([shown[0], shown[1], held[0]]):
        r = chat_client.post(
            "/v1/track",
            json={
                "writeKey": site.write_key,
                "anonymousId": anon,
                "event": "Order Completed",
                "properties": {"order_id": f"o-{anon}-{n}", "total": 80, "currency": "USD"},
            },
        )
        assert r.status_code == 200, r.text
    r = chat_client.get(
        f"/api/v1/chat/triggers/{trigger_id}/report", headers=bearer(site.api_token)
    )
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["shown"] == len(shown)
    assert report["holdout"] == len(held)
    assert report["accepted"] == 1
    assert report["converted"] == 2
    assert report["holdout_converted"] == 1
    expected = (2 / len(shown) - 1 / len(held)) / (1 / len(held))
    assert report["lift"] == pytest.approx(expected)
    with transaction(chat_db.factory) as session:
        rows = session.scalars(
            select(ChatTriggerShow).where(ChatTriggerShow.trigger_id == trigger_id)
        ).all()
        assert sum(1 for r in rows if r.holdout) == len(held)
        # The proactive message the visitor answered sits in the thread before the answer.
        assert any(r.accepted_at is not None and r.conversation_id for r in rows)


def test_notify_action_tells_the_consoles(chat_db: Committed, site: ProvisionedWorkspace) -> None:
    heard: list[dict[str, Any]] = []
    with transaction(chat_db.factory) as session:
        triggers.save(
            session,
            site.workspace.id,
            {
                "name": "Returning big spender",
                "event": "custom",
                "event_value": "pricing-help",
                "action": {"kind": "notify", "body": "A returning visitor needs pricing help"},
            },
        )
    with transaction(chat_db.factory) as session:
        visitor = ChatVisitor(
            workspace_id=site.workspace.id, anonymous_id="anon-notify", traits={}, pages=[], utm={}
        )
        session.add(visitor)
        session.flush()
        inbox = InboxContext.load(
            session,
            site.workspace.id,
            secret_key="k" * 40,
            base_url="http://x",
            publish=lambda _ws, payload: heard.append(payload),
        )
        ctx = ChatContext(inbox=inbox, data_dir=chat_db.data_dir, max_upload_bytes=1024)
        assert triggers.fire(session, ctx, visitor, rules.Event("custom", name="other")) == []
        fired = triggers.fire(session, ctx, visitor, rules.Event("custom", name="pricing-help"))
        assert [f.action["kind"] for f in fired] == ["notify"]
        assert heard == []  # only once committed
    assert heard == [
        {
            "type": "chat",
            "what": "notify",
            "visitor": str(visitor.id),
            "text": "A returning visitor needs pricing help",
            "trigger": "Returning big spender",
        }
    ]


def test_console_editor_saves_and_refuses_bad_rules(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    csrf = admin_console(chat_client, chat_db, site)
    form = {
        "csrf_token": csrf,
        "name": "Pricing page linger",
        "enabled": "on",
        "event": "time_on_page",
        "event_value": "20",
        "match": "all",
        "fact_0": "path",
        "op_0": "regex",
        "value_0": "^/pricing",
        "action_kind": "message",
        "action_author": "Sales team",
        "action_body": "Questions about plans?",
        "max_per_visitor": "2",
        "cap_hours": "24",
        "holdout_percent": "10",
        "convert_days": "14",
    }
    r = chat_client.post("/settings/chat/triggers", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = chat_client.get("/settings/chat")
    assert "Pricing page linger" in page.text
    assert "Questions about plans?" in page.text
    r = chat_client.post(
        "/settings/chat/triggers", data={**form, "name": "Broken", "value_0": "(unclosed"}
    )
    assert r.status_code == 422
    assert "not a valid pattern" in r.text
    assert "Broken" not in chat_client.get("/settings/chat").text
    listed = chat_client.get("/api/v1/chat/triggers", headers=bearer(site.api_token)).json()
    [saved] = [t for t in listed["data"] if t["name"] == "Pricing page linger"]
    assert saved["conditions"] == [{"fact": "path", "op": "regex", "value": "^/pricing"}]
    assert saved["holdout_percent"] == 10
    # The widget is told which timers to watch.
    hello = start(chat_client, site, "anon-timers")
    assert hello["timers"]["time_on_page"] == [20.0]


def test_a_page_told_late_is_recorded_in_its_place_and_fires_nothing(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    """A visitor who leaves a page before the widget's socket opens has it told on the
    next page, with its time: the live visitors panel lists it, no trigger fires."""
    add_trigger(chat_client, site, conditions=[{"fact": "path", "op": "glob", "value": "/tents"}])
    hello = start(chat_client, site, "anon-late")
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        assert sock.receive_json()["type"] == "hello"
        earlier = (datetime.now(UTC) - timedelta(seconds=4)).isoformat()
        sock.send_json(
            {"type": "page", "url": "https://shop.example/tents", "title": "Tents", "at": earlier}
        )
        sock.send_json({"type": "page", "url": "https://shop.example/account", "title": "Account"})
        assert sock.receive_json() == {"type": "page_ack"}  # only the page the visitor is on
        sock.send_json({"type": "page", "url": "https://shop.example/x", "at": "not a time"})
        sock.send_json({"type": "ping"})
    [v] = chat_client.get("/api/v1/chat/visitors", headers=bearer(site.api_token)).json()["data"]
    assert [p["title"] for p in v["pages"]] == ["Tents", "Account"]
    assert v["pages_this_visit"] == 2
    assert v["current_title"] == "Account"
