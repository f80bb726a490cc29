"""Audience exports on both databases: a segment's members as CSV and JSON lines (with
computed traits), and as the hashed files of Google Customer Match and Meta custom
audiences, normalized and hashed as the platforms document; only people whose consent
allows advertising, each export audited and noted in the access log of every person in
it; the permissions and the workspace's walls."""

from __future__ import annotations

import csv
import io
import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.audiences import exports
from accord.analyze.segments import computed, service
from accord.analyze.segments.schemas import ComputedTraitIn
from accord.config import Settings
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.audit.models import AccessLogEntry, AuditEvent
from accord.govern.consent import service as consent
from accord.govern.consent import suppression
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.analyze.helpers import ENGINE, NOW, People, at, principal, segment
from tests.helpers import bearer


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # The job engine's consumer stays off: the tests run the jobs themselves.
    return settings.model_copy(update={"jobs_worker": False})


# --- normalization and hashing, against the platforms' own examples ----------------------


def test_emails_and_phones_are_normalized_then_hashed_as_each_platform_documents() -> None:
    # Meta's documented examples: "John_Smith@gmail.com" and the US number (650)555-1212.
    email = exports.normal_email("  John_Smith@Gmail.com ")
    phone = exports.normal_phone("(650) 555-1212", "US")
    assert email == "john_smith@gmail.com"
    assert phone == "+16505551212"
    assert exports.meta_hashes(email, phone) == [
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
        "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176",
    ]
    # Google Customer Match: the same email; the phone in E.164, "+" included.
    assert exports.google_hashes(email, phone) == [
        "62a14e44f765419d10fea99367361a727c12365e2520f32218d505ed9aa0f62f",
        "1e231c66011e7a2d867a9cfae267a6aff103cf4913640b6e71a99850fc0ffbc8",
    ]
    # Dots of a gmail address are kept (Customer Match accepts them as they are).
    assert exports.normal_email("Jo.Hn@gmail.com") == "jo.hn@gmail.com"
    # A national number takes the workspace's region; an international one keeps its own.
    assert exports.normal_phone("020 7031 3000", "GB") == "+442070313000"
    assert exports.normal_phone("+44 20 7031 3000", "US") == "+442070313000"
    assert exports.meta_hashes(None, "+442070313000") == [
        "",
        "6c91c4c640f6ef0162833260db4f13dec0df2b683092f4dba7e874bef1acea37",
    ]
    assert exports.normal_phone("not a phone") is None
    assert exports.normal_email("nobody") is None


# --- a crowd of people with every consent case ---------------------------------------------


def team(value: str = "a") -> dict[str, Any]:
    return {"kind": "trait", "field": "team", "op": "eq", "value": value}


@pytest.fixture
def crowd(session: Session, workspace: ProvisionedWorkspace) -> dict[str, Any]:
    """Ana (US, email and phone), Ben (US, withdrew advertising consent), Cleo (Germany,
    an opt-in region, nothing recorded), Dan (Germany, granted advertising), Eve (US, no
    email nor phone) and Fay (US, her email on the suppression list); Gus is not in the
    segment. Ana ordered twice, Dan once."""
    ws = workspace.workspace.id
    p = People(session, ws)
    ids = {
        "ana": p.person(
            "ana", {"team": "a", "email": "Ana@Example.com", "phone": "+1 415 555 0142"}
        ),
        "ben": p.person("ben", {"team": "a", "email": "ben@example.com", "country": "US"}),
        "cleo": p.person("cleo", {"team": "a", "email": "cleo@example.de", "country": "DE"}),
        "dan": p.person(
            "dan",
            {"team": "a", "email": "dan@example.de", "phone": "+49 30 1234567", "country": "DE"},
        ),
        "eve": p.person("eve", {"team": "a", "firstName": "Eve"}),
        "fay": p.person(
            "fay", {"team": "a", "email": "fay@example.com", "phone": "+1 650 555 1212"}
        ),
        "gus": p.person("gus", {"team": "b", "email": "gus@example.com"}),
    }
    p.track("ana", "Order Completed", at(days=2), order_id="A1", total=120, currency="USD")
    p.track("ana", "Order Completed", at(days=9), order_id="A2", total=80, currency="USD")
    p.track("dan", "Order Completed", at(days=4), order_id="D1", total=60, currency="USD")
    for who, status in (("ben", "withdrawn"), ("dan", "granted")):
        consent.record(
            session,
            ws,
            ids[who],
            channel="ads",
            purpose="advertising",
            status=status,
            source="api",
        )
    suppression.suppress(session, ws, [("email", "fay@example.com")], reason="asked")
    computed.create(
        session,
        ws,
        ComputedTraitIn(key="orders", name="Orders", event="Order Completed", aggregate="count"),
        principal(ws),
    )
    row = segment(session, ws, team(), name="Team A")
    service.build(session, ENGINE, row, now=NOW)
    session.commit()
    return {"ws": ws, "segment": row, **ids}


