"""Probabilistic resolution of a workspace on both databases: people sent through the
tracking API, matched, merged through the identity graph, reviewed, split."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.time import utcnow
from accord.match import applying, incremental, service
from accord.match.models import MatchCandidate
from tests.helpers import bearer
from tests.resolve.test_identity import Api, idents

ANA = {
    "firstName": "Ana",
    "lastName": "Lopez",
    "email": "ana.lopez@example.com",
    "phone": "+1 503 555 0101",
    "birthday": "1984-03-12",
    "address": {"street": "12 Oak St", "city": "Portland", "postalCode": "97205"},
}
OTHERS = [
    {
        "firstName": "Ben",
        "lastName": "Okafor",
        "birthday": "1979-01-02",
        "address": {"street": "4 Elm St", "city": "Denver", "postalCode": "80202"},
    },
    {
        "firstName": "Chloe",
        "lastName": "Nguyen",
        "birthday": "1991-07-30",
        "address": {"street": "77 Pine Ave", "city": "Austin", "postalCode": "78701"},
    },
    {
        "firstName": "Dmitri",
        "lastName": "Volkov",
        "birthday": "1966-11-05",
        "address": {"street": "9 Lake Blvd", "city": "Boston", "postalCode": "02108"},
    },
]


def person(api: Api, traits: dict[str, Any], **ids: str) -> None:
    api.send("identify", traits=traits, timestamp="2026-05-01T10:00:00Z", **ids)


def walk_in(api: Api, n: int, first: str, last: str, postcode: str, city: str) -> None:
    api.send(
        "identify",
        anonymousId=f"pos-{n}",
        traits={
            "firstName": first,
            "lastName": last,
            "address": {"postalCode": postcode, "city": city},
        },
        context={"channel": "store"},
        timestamp="2026-06-01T12:00:00Z",
    )


def resolve_now(session: Session, workspace_id: uuid.UUID, settings: Settings) -> applying.Summary:
    snap = service.snapshot(session, workspace_id, settings)
    result = service.compute(snap)
    summary = applying.apply(
        session, workspace_id, result, snap.thresholds, snap.rows, run_id=None, actor="test"
    )
    session.commit()
    return summary


def seed(api: Api) -> None:
    person(api, ANA, userId="u-ana")
    for i, traits in enumerate(OTHERS):
        person(api, traits, userId=f"u-{i}")
    walk_in(api, 1, "Ana", "Lopez", "97205", "Portland")


def test_a_walk_in_merges_into_the_online_profile_and_a_split_restores_it(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session, settings: Settings
) -> None:
    api = Api(client, workspace)
    seed(api)
    before = api.profile(anonymous_id="pos-1")
    assert before["id"] != api.profile(user_id="u-ana")["id"]

    summary = resolve_now(session, workspace.workspace.id, settings)
    assert summary.merged == 1
    ana = api.profile(user_id="u-ana")
    assert {"anonymous_id:pos-1", "user_id:u-ana"} <= idents(ana)
    merge = next(m for m in api.merges(ana["id"]) if m["rule"] == "probabilistic")
    fields = merge["evidence"]["fields"]
    assert fields["first_name"]["level"] == "exact"
    assert fields["first_name"]["weight"] > 0
    assert fields["address"]["a"]
    assert fields["address"]["b"]
    assert merge["evidence"]["match_probability"] >= settings.match_auto_merge

    api.split(ana["id"], merge["id"])
    assert "anonymous_id:pos-1" not in idents(api.profile(user_id="u-ana"))
    assert api.profile(anonymous_id="pos-1")["id"] == before["id"]
    # The undone merge is remembered: the next run neither merges nor proposes it.
    again = resolve_now(session, workspace.workspace.id, settings)
    assert again.merged == 0
    assert again.proposed == 0
    assert "anonymous_id:pos-1" not in idents(api.profile(user_id="u-ana"))


def test_two_user_ids_are_never_merged(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session, settings: Settings
) -> None:
    api = Api(client, workspace)
    twin = {k: v for k, v in ANA.items() if k not in ("email", "phone")}
    person(api, twin, userId="u-first")
    person(api, twin, userId="u-second")
    for i, traits in enumerate(OTHERS):
        person(api, traits, userId=f"u-{i}")
    summary = resolve_now(session, workspace.workspace.id, settings)
    assert summary.merged == 0
    assert summary.proposed == 0
    assert summary.blocked >= 1
    assert api.profile(user_id="u-first")["id"] != api.profile(user_id="u-second")["id"]


def test_a_family_is_linked_as_a_household_not_merged(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session, settings: Settings
) -> None:
    api = Api(client, workspace)
    home = {"street": "5 Birch Rd", "city": "Seattle", "postalCode": "98101"}
    family = [("Maria", "1970-02-03"), ("Jonas", "1968-09-14"), ("Lea", "2004-05-21")]
    for i, (first, dob) in enumerate(family):
        traits = {"firstName": first, "lastName": "Berg", "birthday": dob, "address": home}
        person(api, traits, anonymousId=f"home-{i}")
    for i, traits in enumerate(OTHERS):
        person(api, traits, userId=f"u-{i}")
    summary = resolve_now(session, workspace.workspace.id, settings)
    assert summary.merged == 0
    assert summary.proposed == 0
    assert summary.households == 3
    ids = {api.profile(anonymous_id=f"home-{i}")["id"] for i in range(3)}
    assert len(ids) == 3
    households = client.get("/api/v1/resolve/households", headers=bearer(workspace.api_token))
    assert households.status_code == 200
    (bergs,) = households.json()["data"]
    assert {m["display_name"] for m in bergs["members"]} == {"Maria Berg", "Jonas Berg", "Lea Berg"}


def _set_thresholds(session: Session, workspace_id: uuid.UUID, **match: float) -> None:
    ws = session.get(Workspace, workspace_id)
    assert ws is not None
    ws.settings = {**(ws.settings or {}), "match": match}
    session.commit()


def test_review_accept_merges_and_a_rejection_is_remembered(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session, settings: Settings
) -> None:
    api = Api(client, workspace)
    seed(api)
    person(api, OTHERS[1] | {"firstName": "Chloé"}, anonymousId="crm-7")
    _set_thresholds(session, workspace.workspace.id, auto_merge=1.0, review=0.5)
    summary = resolve_now(session, workspace.workspace.id, settings)
    assert summary.merged == 0
    assert summary.proposed == 2
    headers = bearer(workspace.api_token)
    listed = client.get("/api/v1/resolve/candidates", headers=headers).json()["data"]
    assert len(listed) == 2
    ana_pair = next(
        c
        for c in listed
        if "Ana Lopez" in (c["profile_a"]["display_name"], c["profile_b"]["display_name"])
    )
    other = next(c for c in listed if c is not ana_pair)
    assert ana_pair["fields"]["last_name"]["level"] == "exact"

    accepted = client.post(f"/api/v1/resolve/candidates/{ana_pair['id']}/accept", headers=headers)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["status"] == "accepted"
    assert accepted.json()["merge_id"]
    assert "anonymous_id:pos-1" in idents(api.profile(user_id="u-ana"))

    rejected = client.post(f"/api/v1/resolve/candidates/{other['id']}/reject", headers=headers)
    assert rejected.status_code == 200
    assert rejected.json()["status"] == "rejected"
    twice = client.post(f"/api/v1/resolve/candidates/{other['id']}/reject", headers=headers)
    assert twice.status_code == 409
    assert twice.json()["code"] == "already_decided"

    again = resolve_now(session, workspace.workspace.id, settings)
    assert again.proposed == 0
    assert again.merged == 0
    pending = session.scalars(
        select(MatchCandidate).where(MatchCandidate.status == "pending")
    ).all()
    assert pending == []
    # The accepted merge is undoable like any other.
    ana = api.profile(user_id="u-ana")
    merge = next(m for m in api.merges(ana["id"]) if m["rule"] == "probabilistic")
    assert merge["evidence"]["accepted_by"]
    api.split(ana["id"], merge["id"])
    assert "anonymous_id:pos-1" not in idents(api.profile(user_id="u-ana"))


def test_runs_are_started_by_api_with_their_scope_and_stay_in_their_workspace(
    client: TestClient,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    session: Session,
) -> None:
    api = Api(client, workspace)
    seed(api)
    url = "/api/v1/resolve/runs"
    assert client.post(url, json={"wait": True}).status_code == 401
    _, reader = access.create_key(
        session,
        workspace_id=workspace.workspace.id,
        kind="token",
        name="reader",
        actor=Principal.cli(workspace.workspace.id),
        scopes=["profiles:read", "profiles:write"],
    )
    session.commit()
    refused = client.post(url, json={"wait": True}, headers=bearer(reader))
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"

    done = client.post(url, json={"wait": True}, headers=bearer(workspace.api_token))
    assert done.status_code == 200, done.text
    run = done.json()
    assert run["status"] == "done"
    assert run["merged"] == 1
    assert run["records"] == 5
    assert run["report"]["phases"]["predict"] >= 0
    assert run["report"]["phases"]["prepare"] >= 0
    queued = client.post(url, json={}, headers=bearer(workspace.api_token))
    assert queued.status_code == 202
    assert queued.json()["status"] == "queued"

    mine = client.get(f"{url}/{run['id']}", headers=bearer(workspace.api_token))
    assert mine.status_code == 200
    theirs = client.get(f"{url}/{run['id']}", headers=bearer(other_workspace.api_token))
    assert theirs.status_code == 404
    listed = client.get(url, headers=bearer(other_workspace.api_token)).json()["data"]
    assert listed == []


def test_a_candidate_of_another_workspace_cannot_be_seen_or_decided(
    client: TestClient,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    session: Session,
    settings: Settings,
) -> None:
    api = Api(client, workspace)
    seed(api)
    _set_thresholds(session, workspace.workspace.id, auto_merge=1.0, review=0.5)
    resolve_now(session, workspace.workspace.id, settings)
    mine = client.get("/api/v1/resolve/candidates", headers=bearer(workspace.api_token)).json()
    candidate_id = mine["data"][0]["id"]
    theirs = bearer(other_workspace.api_token)
    assert client.get("/api/v1/resolve/candidates", headers=theirs).json()["data"] == []
    for decision in ("accept", "reject"):
        response = client.post(
            f"/api/v1/resolve/candidates/{candidate_id}/{decision}", headers=theirs
        )
        assert response.status_code == 404, response.text
    still = client.get("/api/v1/resolve/candidates", headers=bearer(workspace.api_token)).json()
    assert [c["status"] for c in still["data"]] == ["pending"]


def test_a_new_record_is_matched_in_seconds_without_a_full_run(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session, settings: Settings
) -> None:
    api = Api(client, workspace)
    person(api, ANA, userId="u-ana")
    for i, traits in enumerate(OTHERS):
        person(api, traits, userId=f"u-{i}")
    first = client.post(
        "/api/v1/resolve/runs", json={"wait": True}, headers=bearer(workspace.api_token)
    )
    assert first.json()["merged"] == 0
    since = utcnow()
    walk_in(api, 9, "Ana", "Lopez", "97205", "Portland")
    summary = incremental.match_new(session, workspace.workspace.id, settings, since=since)
    session.commit()
    assert summary is not None
    assert summary.records == 1
    assert summary.merged == 1
    assert "anonymous_id:pos-9" in idents(api.profile(user_id="u-ana"))


def test_an_incremental_pass_with_more_changes_than_it_takes_goes_on_from_there(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session, settings: Settings
) -> None:
    api = Api(client, workspace)
    person(api, ANA, userId="u-ana")
    for i, traits in enumerate(OTHERS):
        person(api, traits, userId=f"u-{i}")
    client.post("/api/v1/resolve/runs", json={"wait": True}, headers=bearer(workspace.api_token))
    since = utcnow()
    walk_in(api, 21, "Ana", "Lopez", "97205", "Portland")
    walk_in(api, 22, "Ben", "Okafor", "80202", "Denver")
    first = incremental.match_new(session, workspace.workspace.id, settings, since=since, limit=1)
    session.commit()
    assert first is not None
    assert first.records == 1
    assert first.until is not None
    rest = incremental.match_new(session, workspace.workspace.id, settings, since=first.until)
    session.commit()
    assert rest is not None
    assert rest.until is None
    assert "anonymous_id:pos-21" in idents(api.profile(user_id="u-ana"))
    assert "anonymous_id:pos-22" in idents(api.profile(user_id="u-0"))
