"""Audience destinations on both databases: membership changes (entries and exits) sent
as signed webhooks to a real HTTP server on 127.0.0.1, retried with back-off while it
fails, given up after eight attempts, replayed, paused and resumed; the delivery log,
test events, permissions and the workspace's walls. The jobs are run by hand, except in
the last test, where the job engine's consumer runs them."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.audiences import delivery, tasks, webhooks
from accord.analyze.audiences.models import Delivery
from accord.analyze.segments import service as segments
from accord.app import create_app
from accord.config import Settings
from accord.govern.audit.models import AccessLogEntry
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import transaction
from accord.kit.time import utcnow
from tests.analyze.helpers import ENGINE, NOW, People, segment
from tests.helpers import Committed, bearer, free_port


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The job engine's consumer stays off: the tests run the jobs themselves.
    return settings.model_copy(update={"jobs_worker": False})


class Receiver:
    """A webhook endpoint on 127.0.0.1 that answers ``status`` to the first ``fail``
    requests and 200 afterwards, keeping what it was sent."""

    def __init__(self, fail: int = 0, status: int = 500) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.fail, self.status = fail, status
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                outer.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                code = outer.status if len(outer.got) <= outer.fail else 200
                self.send_response(code)
                self.send_header("Content-Length", "4")
                self.end_headers()
                self.wfile.write(b"nope" if code >= 300 else b"okay")

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.got]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


class Jobs:
    """Stands in for the job engine: what was enqueued, run by the test."""

    def __init__(self) -> None:
        self.dispatched: list[uuid.UUID] = []
        self.delivered: list[tuple[uuid.UUID, datetime | None]] = []
        self.enqueued: list[tuple[Any, ...]] = []
        self.sender = delivery.Sender(
            dispatch=self.dispatched.append, deliver=lambda i, at: self.delivered.append((i, at))
        )

    def enqueue(self, name: str, *args: Any, at: datetime | None = None) -> None:
        self.enqueued.append((name, *args))


def verified(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a receiver does with Accord-Signature, written out."""
    fields = dict(part.split("=", 1) for part in headers["accord-signature"].split(","))
    mac = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
    recent = abs(time.time() - int(fields["t"])) < 300
    return recent and hmac.compare_digest(mac.hexdigest(), fields["v1"])


def create(client: TestClient, ws: ProvisionedWorkspace, url: str, **extra: Any) -> Any:
    body = {"name": extra.pop("name", "CRM"), "url": url, **extra}
    response = client.post("/api/v1/destinations", json=body, headers=bearer(ws.api_token))
    assert response.status_code == 201, response.text
    return response.json()


def team(value: str = "a") -> dict[str, Any]:
    return {"kind": "trait", "field": "team", "op": "eq", "value": value}


def deliver_all(
    factory: sessionmaker[Session], settings: Settings, jobs: Jobs, now: datetime | None = None
) -> list[webhooks.Outcome | None]:
    todo, jobs.delivered[:] = list(jobs.delivered), []
    return [
        tasks.deliver(
            factory, i, secret_key=settings.resolved_secret_key, sender=jobs.sender, now=now
        )
        for i, _ in todo
    ]


def deliveries(factory: sessionmaker[Session], destination_id: Any) -> list[Delivery]:
    with factory() as s:
        stmt = select(Delivery).where(Delivery.destination_id == uuid.UUID(str(destination_id)))
        return list(s.scalars(stmt.order_by(Delivery.id)))