def export(client: TestClient, ws: ProvisionedWorkspace, segment_id: Any, **params: Any) -> Any:
    response = client.get(
        f"/api/v1/segments/{segment_id}/export", params=params, headers=bearer(ws.api_token)
    )
    assert response.status_code == 200, response.text
    return response


def test_hashed_files_hold_only_people_whose_consent_allows_advertising(
    client: TestClient, workspace: ProvisionedWorkspace, crowd: dict[str, Any]
) -> None:
    sid = crowd["segment"].id
    google = export(client, workspace, sid, format="google")
    assert google.headers["content-type"].startswith("text/csv")
    assert 'filename="Team-A-google.csv"' in google.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(google.text)))
    assert rows[0] == ["Email", "Phone"]
    sha = exports.sha256_hex
    # Ana and Dan (granted in an opt-in region); Fay by phone only (her email is
    # suppressed). Ben withdrew, Cleo never agreed in an opt-in region, Eve has no address.
    assert sorted(rows[1:]) == sorted(
        [
            [sha("ana@example.com"), sha("+14155550142")],
            [sha("dan@example.de"), sha("+49301234567")],
            ["", sha("+16505551212")],
        ]
    )
    meta = export(client, workspace, sid, format="meta")
    rows = list(csv.reader(io.StringIO(meta.text)))
    assert rows[0] == ["EMAIL", "PHONE"]
    assert sorted(rows[1:]) == sorted(
        [
            [sha("ana@example.com"), sha("14155550142")],
            [sha("dan@example.de"), sha("49301234567")],
            ["", "e323ec626319ca94ee8bff2e4c87cf613be6ea19919ed1364124e16807ab3176"],
        ]
    )
    report = client.post(
        f"/api/v1/segments/{sid}/export",
        params={"format": "meta"},
        headers=bearer(workspace.api_token),
    )
    assert report.status_code == 200, report.text
    assert report.json() == {
        "segment_id": str(sid),
        "format": "meta",
        "members": 6,
        "exported": 3,
        "left_out_for_consent": 2,
        "left_out_without_contact": 1,
        "columns": ["EMAIL", "PHONE"],
    }


def test_csv_and_jsonl_carry_the_members_their_computed_traits_and_a_summary(
    client: TestClient, workspace: ProvisionedWorkspace, crowd: dict[str, Any]
) -> None:
    sid = crowd["segment"].id
    text = export(client, workspace, sid, format="csv", traits="orders").text
    lines = text.splitlines()
    assert lines[-1] == (
        "# summary: members=6 exported=6 left_out_for_consent=0 left_out_without_contact=0"
    )
    rows = list(csv.DictReader(io.StringIO("\n".join(lines[:-1]))))
    assert list(rows[0]) == ["profile_id", "name", "email", "phone", "since", "orders"]
    by_id = {r["profile_id"]: r for r in rows}
    # Every member, whatever their advertising consent (Ben and Cleo refused it); Eve is
    # in (the file does not need an address).
    assert set(by_id) == {str(crowd[k]) for k in ("ana", "ben", "cleo", "dan", "eve", "fay")}
    ana = by_id[str(crowd["ana"])]
    assert ana["email"] == "ana@example.com"
    assert ana["phone"] == "+14155550142"
    assert ana["orders"] == "2"
    assert ana["since"].startswith(NOW.isoformat()[:19])
    assert by_id[str(crowd["dan"])]["orders"] == "1"
    assert by_id[str(crowd["eve"])]["name"] == "Eve"
    assert by_id[str(crowd["eve"])]["orders"] == "0"
    # Fay's suppressed email is left blank; her phone stays.
    assert by_id[str(crowd["fay"])]["email"] == ""
    assert by_id[str(crowd["fay"])]["phone"] == "+16505551212"

    response = export(client, workspace, sid, format="jsonl", traits=["orders"])
    assert response.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in response.text.splitlines()]
    assert records[-1] == {
        "summary": {
            "segment_id": str(sid),
            "members": 6,
            "exported": 6,
            "left_out_for_consent": 0,
            "left_out_without_contact": 0,
        }
    }
    people = {r["profile_id"]: r for r in records[:-1]}
    assert people[str(crowd["ana"])]["computed"] == {"orders": 2}
    assert set(people[str(crowd["dan"])]) == {
        "profile_id",
        "name",
        "email",
        "phone",
        "since",
        "computed",
    }


