"""The privacy API: requests by any identifier with their due dates, machine-readable
errors naming the field, one workspace never reaching another's requests, each endpoint
behind its scope, the settings with their version, and the access log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.privacy.models import PrivacyRequest
from tests.helpers import Committed, bearer
from tests.privacy.people import new_person, send, track_person

REQUESTS = "/api/v1/privacy/requests"


def make(api: TestClient, ws: ProvisionedWorkspace, **body: Any) -> dict[str, Any]:
    r = api.post(REQUESTS, headers=bearer(ws.api_token), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def token(api: TestClient, ws: ProvisionedWorkspace, *scopes: str) -> str:
    r = api.post(
        "/api/v1/keys",
        headers=bearer(ws.api_token),
        json={"kind": "token", "name": f"only {' '.join(scopes)}", "scopes": list(scopes)},
    )
    assert r.status_code == 201, r.text
    return str(r.json()["secret"])


def test_a_request_finds_the_person_by_any_identifier_and_is_due_in_30_days(
    api: TestClient, ws: ProvisionedWorkspace
) -> None:
    p = new_person()
    track_person(api, ws, p)
    for type_name, value in [
        ("email", p.email.upper()),
        ("phone", p.phone_typed),
        ("user_id", f" {p.user_id} "),
        ("anonymous_id", p.anon2),  # a profile merged into theirs
        ("loyalty_card", p.loyalty),  # another
    ]:
        made = make(api, ws, kind="access", identifier_type=type_name, identifier_value=value)
        assert made["status"] == "received"
        assert made["found"]["profiles"] == 3, type_name
        assert made["found"]["events"] >= 8
        assert len(made["profile_ids"]) == 3
        due = made["due_at"][:10]
        assert due == (utcnow() + timedelta(days=30)).date().isoformat()
        assert made["overdue"] is False
    nobody = make(api, ws, kind="export", identifier_type="email", identifier_value="no@one.test")
    assert nobody["found"] == {"profiles": 0, "identifiers": 0, "events": 0}
    listed = api.get(REQUESTS, headers=bearer(ws.api_token)).json()
    assert listed["open"] == 6
    assert listed["overdue"] == 0
    assert next(r["identifier_value"] for r in listed["data"]) == "no@one.test"


def test_an_identifier_only_on_events_finds_those_events(
    api: TestClient, ws: ProvisionedWorkspace, privacy_db: Committed
) -> None:
    """A shared device (blocked: it links nobody) names no person; its events are found."""
    p = new_person()
    for n in range(3):  # one tablet, three people signing in on it
        send(
            api,
            ws,
            "identify",
            {"userId": f"{p.user_id}-{n}", "context": {"device": {"id": p.tag}}},
        )
    send(
        api,
        ws,
        "track",
        {"event": "Kiosk Opened", "context": {"device": {"id": p.tag}}, "anonymousId": p.anon},
    )
    made = make(api, ws, kind="export", identifier_type="device_id", identifier_value=p.tag)
    assert made["found"]["profiles"] <= 1
    assert made["found"]["events"] >= 1


def test_errors_name_the_field(api: TestClient, ws: ProvisionedWorkspace) -> None:
    auth = bearer(ws.api_token)
    cases = [
        ({"kind": "forget", "identifier_type": "email", "identifier_value": "a@b.co"}, "kind"),
        (
            {"kind": "erase", "identifier_type": "email", "identifier_value": "not-an-email"},
            "identifier_value",
        ),
        (
            {"kind": "erase", "identifier_type": "Bad Type!", "identifier_value": "x"},
            "identifier_type",
        ),
        (
            {"kind": "erase", "identifier_type": "phone", "identifier_value": "12"},
            "identifier_value",
        ),
        ({"kind": "erase", "identifier_type": "email"}, "identifier_value"),
        ({"kind": "erase", "identifier_type": "email", "identifier_value": "a@b.co", "x": 1}, "x"),
    ]
    for body, field in cases:
        r = api.post(REQUESTS, headers=auth, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == field, (body, r.json())
    r = api.get(f"{REQUESTS}/not-a-uuid", headers=auth)
    assert r.status_code == 422
    r = api.get(f"{REQUESTS}?status=lost", headers=auth)
    assert (r.status_code, r.json()["field"]) == (422, "status")
    r = api.post(f"{REQUESTS}/{made_id(api, ws)}/reject", headers=auth, json={"reason": ""})
    assert (r.status_code, r.json()["field"]) == (422, "reason")


def made_id(api: TestClient, ws: ProvisionedWorkspace, kind: str = "erase") -> str:
    p = new_person()
    return str(make(api, ws, kind=kind, identifier_type="email", identifier_value=p.email)["id"])


def test_a_request_moves_through_its_states_once(api: TestClient, ws: ProvisionedWorkspace) -> None:
    auth = bearer(ws.api_token)
    erase_id = made_id(api, ws, "erase")
    export_id = made_id(api, ws, "export")
    r = api.get(f"{REQUESTS}/{erase_id}/export", headers=auth)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (409, "wrong_kind", "kind")
    r = api.post(f"{REQUESTS}/{export_id}/erase", headers=auth)
    assert (r.status_code, r.json()["code"]) == (409, "wrong_kind")
    r = api.post(f"{REQUESTS}/{erase_id}/erase", headers=auth)
    assert r.status_code == 200
    assert r.json()["status"] == "completed"
    r = api.post(f"{REQUESTS}/{erase_id}/erase", headers=auth)
    assert (r.status_code, r.json()["code"]) == (409, "request_completed")
    r = api.post(f"{REQUESTS}/{erase_id}/reject", headers=auth, json={"reason": "late"})
    assert (r.status_code, r.json()["code"]) == (409, "request_completed")
    rejected_id = made_id(api, ws, "erase")
    r = api.post(f"{REQUESTS}/{rejected_id}/reject", headers=auth, json={"reason": "Not verified"})
    assert r.status_code == 200
    assert r.json()["status"] == "rejected"
    assert r.json()["receipt"]["rejected"]["reason"] == "Not verified"
    r = api.post(f"{REQUESTS}/{rejected_id}/erase", headers=auth)
    assert (r.status_code, r.json()["code"]) == (409, "request_rejected")
    audit = api.get("/api/v1/audit", headers=auth).json()["data"]
    actions = {e["action"] for e in audit}
    assert {
        "privacy.request.created",
        "privacy.erase.completed",
        "privacy.request.rejected",
    } <= actions
    assert all("@" not in str(e["data"].get("identifier", "")).split("***")[0][1:] for e in audit)


def test_overdue_requests_stand_out(
    api: TestClient, ws: ProvisionedWorkspace, privacy_db: Committed
) -> None:
    late = made_id(api, ws, "export")
    made_id(api, ws, "export")
    with transaction(privacy_db.factory) as session:
        session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.id == uuid.UUID(late))
            .values(due_at=utcnow() - timedelta(days=1))
        )
    auth = bearer(ws.api_token)
    listed = api.get(REQUESTS, headers=auth).json()
    assert (listed["open"], listed["overdue"]) == (2, 1)
    overdue = api.get(f"{REQUESTS}?overdue=true", headers=auth).json()["data"]
    assert [r["id"] for r in overdue] == [late]
    assert overdue[0]["overdue"] is True


def test_another_workspace_never_reaches_a_request(
    api: TestClient, ws: ProvisionedWorkspace, other_ws: ProvisionedWorkspace
) -> None:
    theirs = made_id(api, ws, "erase")
    export_id = made_id(api, ws, "export")
    mine = bearer(other_ws.api_token)
    for method, path in [
        ("GET", f"{REQUESTS}/{theirs}"),
        ("POST", f"{REQUESTS}/{theirs}/erase"),
        ("GET", f"{REQUESTS}/{export_id}/export"),
    ]:
        r = api.request(method, path, headers=mine)
        assert (r.status_code, r.json()["code"]) == (404, "not_found"), (method, path)
    r = api.post(f"{REQUESTS}/{theirs}/reject", headers=mine, json={"reason": "x"})
    assert r.status_code == 404
    assert api.get(REQUESTS, headers=mine).json()["data"] == []
    r = api.get(f"{REQUESTS}/{theirs}", headers=bearer(ws.api_token))
    assert r.json()["status"] == "received"  # untouched


@pytest.mark.parametrize(
    ("scopes", "method", "path", "allowed"),
    [
        (("profiles:read", "profiles:write"), "GET", REQUESTS, False),
        (("privacy:manage",), "GET", REQUESTS, True),
        (("privacy:manage",), "GET", "/api/v1/privacy/retention", True),
        (("workspace:read",), "GET", "/api/v1/privacy/retention", False),
        (("privacy:manage",), "POST", "ERASE", False),  # erasing changes profiles
        (("privacy:manage", "profiles:write"), "POST", "ERASE", True),
        (("privacy:manage",), "GET", "EXPORT", False),  # exporting reads them
        (("privacy:manage", "profiles:read"), "GET", "EXPORT", True),
        (("workspace:read",), "GET", "/api/v1/privacy/settings", True),
        (("workspace:read",), "PUT", "/api/v1/privacy/settings", False),
        (("privacy:manage",), "PUT", "/api/v1/privacy/settings", False),
        (("workspace:admin",), "PUT", "/api/v1/privacy/settings", True),
        (("profiles:read",), "GET", "ACCESS", False),
        (("privacy:manage",), "GET", "ACCESS", True),
    ],
)
def test_each_endpoint_needs_its_scope(
    api: TestClient,
    ws: ProvisionedWorkspace,
    scopes: tuple[str, ...],
    method: str,
    path: str,
    allowed: bool,
) -> None:
    p = new_person()
    send(api, ws, "identify", {"userId": p.user_id, "traits": {"email": p.email}})
    kind = "export" if path == "EXPORT" else "erase"
    rid = make(api, ws, kind=kind, identifier_type="email", identifier_value=p.email)
    profile_id = rid["profile_ids"][0]
    target = {
        "ERASE": f"{REQUESTS}/{rid['id']}/erase",
        "EXPORT": f"{REQUESTS}/{rid['id']}/export",
        "ACCESS": f"/api/v1/privacy/access-log?profile_id={profile_id}",
    }.get(path, path)
    body = {"request_due_days": 20} if method == "PUT" else None
    r = api.request(method, target, headers=bearer(token(api, ws, *scopes)), json=body)
    if allowed:
        assert r.status_code == 200, r.text
    else:
        assert (r.status_code, r.json()["code"]) == (403, "insufficient_scope")


def test_settings_are_versioned_and_set_the_due_date(
    api: TestClient, ws: ProvisionedWorkspace
) -> None:
    auth = bearer(ws.api_token)
    got = api.get("/api/v1/privacy/settings", headers=auth).json()
    assert got == {
        "request_due_days": 30,
        "keep_order_totals": False,
        "events_days": None,
        "closed_conversations_days": None,
        "anonymous_profiles_days": None,
        "chat_visitors_days": None,
        "version": 0,
    }
    put = {**got, "request_due_days": 14, "events_days": 365}
    r = api.put("/api/v1/privacy/settings", headers=auth, json=put)
    assert r.status_code == 200
    assert r.json()["version"] == 1
    r = api.put("/api/v1/privacy/settings", headers=auth, json=put)  # version 0 again
    assert (r.status_code, r.json()["code"]) == (409, "settings_version_conflict")
    bad = {"request_due_days": 0}
    r = api.put("/api/v1/privacy/settings", headers=auth, json=bad)
    assert (r.status_code, r.json()["field"]) == (422, "request_due_days")
    r = api.put("/api/v1/privacy/settings", headers=auth, json={"events_days": -3})
    assert (r.status_code, r.json()["field"]) == (422, "events_days")
    made = make(api, ws, kind="access", identifier_type="email", identifier_value="x@y.test")
    assert made["due_at"][:10] == (utcnow() + timedelta(days=14)).date().isoformat()


def test_the_access_log_says_who_read_a_person(api: TestClient, ws: ProvisionedWorkspace) -> None:
    auth = bearer(ws.api_token)
    p = new_person()
    track_person(api, ws, p)
    found = api.get("/api/v1/profiles/lookup", params={"email": p.email}, headers=auth).json()
    profile_id = found["id"]
    for _ in range(3):  # read again and again: one entry per way within minutes
        assert api.get(f"/api/v1/profiles/{profile_id}", headers=auth).status_code == 200
    api.get(f"/api/v1/profiles/{profile_id}/timeline", headers=auth)
    api.get(f"/api/v1/profiles/{profile_id}/orders", headers=auth)
    log = api.get(
        "/api/v1/privacy/access-log", params={"profile_id": profile_id}, headers=auth
    ).json()["data"]
    assert sorted(e["action"] for e in log) == ["lookup", "orders", "timeline", "view"]
    assert {e["via"] for e in log} == {"api"}
    [actor] = {e["actor"] for e in log}
    assert actor.startswith("token:")
    # A profile merged into them leads to the same person's log.
    merged = next(
        pid
        for pid in make(
            api, ws, kind="access", identifier_type="anonymous_id", identifier_value=p.anon2
        )["profile_ids"][1:]
    )
    again = api.get(
        "/api/v1/privacy/access-log", params={"profile_id": merged}, headers=auth
    ).json()["data"]
    assert len(again) == 4


def test_an_export_request_of_someone_erased_since_keeps_only_its_receipt(
    api: TestClient, ws: ProvisionedWorkspace
) -> None:
    auth = bearer(ws.api_token)
    p = new_person()
    track_person(api, ws, p)
    copy = make(api, ws, kind="access", identifier_type="email", identifier_value=p.email)
    gone = make(api, ws, kind="erase", identifier_type="phone", identifier_value=p.phone)
    assert api.post(f"{REQUESTS}/{gone['id']}/erase", headers=auth).status_code == 200
    earlier = api.get(f"{REQUESTS}/{copy['id']}", headers=auth).json()
    assert earlier["identifier_value"] is None  # masked with the erase
    assert earlier["identifier_hint"].startswith("z***@")
    r = api.get(f"{REQUESTS}/{copy['id']}/export", headers=auth)
    assert (r.status_code, r.json()["code"]) == (409, "person_erased")