def test_entries_and_exits_are_sent_as_signed_webhooks_once_each(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace: ProvisionedWorkspace,
    receiver: Receiver,
) -> None:
    ws = workspace.workspace.id
    people = People(session, ws)
    ana = people.person("ana", {"team": "a", "email": "ana@example.com", "firstName": "Ana"})
    ben = people.person("ben", {"team": "a", "email": "ben@example.com"})
    before = segment(session, ws, team(), name="Made before")
    segments.build(session, ENGINE, before, now=NOW)  # changes before the destination
    session.commit()
    made = create(client, workspace, receiver.url)
    row = segment(session, ws, team(), name="Team A")
    segments.build(session, ENGINE, row, now=NOW)
    session.commit()

    jobs = Jobs()
    assert tasks.dispatch(session_factory, ws, sender=jobs.sender) == 2
    assert tasks.dispatch(session_factory, ws, sender=jobs.sender) == 0  # once each
    assert all(o is not None and o.delivered for o in deliver_all(session_factory, settings, jobs))
    assert len(receiver.got) == 2
    for headers, body in receiver.got:
        assert verified(made["secret"], headers, body)
        assert headers["content-type"] == "application/json"
        assert headers["accord-delivery"] == json.loads(body)["id"]
        assert headers["idempotency-key"] == json.loads(body)["id"]
    sent = {b["person"]["id"]: b for b in receiver.bodies()}
    assert set(sent) == {str(ana), str(ben)}
    with session_factory() as s:
        logged = s.execute(
            select(AccessLogEntry.profile_id, AccessLogEntry.actor, AccessLogEntry.action)
        ).all()
    assert {tuple(r) for r in logged} == {
        (ana, "destination CRM", "export"),
        (ben, "destination CRM", "export"),
    }
    assert sent[str(ana)]["event"] == "Audience Entered"
    assert sent[str(ana)]["segment"] == {"id": str(row.id), "name": "Team A"}
    assert sent[str(ana)]["person"] == {"id": str(ana), "email": "ana@example.com", "name": "Ana"}
    assert sent[str(ana)]["timestamp"] == NOW.isoformat()

    people.send({"type": "identify", "userId": "ana", "traits": {"team": "b"}})
    segments.evaluate(session, ENGINE, ws, [ana], now=NOW + timedelta(hours=1))
    session.commit()
    assert tasks.dispatch(session_factory, ws, sender=jobs.sender) == 2  # both segments
    deliver_all(session_factory, settings, jobs)
    exits = [b for b in receiver.bodies()[2:] if b["segment"]["id"] == str(row.id)]
    assert [(b["event"], b["person"]["id"]) for b in exits] == [("Audience Exited", str(ana))]
    log = client.get(
        f"/api/v1/destinations/{made['id']}/deliveries", headers=bearer(workspace.api_token)
    ).json()["data"]
    assert len(log) == 4
    assert {d["status"] for d in log} == {"delivered"}
    assert log[0]["event"] == "Audience Exited"  # newest first


def test_a_failing_receiver_is_retried_with_back_off_until_it_answers(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace: ProvisionedWorkspace,
) -> None:
    ws = workspace.workspace.id
    flaky = Receiver(fail=2, status=503)
    try:
        made = create(client, workspace, flaky.url)
        People(session, ws).person("ana", {"team": "a", "email": "ana@example.com"})
        segments.build(session, ENGINE, segment(session, ws, team()), now=NOW)
        session.commit()
        jobs = Jobs()
        assert tasks.dispatch(session_factory, ws, sender=jobs.sender) == 1
        ((delivery_id, _),) = jobs.delivered
        t0 = utcnow()
        first = deliver_all(session_factory, settings, jobs, now=t0)[0]
        assert first == webhooks.Outcome(False, 503, "answered 503 Service Unavailable: nope")
        assert jobs.delivered == [(delivery_id, t0 + timedelta(seconds=30))]
        (row,) = deliveries(session_factory, made["id"])
        assert (row.status, row.attempts, row.next_attempt_at) == (
            "retrying",
            1,
            t0 + timedelta(seconds=30),
        )
        # Not due yet: nothing is sent.
        early = tasks.deliver(
            session_factory,
            delivery_id,
            secret_key=settings.resolved_secret_key,
            sender=jobs.sender,
            now=t0 + timedelta(seconds=10),
        )
        assert early is None
        assert len(flaky.got) == 1
        deliver_all(session_factory, settings, jobs, now=t0 + timedelta(seconds=30))
        assert jobs.delivered == [(delivery_id, t0 + timedelta(seconds=90))]  # then 60 s
        third = deliver_all(session_factory, settings, jobs, now=t0 + timedelta(seconds=90))[0]
        assert third is not None
        assert third.delivered
        assert jobs.delivered == []
        assert len(flaky.got) == 3
        assert len({body for _, body in flaky.got}) == 1  # the same bytes each time
        assert all(verified(made["secret"], h, b) for h, b in flaky.got)
        shown = client.get(
            f"/api/v1/destinations/{made['id']}/deliveries/{delivery_id}",
            headers=bearer(workspace.api_token),
        ).json()
        assert shown["status"] == "delivered"
        assert (shown["attempts"], shown["last_status_code"], shown["last_error"]) == (3, 200, None)
        assert shown["next_attempt_at"] is None
        assert shown["delivered_at"] is not None
    finally:
        flaky.close()


