"""A journey's actions besides messages and its date trigger, on both databases: a task
opens a conversation for an agent with its note, a webhook step and an audience step
deliver signed events to a real HTTP server on loopback (the audience step asks consent
for advertising first), and people enter on their birthday or ahead of a renewal date,
once per occurrence."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from accord.app import create_app
from accord.kit.db import read_only, transaction
from accord.outreach.journeys import dates
from accord.outreach.journeys.definition import parse
from accord.outreach.journeys.models import JourneyEntry, JourneyStepLog
from tests.helpers import Committed, bearer, live_server
from tests.outreach import helpers
from tests.smtp_sink import wait_until


class Receiver:
    """A webhook endpoint on 127.0.0.1 keeping what it is sent."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.got]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    found = Receiver()
    yield found
    found.server.shutdown()
    found.server.server_close()


def test_a_task_a_webhook_and_an_audience_step(committed: Committed, receiver: Receiver) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(
        resolve_worker=False, resolve_inline=True, jobs_worker=True, imap_poll_seconds=0
    )
    people = helpers.PEOPLE[:2]
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        helpers.send_people(base, ws.write_key, people)
        r = api.post(
            "/api/v1/destinations",
            json={"name": "CRM", "url": receiver.url},
        )
        assert r.status_code == 201, r.text
        destination, secret = r.json()["id"], r.json()["secret"]
        definition = {
            "trigger": {"kind": "event", "event": "Checkout Started"},
            "steps": [
                {
                    "id": "call",
                    "kind": "task",
                    "subject": "Call {{ person.first_name }} about the cart",
                    "text": "{{ person.first_name }} left a cart; offer help with sizes.",
                    "priority": "high",
                },
                {"id": "crm", "kind": "webhook", "destination_id": destination},
                {
                    "id": "ads",
                    "kind": "audience",
                    "destination_id": destination,
                    "audience": "Cart abandoners",
                },
            ],
        }
        r = api.post("/api/v1/outreach/journeys", json={"name": "VIP", "definition": definition})
        assert r.status_code == 201, r.text
        journey = r.json()["id"]
        assert api.post(f"/api/v1/outreach/journeys/{journey}/publish").status_code == 200
        ben = helpers.person_id(api, "ben@example.com")
        r = api.post(
            f"/api/v1/profiles/{ben}/consent",
            json={"channel": "ads", "purpose": "advertising", "status": "denied", "source": "form"},
        )
        assert r.status_code == 201, r.text
        for uid, _, _ in people:
            helpers.track(base, ws.write_key, uid, "Checkout Started", cart_id=f"c-{uid}")
        # Ana: a journey step and an audience entry; Ben: the journey step only.
        wait_until(lambda: len(receiver.got) >= 3, timeout=40)
        bodies = receiver.bodies()
        events = sorted((b["event"], b["person"]["email"]) for b in bodies)
        assert events == [
            ("Audience Entered", "ana@example.com"),
            ("Journey Step", "ana@example.com"),
            ("Journey Step", "ben@example.com"),
        ]
        entered = next(b for b in bodies if b["event"] == "Audience Entered")
        assert entered["audience"]["name"] == "Cart abandoners"
        step = next(b for b in bodies if b["event"] == "Journey Step")
        assert (step["journey"]["name"], step["journey"]["step"]) == ("VIP", "crm")
        headers, raw = receiver.got[0]
        signed = headers["accord-signature"]
        stamp = signed.split("t=", 1)[1].split(",", 1)[0]
        mac = hmac.new(secret.encode(), f"{stamp}.".encode() + raw, hashlib.sha256).hexdigest()
        assert f"v1={mac}" in signed

        # The task: a conversation for each person, with the note, at high priority.
        conversations = api.get("/api/v1/conversations").json()["data"]
        tasks = {c["subject"]: c for c in conversations}
        assert set(tasks) == {"Call Ana about the cart", "Call Ben about the cart"}
        ana_task = tasks["Call Ana about the cart"]
        assert (ana_task["channel"], ana_task["priority"]) == ("phone", "high")
        assert "journey" in ana_task["tags"]
        thread = api.get(f"/api/v1/conversations/{ana_task['id']}").json()["messages"]
        assert [(m["direction"], m["body"]) for m in thread] == [
            ("note", "Ana left a cart; offer help with sizes.")
        ]
        with read_only(committed.factory) as session:
            logs = {
                (row.step, row.outcome, row.detail)
                for row in session.query(JourneyStepLog).filter(
                    JourneyStepLog.journey_id == uuid.UUID(journey)
                )
            }
        refused = [x for x in logs if x[0] == "ads" and x[1] == "refused"]
        assert len(refused) == 1
        assert "advertising" in str(refused[0][2])


