"""A run's merges written in sets leave the workspace exactly as joining the pairs one at
a time through the identity graph does, on both databases: the same survivors, the same
identifiers, events, orders, tombstones, merges with their evidence, consent and golden
records; a cluster the graph's rules reshape (more emails than allowed) still goes one
pair at a time; a merge made in a set is undone by ``split`` like any other."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.config import Settings
from accord.govern.consent.models import ConsentRecord
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.match import applying, service
from accord.match.models import MatchCandidate
from accord.profile.models import Order, Profile
from accord.resolve import sets
from accord.resolve.models import Identifier, IdentityLink, Merge
from tests.helpers import bearer, count_queries
from tests.resolve.test_identity import Api, idents

PEOPLE = [
    ("Ana", "Lopez", "1984-03-12", "12 Oak St", "Portland", "97205"),
    ("Ben", "Okafor", "1979-01-02", "4 Elm St", "Denver", "80202"),
    ("Chloe", "Nguyen", "1991-07-30", "77 Pine Ave", "Austin", "78701"),
    ("Dmitri", "Volkov", "1966-11-05", "9 Lake Blvd", "Boston", "02108"),
    ("Eva", "Schmidt", "1958-04-22", "3 Mill Ln", "Chicago", "60601"),
    ("Farid", "Haddad", "1972-12-09", "610 Cedar Ct", "Miami", "33101"),
]
STRANGERS = [
    ("Gia", "Rossi", "1995-06-18", "88 Bay St", "Tampa", "33602"),
    ("Hugo", "Martin", "1969-10-01", "14 Rue Ave", "Reno", "89501"),
    ("Ines", "Costa", "1988-02-27", "5 Hill Rd", "Salem", "97301"),
    ("Jon", "Berg", "2001-08-08", "230 Fir Dr", "Omaha", "68102"),
]


def _traits(who: tuple[str, ...]) -> dict[str, Any]:
    first, last, dob, street, city, postcode = who
    return {
        "firstName": first,
        "lastName": last,
        "birthday": dob,
        "address": {"street": street, "city": city, "postalCode": postcode},
    }


def _more_emails(api: Api, ids: dict[str, Any], *emails: str) -> None:
    """Emails a record gave before its name and address."""
    for email in emails:
        api.send("identify", timestamp="2026-05-01T09:00:00Z", traits={"email": email}, **ids)


def _seed(api: Api, client: TestClient, ws: ProvisionedWorkspace) -> None:
    """Three records of each person that share no identifier, with what a merge must
    carry along: an order, consent, an earlier merge (a tombstone), many emails."""
    for n, who in enumerate(PEOPLE):
        for r in range(3):
            ids: dict[str, Any] = {"anonymousId": f"p{n}-r{r}"}
            traits = _traits(who)
            if n == 1 and r == 2:
                ids = {"userId": f"member-{n}"}
                traits |= {"email": "ben.okafor@example.com", "phone": "+1 303 555 0199"}
            if n == 0 and r == 2:  # more identifiers than the person merged before
                traits |= {"email": "ana.l@example.com", "phone": "+1 503 555 0101"}
                _more_emails(api, ids, "ana.work@example.com", "ana.home@example.com")
            if n == 3:  # six emails in all, over the limit of five: reshaped
                traits |= {"email": f"dmitri{r}@example.com"}
                _more_emails(api, ids, f"dmitri.alt{r}@example.com")
            api.send("identify", traits=traits, timestamp=f"2026-05-0{r + 1}T10:00:00Z", **ids)
    # An earlier merge: a visitor who later gives the email of Ana's first record, so
    # that record's person already absorbed someone.
    api.send(
        "identify",
        anonymousId="p0-r0",
        traits={"email": "ana.lopez@example.com"},
        timestamp="2026-05-04T10:00:00Z",
    )
    api.send(
        "track",
        anonymousId="p0-extra",
        event="Viewed Pricing",
        timestamp="2026-04-30T10:00:00Z",
    )
    api.send(
        "identify",
        anonymousId="p0-extra",
        traits={"email": "ana.lopez@example.com"},
        timestamp="2026-05-04T11:00:00Z",
    )
    api.send(
        "track",
        anonymousId="p2-r1",
        event="Order Completed",
        properties={"order_id": "A-1", "total": 42.5, "currency": "USD"},
        timestamp="2026-05-05T10:00:00Z",
    )
    for n, who in enumerate(STRANGERS):
        api.send(
            "identify",
            anonymousId=f"s{n}",
            traits=_traits(who),
            timestamp="2026-05-01T10:00:00Z",
        )
    pid = api.profile(anonymous_id="p4-r1")["id"]
    consent = client.post(
        f"/api/v1/profiles/{pid}/consent",
        json={"channel": "email", "purpose": "marketing", "status": "denied", "source": "form"},
        headers=bearer(ws.api_token),
    )
    assert consent.status_code in (200, 201), consent.text


def _state(session: Session, workspace_id: uuid.UUID) -> dict[str, Any]:
    session.flush()
    session.expire_all()

    def rows(stmt: Any) -> list[Any]:
        return list(session.execute(stmt))

    # A tombstone's own figures are never read (a split recomputes them): only whom it
    # points at counts.
    profiles = {
        p.id: (p.merged_into_id,)
        if p.merged_into_id is not None
        else (
            p.contested,
            json.dumps(p.traits, sort_keys=True),
            json.dumps(p.stats, sort_keys=True),
            p.display_name,
            p.email,
            p.phone,
            p.order_count,
            str(p.revenue),
            p.first_seen_at,
            p.last_seen_at,
        )
        for p in session.scalars(select(Profile).where(Profile.workspace_id == workspace_id))
    }
    merges = sorted(
        (
            str(m.survivor_id),
            str(m.absorbed_id),
            m.rule,
            tuple(m.survivor_identifiers),
            tuple(m.absorbed_identifiers),
            json.dumps(m.evidence, sort_keys=True),
        )
        for m in session.scalars(select(Merge).where(Merge.workspace_id == workspace_id))
    )
    consent = sorted(
        (str(c.profile_id), str(c.origin_profile_id), c.channel, c.purpose, c.status, c.source)
        for c in session.scalars(
            select(ConsentRecord).where(ConsentRecord.workspace_id == workspace_id)
        )
    )
    candidates = sorted(
        (c.kind, str(c.profile_a_id), str(c.profile_b_id), c.status, round(c.match_weight, 6))
        for c in session.scalars(
            select(MatchCandidate).where(MatchCandidate.workspace_id == workspace_id)
        )
    )
    return {
        "profiles": profiles,
        "identifiers": dict(
            rows(
                select(Identifier.id, Identifier.profile_id).where(
                    Identifier.workspace_id == workspace_id
                )
            )
        ),
        "events": dict(
            rows(select(Event.id, Event.profile_id).where(Event.workspace_id == workspace_id))
        ),
        "orders": dict(
            rows(select(Order.id, Order.profile_id).where(Order.workspace_id == workspace_id))
        ),
        "links": sorted(
            (str(a), str(b), m)
            for a, b, m in rows(
                select(IdentityLink.a_id, IdentityLink.b_id, IdentityLink.message_id).where(
                    IdentityLink.workspace_id == workspace_id
                )
            )
        ),
        "merges": merges,
        "consent": consent,
        "candidates": candidates,
    }


def test_merges_in_sets_equal_merges_one_at_a_time_and_split_undoes_them(
    client: TestClient,
    workspace: ProvisionedWorkspace,
    session: Session,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    api = Api(client, workspace)
    _seed(api, client, workspace)
    ws = workspace.workspace.id
    snap = service.snapshot(session, ws, settings)
    result = service.compute(snap)

    def run(in_sets: bool) -> tuple[applying.Summary, dict[str, Any], int]:
        with count_queries(session.connection()) as statements:
            summary = applying.apply(
                session,
                ws,
                result,
                snap.thresholds,
                snap.rows,
                run_id=None,
                actor="test",
                in_sets=in_sets,
            )
        return summary, _state(session, ws), len(statements)

    outcomes: list[sets.Outcome] = []
    join = sets.join

    def spy(*args: Any, **kwargs: Any) -> sets.Outcome:
        outcomes.append(join(*args, **kwargs))
        return outcomes[-1]

    monkeypatch.setattr(sets, "join", spy)
    one, by_one, one_statements = run(in_sets=False)
    session.rollback()
    sets_, in_sets, set_statements = run(in_sets=True)

    # Six people of three records each: two joins each (Dmitri's six emails are over
    # the limit of five, so the graph reshapes his cluster one pair at a time).
    assert one.merged == sets_.merged == 12
    assert in_sets["merges"] == by_one["merges"]
    assert in_sets == by_one
    (outcome,) = outcomes
    assert len(outcome.merges) == 10
    assert len(outcome.left) == 2  # Dmitri's, one pair at a time
    # The person merged before the run was absorbed: its tombstone follows.
    live_ana = by_one["identifiers"][
        session.scalars(select(Identifier.id).where(Identifier.value == "p0-r2")).one()
    ]
    ana_rows = session.scalars(
        select(Identifier.profile_id).where(Identifier.value.in_(["p0-r0", "p0-extra"]))
    ).all()
    assert set(ana_rows) == {live_ana}
    tombstones = [p for p, row in in_sets["profiles"].items() if row == (live_ana,)]
    assert len(tombstones) == 3  # p0-r0's, p0-extra's and p0-r1's people
    # The sets write in a bounded number of statements, where one at a time costs
    # about thirty a merge.
    assert set_statements < one_statements / 2, (set_statements, one_statements)
    session.commit()

    # The order moved with its event; consent followed the merge.
    ana = api.profile(anonymous_id="p0-r1")
    assert {"anonymous_id:p0-r0", "anonymous_id:p0-extra", "anonymous_id:p0-r2"} <= idents(ana)
    chloe = uuid.UUID(api.profile(anonymous_id="p2-r0")["id"])
    assert session.scalars(select(Order.profile_id).where(Order.order_id == "A-1")).all() == [chloe]
    eva = api.profile(anonymous_id="p4-r0")
    state = client.get(
        f"/api/v1/profiles/{eva['id']}/consent", headers=bearer(workspace.api_token)
    ).json()
    assert any(s["status"] == "denied" for s in state["states"]), state

    # A merge made in a set is undone exactly: the absorbed side comes back as it was.
    eva_merges = session.scalars(
        select(Merge).where(Merge.survivor_id == uuid.UUID(eva["id"]), Merge.rule == applying.RULE)
    ).all()
    assert len(eva_merges) == 2
    first = min(eva_merges, key=lambda m: len(m.survivor_identifiers))
    absorbed = [uuid.UUID(i) for i in first.absorbed_identifiers]
    api.split(eva["id"], str(first.id))
    session.expire_all()
    back = session.scalars(select(Identifier.profile_id).where(Identifier.id.in_(absorbed)))
    assert set(back) == {first.absorbed_id}
    again = service.snapshot(session, ws, settings)
    summary = applying.apply(
        session,
        ws,
        service.compute(again),
        again.thresholds,
        again.rows,
        run_id=None,
        actor="test",
    )
    assert summary.merged == 0  # the undone merge is remembered


def test_people_changed_after_the_run_read_them_are_joined_as_they_are_now(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session, settings: Settings
) -> None:
    api = Api(client, workspace)
    _seed(api, client, workspace)
    ws = workspace.workspace.id
    snap = service.snapshot(session, ws, settings)
    result = service.compute(snap)
    # While the model ran: two of Eva's records were joined by a shared email, and two of
    # Farid's records were given different user ids.
    for n in (0, 1):
        api.send(
            "identify",
            anonymousId=f"p4-r{n}",
            traits={"email": "eva.schmidt@example.com"},
            timestamp="2026-05-06T10:00:00Z",
        )
        api.send(
            "identify",
            anonymousId=f"p5-r{n}",
            userId=f"farid-{n}",
            timestamp="2026-05-06T10:00:00Z",
        )
    assert api.profile(anonymous_id="p4-r0")["id"] == api.profile(anonymous_id="p4-r1")["id"]
    steps: list[str] = []
    summary = applying.apply(
        session,
        ws,
        result,
        snap.thresholds,
        snap.rows,
        run_id=None,
        actor="test",
        on_step=steps.append,
    )
    session.commit()
    # How far it is, for a long run's progress.
    assert all(step.startswith("applying decisions: ") for step in steps)
    assert "applying decisions: recording merges 0 of 8" in steps, steps
    assert any(step.startswith("applying decisions: golden records 0 of ") for step in steps)
    eva = api.profile(anonymous_id="p4-r2")
    assert {f"anonymous_id:p4-r{n}" for n in range(3)} <= idents(eva)
    farid = [api.profile(anonymous_id=f"p5-r{n}")["id"] for n in range(3)]
    assert farid[0] != farid[1]  # two user ids are never one person
    assert summary.blocked >= 1
    # Eva's first join was made already; Farid's third record joins one of the two.
    assert summary.merged == 12 - 1 - 1
    assert len(set(farid)) == 2