def test_after_eight_failures_a_delivery_is_given_up_and_a_replay_sends_it_again(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    receiver: Receiver,
) -> None:
    ws = workspace.workspace.id
    auth = bearer(workspace.api_token)
    made = create(client, workspace, f"http://127.0.0.1:{free_port()}/closed")
    People(session, ws).person("ana", {"team": "a", "email": "ana@example.com"})
    segments.build(session, ENGINE, segment(session, ws, team()), now=NOW)
    session.commit()
    jobs = Jobs()
    tasks.dispatch(session_factory, ws, sender=jobs.sender)
    ((delivery_id, _),) = jobs.delivered
    now = utcnow()
    waits = []
    for attempt in range(1, delivery.MAX_ATTEMPTS + 1):
        outcome = deliver_all(session_factory, settings, jobs, now=now)[0]
        assert outcome is not None
        assert not outcome.delivered
        assert outcome.error is not None
        assert "could not connect" in outcome.error
        if attempt < delivery.MAX_ATTEMPTS:
            ((_, at),) = jobs.delivered
            assert at is not None
            waits.append((at - now).total_seconds())
            now = at
    assert waits == [30, 60, 120, 240, 480, 960, 1920]
    assert jobs.delivered == []
    (row,) = deliveries(session_factory, made["id"])
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 8, None)

    base = f"/api/v1/destinations/{made['id']}"
    replay = f"{base}/deliveries/{delivery_id}/replay"
    theirs = bearer(other_workspace.api_token)
    for method, path in (
        ("POST", replay),
        ("GET", f"{base}/deliveries"),
        ("GET", f"{base}/deliveries/{delivery_id}"),
        ("GET", base),
        ("PATCH", base),
        ("POST", f"{base}/test"),
        ("DELETE", base),
    ):
        response = client.request(
            method, path, headers=theirs, json={} if method == "PATCH" else None
        )
        assert response.status_code == 404, (method, path, response.text)
    assert client.post(f"{base}/deliveries/{uuid.uuid4()}/replay", headers=auth).status_code == 404

    assert client.patch(base, json={"url": receiver.url}, headers=auth).status_code == 200
    again = client.post(replay, headers=auth)
    assert again.status_code == 202, again.text
    assert (again.json()["status"], again.json()["attempts"], again.json()["replays"]) == (
        "pending",
        0,
        1,
    )
    outcome = tasks.deliver(
        session_factory, delivery_id, secret_key=settings.resolved_secret_key, sender=jobs.sender
    )
    assert outcome is not None
    assert outcome.delivered
    assert json.loads(receiver.got[0][1])["id"] == str(delivery_id)


