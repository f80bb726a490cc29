"""The consent registry on both databases: statements recorded with their evidence and
the current state derived; the policy's answers and reasons; a merge where the stricter
state stands and a split that gives each side its own history back; consent carried by
tracking calls and import columns; the suppression list at the door; the API's errors
and workspace isolation."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.collect import imports
from accord.collect.models import Event
from accord.govern.consent import service as consent
from accord.govern.consent.models import ConsentRecord
from accord.govern.consent.policy import may_contact
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.errors import AccordError
from accord.kit.time import utcnow
from accord.profile.models import Profile
from tests.helpers import bearer
from tests.resolve.test_identity import Api


def _person(session: Session, profile_id: str) -> Profile:
    row = session.get(Profile, profile_id if not isinstance(profile_id, str) else _uuid(profile_id))
    assert row is not None
    return row


def _uuid(value: str) -> Any:
    import uuid

    return uuid.UUID(value)


def _ws(session: Session, ws: ProvisionedWorkspace) -> Workspace:
    row = session.get(Workspace, ws.workspace.id)
    assert row is not None
    return row


def _post(client: TestClient, ws: ProvisionedWorkspace, pid: str, **body: Any) -> Any:
    return client.post(f"/api/v1/profiles/{pid}/consent", json=body, headers=bearer(ws.api_token))


def test_statements_derive_the_state_and_the_policy_says_why(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    api.send("identify", userId="u-1", traits={"email": "ines@example.com", "name": "Ines Ruiz"})
    pid = api.profile(email="ines@example.com")["id"]
    person, ws = _person(session, pid), _ws(session, workspace)

    # Nothing recorded, a US workspace: service and marketing (opt-out) are allowed.
    assert may_contact(session, ws, person, "email", "service").allowed
    d = may_contact(session, ws, person, "email", "marketing")
    assert d.allowed
    assert d.basis == "legitimate_interest"

    r = _post(
        client,
        workspace,
        pid,
        channel="email",
        purpose="marketing",
        status="withdrawn",
        source="form",
        reason="asked at the till",
        ip="203.0.113.9",
        user_agent="Kiosk/1.0",
    )
    assert r.status_code == 201, r.text
    d = may_contact(session, ws, person, "email", "marketing")
    assert not d.allowed
    assert d.code == "no_consent"
    assert "withdrew consent to marketing by email" in d.reason
    # Other channels and purposes are untouched; service still goes out.
    assert may_contact(session, ws, person, "sms", "marketing").allowed
    assert may_contact(session, ws, person, "email", "service").allowed

    # A denial for every channel and every purpose stops service messages too.
    r = _post(client, workspace, pid, channel="all", purpose="all", status="denied", source="agent")
    assert r.status_code == 201, r.text
    d = may_contact(session, ws, person, "chat", "service")
    assert not d.allowed
    assert "every channel" in d.reason

    out = client.get(f"/api/v1/profiles/{pid}/consent", headers=bearer(workspace.api_token)).json()
    assert out["region"] == "US"
    history = out["history"]
    assert [h["status"] for h in history] == ["denied", "withdrawn"]  # newest first
    assert history[1]["ip"] == "203.0.113.9"
    assert history[1]["user_agent"] == "Kiosk/1.0"
    assert history[1]["reason"] == "asked at the till"
    assert history[1]["notice_version"] == "1"
    state = next(s for s in out["states"] if (s["channel"], s["purpose"]) == ("sms", "service"))
    assert state["allowed"] is False

    # The API checks the vocabulary and names the field.
    bad = _post(client, workspace, pid, channel="pigeon", purpose="marketing", status="granted")
    assert bad.status_code == 422
    assert bad.json()["field"] == "channel"
    bad = _post(client, workspace, pid, channel="email", purpose="marketing", status="maybe")
    assert bad.status_code == 422
    check = client.get(
        "/api/v1/consent/check",
        params={"profile_id": pid, "channel": "email", "purpose": "surveys"},
        headers=bearer(workspace.api_token),
    ).json()
    assert check["allowed"] is False
    assert check["code"] == "no_consent"


def test_an_opt_in_region_needs_a_grant_and_a_grant_can_expire(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    api.send(
        "identify",
        userId="u-de",
        traits={"email": "jonas@example.de", "address": {"country": "DE"}},
    )
    pid = api.profile(email="jonas@example.de")["id"]
    person, ws = _person(session, pid), _ws(session, workspace)
    d = may_contact(session, ws, person, "email", "marketing")
    assert not d.allowed
    assert "opt-in is required in region EU" in d.reason
    assert may_contact(session, ws, person, "email", "service").allowed
    consent.record(
        session,
        ws.id,
        person.id,
        channel="sms",
        purpose="marketing",
        status="granted",
        source="form",
        expires_at=utcnow() + timedelta(days=1),
    )
    assert may_contact(session, ws, person, "sms", "marketing").allowed
    later = utcnow() + timedelta(days=2)
    assert not may_contact(session, ws, person, "sms", "marketing", at=later).allowed


def test_a_grant_of_email_marketing_waits_for_the_double_opt_in(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    api.send("identify", userId="u-fr", traits={"email": "lea@example.fr", "country": "FR"})
    pid = api.profile(email="lea@example.fr")["id"]
    r = _post(client, workspace, pid, channel="email", purpose="marketing", status="granted")
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["record"]["status"] == "pending"
    # No outbound mail is set up in this workspace: said, and the grant keeps waiting.
    assert body["confirmation_sent"] is False
    assert "outbound email" in body["confirmation_error"]
    d = may_contact(session, _ws(session, workspace), _person(session, pid), "email", "marketing")
    assert not d.allowed
    assert "double opt-in" in d.reason


def test_on_a_merge_the_stricter_state_stands_and_a_split_restores_each_side(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    api.send("identify", userId="u-7", traits={"email": "kim@example.com"})
    api.send("identify", anonymousId="pos-7", traits={"phone": "(512) 555-0177"})
    online = api.profile(email="kim@example.com")["id"]
    store = api.profile(phone="+15125550177")["id"]
    assert online != store
    r = _post(
        client,
        workspace,
        store,
        channel="email",
        purpose="marketing",
        status="denied",
        source="form",
    )
    assert r.status_code == 201, r.text
    r = _post(
        client,
        workspace,
        store,
        channel="sms",
        purpose="marketing",
        status="granted",
        source="form",
    )
    assert r.status_code == 201, r.text

    # The grant is the later statement: the merge must still keep the denial.
    r = _post(
        client,
        workspace,
        online,
        channel="email",
        purpose="marketing",
        status="granted",
        source="agent",
    )
    assert r.status_code == 201, r.text
    api.send("identify", anonymousId="pos-7", traits={"email": "kim@example.com"})
    merged = api.profile(email="kim@example.com")["id"]
    assert api.profile(phone="+15125550177")["id"] == merged
    ws = _ws(session, workspace)
    session.expire_all()
    person = _person(session, merged)
    d = may_contact(session, ws, person, "email", "marketing")
    assert not d.allowed  # the denial on either side stands
    assert may_contact(session, ws, person, "sms", "marketing").allowed
    history = consent.history(session, [person.id])
    assert {r.origin_profile_id for r in history} >= {_uuid(online), _uuid(store)}
    [derived] = [r for r in history if r.source == "merge"]
    assert (derived.channel, derived.purpose, derived.status) == ("email", "marketing", "denied")
    assert "the stricter stands" in (derived.reason or "")

    [merge] = [m for m in api.merges(merged) if m.get("undone_at") is None][:1]
    api.split(merged, merge["id"])
    session.expire_all()
    back_online = _person(session, online)
    back_store = _person(session, store)
    assert may_contact(session, ws, back_online, "email", "marketing").allowed
    assert not may_contact(session, ws, back_store, "email", "marketing").allowed
    assert may_contact(session, ws, back_store, "sms", "marketing").allowed
    origins = {r.origin_profile_id for r in consent.history(session, [back_store.id])}
    assert origins == {back_store.id}
    voided = [r for r in consent.history(session, [back_online.id]) if r.voided_at is not None]
    assert all(r.source == "merge" for r in voided)


def test_tracking_calls_carry_consent_and_only_a_change_is_recorded(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    prefs = {"categoryPreferences": {"Advertising": False, "Marketing": True}}
    for _ in range(3):
        api.send(
            "identify",
            userId="u-9",
            traits={"email": "ola@example.com"},
            context={"consent": prefs, "ip": "198.51.100.4", "userAgent": "Firefox/140"},
        )
    pid = api.profile(email="ola@example.com")["id"]
    rows = consent.history(session, [_uuid(pid)])
    assert {(r.channel, r.purpose, r.status) for r in rows} == {
        ("ads", "advertising", "denied"),
        ("all", "advertising", "denied"),
        ("all", "marketing", "granted"),
    }
    assert all(r.source == "tracking" and r.ip == "198.51.100.4" for r in rows)
    api.send(
        "track",
        userId="u-9",
        event="Banner Closed",
        context={"consent": {"categoryPreferences": {"Marketing": False}}},
    )
    ws, person = _ws(session, workspace), _person(session, pid)
    d = may_contact(session, ws, person, "email", "marketing")
    assert not d.allowed
    assert "website's consent banner" in d.reason
    assert len(consent.history(session, [person.id])) == 4
    # A malformed statement is refused with the field at fault; the call is not stored.
    r = client.post(
        "/v1/identify",
        json={"userId": "u-9", "context": {"consent": {"statuses": {"fax.marketing": "yes"}}}},
        headers=api.write,
    )
    assert r.status_code == 400
    assert r.json()["field"] == "context.consent"


def test_import_columns_record_consent_and_bad_values_name_their_line(
    session: Session, workspace: ProvisionedWorkspace, tmp_path: Path
) -> None:
    from accord.resolve import service as resolve

    path = tmp_path / "people.csv"
    path.write_text(
        "email,newsletter,sms ok\n"
        "ana@example.com,yes,no\n"
        "bo@example.com,maybe,yes\n"
        "cy@example.com,,unsubscribed\n"
    )
    mapping = imports.Mapping.parse(
        ["newsletter=consent:email.marketing", "sms ok=consent:sms.marketing"]
    )
    report = imports.run_import(
        session,
        workspace_id=workspace.workspace.id,
        kind="contacts",
        rows=imports.read_rows(path),
        mapping=mapping,
        source="import:people.csv",
    )
    assert report.loaded == 2
    assert [(e.line, e.field) for e in report.errors] == [(3, "newsletter")]
    while resolve.resolve_pending(session, workspace.workspace.id):
        pass
    rows = session.scalars(select(ConsentRecord)).all()
    got = {(r.channel, r.purpose, r.status, r.source) for r in rows}
    assert got == {
        ("email", "marketing", "granted", "import"),
        ("sms", "marketing", "denied", "import"),
        ("sms", "marketing", "withdrawn", "import"),
    }
    with pytest.raises(AccordError, match=r"consent:CHANNEL\.PURPOSE"):
        imports.Mapping.parse(["x=consent:email.spam"])


def test_suppressed_identifiers_are_dropped_or_quarantined_at_the_door(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    r = client.post(
        "/api/v1/consent/suppressions",
        json={"identifiers": [{"type": "email", "value": "Gone@Example.com"}]},
        headers=bearer(workspace.api_token),
    )
    assert r.status_code == 201, r.text
    before = session.scalar(select(func.count()).select_from(Event))
    api.send("identify", userId="u-new", traits={"email": "gone@example.com"})
    assert session.scalar(select(func.count()).select_from(Event)) == before
    assert api.missing(user_id="u-new")
    check = client.post(
        "/api/v1/consent/suppressions/check",
        json={"identifiers": [{"type": "email", "value": "gone@example.com"}]},
        headers=bearer(workspace.api_token),
    ).json()
    assert [s["value"] for s in check["suppressed"]] == ["gone@example.com"]
    ws = _ws(session, workspace)
    d = may_contact(session, ws, None, "email", "service", address="GONE@example.com")
    assert not d.allowed
    assert d.code == "suppressed"

    settings = client.get("/api/v1/consent/settings", headers=bearer(workspace.api_token)).json()
    settings["suppressed_events"] = "quarantine"
    r = client.put("/api/v1/consent/settings", json=settings, headers=bearer(workspace.api_token))
    assert r.status_code == 200, r.text
    api.send("identify", userId="u-new2", traits={"email": "gone@example.com"})
    statuses = session.scalars(select(Event.status).where(Event.user_id == "u-new2")).all()
    assert statuses == ["quarantined"]
    assert api.missing(user_id="u-new2")


def test_another_workspace_cannot_read_or_record_consent(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    api = Api(client, workspace)
    api.send("identify", userId="u-1", traits={"email": "mo@example.com"})
    pid = api.profile(email="mo@example.com")["id"]
    r = client.get(f"/api/v1/profiles/{pid}/consent", headers=bearer(other_workspace.api_token))
    assert r.status_code == 404
    r = _post(client, other_workspace, pid, channel="email", purpose="marketing", status="denied")
    assert r.status_code == 404
    r = client.post(
        "/api/v1/consent",
        json={
            "identifier": {"type": "email", "value": "mo@example.com"},
            "channel": "email",
            "purpose": "marketing",
            "status": "denied",
        },
        headers=bearer(other_workspace.api_token),
    )
    assert r.status_code == 404
    r = client.get(f"/api/v1/profiles/{pid}/consent")
    assert r.status_code == 401