def test_a_definition_names_destinations_that_exist(committed: Committed) -> None:
    ws = committed.workspace("Northwind Outdoor")
    with live_server(create_app(committed.settings(jobs_worker=False))) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        definition = {
            "trigger": {"kind": "manual"},
            "steps": [{"id": "crm", "kind": "webhook", "destination_id": str(uuid.uuid4())}],
        }
        r = api.post("/api/v1/outreach/journeys", json={"name": "X", "definition": definition})
        assert r.status_code == 422
        assert (r.json()["code"], r.json()["field"]) == (
            "unknown_destination",
            "definition.steps.crm",
        )
        r = api.post(
            "/api/v1/outreach/journeys",
            json={
                "name": "Y",
                "definition": {"trigger": {"kind": "date"}, "steps": [{"id": "x", "kind": "exit"}]},
            },
        )
        assert r.status_code == 422
        assert "names the trait" in r.json()["detail"]


def test_people_enter_on_their_birthday_and_before_a_renewal_once(committed: Committed) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(resolve_worker=False, resolve_inline=True, jobs_worker=False)
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        batch = [
            {"type": "identify", "userId": uid, "traits": traits, "messageId": f"seed-{uid}"}
            for uid, traits in [
                ("ana", {"email": "ana@example.com", "birthday": "1990-03-14"}),
                ("ben", {"email": "ben@example.com", "birthday": "1985-03-15"}),
                # 23:30 on the 13th in UTC is already the 14th in Auckland.
                (
                    "kai",
                    {
                        "email": "kai@example.com",
                        "birthday": "2001-03-14",
                        "timezone": "Pacific/Auckland",
                    },
                ),
                ("cho", {"email": "cho@example.com", "renewalDate": "2026-03-20"}),
                ("dev", {"email": "dev@example.com", "renewalDate": "2027-03-20"}),
            ]
        ]
        r = httpx.post(f"{base}/v1/batch", json={"batch": batch}, auth=(ws.write_key, ""))
        assert r.status_code == 200, r.text
        birthday = {
            "trigger": {"kind": "date", "field": "birthday"},
            "reentry": "always",
            "steps": [{"id": "gift", "kind": "set_trait", "traits": {"birthdayGift": True}}],
        }
        renewal = {
            "trigger": {
                "kind": "date",
                "field": "renewalDate",
                "days_before": 6,
                "every_year": False,
            },
            "steps": [{"id": "remind", "kind": "wait", "seconds": 60}],
        }
        ids = {}
        for name, definition in (("Birthday", birthday), ("Renewal", renewal)):
            r = api.post("/api/v1/outreach/journeys", json={"name": name, "definition": definition})
            assert r.status_code == 201, r.text
            ids[name] = uuid.UUID(r.json()["id"])
            assert api.post(f"/api/v1/outreach/journeys/{ids[name]}/publish").status_code == 200
        email_of = {
            helpers.person_id(api, f"{u}@example.com"): u
            for u in ("ana", "ben", "kai", "cho", "dev")
        }

    def who(journey: uuid.UUID) -> list[str]:
        with read_only(committed.factory) as session:
            rows = session.query(JourneyEntry).filter(JourneyEntry.journey_id == journey)
            return sorted(email_of[str(e.profile_id)] for e in rows)

    late_13th = datetime(2026, 3, 13, 23, 30, tzinfo=UTC)
    on_14th = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
    with transaction(committed.factory) as session:
        assert dates.enter_on_dates(session, ws.workspace.id, late_13th) == 1
    assert who(ids["Birthday"]) == ["kai"]
    for _ in range(2):  # the hourly job, twice on the day: nobody enters twice
        with transaction(committed.factory) as session:
            dates.enter_on_dates(session, ws.workspace.id, on_14th)
    assert who(ids["Birthday"]) == ["ana", "kai"]
    assert who(ids["Renewal"]) == ["cho"]  # 14 March is six days before 20 March 2026
    with read_only(committed.factory) as session:
        entry = session.query(JourneyEntry).filter(JourneyEntry.journey_id == ids["Renewal"]).one()
        assert entry.context == {"date": "renewalDate", "value": "2026-03-20", "on": "2026-03-20"}
    # Next year's birthday is another occurrence.
    with transaction(committed.factory) as session:
        dates.enter_on_dates(session, ws.workspace.id, datetime(2027, 3, 14, 9, 0, tzinfo=UTC))
    assert who(ids["Birthday"]) == ["ana", "ana", "kai", "kai"]


def test_occurrences_across_the_new_year() -> None:
    trigger = parse(
        {"trigger": {"kind": "date", "field": "birthday"}, "steps": [{"id": "x", "kind": "exit"}]}
    ).trigger
    late = datetime(2026, 12, 31, 12, 0, tzinfo=UTC)
    early = datetime(2027, 1, 1, 3, 0, tzinfo=UTC)
    assert dates.occurrence(trigger, "1990-01-01", late) == "2027-01-01"
    assert dates.occurrence(trigger, "1990-01-01", early) == "2027-01-01"
    assert dates.occurrence(trigger, "1990-12-31", early) == "2026-12-31"
    assert dates.occurrence(trigger, "2000-02-29", datetime(2027, 2, 28, tzinfo=UTC)) == (
        "2027-02-29"
    )