def test_every_export_is_audited_and_noted_in_each_persons_access_log(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    crowd: dict[str, Any],
) -> None:
    sid = crowd["segment"].id
    export(client, workspace, sid, format="google")
    session.expire_all()
    actions = {
        e.action: e
        for e in session.scalars(
            select(AuditEvent).where(
                AuditEvent.workspace_id == crowd["ws"], AuditEvent.target == str(sid)
            )
        )
    }
    assert actions["segment.export"].data["format"] == "google"
    finished = actions["segment.export.finished"].data
    assert finished["complete"] is True
    assert (finished["exported"], finished["left_out_for_consent"]) == (3, 2)
    logged = {
        (e.profile_id, e.action, e.via)
        for e in session.scalars(
            select(AccessLogEntry).where(AccessLogEntry.workspace_id == crowd["ws"])
        )
    }
    exported = {crowd[k] for k in ("ana", "dan", "fay")}
    assert {(p, "export", "api") for p in exported} <= logged
    assert not {p for p, *_ in logged} & {crowd[k] for k in ("ben", "cleo", "eve", "gus")}


def test_exports_need_profiles_read_and_stay_in_their_workspace(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    crowd: dict[str, Any],
) -> None:
    sid = crowd["segment"].id
    url = f"/api/v1/segments/{sid}/export"
    _, analytics_only = access.create_key(
        session,
        workspace_id=crowd["ws"],
        kind="token",
        name="analytics",
        actor=Principal.cli(crowd["ws"]),
        scopes=["analytics:read"],
    )
    session.commit()
    for method in ("GET", "POST"):
        refused = client.request(method, url, headers=bearer(analytics_only))
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "insufficient_scope"
        elsewhere = client.request(method, url, headers=bearer(other_workspace.api_token))
        assert elsewhere.status_code == 404
        assert elsewhere.json()["field"] == "segment_id"
    unknown = client.get(url, params={"traits": "nope"}, headers=bearer(workspace.api_token))
    assert unknown.status_code == 422
    assert (unknown.json()["code"], unknown.json()["field"]) == ("unknown_trait", "traits")
    hashed = client.get(
        url, params={"format": "google", "traits": "orders"}, headers=bearer(workspace.api_token)
    )
    assert hashed.status_code == 422
    assert hashed.json()["field"] == "traits"
    bad = client.get(url, params={"format": "xml"}, headers=bearer(workspace.api_token))
    assert bad.status_code == 422
    missing = client.get(
        f"/api/v1/segments/{uuid.uuid4()}/export", headers=bearer(workspace.api_token)
    )
    assert missing.status_code == 404


def test_a_large_segment_is_exported_a_page_at_a_time(
    session: Session, workspace: ProvisionedWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pages follow the member ids: every member once, whatever the page size."""
    ws = workspace.workspace.id
    p = People(session, ws)
    people = {p.person(f"u{i}", {"team": "a", "email": f"u{i}@example.com"}) for i in range(7)}
    row = segment(session, ws, team())
    service.build(session, ENGINE, row, now=NOW)
    monkeypatch.setattr(exports, "BATCH", 3)
    spec = exports.prepare(session, ws, row.id, "csv", [])
    tally = exports.report(session, ENGINE, spec)
    assert (tally.members, tally.exported) == (7, 7)
    seen: list[uuid.UUID] = []
    after = None
    while True:
        got = exports.page(session, ENGINE, spec, exports.Tally(), after, now=NOW)
        seen += got.shown
        if not got.full:
            break
        after = got.last
    assert sorted(seen) == sorted(people)
