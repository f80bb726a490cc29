"""Journeys end to end over real transports on loopback, on both databases: a cart
abandonment journey triggered by a tracked event sends its email through a real SMTP
relay after its wait (the job engine wakes it), a person without marketing consent is
skipped with the reason, the holdout receives nothing, the click comes back as an event,
and the purchase (the goal) ends the journey; the report shows the funnel and the goal
against the holdout. Then the rules of definitions and versions."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from accord.app import create_app
from accord.kit.errors import AccordError
from accord.outreach.journeys.definition import parse
from accord.outreach.journeys.engine import in_holdout
from tests.helpers import Committed, bearer, live_server
from tests.outreach import helpers
from tests.smtp_sink import Sink, wait_until

CART = {
    "trigger": {"kind": "event", "event": "Checkout Started"},
    "goal": {"event": "Order Completed"},
    "holdout_percent": 40,
    "steps": [
        {"id": "wait", "kind": "wait", "seconds": 1},
        {
            "id": "reminder",
            "kind": "email",
            "subject": "{{ person.first_name }}, you left something behind",
            "html": '<p>Your cart: <a href="https://shop.example/cart">finish</a></p>',
            "text": "Your cart: https://shop.example/cart",
        },
        {"id": "later", "kind": "wait", "seconds": 86400},
        {
            "id": "second",
            "kind": "email",
            "subject": "Still thinking?",
            "text": "https://shop.example/cart",
        },
    ],
}


def test_a_cart_abandonment_journey_sends_tracks_and_ends_on_the_purchase(
    committed: Committed, smtp_sink: Sink
) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(
        resolve_worker=False, resolve_inline=True, jobs_worker=True, imap_poll_seconds=0
    )
    # Ten people: the journey's random id puts 40% of them in its holdout; of six, the
    # five who may be sent to were all held out about once in a hundred runs.
    people = helpers.PEOPLE
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        helpers.mailbox(api, smtp_sink)
        helpers.send_people(base, ws.write_key, people)
        r = api.post("/api/v1/outreach/journeys", json={"name": "Cart", "definition": CART})
        assert r.status_code == 201, r.text
        journey = r.json()
        assert journey["status"] == "draft"
        r = api.post(f"/api/v1/outreach/journeys/{journey['id']}/publish")
        assert r.status_code == 200, r.text
        assert (r.json()["status"], r.json()["version"]) == ("active", 1)
        ids = {email: helpers.person_id(api, email) for _, _, email in people}
        r = api.post(
            f"/api/v1/profiles/{ids['ben@example.com']}/consent",
            json={"channel": "email", "purpose": "marketing", "status": "denied", "source": "form"},
        )
        assert r.status_code == 201, r.text
        held_out = {
            e
            for e, pid in ids.items()
            if in_holdout(uuid.UUID(journey["id"]), uuid.UUID(pid), CART["holdout_percent"])
        }
        for uid, _, _ in people:
            helpers.track(base, ws.write_key, uid, "Checkout Started", cart_id=f"c-{uid}")
        expected = set(ids) - held_out - {"ben@example.com"}
        messages = smtp_sink.wait_for(len(expected), timeout=40)
        time.sleep(0.5)
        assert {str(m["To"]) for m in smtp_sink.messages} == expected
        one = messages[0]
        name = str(one["To"]).split("@")[0].capitalize()
        assert one["Subject"] == f"{name}, you left something behind"

        def entries() -> dict[str, dict[str, Any]]:
            rows = api.get(f"/api/v1/outreach/journeys/{journey['id']}/entries").json()["data"]
            return {r["profile_id"]: r for r in rows}

        now = entries()
        assert len(now) == len(people)
        for email, pid in ids.items():
            entry = now[pid]
            if email in held_out:
                assert (entry["status"], entry["holdout"]) == ("holdout", True)
            else:
                assert (entry["status"], entry["step"]) == ("waiting", "second")
        if "ben@example.com" not in held_out:
            messages_of_ben = api.get(
                f"/api/v1/outreach/people/{ids['ben@example.com']}/messages"
            ).json()["data"]
            assert [(m["status"], m["code"]) for m in messages_of_ben] == [
                ("refused", "no_consent")
            ]
            assert "denied consent to marketing by email" in messages_of_ben[0]["reason"]

        # The click comes back on the person's timeline.
        clicker = ids[str(one["To"])]
        html = one.get_body(("html",)).get_content()  # type: ignore[union-attr]
        link = re.search(r'href="([^"]+/r/[^"]+)"', html)
        assert link is not None
        r = httpx.get(f"{base}{urlsplit(link.group(1)).path}", follow_redirects=False)
        assert r.status_code == 302
        assert r.headers["location"] == "https://shop.example/cart"

        def clicked() -> bool:
            events = api.get(f"/api/v1/profiles/{clicker}/timeline").json()["data"]
            return any(e.get("name") == "Email Link Clicked" for e in events)

        wait_until(clicked)

        # The purchase is the goal: the journey ends for them, at once.
        uid = next(u for u, _, e in people if e == str(one["To"]))
        helpers.track(base, ws.write_key, uid, "Order Completed", order_id=f"o-{uid}", total=80)

        def ended() -> bool:
            return bool(entries()[clicker]["status"] == "goal")

        wait_until(ended)
        mine = api.get(f"/api/v1/outreach/people/{clicker}/journeys").json()["data"]
        assert [(m["journey_id"], m["status"]) for m in mine] == [(journey["id"], "goal")]

        report = api.get(f"/api/v1/outreach/journeys/{journey['id']}/report").json()
        funnel = {s["step"]: s["reached"] for s in report["funnel"]}
        in_journey = len(people) - len(held_out)
        assert funnel["wait"] == in_journey
        assert funnel["reminder"] == in_journey
        assert funnel["second"] == 0
        assert report["reached_goal"] == 1
        assert report["holdout"] == len(held_out)
        assert report["messages"]["sent"] == len(expected)

        # Triggered again while still in it: the re-entry rule keeps them in one entry.
        helpers.track(base, ws.write_key, people[0][0], "Checkout Started", cart_id="again")
        time.sleep(1.5)
        assert len(entries()) == len(people)


def test_definitions_are_checked_and_always_end() -> None:
    parse(CART)
    loop = {
        "trigger": {"kind": "manual"},
        "steps": [
            {"id": "a", "kind": "wait", "seconds": 1},
            {"id": "b", "kind": "branch", "condition": {"kind": "opened", "step": "a"}, "yes": "a"},
        ],
    }
    with pytest.raises(AccordError) as raised:
        parse(loop)
    assert raised.value.code == "invalid_journey"
    assert "reached again" in raised.value.message
    with pytest.raises(AccordError) as raised:
        parse({"trigger": {"kind": "event"}, "steps": [{"id": "x", "kind": "exit"}]})
    assert "names its event" in raised.value.message
    with pytest.raises(AccordError) as raised:
        parse(
            {
                "trigger": {"kind": "manual"},
                "steps": [{"id": "x", "kind": "wait", "seconds": 1, "next": "nowhere"}],
            }
        )
    assert "no step" in raised.value.message


def test_people_who_enter_a_segment_enter_its_journey(committed: Committed) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(
        resolve_worker=False, resolve_inline=True, jobs_worker=True, imap_poll_seconds=0
    )
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        helpers.send_people(base, ws.write_key, helpers.PEOPLE[:2])  # in it before
        segment_id = helpers.segment(api)
        definition = {
            "trigger": {"kind": "segment", "segment_id": segment_id},
            "steps": [{"id": "wait", "kind": "wait", "seconds": 3600}],
        }
        r = api.post("/api/v1/outreach/journeys", json={"name": "Team A", "definition": definition})
        assert r.status_code == 201, r.text
        journey = r.json()
        assert api.post(f"/api/v1/outreach/journeys/{journey['id']}/publish").status_code == 200
        # The resolver knows which topics segments depend on as of at most 5 s ago (a
        # change it was not told of is evaluated by the minutely sweep instead).
        time.sleep(5.5)
        helpers.send_people(base, ws.write_key, helpers.PEOPLE[2:5])  # they enter it now
        newcomers = {helpers.person_id(api, e) for _, _, e in helpers.PEOPLE[2:5]}

        def entered() -> set[str]:
            rows = api.get(f"/api/v1/outreach/journeys/{journey['id']}/entries").json()["data"]
            people = {r["profile_id"] for r in rows if r["step"] is None}  # first wait begun
            return people if people >= newcomers else set()

        people = wait_until(entered)
        # Only those who entered the segment after the journey was published.
        assert people == newcomers
        rows = api.get(f"/api/v1/outreach/journeys/{journey['id']}/entries").json()["data"]
        assert {(r["status"], r["step"]) for r in rows} == {("waiting", None)}
