"""Text campaigns and journeys over a real provider API on loopback (Twilio's format), on
both databases: every text asks consent (a person who texted STOP is refused with the
reason, and a number the provider reports unsubscribed is refused and withdrawn here
too), promotions end with how to opt out, the provider's receipts mark texts delivered
or bounced, and a journey's text step goes out after its wait."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from accord.app import create_app
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import read_only
from accord.outreach import sending, tasks
from accord.outreach.job import Deployment
from accord.outreach.models import Send
from tests.helpers import Committed, bearer, held_port, live_server, port_of
from tests.outreach import helpers
from tests.sms_provider import NUMBER, Provider, sms_provider
from tests.smtp_sink import wait_until

PEOPLE = [
    ("ana", "Ana", "+14155550101"),
    ("ben", "Ben", "+14155550102"),
    ("cho", "Cho", "+14155550103"),
    ("dev", "Dev", "+14155550104"),
    ("eli", "Eli", "+14155550105"),
]


@dataclass
class Texting:
    base: str
    ws: ProvisionedWorkspace
    api: httpx.Client
    provider: Provider

    def person(self, phone: str) -> str:
        r = self.api.get("/api/v1/profiles/lookup", params={"phone": phone})
        assert r.status_code == 200, r.text
        return str(r.json()["id"])


@contextmanager
def _texting(
    committed: Committed, *, jobs: bool = False, quiet_hours: bool = False
) -> Iterator[Texting]:
    """A workspace texting through the provider. Quiet hours are off unless asked for:
    they would hold promotions by the hour of the day the test happens to run at."""
    ws = committed.workspace("Northwind Outdoor")
    held = held_port()
    port = port_of(held)
    settings = committed.settings(
        resolve_worker=False,
        resolve_inline=True,
        jobs_worker=jobs,
        imap_poll_seconds=0,
        outbox_worker=False,
        base_url=f"http://127.0.0.1:{port}",
    )
    with sms_provider() as provider, live_server(create_app(settings), held) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        r = api.put("/api/v1/sms", json=provider.settings())
        assert r.status_code == 200, r.text
        if not quiet_hours:
            r = api.put("/api/v1/outreach/settings", json={"quiet_hours": None})
            assert r.status_code == 200, r.text
        batch = [
            {
                "type": "identify",
                "userId": uid,
                "traits": {"firstName": first, "phone": phone, "team": "a"},
                "messageId": f"seed-{uid}",
            }
            for uid, first, phone in PEOPLE
        ]
        r = httpx.post(f"{base}/v1/batch", json={"batch": batch}, auth=(ws.write_key, ""))
        assert r.status_code == 200, r.text
        yield Texting(base, ws, api, provider)


def test_a_text_campaign_asks_consent_opts_out_and_reads_receipts(committed: Committed) -> None:
    with _texting(committed) as t:
        segment_id = helpers.segment(t.api)
        # Dev texted STOP to the workspace's number; Eli's provider account blocks the
        # workspace (he texted STOP to the provider, which Accord never heard).
        inbound = f"{t.base}/v1/sms/{t.ws.workspace.id}/inbound"
        assert t.provider.inbound(inbound, "+14155550104", "STOP").status_code == 200
        t.provider.unsubscribed.add("+14155550105")
        r = t.api.post(
            "/api/v1/outreach/campaigns",
            json={
                "name": "Weekend",
                "channel": "sms",
                "segment_id": segment_id,
                "text": "Hi {{ person.first_name }}, tents are 20% off this weekend",
            },
        )
        assert r.status_code == 201, r.text
        campaign = r.json()
        r = t.api.post(
            f"/api/v1/outreach/campaigns/{campaign['id']}/preview",
            json={"profile_id": t.person("+14155550103")},
        )
        assert r.status_code == 200, r.text
        assert r.json() == {
            "subject": "",
            "html": "",
            "text": "Hi Cho, tents are 20% off this weekend\nReply STOP to opt out",
        }
        r = t.api.post(f"/api/v1/outreach/campaigns/{campaign['id']}/launch")
        assert r.status_code == 200, r.text
        deployment = Deployment(secret_key="k" * 40, base_url=t.base)
        tally = tasks.deliver(committed.factory, uuid.UUID(campaign["id"]), deployment=deployment)
        assert (tally.sent, tally.refused) == (3, 2)
        texts = {x.to: x for x in t.provider.texts}
        assert set(texts) == {"+14155550101", "+14155550102", "+14155550103"}
        ana = texts["+14155550101"]
        assert ana.body == "Hi Ana, tents are 20% off this weekend\nReply STOP to opt out"
        assert ana.sender == NUMBER

        sends = t.api.get(f"/api/v1/outreach/campaigns/{campaign['id']}/sends").json()["data"]
        by_person = {s["profile_id"]: s for s in sends}
        dev = by_person[t.person("+14155550104")]
        assert (dev["status"], dev["code"]) == ("refused", "no_consent")
        assert "SMS STOP" in dev["reason"]
        eli_id = t.person("+14155550105")
        eli = by_person[eli_id]
        assert (eli["status"], eli["code"]) == ("refused", "sms_stop")
        assert "21610" in eli["reason"]
        decision = t.api.get(
            "/api/v1/consent/check",
            params={"channel": "sms", "purpose": "marketing", "profile_id": eli_id},
        ).json()
        assert decision["allowed"] is False

        # Receipts: Ana's text delivered, Ben's number unreachable.
        assert t.provider.receipt(ana, "sent").status_code == 204
        assert t.provider.receipt(ana, "delivered").status_code == 204
        r = t.provider.receipt(texts["+14155550102"], "undelivered", "30003")
        assert r.status_code == 204
        with read_only(committed.factory) as session:
            rows = {
                s.address: s
                for s in session.query(Send).filter(Send.campaign_id == uuid.UUID(campaign["id"]))
            }
            assert rows["+14155550101"].status == "sent"
            assert rows["+14155550101"].delivered_at is not None
            assert rows["+14155550101"].message_id == f"sms:{ana.sid}"
            assert rows["+14155550102"].status == "bounced"
            assert "error 30003" in (rows["+14155550102"].reason or "")
            assert rows["+14155550103"].delivered_at is None
        counts = t.api.get(f"/api/v1/outreach/campaigns/{campaign['id']}").json()["counts"]
        assert counts == {"sent": 2, "bounced": 1, "refused": 2}
        # A receipt signed with another token changes nothing.
        forged = httpx.post(
            texts["+14155550103"].status_callback or "",
            data={"MessageStatus": "delivered"},
            headers={"X-Twilio-Signature": "AAAA"},
        )
        assert forged.status_code == 401


def test_a_text_test_send_and_a_campaign_without_a_provider(committed: Committed) -> None:
    with _texting(committed) as t:
        segment_id = helpers.segment(t.api)
        r = t.api.post(
            "/api/v1/outreach/campaigns",
            json={"name": "Test", "channel": "sms", "segment_id": segment_id, "text": "Hello"},
        )
        assert r.status_code == 201, r.text
        cid = r.json()["id"]
        r = t.api.post(f"/api/v1/outreach/campaigns/{cid}/test", json={"address": "not a number"})
        assert r.status_code == 422
        assert r.json()["field"] == "address"
        r = t.api.post(f"/api/v1/outreach/campaigns/{cid}/test", json={"address": "+14155550199"})
        assert r.status_code == 202, r.text
        (text,) = t.provider.texts
        assert text.body == "[Test] Hello\nReply STOP to opt out"
        # A text longer than a provider takes, as written for a person, is refused so.
        r = t.api.post(
            "/api/v1/outreach/campaigns",
            json={
                "name": "Long",
                "channel": "sms",
                "segment_id": segment_id,
                "purpose": "service",
                "text": "{{ person.first_name }} " + "x" * 1600,
            },
        )
        assert r.status_code == 201, r.text
        long_id = r.json()["id"]
        assert t.api.post(f"/api/v1/outreach/campaigns/{long_id}/launch").status_code == 200
        deployment = Deployment(secret_key="k" * 40, base_url=t.base)
        tally = tasks.deliver(committed.factory, uuid.UUID(long_id), deployment=deployment)
        assert (tally.sent, tally.refused) == (0, len(PEOPLE))
        sends = t.api.get(f"/api/v1/outreach/campaigns/{long_id}/sends").json()["data"]
        assert {s["code"] for s in sends} == {"too_long"}
        assert "1,604 characters" in sends[0]["reason"]
        r = t.api.put("/api/v1/sms", json={**t.provider.settings(), "auth_token": ""})
        assert r.status_code == 200, r.text
        assert r.json()["auth_token_set"] is False
        r = t.api.post(f"/api/v1/outreach/campaigns/{cid}/launch")
        assert r.status_code == 409
        assert (r.json()["code"], r.json()["field"]) == ("sms_not_configured", "channel")


def test_a_journey_texts_after_its_wait(committed: Committed) -> None:
    definition = {
        "trigger": {"kind": "event", "event": "Checkout Started"},
        "goal": {"event": "Order Completed"},
        "steps": [
            {"id": "wait", "kind": "wait", "seconds": 1},
            {
                "id": "nudge",
                "kind": "sms",
                "text": "{{ person.first_name }}, your cart is waiting. Reply STOP to end.",
            },
        ],
    }
    with _texting(committed, jobs=True) as t:
        r = t.api.post("/api/v1/outreach/journeys", json={"name": "Cart", "definition": definition})
        assert r.status_code == 201, r.text
        journey = r.json()
        r = t.api.post(f"/api/v1/outreach/journeys/{journey['id']}/publish")
        assert r.status_code == 200, r.text
        for uid in ("ana", "ben"):
            helpers.track(t.base, t.ws.write_key, uid, "Checkout Started", cart_id=f"c-{uid}")
        texts = t.provider.wait_for(2, timeout=40)
        assert {x.to for x in texts} == {"+14155550101", "+14155550102"}
        ana = next(x for x in texts if x.to == "+14155550101")
        # It says STOP itself: no second opt-out line.
        assert ana.body == "Ana, your cart is waiting. Reply STOP to end."
        assert t.provider.receipt(ana, "delivered").status_code == 204

        def delivered() -> bool:
            with read_only(committed.factory) as session:
                send = session.query(Send).filter(Send.address == "+14155550101").one()
                return send.delivered_at is not None

        wait_until(delivered)
        report = t.api.get(f"/api/v1/outreach/journeys/{journey['id']}/report").json()
        assert {s["step"]: s["reached"] for s in report["funnel"]}["nudge"] == 2


def test_texts_wait_out_quiet_hours_in_each_persons_time_zone(committed: Committed) -> None:
    zones = {
        "ana": "Europe/London",  # 22:30: quiet until 08:00 there
        "ben": "America/Los_Angeles",  # 14:30
        "cho": "Asia/Tokyo",  # 07:30 the next morning: quiet until 08:00 there
        "dev": "America/New_York",  # 17:30
        "eli": "America/New_York",
    }
    with _texting(committed, quiet_hours=True) as t:
        batch = [
            {"type": "identify", "userId": uid, "traits": {"timezone": zone}}
            for uid, zone in zones.items()
        ]
        r = httpx.post(f"{t.base}/v1/batch", json={"batch": batch}, auth=(t.ws.write_key, ""))
        assert r.status_code == 200, r.text
        segment_id = helpers.segment(t.api)
        r = t.api.post(
            "/api/v1/outreach/campaigns",
            json={"name": "Night", "channel": "sms", "segment_id": segment_id, "text": "Sale!"},
        )
        assert r.status_code == 201, r.text
        campaign_id = uuid.UUID(r.json()["id"])
        assert t.api.post(f"/api/v1/outreach/campaigns/{campaign_id}/launch").status_code == 200
        deployment = Deployment(secret_key="k" * 40, base_url=t.base)
        late = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)
        tally = sending.deliver(committed.factory, campaign_id, deployment, clock=lambda: late)
        assert (tally.sent, tally.later) == (3, 2)
        assert {x.to for x in t.provider.texts} == {
            "+14155550102",
            "+14155550104",
            "+14155550105",
        }
        with read_only(committed.factory) as session:
            waiting = {
                s.address: (s.next_attempt_at, s.reason or "")
                for s in session.query(Send).filter(
                    Send.campaign_id == campaign_id, Send.status == "queued"
                )
            }
        assert set(waiting) == {"+14155550101", "+14155550103"}
        assert waiting["+14155550101"][0] == datetime(2026, 12, 4, 8, tzinfo=UTC)
        assert waiting["+14155550103"][0] == datetime(2026, 12, 3, 23, tzinfo=UTC)
        assert "quiet hours (21:00-08:00)" in waiting["+14155550101"][1]
        # At 23:05 UTC it is 08:05 in Tokyo: Cho's text goes; Ana's still waits.
        later = datetime(2026, 12, 3, 23, 5, tzinfo=UTC)
        tally = sending.deliver(committed.factory, campaign_id, deployment, clock=lambda: later)
        assert (tally.sent, tally.later) == (1, 0)
        assert t.provider.texts[-1].to == "+14155550103"
