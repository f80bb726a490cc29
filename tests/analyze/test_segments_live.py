"""Real time, end to end, on both databases: the app with its resolver and the job
engine's consumer (huey, on the database's own storage): a tracking call makes a person
enter a segment with no one asking, and a windowed segment's timer, scheduled on the job
engine, makes them leave when the window closes."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.analyze.segments import service
from accord.analyze.segments.models import SegmentChange
from accord.analyze.segments.repository import SegmentRepository
from accord.app import create_app
from accord.collect.models import Event
from accord.kit.db import transaction
from accord.kit.time import utcnow
from tests.analyze.helpers import principal
from tests.helpers import Committed


def until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("not reached in time")


def test_membership_follows_events_and_the_clock_with_no_one_asking(committed: Committed) -> None:
    provisioned = committed.workspace("Live")
    ws = provisioned.workspace.id
    settings = committed.settings(
        jobs_worker=True,
        resolve_worker=True,
        resolve_inline=False,
        outbox_worker=False,
        match_worker=False,
        imap_poll_seconds=0,
        retention_worker=False,
    )
    with transaction(committed.factory) as session:
        # Viewed in the last few seconds: a window short enough to close during the test.
        recent = service.save(
            session,
            ws,
            name="Viewing now",
            definition={
                "kind": "event",
                "name": "Product Viewed",
                "within": {"minutes": 1},
            },
            description=None,
            actor=principal(ws),
        )
        sid = recent.id
    app = create_app(settings)
    auth = {
        "Authorization": "Basic " + base64.b64encode(f"{provisioned.write_key}:".encode()).decode()
    }
    with TestClient(app) as client:
        assert app.state.jobs is not None
        sent_at = utcnow() - timedelta(seconds=55)
        r = client.post(
            "/v1/track",
            json={
                "userId": "ana",
                "event": "Product Viewed",
                "timestamp": sent_at.isoformat(),
                "sentAt": utcnow().isoformat(),
            },
            headers=auth,
        )
        assert r.status_code == 200, r.text

        def members() -> set[Any]:
            with committed.factory() as session:
                return SegmentRepository.from_session(session).member_ids(sid)

        # Entered once resolved and evaluated by a job.
        until(members)
        # The view leaves the one-minute window about five seconds later: a timer on
        # the job engine makes the person leave, within a second or so of it.
        until(lambda: not members(), timeout=40)
    with committed.factory() as session:
        viewed = session.scalars(select(Event.timestamp).where(Event.workspace_id == ws)).one()
        exit_at = session.scalars(
            select(SegmentChange.at).where(SegmentChange.kind == "exited")
        ).one()
    # Recorded at the moment the window closed.
    assert exit_at == viewed + timedelta(minutes=1)