def test_a_paused_destination_sends_nothing_until_resumed_and_a_test_event_any_time(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace: ProvisionedWorkspace,
    receiver: Receiver,
) -> None:
    ws = workspace.workspace.id
    auth = bearer(workspace.api_token)
    made = create(client, workspace, receiver.url)
    base = f"/api/v1/destinations/{made['id']}"
    people = People(session, ws)
    people.person("ana", {"team": "a", "email": "ana@example.com"})
    segments.build(session, ENGINE, segment(session, ws, team()), now=NOW)
    session.commit()
    jobs = Jobs()
    assert tasks.dispatch(session_factory, ws, sender=jobs.sender) == 1
    paused = client.patch(base, json={"status": "paused"}, headers=auth)
    assert paused.json()["status"] == "paused"
    assert deliver_all(session_factory, settings, jobs) == [None]  # it waits
    ben = people.person("ben", {"team": "a", "email": "ben@example.com"})
    segments.evaluate(session, ENGINE, ws, [ben], now=NOW)
    session.commit()
    assert tasks.dispatch(session_factory, ws, sender=jobs.sender) == 0
    assert receiver.got == []

    test = client.post(f"{base}/test", headers=auth)
    assert test.status_code == 202, test.text
    assert test.json()["event"] == "Audience Test"
    tasks.deliver(
        session_factory,
        uuid.UUID(test.json()["id"]),
        secret_key=settings.resolved_secret_key,
        sender=jobs.sender,
    )
    assert receiver.bodies()[0]["event"] == "Audience Test"
    assert receiver.bodies()[0]["person"] is None
    assert receiver.bodies()[0]["segment"] is None

    resumed = client.patch(base, json={"status": "active"}, headers=auth)
    assert resumed.json()["deliveries"] == {"pending": 1, "delivered": 1}
    # What waited, and the change made while paused (the resume enqueues both).
    assert tasks.dispatch(session_factory, ws, sender=jobs.sender) == 1
    waiting = [d.id for d in deliveries(session_factory, made["id"]) if d.status == "pending"]
    for delivery_id in waiting:
        tasks.deliver(
            session_factory,
            delivery_id,
            secret_key=settings.resolved_secret_key,
            sender=jobs.sender,
        )
    entered = sorted(b["person"]["email"] for b in receiver.bodies()[1:])
    assert entered == ["ana@example.com", "ben@example.com"]


def test_the_sweep_sends_what_a_lost_job_left_and_the_log_forgets_after_thirty_days(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    settings: Settings,
    workspace: ProvisionedWorkspace,
    receiver: Receiver,
) -> None:
    ws = workspace.workspace.id
    made = create(client, workspace, receiver.url)
    People(session, ws).person("ana", {"team": "a", "email": "ana@example.com"})
    segments.build(session, ENGINE, segment(session, ws, team()), now=NOW)
    session.commit()
    lost = Jobs()  # its jobs are never run
    assert tasks.dispatch(session_factory, ws, sender=lost.sender) == 1
    jobs = Jobs()
    tasks.sweep(session_factory, sender=jobs.sender)
    assert jobs.delivered == []  # not late yet
    later = utcnow() + timedelta(minutes=2)
    tasks.sweep(session_factory, sender=jobs.sender, now=later)
    assert jobs.delivered == lost.delivered
    deliver_all(session_factory, settings, jobs)
    assert len(receiver.got) == 1
    assert tasks.prune(session_factory, now=later) == 0
    assert tasks.prune(session_factory, now=later + timedelta(days=31)) == 1
    assert deliveries(session_factory, made["id"]) == []


def until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("not reached in time")


def test_with_the_job_engine_a_new_member_reaches_the_webhook_with_no_one_asking(
    committed: Committed, receiver: Receiver
) -> None:
    provisioned = committed.workspace("Live audiences")
    ws = provisioned.workspace.id
    with transaction(committed.factory) as session:
        People(session, ws).person("ana", {"team": "a", "email": "ana@example.com"})
    app = create_app(committed.settings(resolve_worker=False, outbox_worker=False))
    with TestClient(app) as client:
        made = create(client, provisioned, receiver.url)
        response = client.post(
            "/api/v1/segments",
            json={"name": "Team A", "definition": team()},
            headers=bearer(provisioned.api_token),
        )
        assert response.status_code == 201, response.text
        until(lambda: receiver.got, timeout=60)
    headers, body = receiver.got[0]
    assert verified(made["secret"], headers, body)
    sent = json.loads(body)
    assert (sent["event"], sent["person"]["email"]) == ("Audience Entered", "ana@example.com")
