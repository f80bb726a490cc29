"""The matching thread's work on a committed database: a run queued through the API is
started by the next step, and new people are matched by the incremental pass."""

from __future__ import annotations

import time
import uuid

from fastapi.testclient import TestClient

from accord.app import create_app
from accord.match.models import MatchRun
from accord.match.tasks import MatchWorker
from tests.helpers import Committed, bearer
from tests.match.test_service import ANA, OTHERS, person, walk_in
from tests.resolve.test_identity import Api, idents


def test_queued_runs_and_new_people_are_handled_by_the_matching_thread(
    committed: Committed,
) -> None:
    ws = committed.workspace("Acme")
    settings = committed.settings(
        resolve_worker=False,
        resolve_inline=True,
        match_worker=False,
        match_incremental_seconds=0.01,
    )
    with TestClient(create_app(settings)) as client:
        api = Api(client, ws)
        person(api, ANA, userId="u-ana")
        for i, traits in enumerate(OTHERS):
            person(api, traits, userId=f"u-{i}")
        queued = client.post("/api/v1/resolve/runs", json={}, headers=bearer(ws.api_token))
        assert queued.status_code == 202

        worker = MatchWorker(committed.factory, settings)
        worker.step()
        with committed.factory() as session:
            run = session.get(MatchRun, uuid.UUID(queued.json()["id"]))
            assert run is not None
            assert run.status == "done"
            assert run.model is not None
            assert run.records == 4

        time.sleep(0.05)
        walk_in(api, 3, "Ana", "Lopez", "97205", "Portland")
        worker.step()  # the incremental pass
        assert "anonymous_id:pos-3" in idents(api.profile(user_id="u-ana"))
        runs = client.get("/api/v1/resolve/runs", headers=bearer(ws.api_token)).json()["data"]
        assert runs[0]["kind"] == "incremental"
        assert runs[0]["merged"] == 1
