"""The send queue's guarantees, on both databases, over a real SMTP relay on loopback:
consent asked for every message (refusals kept with the reason), frequency caps across
campaigns, an address the relay refuses for good recorded as bounced on the person, a
test send never mailed to a suppressed address, and a sending process killed midway
sending nobody a second message once the queue is recovered."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from accord.app import create_app
from accord.inbox import csat
from accord.inbox.context import InboxContext
from accord.inbox.models import Conversation
from accord.kit.db import read_only, transaction
from accord.kit.time import utcnow
from accord.outreach import sending, tasks
from accord.outreach.job import Deployment
from accord.outreach.models import Send
from accord.resolve.worker import drain
from tests.helpers import Committed, bearer, free_port, live_server
from tests.outreach import helpers
from tests.smtp_sink import Sink, listening

DEPLOYMENT = Deployment(secret_key="k" * 40, base_url="http://127.0.0.1:9")


class SlowSink(Sink):
    """A relay that takes its time, and refuses one address for good."""

    delay: float = 0.0
    refuse: str = ""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.refuse:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_sink() -> Iterator[SlowSink]:
    with listening(SlowSink(port=free_port())) as sink:
        yield sink


def _setup(
    committed: Committed, sink: Sink, people: list[tuple[str, str, str]] = helpers.PEOPLE
) -> tuple[Any, httpx.Client, str, Any]:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(resolve_worker=False, resolve_inline=True, jobs_worker=False)
    server = live_server(create_app(settings))
    base = server.__enter__()
    api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
    helpers.mailbox(api, sink)
    helpers.send_people(base, ws.write_key, people)
    return ws, api, helpers.segment(api), server


def _statuses(committed: Committed, campaign_id: str) -> dict[str, tuple[str, str | None]]:
    with read_only(committed.factory) as session:
        rows = session.scalars(select(Send).where(Send.source_key == f"campaign:{campaign_id}"))
        return {str(s.address): (s.status, s.reason) for s in rows}


def _launch(api: httpx.Client, campaign_id: str) -> None:
    r = api.post(f"/api/v1/outreach/campaigns/{campaign_id}/launch")
    assert r.status_code == 200, r.text


def test_a_person_without_marketing_consent_is_skipped_with_the_reason(
    committed: Committed, slow_sink: SlowSink
) -> None:
    _, api, segment_id, server = _setup(committed, slow_sink)
    try:
        person = helpers.person_id(api, "dev@example.com")
        r = api.post(
            f"/api/v1/profiles/{person}/consent",
            json={"channel": "email", "purpose": "all", "status": "withdrawn", "source": "agent"},
        )
        assert r.status_code == 201, r.text
        campaign = helpers.campaign(api, segment_id)
        _launch(api, campaign["id"])
        tally = tasks.deliver(committed.factory, uuid.UUID(campaign["id"]), deployment=DEPLOYMENT)
        assert (tally.sent, tally.refused) == (9, 1)
        status, reason = _statuses(committed, campaign["id"])["dev@example.com"]
        assert status == "refused"
        assert reason is not None
        assert "withdrew consent to everything by email" in reason
        assert "dev@example.com" not in {str(m["To"]) for m in slow_sink.messages}
        assert len(slow_sink.messages) == 9
        assert api.get(f"/api/v1/outreach/campaigns/{campaign['id']}").json()["status"] == "sent"
    finally:
        server.__exit__(None, None, None)


def test_frequency_caps_count_every_campaign_and_say_why(
    committed: Committed, slow_sink: SlowSink
) -> None:
    _, api, segment_id, server = _setup(committed, slow_sink)
    try:
        r = api.put(
            "/api/v1/outreach/settings",
            json={"caps": [{"channel": "email", "limit": 1, "days": 7}], "quiet_hours": None},
        )
        assert r.status_code == 200, r.text
        first = helpers.campaign(api, segment_id, name="First")
        _launch(api, first["id"])
        assert (
            tasks.deliver(committed.factory, uuid.UUID(first["id"]), deployment=DEPLOYMENT).sent
            == 10
        )
        second = helpers.campaign(api, segment_id, name="Second")
        _launch(api, second["id"])
        tally = tasks.deliver(committed.factory, uuid.UUID(second["id"]), deployment=DEPLOYMENT)
        assert (tally.sent, tally.refused) == (0, 10)
        status, reason = _statuses(committed, second["id"])["ana@example.com"]
        assert status == "refused"
        assert reason == (
            "frequency cap: already sent 1 promotional message by email in the last 7 days "
            "(at most 1)"
        )
        # A service message is no promotion: not capped.
        third = helpers.campaign(api, segment_id, name="Order update", purpose="service")
        _launch(api, third["id"])
        assert (
            tasks.deliver(committed.factory, uuid.UUID(third["id"]), deployment=DEPLOYMENT).sent
            == 10
        )
        service_mail = slow_sink.messages[-1]
        assert "List-Unsubscribe" not in service_mail
    finally:
        server.__exit__(None, None, None)


def test_an_address_the_relay_refuses_is_bounced_on_the_person(
    committed: Committed, slow_sink: SlowSink
) -> None:
    _, api, segment_id, server = _setup(committed, slow_sink)
    slow_sink.refuse = "eli@example.com"
    try:
        campaign = helpers.campaign(api, segment_id)
        _launch(api, campaign["id"])
        tally = tasks.deliver(committed.factory, uuid.UUID(campaign["id"]), deployment=DEPLOYMENT)
        assert (tally.sent, tally.bounced) == (9, 1)
        status, reason = _statuses(committed, campaign["id"])["eli@example.com"]
        assert status == "bounced"
        assert reason is not None
        assert "550" in reason
        # The person is marked, so nothing is mailed there again.
        eli = helpers.person_id(api, "eli@example.com")

        def bounced() -> bool:
            r = api.get(
                "/api/v1/consent/check",
                params={"profile_id": eli, "channel": "email", "purpose": "service"},
            ).json()
            return r["allowed"] is False and r["code"] == "unreachable"

        assert not bounced()  # accepted, not yet resolved: the resolver's work
        drain(committed.factory)
        assert bounced()
    finally:
        server.__exit__(None, None, None)


def test_a_test_send_is_never_mailed_to_a_suppressed_address(
    committed: Committed, slow_sink: SlowSink
) -> None:
    _, api, segment_id, server = _setup(committed, slow_sink)
    try:
        campaign = helpers.campaign(api, segment_id)
        ana = helpers.person_id(api, "ana@example.com")
        r = api.post(
            f"/api/v1/outreach/campaigns/{campaign['id']}/test",
            json={"address": "marketing@northwind.example", "profile_id": ana},
        )
        assert r.status_code == 202, r.text
        [sent] = slow_sink.wait_for(1)
        assert sent["Subject"] == "[Test] Ana, the spring sale starts today"
        r = api.post(
            "/api/v1/consent/suppressions",
            json={"identifiers": [{"type": "email", "value": "marketing@northwind.example"}]},
        )
        assert r.status_code == 201, r.text
        r = api.post(
            f"/api/v1/outreach/campaigns/{campaign['id']}/test",
            json={"address": "marketing@northwind.example"},
        )
        assert r.status_code == 409
        assert r.json()["code"] == "suppressed"
        time.sleep(0.2)
        assert len(slow_sink.messages) == 1
    finally:
        server.__exit__(None, None, None)


CRASHING_SENDER = """
import sys, uuid
from accord.kit.db import create_db_engine, create_session_factory
from accord.outreach import sending
from accord.outreach.job import Deployment
factory = create_session_factory(create_db_engine(sys.argv[1]))
deployment = Deployment(secret_key="k" * 40, base_url="http://127.0.0.1:9")
sending.deliver(factory, uuid.UUID(sys.argv[2]), deployment, batch=int(sys.argv[3]))
"""


def _launched_to_many(
    committed: Committed, sink: SlowSink, prefix: str, n: int
) -> tuple[httpx.Client, dict[str, Any], Any]:
    """A campaign launched to ``n`` people, with no caps and no quiet hours."""
    people = [(f"{prefix}{i:03d}", f"P{i:03d}", f"{prefix}{i:03d}@example.com") for i in range(n)]
    _, api, segment_id, server = _setup(committed, sink, people)
    r = api.put("/api/v1/outreach/settings", json={"caps": [], "quiet_hours": None})
    assert r.status_code == 200, r.text
    campaign = helpers.campaign(api, segment_id)
    _launch(api, campaign["id"])
    return api, campaign, server


def test_a_sender_killed_midway_sends_nobody_a_second_message(
    committed: Committed, slow_sink: SlowSink
) -> None:
    # Batches of 60, larger than a window of outcomes: when the sender dies in its second
    # batch, the third is already claimed and decided (``ahead``) and nothing of it was
    # handed over; recovering the delivery as one run marks at most IN_DOUBT unknown in
    # all, where each stale claim on its own would lose up to IN_DOUBT.
    n = 200
    _, campaign, server = _launched_to_many(committed, slow_sink, "p", n)
    try:
        slow_sink.delay = 0.02
        env = {**os.environ, "PYTHONPATH": os.getcwd()}
        proc = subprocess.Popen(
            [sys.executable, "-c", CRASHING_SENDER, committed.url, campaign["id"], "60"], env=env
        )
        try:
            slow_sink.wait_for(90, timeout=60)  # into its second batch
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
        slow_sink.delay = 0.0
        time.sleep(0.3)  # messages the sink was still taking in when the sender died
        before = len(slow_sink.messages)
        assert 90 <= before < 120
        # The claim of the dead process is stale once its lease has passed.
        recovered = sending.recover(committed.factory, utcnow() + sending.LEASE + timedelta(1))
        assert recovered == [uuid.UUID(campaign["id"])]
        tally = tasks.deliver(committed.factory, uuid.UUID(campaign["id"]), deployment=DEPLOYMENT)
        statuses = _statuses(committed, campaign["id"])
        received = Counter(str(m["To"]) for m in slow_sink.messages)
        assert max(received.values()) == 1, "someone received the campaign twice"
        sent = {a for a, (s, _) in statuses.items() if s == "sent"}
        unknown = {a for a, (s, _) in statuses.items() if s == "unknown"}
        assert len(unknown) <= sending.IN_DOUBT
        assert len(sent) + len(unknown) == n
        assert sent <= set(received) <= sent | unknown
        assert tally.sent == len(sent) - (before - len(set(received) & unknown))
        for address in unknown:
            assert statuses[address][1] == sending.UNKNOWN_REASON
    finally:
        server.__exit__(None, None, None)


def test_a_campaign_paused_while_it_goes_out_stops_and_resumes_where_it_stopped(
    committed: Committed, slow_sink: SlowSink
) -> None:
    n = 60
    api, campaign, server = _launched_to_many(committed, slow_sink, "q", n)
    try:
        slow_sink.delay = 0.1
        done: list[sending.Tally] = []
        cid = uuid.UUID(campaign["id"])
        worker = threading.Thread(
            target=lambda: done.append(
                sending.deliver(committed.factory, cid, DEPLOYMENT, batch=10)
            )
        )
        worker.start()
        slow_sink.wait_for(3, timeout=30)  # in its first batch of 10
        r = api.post(f"/api/v1/outreach/campaigns/{cid}/pause")
        assert r.status_code == 200, r.text
        worker.join(timeout=60)
        assert not worker.is_alive()
        time.sleep(0.3)  # what the sink was still taking in
        paused = len(slow_sink.messages)
        # The batch going out and at most the one decided before the pause, not the rest.
        assert paused <= 30
        assert done[0].sent == paused
        statuses = _statuses(committed, campaign["id"])
        assert Counter(s for s, _ in statuses.values()) == {"sent": paused, "queued": n - paused}
        r = api.post(f"/api/v1/outreach/campaigns/{cid}/resume")
        assert r.status_code == 200, r.text
        slow_sink.delay = 0.0
        tally = tasks.deliver(committed.factory, cid, deployment=DEPLOYMENT)
        assert tally.sent == n - paused
        received = Counter(str(m["To"]) for m in slow_sink.messages)
        assert len(received) == n
        assert max(received.values()) == 1
    finally:
        server.__exit__(None, None, None)


def test_each_message_can_wait_for_the_hour_its_person_is_usually_active(
    committed: Committed, slow_sink: SlowSink
) -> None:
    _, api, segment_id, server = _setup(committed, slow_sink, helpers.PEOPLE[:3])
    try:
        now = utcnow()
        usual = (now + timedelta(hours=5)).hour  # later today or tomorrow, never now
        ws_key = server_write_key(committed)
        for day in (2, 3, 4):
            at = (now - timedelta(days=day)).replace(hour=usual, minute=15)
            r = httpx.post(
                f"{api.base_url}/v1/track",
                json={"userId": "ana", "event": "Product Viewed", "timestamp": at.isoformat()},
                auth=(ws_key, ""),
            )
            assert r.status_code == 200, r.text
        off = (now - timedelta(days=1)).replace(hour=(usual + 7) % 24)
        r = httpx.post(
            f"{api.base_url}/v1/track",
            json={"userId": "ana", "event": "Page Viewed", "timestamp": off.isoformat()},
            auth=(ws_key, ""),
        )
        assert r.status_code == 200, r.text
        campaign = helpers.campaign(api, segment_id, usual_hour=True)
        _launch(api, campaign["id"])
        with read_only(committed.factory) as session:
            due = {
                str(s.address): s.next_attempt_at
                for s in session.scalars(
                    select(Send).where(Send.source_key == f"campaign:{campaign['id']}")
                )
            }
        ana = due["ana@example.com"]
        assert ana is not None
        assert (ana.hour, ana > now, ana - now < timedelta(days=1)) == (usual, True, True)
        # Ben and Cho were seen only just now: their usual hour is this one, next time.
        for other in ("ben@example.com", "cho@example.com"):
            at = due[other]
            assert at is not None
            assert at.hour == now.hour
            assert timedelta(0) < at - now <= timedelta(days=1)
        # Nothing is due yet; at Ana's hour, hers goes.
        cid = uuid.UUID(campaign["id"])
        assert tasks.deliver(committed.factory, cid, deployment=DEPLOYMENT).sent == 0
        later = sending.deliver(
            committed.factory, cid, DEPLOYMENT, clock=lambda: ana + timedelta(seconds=1)
        )
        assert "ana@example.com" in {str(m["To"]) for m in slow_sink.messages}
        assert later.sent == 1 + sum(
            1 for o in ("ben@example.com", "cho@example.com") if due[o] <= ana
        )
    finally:
        server.__exit__(None, None, None)


def server_write_key(committed: Committed) -> str:
    from accord.govern.access.models import ApiKey

    with read_only(committed.factory) as session:
        key = session.scalars(select(ApiKey).where(ApiKey.kind == "write")).first()
        assert key is not None
        assert key.write_key is not None
        return str(key.write_key)


def test_promotions_wait_for_an_open_complaint_and_a_bad_rating_and_service_mail_does_not(
    committed: Committed, slow_sink: SlowSink
) -> None:
    """The inbox pauses the promotion: a customer with a conversation open, or who rated
    one 1 of 5 last week, is held (asked again every hour, for up to ``hold_days``) with
    the reason; once the complaint is resolved the message goes; a service message is
    never held; a cap for a segment's members (the most valuable) leaves the others be."""
    _, api, segment_id, server = _setup(committed, slow_sink)
    try:
        r = api.put("/api/v1/outreach/settings", json={"caps": [], "quiet_hours": None})
        assert r.status_code == 200, r.text
        opened = {}
        for who in ("ana", "ben"):
            r = api.post(
                "/api/v1/messages",
                json={
                    "channel": "email",
                    "contact": {"email": f"{who}@example.com"},
                    "subject": "My order",
                    "body": "It arrived broken.",
                },
            )
            assert r.status_code == 201, r.text
            opened[who] = r.json()["conversation"]["id"]
        r = api.patch(f"/api/v1/conversations/{opened['ben']}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
        with transaction(committed.factory) as session:
            conversation = session.get(Conversation, uuid.UUID(opened["ben"]))
            assert conversation is not None
            ctx = InboxContext.load(
                session, conversation.workspace_id, secret_key="k" * 40, base_url=""
            )
            csat.record(session, ctx, conversation, 1, "Nobody answered for a week")
        # A cap of zero promotions for the members of a segment of one (Cho).
        vip = api.post(
            "/api/v1/segments",
            json={
                "name": "VIP",
                "definition": {
                    "kind": "trait",
                    "field": "email",
                    "op": "eq",
                    "value": "cho@example.com",
                },
            },
        )
        assert vip.status_code == 201, vip.text
        r = api.put(
            "/api/v1/outreach/settings",
            json={
                "caps": [
                    {
                        "channel": "all",
                        "limit": 0,
                        "days": 30,
                        "segment_id": vip.json()["segment"]["id"],
                    }
                ],
                "quiet_hours": None,
            },
        )
        assert r.status_code == 200, r.text
        promo = helpers.campaign(api, segment_id, name="Promo")
        _launch(api, promo["id"])
        tally = tasks.deliver(committed.factory, uuid.UUID(promo["id"]), deployment=DEPLOYMENT)
        assert (tally.sent, tally.held, tally.refused) == (7, 2, 1)
        statuses = _statuses(committed, promo["id"])
        assert statuses["ana@example.com"] == (
            "held",
            "held from promotions: the customer has a service conversation open",
        )
        assert statuses["ben@example.com"] == (
            "held",
            "held from promotions: the customer rated a conversation 2 or less in the last 30 days",
        )
        status, reason = statuses["cho@example.com"]
        assert status == "refused"
        assert reason is not None
        assert reason.startswith("frequency cap for this segment's members")
        # (Ben's rating was asked by a survey: only the campaign's messages are counted.)
        sent_to = {str(m["To"]) for m in slow_sink.messages if m["X-Accord-Send"]}
        assert not sent_to & {"ana@example.com", "ben@example.com", "cho@example.com"}
        # An order update (service) reaches all three at once.
        service = helpers.campaign(api, segment_id, name="Order update", purpose="service")
        _launch(api, service["id"])
        tally = tasks.deliver(committed.factory, uuid.UUID(service["id"]), deployment=DEPLOYMENT)
        assert (tally.sent, tally.held, tally.refused) == (10, 0, 0)
        # Ana's complaint is resolved: an hour later her promotion goes.
        r = api.patch(f"/api/v1/conversations/{opened['ana']}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
        hour = utcnow() + timedelta(hours=1, minutes=1)
        tally = sending.deliver(
            committed.factory, uuid.UUID(promo["id"]), DEPLOYMENT, clock=lambda: hour
        )
        assert (tally.sent, tally.held) == (1, 1)
        assert _statuses(committed, promo["id"])["ana@example.com"][0] == "sent"
    finally:
        server.__exit__(None, None, None)
