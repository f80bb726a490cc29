"""A segment's members and timers of a few people are found through the whole
(segment, person) key in every plan PostgreSQL may use, on tables never analyzed: the
evaluation after each change reads them for the people it touched, and a filter over
every member of a large segment (300,000 people) would cost that much for each change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from accord.analyze.segments.models import SegmentMember, SegmentTimer
from accord.analyze.segments.repository import SegmentRepository
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.dialect import insert_ignore
from accord.kit.ids import new_ids
from accord.kit.planning import in_index_order
from accord.kit.time import utcnow
from accord.profile.models import Profile
from tests.analyze.helpers import segment
from tests.helpers import leading_columns, never_then_analyzed, nodes_of, plans_of, scans_of

PEOPLE = 20_000


def test_members_and_timers_of_a_few_people_use_the_whole_key_in_every_plan(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    now = utcnow()
    ids = new_ids(PEOPLE)
    insert_ignore(
        session,
        Profile.__table__,
        [
            {"id": i, "workspace_id": ws, "traits": {}, "stats": {}, "contested": False,
             "order_count": 0, "revenue": 0,
             "created_at": now, "updated_at": now}
            for i in ids
        ],
        ["id"],
    )  # fmt: skip
    row = segment(session, ws, {"kind": "trait", "field": "plan", "op": "exists"})
    members = [
        {"segment_id": row.id, "profile_id": i, "workspace_id": ws, "since": now} for i in ids
    ]
    timers = [
        {"segment_id": row.id, "profile_id": i, "workspace_id": ws, "due_at": now} for i in ids
    ]
    insert_ignore(session, SegmentMember.__table__, members, ["segment_id", "profile_id"])
    insert_ignore(session, SegmentTimer.__table__, timers, ["segment_id", "profile_id"])
    repo = SegmentRepository.from_session(session)
    few = [ids[7], ids[123], ids[4567], ids[-1]]
    later = {p: now + timedelta(days=1) for p in few[:2]}
    for number, call in enumerate(
        (
            lambda: repo.member_ids(row.id, few),
            lambda: repo.timers(row.id, few),
            lambda: repo.replace_timers(row, few, later),
            lambda: repo.remove_members(row.id, few[2:]),
            lambda: repo.drop_timers([(row.id, p) for p in few]),
            lambda: repo.drop_timers_of(few),
        )
    ):
        plans = plans_of(
            session,
            call,
            lambda s: (
                "segment_members" in s.split("WHERE")[0] or "segment_timers" in s.split("WHERE")[0]
            ),
        )
        assert plans
        for plan in plans:
            for scan in scans_of(plan):
                if scan.get("Relation Name") not in ("segment_members", "segment_timers"):
                    continue
                shown = " ".join(
                    str(scan.get(k)) for k in ("Node Type", "Index Name", "Index Cond", "Filter")
                )
                assert scan["Node Type"] != "Seq Scan", (number, shown)
                # A bitmap scan's condition is its index scan's.
                conditions = [scan.get("Index Cond", "")] + [
                    child.get("Index Cond", "") for child in scan.get("Plans", [])
                ]
                assert "profile_id" in " ".join(conditions), (number, shown)
                # Sought by the person, not by a prefix before it left free.
                for node in [scan, *scan.get("Plans", [])]:
                    if "Index Name" in node:
                        assert "profile_id" in leading_columns(session, node), (number, shown)
                if number == 5:  # by person alone: an index that starts with the person
                    names = [scan.get("Index Name")] + [
                        child.get("Index Name") for child in scan.get("Plans", [])
                    ]
                    assert "ix_segment_timers_profile_id" in names, shown
    assert repo.member_ids(row.id, few) == set(few[:2])  # two were removed
    assert repo.timers(row.id, few) == {}  # dropped by segment, then by person
    assert len(repo.timers(row.id, ids[:100])) == 99  # ids[7] has none left


def test_a_page_of_members_reads_only_its_own_people(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    """A page of a large segment's members after a cursor reads the page's members along
    the segment's key, then each one's person by key. Joined in one statement, one run
    with statistics merged the members with every person in id order up to the page (72
    ms deep into a segment of 200,000), and the generic plan, which cannot know how few
    rows the limit leaves, hashed every person of the workspace."""
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    now = utcnow()
    session.execute(
        text(
            "INSERT INTO profiles (id, workspace_id, contested, traits, stats, order_count,"
            " revenue, created_at) SELECT gen_random_uuid(), :ws, false, '{}', '{}', 0, 0, now()"
            " FROM generate_series(1, :n)"
        ),
        {"ws": ws, "n": PEOPLE},
    )
    row = segment(session, ws, {"kind": "trait", "field": "plan", "op": "exists"})
    session.execute(
        text(
            "INSERT INTO segment_members (segment_id, profile_id, workspace_id, since)"
            " SELECT :s, id, workspace_id, :now FROM profiles WHERE workspace_id = :ws"
        ),
        {"s": row.id, "ws": ws, "now": now},
    )
    repo = SegmentRepository.from_session(session)
    ids = sorted(
        session.scalars(text("SELECT id FROM profiles WHERE workspace_id = :ws"), {"ws": ws})
    )
    middle = ids[PEOPLE // 2]
    for analyzed in never_then_analyzed(session, "profiles", "segment_members"):
        for after in (None, middle):
            # The page is read with sorting disabled (``in_index_order``), its plans too.
            with in_index_order(session):
                plans = plans_of(
                    session,
                    lambda after=after: repo.members_page(row.id, 50, after),  # type: ignore[misc]
                    lambda s: "FROM segment_members" in s or "FROM profiles" in s,
                )
            assert len(plans) == 4  # the page, then its people: each plan and its generic one
            for plan in plans:
                kinds = [n["Node Type"] for n in nodes_of(plan)]
                assert not {"Merge Join", "Hash Join", "Sort", "Seq Scan"} & set(kinds), (
                    analyzed,
                    kinds,
                )
                # Each read through a primary key, sought by it (a bitmap heap scan reads
                # the rows its index scan found).
                for scan in scans_of(plan):
                    if "Index Name" not in scan:
                        assert scan["Node Type"] == "Bitmap Heap Scan", scan
                        continue
                    key = {"pk_profiles": "id", "pk_segment_members": "segment_id"}
                    assert scan["Index Name"] in key, scan
                    assert key[scan["Index Name"]] in leading_columns(session, scan), scan
    page = repo.members_page(row.id, 50, middle)
    assert [m.profile_id for m, _ in page] == [p.id for _, p in page]
    assert [m.profile_id for m, _ in page] == ids[PEOPLE // 2 + 1 : PEOPLE // 2 + 51]
