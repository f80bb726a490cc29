"""A full build compares who the definition holds with who the segment holds in the
database, and writes only the differences: the same result with a full outer join
(PostgreSQL, SQLite from 3.39) and without one (older SQLite), on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.segments import repository, service
from accord.analyze.segments.models import SegmentChange
from accord.analyze.segments.repository import SegmentRepository
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.profile.models import Profile
from tests.analyze.helpers import ENGINE, NOW, People, at, segment


@pytest.mark.parametrize("joined", [True, False], ids=["full-join", "two-queries"])
def test_a_rebuild_moves_exactly_the_people_whose_membership_changed(
    session: Session,
    workspace: ProvisionedWorkspace,
    monkeypatch: pytest.MonkeyPatch,
    joined: bool,
) -> None:
    monkeypatch.setattr(repository, "full_join", lambda _session: joined)
    ws = workspace.workspace.id
    p = People(session, ws)
    ana = p.person("ana", {"plan": "Pro"})
    ben = p.person("ben", {"plan": "pro"})
    cy = p.person("cy", {"plan": "free"})
    dee = p.person("dee")
    row = segment(session, ws, {"kind": "trait", "field": "plan", "op": "in", "value": ["PRO"]})
    first = service.build(session, ENGINE, row, now=NOW)
    repo = SegmentRepository.from_session(session)
    assert (first.entered, first.exited) == (2, 0)
    assert repo.member_ids(row.id) == {ana, ben}
    assert row.size == 2

    # Nothing changed: a rebuild writes nothing.
    again = service.build(session, ENGINE, row, now=at(days=-1), cause="rebuild")
    assert (again.entered, again.exited) == (0, 0)

    # Ben moves to the free plan and Cy to the pro plan behind the live evaluation's
    # back (as a restore or a bulk load would): the rebuild finds both.
    for pid, plan in ((ben, "free"), (cy, "pro")):
        person = session.get(Profile, pid)
        assert person is not None
        person.traits = {**person.traits, "plan": {**person.traits["plan"], "value": plan}}
    session.flush()
    moved = service.build(session, ENGINE, row, now=at(days=-2), cause="rebuild")
    assert (moved.entered, moved.exited) == (1, 1)
    assert repo.member_ids(row.id) == {ana, cy}
    assert row.size == 2
    history = session.execute(
        select(SegmentChange.profile_id, SegmentChange.kind, SegmentChange.cause).where(
            SegmentChange.segment_id == row.id, SegmentChange.at == at(days=-2)
        )
    ).all()
    assert sorted(history, key=lambda h: h[1]) == [
        (cy, "entered", "rebuild"),
        (ben, "exited", "rebuild"),
    ]
    assert dee not in repo.member_ids(row.id)
