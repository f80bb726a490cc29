"""A journey's branches, each condition asked once for a whole batch, on both databases:
an event done since entering (not one done before), a segment's membership, a trait,
and whether the email of an earlier step was opened."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
from sqlalchemy import select, update

from accord.app import create_app
from accord.kit.db import read_only, transaction
from accord.kit.time import utcnow
from accord.outreach.journeys import engine
from accord.outreach.journeys.models import JourneyEntry, JourneyStepLog
from accord.outreach.models import Send
from tests.helpers import Committed, bearer, count_queries, live_server
from tests.outreach import helpers

PEOPLE = helpers.PEOPLE[:5]  # ana, ben, cho, dev, eli

ROUTES = {
    "trigger": {"kind": "manual"},
    "steps": [
        {
            "id": "bought",
            "kind": "branch",
            "condition": {"kind": "event", "event": "Order Completed"},
            "yes": "buyer",
        },
        {
            "id": "vip",
            "kind": "branch",
            "condition": {"kind": "segment", "segment_id": "SEGMENT"},
            "yes": "member",
        },
        {
            "id": "plan",
            "kind": "branch",
            "condition": {"kind": "trait", "field": "plan", "value": "pro"},
            "yes": "pro",
        },
        {"id": "nobody", "kind": "set_trait", "traits": {"route": "none"}, "next": "end"},
        {"id": "buyer", "kind": "set_trait", "traits": {"route": "buyer"}, "next": "end"},
        {"id": "member", "kind": "set_trait", "traits": {"route": "member"}, "next": "end"},
        {"id": "pro", "kind": "set_trait", "traits": {"route": "pro"}, "next": "end"},
        {"id": "end", "kind": "exit"},
    ],
}


def _routes(committed: Committed, journey_id: str, emails: dict[str, str]) -> dict[str, str]:
    """The set_trait step each person's way went through."""
    with read_only(committed.factory) as session:
        rows = session.execute(
            select(JourneyEntry.profile_id, JourneyStepLog.step)
            .join(JourneyEntry, JourneyEntry.id == JourneyStepLog.entry_id)
            .where(
                JourneyStepLog.journey_id == uuid.UUID(journey_id),
                JourneyStepLog.step.in_(["nobody", "buyer", "member", "pro", "thanks", "nudge"]),
            )
        )
        return {emails[str(pid)]: step for pid, step in rows}


def test_branches_on_an_event_since_entering_a_segment_and_a_trait(committed: Committed) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(resolve_worker=False, resolve_inline=True, jobs_worker=False)
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        helpers.send_people(base, ws.write_key, PEOPLE)
        r = httpx.post(
            f"{base}/v1/identify",
            json={"userId": "eli", "traits": {"plan": "pro"}},
            auth=(ws.write_key, ""),
        )
        assert r.status_code == 200, r.text
        r = api.post(
            "/api/v1/segments",
            json={
                "name": "Dev",
                "definition": {
                    "kind": "trait",
                    "field": "email",
                    "op": "eq",
                    "value": "dev@example.com",
                },
            },
        )
        assert r.status_code == 201, r.text
        steps = [dict(s) for s in ROUTES["steps"]]  # type: ignore[union-attr]
        steps[1]["condition"] = {"kind": "segment", "segment_id": r.json()["segment"]["id"]}
        definition = {**ROUTES, "steps": steps}
        r = api.post("/api/v1/outreach/journeys", json={"name": "Routes", "definition": definition})
        assert r.status_code == 201, r.text
        journey = r.json()["id"]
        assert api.post(f"/api/v1/outreach/journeys/{journey}/publish").status_code == 200
        emails = {helpers.person_id(api, e): e.split("@")[0] for _, _, e in PEOPLE}
        # Cho bought before entering: that is no answer to "bought since".
        helpers.track(base, ws.write_key, "cho", "Order Completed", order_id="o-cho")
        r = api.post(
            f"/api/v1/outreach/journeys/{journey}/enter", json={"profile_ids": list(emails)}
        )
        assert r.status_code == 201, r.text
        helpers.track(base, ws.write_key, "ben", "Order Completed", order_id="o-ben")
        later = utcnow() + timedelta(seconds=1)
        with count_queries(committed.factory.kw["bind"]) as statements:
            engine.advance(committed.factory, ws.workspace.id, engine.Wiring(), clock=lambda: later)
        # Each condition was asked once for the five people, not once a person.
        assert len([s for s in statements if "FROM events" in s]) == 1
        assert len([s for s in statements if "FROM segment_members" in s]) == 1
    assert _routes(committed, journey, emails) == {
        "ana": "nobody",
        "ben": "buyer",
        "cho": "nobody",
        "dev": "member",
        "eli": "pro",
    }


def test_a_branch_on_whether_an_earlier_email_was_opened(committed: Committed) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(resolve_worker=False, resolve_inline=True, jobs_worker=False)
    definition = {
        "trigger": {"kind": "manual"},
        "steps": [
            {"id": "hello", "kind": "email", "subject": "Hello", "text": "Hi"},
            {"id": "pause", "kind": "wait", "seconds": 60},
            {
                "id": "opened",
                "kind": "branch",
                "condition": {"kind": "opened", "step": "hello"},
                "yes": "thanks",
            },
            {"id": "nudge", "kind": "set_trait", "traits": {"nudged": True}, "next": "end"},
            {"id": "thanks", "kind": "set_trait", "traits": {"engaged": True}, "next": "end"},
            {"id": "end", "kind": "exit"},
        ],
    }
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        helpers.send_people(base, ws.write_key, PEOPLE[:3])
        r = api.post("/api/v1/outreach/journeys", json={"name": "Opened", "definition": definition})
        assert r.status_code == 201, r.text
        journey = r.json()["id"]
        assert api.post(f"/api/v1/outreach/journeys/{journey}/publish").status_code == 200
        emails = {helpers.person_id(api, e): e.split("@")[0] for _, _, e in PEOPLE[:3]}
        r = api.post(
            f"/api/v1/outreach/journeys/{journey}/enter", json={"profile_ids": list(emails)}
        )
        assert r.status_code == 201, r.text
    now = utcnow()
    engine.advance(committed.factory, ws.workspace.id, engine.Wiring(), clock=lambda: now)
    with transaction(committed.factory) as session:  # Ben opened the email
        session.execute(
            update(Send).where(Send.address == "ben@example.com").values(opened_at=now, opens=1)
        )
    later = now + timedelta(minutes=2)
    engine.advance(committed.factory, ws.workspace.id, engine.Wiring(), clock=lambda: later)
    assert _routes(committed, journey, emails) == {"ana": "nudge", "ben": "thanks", "cho": "nudge"}
