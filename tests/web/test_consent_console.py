"""Consent in the console without a browser, on both databases: the Customer 360 shows
what may be sent and why, every record with its evidence, and the form where an agent
records a customer's request (never an analyst, never for another workspace's person);
Settings > Consent saves with its version and shows a refused value beside its field."""

from __future__ import annotations

import re
import uuid

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.consent import service as consent
from accord.govern.consent import settings as consent_settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.time import utcnow
from tests.helpers import add_user, console_login, csrf_from
from tests.resolve.test_identity import Api

HTML = {"accept": "text/html"}


def _person(client: TestClient, ws: ProvisionedWorkspace, email: str, **traits: str) -> uuid.UUID:
    api = Api(client, ws)
    api.send("identify", userId=email, traits={"email": email, **traits})
    return uuid.UUID(api.profile(email=email)["id"])


def _cell(html: str, purpose: str, channel: str) -> str:
    match = re.search(
        rf'<td class="(yes|no)" data-purpose="{purpose}" data-channel="{channel}">(.*?)</td>',
        html,
        re.S,
    )
    assert match, (purpose, channel)
    return f"{match.group(1)}: {match.group(2)}"


def test_the_360_shows_consent_and_an_agent_records_a_withdrawal(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    pid = _person(client, workspace, "rae@example.com", name="Rae Kim", country="US")
    consent.record(
        session,
        workspace.workspace.id,
        pid,
        channel="sms",
        purpose="marketing",
        status="granted",
        source="form",
        ip="203.0.113.9",
        user_agent="Mozilla/5.0 (Form)",
        notice_version="3",
    )
    session.commit()
    add_user(session, workspace, "agent@acme.test", "agent")
    csrf = console_login(client, "agent@acme.test")
    page = client.get(f"/customers/{pid}").text
    assert 'id="consent"' in page
    assert "Region <strong>US</strong>" in page
    assert _cell(page, "marketing", "email").startswith("yes:")
    assert "opt-out region US" in _cell(page, "marketing", "email")
    assert "granted on" in _cell(page, "marketing", "sms")
    history = page[page.index('id="consent-history"') :]
    assert "203.0.113.9" in history
    assert "Mozilla/5.0 (Form)" in history
    assert 'id="consent-form"' in page
    assert 'id="preference-link"' in page
    assert "/preferences/" in page

    # The reason is required: refused beside its field, with what was chosen kept.
    refused = client.post(
        f"/customers/{pid}/consent",
        data={
            "csrf_token": csrf,
            "channel": "email",
            "purpose": "marketing",
            "status": "withdrawn",
        },
    )
    assert refused.status_code == 422
    assert 'id="consent-reason-error"' in refused.text
    assert len(consent.history(session, [pid])) == 1

    done = client.post(
        f"/customers/{pid}/consent",
        data={
            "csrf_token": csrf,
            "channel": "email",
            "purpose": "marketing",
            "status": "withdrawn",
            "reason": "Asked on the phone to stop the newsletter",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/customers/{pid}?consent=recorded#consent"
    page = client.get(done.headers["location"]).text
    assert 'id="consent-recorded"' in page
    cell = _cell(page, "marketing", "email")
    assert cell.startswith("no:")
    assert "Refused" in cell
    assert "withdrew" in cell
    assert "an agent" in cell
    session.expire_all()
    latest = consent.history(session, [pid])[-1]
    assert (latest.source, latest.status) == ("agent", "withdrawn")
    assert latest.recorded_by == "agent@acme.test"
    assert latest.reason == "Asked on the phone to stop the newsletter"


def test_an_analyst_sees_consent_but_cannot_record_it(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    pid = _person(client, workspace, "sam@example.com")
    add_user(session, workspace, "analyst@acme.test", "analyst")
    csrf = console_login(client, "analyst@acme.test")
    page = client.get(f"/customers/{pid}").text
    assert 'id="consent-grid"' in page
    assert 'id="consent-form"' not in page
    assert 'id="preference-link"' not in page
    r = client.post(
        f"/customers/{pid}/consent",
        data={
            "csrf_token": csrf,
            "channel": "email",
            "purpose": "marketing",
            "status": "withdrawn",
            "reason": "no",
        },
        headers=HTML,
    )
    assert r.status_code == 403
    assert 'data-code="insufficient_scope"' in r.text
    assert consent.history(session, [pid]) == []


def test_an_admin_of_another_workspace_gets_404(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    pid = _person(client, workspace, "zoe@example.com")
    add_user(session, other_workspace, "boss@globex.test", "admin")
    csrf = console_login(client, "boss@globex.test")
    assert client.get(f"/customers/{pid}", headers=HTML).status_code == 404
    r = client.post(
        f"/customers/{pid}/consent",
        data={
            "csrf_token": csrf,
            "channel": "email",
            "purpose": "marketing",
            "status": "withdrawn",
            "reason": "not theirs",
        },
        headers=HTML,
    )
    assert r.status_code == 404
    assert consent.history(session, [pid]) == []


def test_settings_consent_saves_with_its_version_and_shows_errors_beside_fields(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@acme.test", "admin")
    console_login(client, "ada@acme.test")
    page = client.get("/settings/consent")
    assert page.status_code == 200
    assert 'href="/settings/consent"' in page.text
    assert 'value="EU"' in page.text
    csrf = csrf_from(page.text)
    form = {
        "csrf_token": csrf,
        "version": "0",
        "action": "save",
        "double_opt_in": "always",
        "notice_version": "2026-12",
        "r0-code": "EU",
        **{f"r0-{p}": "opt_in" for p in ("marketing", "personalization", "surveys", "advertising")},
        "r1-code": "au",
        "r1-marketing": "opt_in",
        "r1-personalization": "",
        "r1-surveys": "opt_out",
        "r1-advertising": "opt_in",
        "r2-code": "",
        **{f"d-{p}": "opt_out" for p in ("marketing", "personalization", "surveys", "advertising")},
        "categories": "marketing = all.marketing\nnewsletter = email.marketing",
        "suppressed_events": "quarantine",
    }
    saved = client.post("/settings/consent", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    session.expire_all()
    value, version = consent_settings.with_version(session, workspace.workspace.id)
    assert version == 1
    assert value.double_opt_in == "always"
    assert value.notice_version == "2026-12"
    assert set(value.regions) == {"EU", "AU"}
    assert value.regions["AU"] == {
        "marketing": "opt_in",
        "surveys": "opt_out",
        "advertising": "opt_in",
    }
    assert value.categories["newsletter"] == ["email.marketing"]
    assert value.suppressed_events == "quarantine"
    assert "Saved." in client.get(saved.headers["location"]).text

    # A bad region code and a bad category line: refused beside their fields, kept typed.
    bad = dict(form, version="1", **{"r1-code": "Australia"})
    r = client.post("/settings/consent", data=bad)
    assert r.status_code == 422
    assert 'id="regions-error"' in r.text
    assert "AUSTRALIA" in r.text
    bad = dict(form, version="1", categories="marketing all.marketing")
    r = client.post("/settings/consent", data=bad)
    assert r.status_code == 422
    assert 'id="categories-error"' in r.text
    assert "line 1" in r.text
    # Someone else saved since version 0 was read: a conflict, nothing overwritten.
    r = client.post("/settings/consent", data=dict(form, notice_version="old"))
    assert r.status_code == 409
    assert 'id="consent-error"' in r.text
    session.expire_all()
    assert consent_settings.with_version(session, workspace.workspace.id)[0].notice_version == (
        "2026-12"
    )
    # "Add a region row" saves nothing and shows one more empty row.
    more = client.post("/settings/consent", data=dict(form, version="1", action="add_row"))
    assert more.status_code == 200
    assert more.text.count('class="new-row"') == 2


def test_only_admins_open_settings_consent(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "agent@acme.test", "agent")
    console_login(client, "agent@acme.test")
    assert client.get("/settings/consent", headers=HTML).status_code == 403


def test_the_conversation_sidebar_says_what_each_channel_allows(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    r = client.post(
        "/api/v1/messages",
        headers={"Authorization": f"Bearer {workspace.api_token}"},
        json={
            "channel": "email",
            "contact": {"email": "ivy@example.com", "phone": "+14155550188"},
            "subject": "Where is my order?",
            "body": "Hello",
        },
    )
    assert r.status_code == 201, r.text
    number = r.json()["conversation"]["number"]
    pid = uuid.UUID(r.json()["conversation"]["profile_id"])
    consent.record(
        session,
        workspace.workspace.id,
        pid,
        channel="sms",
        purpose="all",
        status="denied",
        source="sms_stop",
    )
    session.commit()
    add_user(session, workspace, "agent@acme.test", "agent")
    console_login(client, "agent@acme.test")
    page = client.get(f"/inbox/{number}").text
    side = page[page.index('id="consent-lines"') :]
    side = side[: side.index("</table>")] + side[side.index("</table>") :][:400]
    rows = dict(re.findall(r'<tr data-channel="(\w+)">(.*?)</tr>', side, re.S))
    assert set(rows) == {"email", "phone", "sms"}
    replies, marketing = re.findall(r"<td>(.*?)</td>", rows["email"], re.S)
    assert "✓ allowed" in replies
    replies, marketing = re.findall(r"<td>(.*?)</td>", rows["sms"], re.S)
    assert "✕ refused" in replies
    assert "✕ not allowed" in marketing
    why = re.search(r'<tr class="why" data-why="sms"><td colspan="3">(.*?)</td>', side, re.S)
    assert why
    assert "an SMS STOP" in why.group(1)
    assert f'href="/customers/{pid}#consent"' in side


def test_the_history_marks_records_of_a_merge_and_those_a_split_voided(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    pid = _person(client, workspace, "kai@example.com")
    merge_id = uuid.uuid4()
    derived = consent.record(
        session,
        workspace.workspace.id,
        pid,
        channel="email",
        purpose="marketing",
        status="denied",
        source="merge",
        recorded_by="resolver",
        merge_id=merge_id,
    )
    moved = consent.record(
        session,
        workspace.workspace.id,
        pid,
        channel="sms",
        purpose="marketing",
        status="granted",
        source="form",
    )
    moved.origin_profile_id = uuid.uuid4()  # recorded for a person merged into this one
    derived.voided_at = utcnow()  # the merge was split since
    session.commit()
    add_user(session, workspace, "agent@acme.test", "agent")
    console_login(client, "agent@acme.test")
    page = client.get(f"/customers/{pid}").text
    row = re.search(rf'<tr class="(\w*)" id="consent-record-{derived.id}">(.*?)</tr>', page, re.S)
    assert row
    assert row.group(1) == "voided"
    assert "voided by split" in row.group(2)
    assert "came with a merge" in row.group(2)
    row = re.search(rf'<tr class="(\w*)" id="consent-record-{moved.id}">(.*?)</tr>', page, re.S)
    assert row
    assert row.group(1) == ""
    assert "from a merged profile" in row.group(2)
