"""What the command line changes about people is heard as the server's changes are: an
import's people reach the segments' evaluation, their acquisition touches and the
journeys waiting for their events (each left to the job engine's consumer)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from accord.analyze.acquisition import tasks as acquisition_tasks
from accord.analyze.acquisition.models import AcquisitionTouch, TouchBacklog
from accord.analyze.segments.models import SegmentDirty
from accord.cli.main import app as cli
from accord.govern.access.principal import Principal
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.outreach.journeys import service as journeys
from accord.outreach.journeys.models import JourneySignal
from tests.collect.test_imports import STORE_VISIT

runner = CliRunner()


def test_an_imported_event_reaches_segments_touches_and_the_journey_waiting_for_it(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(cli, ["workspace", "create", "Store", "--json"])
    workspace_id = json.loads(made.output)["workspace_id"]
    engine = create_db_engine(fresh_db_url)
    factory = create_session_factory(engine)
    try:
        with transaction(factory) as session:
            actor = Principal.cli(uuid.UUID(workspace_id))
            definition = {
                "trigger": {"kind": "event", "event": "Store Visit"},
                "steps": [{"id": "wait", "kind": "wait", "seconds": 3600}],
            }
            journey = journeys.create(session, actor, name="Visit", definition=definition)
            journeys.publish(session, actor, journey.id)
        events = tmp_path / "events.jsonl"
        events.write_text(json.dumps(STORE_VISIT) + "\n")
        result = runner.invoke(
            cli, ["import", "events", str(events), "-w", workspace_id, "--channel", "store"]
        )
        assert result.exit_code == 0, result.output
        with factory() as session:
            signals = session.scalars(select(JourneySignal.name)).all()
            dirty = session.scalars(select(SegmentDirty.profile_ids)).all()
            waiting = session.scalars(select(TouchBacklog.id)).all()
        assert signals == ["Store Visit"]
        people = {p for noted in dirty for p in noted}
        assert len(people) == 1
        assert len(waiting) == 1  # the consumer's job (or its minutely sweep) follows it
        acquisition_tasks.follow_all(factory)
        with factory() as session:
            touched = session.scalars(select(AcquisitionTouch.profile_id)).all()
        assert {str(p) for p in touched} == people
    finally:
        engine.dispose()
