"""The console's Privacy area is an admin's: requests with their due dates (overdue ones
marked), recording one, its page with what was found, the export, the erase and its
receipt, the retention policies; and the Customer 360 tells admins who looked at the
person (every console view is logged, an agent's too)."""

from __future__ import annotations

import io
import uuid
import zipfile
from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.privacy.models import PrivacyRequest
from tests.helpers import Committed, add_user, bearer, console_login
from tests.privacy.people import new_person, track_person

ADMIN = "pat.admin@shop.test"
AGENT = "sam.agent@shop.test"


def signed_in(app: FastAPI, email: str) -> tuple[TestClient, str]:
    client = TestClient(app, raise_server_exceptions=False)
    return client, console_login(client, email)


def test_privacy_is_an_admins_area(
    privacy_app: FastAPI, api: TestClient, ws: ProvisionedWorkspace, db: Session
) -> None:
    add_user(db, ws, f"a-{ws.workspace.slug}@shop.test", role="admin")
    add_user(db, ws, f"g-{ws.workspace.slug}@shop.test", role="agent")
    admin, _ = signed_in(privacy_app, f"a-{ws.workspace.slug}@shop.test")
    agent, _ = signed_in(privacy_app, f"g-{ws.workspace.slug}@shop.test")
    assert 'href="/privacy"' in admin.get("/customers").text
    assert 'href="/privacy"' not in agent.get("/customers").text
    for path in ("/privacy", "/privacy/retention", f"/privacy/requests/{uuid.uuid4()}"):
        r = agent.get(path)
        assert r.status_code == 403, path
    assert admin.get("/privacy").status_code == 200


def test_an_admin_handles_a_request_from_the_console(
    privacy_app: FastAPI,
    api: TestClient,
    ws: ProvisionedWorkspace,
    db: Session,
    privacy_db: Committed,
) -> None:
    admin_email = f"a-{ws.workspace.slug}@shop.test"
    add_user(db, ws, admin_email, role="admin")
    admin, csrf = signed_in(privacy_app, admin_email)
    p = new_person()
    track_person(api, ws, p)

    bad = admin.post(
        "/privacy",
        data={
            "kind": "erase",
            "identifier_type": "email",
            "identifier_value": "nope",
            "csrf_token": csrf,
        },
    )
    assert bad.status_code == 422
    assert 'data-code="invalid"' in bad.text
    assert 'value="nope"' in bad.text  # what was typed stays in the form

    made = admin.post(
        "/privacy",
        data={
            "kind": "export",
            "identifier_type": "phone",
            "identifier_value": p.phone_typed,
            "note": "By email; ID checked",
            "csrf_token": csrf,
        },
        follow_redirects=False,
    )
    assert made.status_code == 303
    export_path = made.headers["location"]
    page = admin.get(export_path).text
    assert "3 profiles" in page
    assert "By email; ID checked" in page
    zipped = admin.get(f"{export_path}/export")
    assert zipped.status_code == 200
    assert "person.json" in zipfile.ZipFile(io.BytesIO(zipped.content)).namelist()
    page = admin.get(export_path).text
    assert 'id="receipt"' in page
    assert "completed" in page

    late = admin.post(
        "/privacy",
        data={
            "kind": "erase",
            "identifier_type": "email",
            "identifier_value": p.email,
            "csrf_token": csrf,
        },
        follow_redirects=False,
    ).headers["location"]
    with transaction(privacy_db.factory) as session:
        session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.id == uuid.UUID(late.rsplit("/", 1)[1]))
            .values(due_at=utcnow() - timedelta(days=2))
        )
    listing = admin.get("/privacy").text
    assert 'class="overdue"' in listing
    assert "overdue ·" in listing
    assert admin.get("/privacy?status=overdue").text.count('data-id="') == 1

    erased = admin.post(f"{late}/erase", data={"csrf_token": csrf}, follow_redirects=False)
    assert erased.status_code == 303
    page = admin.get(late).text
    assert 'id="receipt-tables"' in page
    assert p.email not in page  # the request keeps it masked
    again = admin.post(f"{late}/erase", data={"csrf_token": csrf})
    assert again.status_code == 409
    assert 'data-code="request_completed"' in again.text
    assert (
        api.get(
            f"/api/v1/profiles/lookup?email={p.email}", headers=bearer(ws.api_token)
        ).status_code
        == 404
    )


def test_the_retention_page_saves_the_policies(
    privacy_app: FastAPI, ws: ProvisionedWorkspace, db: Session
) -> None:
    admin_email = f"a-{ws.workspace.slug}@shop.test"
    add_user(db, ws, admin_email, role="admin")
    admin, csrf = signed_in(privacy_app, admin_email)
    page = admin.get("/privacy/retention")
    assert page.status_code == 200
    assert 'id="retention-report"' in page.text
    form = {
        "csrf_token": csrf,
        "version": "0",
        "events_days": "400",
        "request_due_days": "20",
        "keep_order_totals": "on",
    }
    saved = admin.post("/privacy/retention", data=form, follow_redirects=False)
    assert saved.status_code == 303
    page = admin.get("/privacy/retention").text
    assert 'value="400"' in page
    assert "checked" in page
    stale = admin.post("/privacy/retention", data=form)  # version 0 again
    assert stale.status_code == 409
    bad = admin.post("/privacy/retention", data={**form, "version": "1", "events_days": "0"})
    assert bad.status_code == 422


def test_the_360_shows_admins_who_looked(
    privacy_app: FastAPI, api: TestClient, ws: ProvisionedWorkspace, db: Session
) -> None:
    admin_email = f"a-{ws.workspace.slug}@shop.test"
    agent_email = f"g-{ws.workspace.slug}@shop.test"
    add_user(db, ws, admin_email, role="admin")
    add_user(db, ws, agent_email, role="agent")
    p = new_person()
    track_person(api, ws, p)
    profile_id = api.get(
        "/api/v1/profiles/lookup", params={"email": p.email}, headers=bearer(ws.api_token)
    ).json()["id"]
    agent, _ = signed_in(privacy_app, agent_email)
    seen = agent.get(f"/customers/{profile_id}").text
    assert "Who looked at this person" not in seen  # not the agent's to see
    admin, _ = signed_in(privacy_app, admin_email)
    page = admin.get(f"/customers/{profile_id}").text
    assert "Who looked at this person" in page
    section = page.split('id="access-log"', 1)[1].split("</section>", 1)[0]
    assert agent_email in section
    assert admin_email in section
    assert "view via console" in section
    assert "lookup via api" in section
