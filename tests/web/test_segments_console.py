"""Segments in the console without a browser, on both databases: the pages need a
session and the analytics scope (an agent gets none of them), every form and the live
estimate carry the session's CSRF token, a segment of another workspace is a 404, and
saving, duplicating, archiving and restoring go through the segments service (built as
the REST API builds)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login
from tests.resolve.test_identity import Api

HTML = {"accept": "text/html"}
ANALYST = "ana.lyst@acme.test"
VIP = {
    "kind": "all",
    "conditions": [{"kind": "trait", "field": "plan", "op": "eq", "value": "VIP"}],
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The suite's settings without the job consumer: the test's one connection is not
    shared with background threads."""
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-" + "x" * 32,
        resolve_worker=False,
        resolve_inline=True,
        outbox_worker=False,
        imap_poll_seconds=0,
        match_worker=False,
        jobs_worker=False,
        social_streams=False,
    )


def _people(client: TestClient, ws: ProvisionedWorkspace) -> dict[str, str]:
    api = Api(client, ws)
    out = {}
    for user, plan in (("ada", "VIP"), ("bo", "VIP"), ("cy", "free")):
        email = f"{user}@example.com"
        api.send(
            "identify", userId=user, traits={"email": email, "name": user.title(), "plan": plan}
        )
        out[user] = str(api.profile(email=email)["id"])
    api.send("track", userId="ada", event="Order Completed", properties={"total": 120})
    return out


def _segment(client: TestClient, ws: ProvisionedWorkspace, name: str, definition: Any) -> str:
    r = client.post(
        "/api/v1/segments",
        json={"name": name, "definition": definition},
        headers=bearer(ws.api_token),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["segment"]["id"])


def test_pages_need_a_session(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    r = client.get("/segments", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/segments"
    r = client.get(f"/segments/{uuid.uuid4()}", follow_redirects=False)
    assert r.headers["location"].startswith("/login")
    r = client.post("/segments/estimate", json={"definition": VIP}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")
    r = client.get(
        "/segments/suggest", params={"kind": "trait", "field": "plan"}, follow_redirects=False
    )
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def test_an_analyst_builds_a_segment_and_reads_it(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    people = _people(client, workspace)
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)

    listing = client.get("/segments", headers=HTML)
    assert listing.status_code == 200
    assert 'id="nav-segments"' in listing.text
    assert "No segments yet" in listing.text

    builder = client.get("/segments/new", headers=HTML)
    assert builder.status_code == 200
    fields = re.search(r'id="segment-fields">(.*?)</script>', builder.text, re.S)
    assert fields
    assert '"plan"' in fields.group(1)
    assert "Order Completed" in fields.group(1)

    # The live estimate: the session's token in the header, or nothing.
    refused = client.post("/segments/estimate", json={"definition": VIP})
    assert refused.status_code == 403
    got = client.post(
        "/segments/estimate", json={"definition": VIP}, headers={"x-csrf-token": csrf}
    )
    assert got.status_code == 200, got.text
    assert re.search(r'data-size="2" data-total="3"', got.text)
    assert "2</strong> of 3 people" in got.text
    assert f"/customers/{people['ada']}" in got.text
    bad = client.post(
        "/segments/estimate",
        json={"definition": {"kind": "all", "conditions": [{"kind": "trait", "op": "eq"}]}},
        headers={"x-csrf-token": csrf},
    )
    assert bad.status_code == 422
    assert "Not a valid definition yet" in bad.text

    values = client.get("/segments/suggest", params={"kind": "trait", "field": "plan"})
    assert values.status_code == 200
    assert values.json() == ["VIP", "free"]

    # Saving: refused without the token, kept as typed when not valid, built when saved.
    form = {
        "name": "VIPs",
        "description": "Our best",
        "definition": '{"kind": "all", "conditions": []}',
    }
    assert client.post("/segments/new", data=form).status_code == 403
    wrong = client.post("/segments/new", data={**form, "csrf_token": csrf}, headers=HTML)
    assert wrong.status_code == 422
    assert "The definition is not valid" in wrong.text
    assert 'value="VIPs"' in wrong.text
    saved = client.post(
        "/segments/new",
        data={**form, "definition": json.dumps(VIP), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    location = saved.headers["location"]
    assert location.endswith("?saved=built")
    sid = location.split("/")[2].split("?")[0]

    page = client.get(location, headers=HTML).text
    assert "Saved and built: 2 people" in page
    assert 'class="sg-chart"' in page
    assert '<path class="sg-line"' in page
    assert "plan is VIP" in page  # the definition in words
    assert f'href="/customers/{people["bo"]}"' in page  # a member
    assert "Entered" in page
    assert "build" in page

    member = client.get(f"/segments/{sid}", params={"person": "ada@example.com"}, headers=HTML)
    assert "is in this segment" in member.text
    assert "✓" in member.text
    other = client.get(f"/segments/{sid}", params={"person": people["cy"]}, headers=HTML)
    assert "is not in this segment" in other.text
    assert "does not hold" in other.text
    nobody = client.get(f"/segments/{sid}", params={"person": "zed@example.com"}, headers=HTML)
    assert nobody.status_code == 200
    assert 'role="alert"' in nobody.text

    c360 = client.get(f"/customers/{people['ada']}", headers=HTML).text
    assert 'id="customer-segments"' in c360
    assert f'href="/segments/{sid}">VIPs</a>' in c360
    assert "Entered" in c360

    # Edited: the definition changes, the members follow.
    free = {
        "kind": "all",
        "conditions": [{"kind": "trait", "field": "plan", "op": "eq", "value": "free"}],
    }
    edited = client.post(
        f"/segments/{sid}/edit",
        data={"name": "Free", "definition": json.dumps(free), "csrf_token": csrf},
        follow_redirects=False,
    )
    assert edited.status_code == 303
    page = client.get(f"/segments/{sid}", headers=HTML).text
    assert 'id="segment-size">1<' in page
    assert "definition changed" in page


def test_duplicate_archive_and_restore(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    _people(client, workspace)
    vip = _segment(client, workspace, "VIPs", VIP)
    uses = _segment(
        client, workspace, "VIP buyers", {"kind": "segment", "segment_id": vip, "member": True}
    )
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)

    copy = client.post(
        f"/segments/{vip}/duplicate", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert copy.status_code == 303
    assert copy.headers["location"].endswith(f"/edit?copied={vip}")
    edit = client.get(copy.headers["location"], headers=HTML).text
    assert 'value="VIPs (copy)"' in edit
    assert "This is a copy of “VIPs”" in edit

    # A segment another one uses stays, with the reason.
    assert client.post(f"/segments/{vip}/archive").status_code == 403  # no token
    refused = client.post(f"/segments/{vip}/archive", data={"csrf_token": csrf}, headers=HTML)
    assert refused.status_code == 409
    assert "VIP buyers" in refused.text

    done = client.post(f"/segments/{uses}/archive", data={"csrf_token": csrf}, headers=HTML)
    assert done.status_code == 200
    assert "“VIP buyers” archived" in done.text
    assert "VIP buyers" not in done.text.split('id="segments"')[1]
    archived = client.get("/segments", params={"archived": 1}, headers=HTML).text
    assert "VIP buyers" in archived
    assert "Restore" in archived

    back = client.post(f"/segments/{uses}/restore", data={"csrf_token": csrf}, headers=HTML)
    assert "“VIP buyers” restored" in back.text
    assert "Saved and built" not in client.get(f"/segments/{uses}", headers=HTML).text
    assert 'id="segment-size">2<' in client.get(f"/segments/{uses}", headers=HTML).text


def test_an_agent_sees_no_segments(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    people = _people(client, workspace)
    sid = _segment(client, workspace, "VIPs", VIP)
    add_user(session, workspace, "jo@acme.test", "agent")
    csrf = console_login(client, "jo@acme.test")
    home = client.get("/customers", headers=HTML).text
    assert 'id="nav-segments"' not in home
    assert client.get("/segments", headers=HTML).status_code == 403
    assert client.get(f"/segments/{sid}", headers=HTML).status_code == 403
    assert client.get("/segments/new", headers=HTML).status_code == 403
    r = client.post("/segments/estimate", json={"definition": VIP}, headers={"x-csrf-token": csrf})
    assert r.status_code == 403
    assert 'id="customer-segments"' not in client.get(f"/customers/{people['ada']}").text


def test_another_workspace_s_segment_is_not_found(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    _people(client, workspace)
    sid = _segment(client, workspace, "VIPs", VIP)
    add_user(session, other_workspace, "gil@globex.test", "admin")
    csrf = console_login(client, "gil@globex.test")
    for path in (f"/segments/{sid}", f"/segments/{sid}/edit"):
        assert client.get(path, headers=HTML).status_code == 404, path
    for action in ("duplicate", "archive", "restore"):
        r = client.post(f"/segments/{sid}/{action}", data={"csrf_token": csrf}, headers=HTML)
        assert r.status_code == 404, action
    r = client.post(
        f"/segments/{sid}/edit",
        data={
            "name": "Mine",
            "definition": '{"kind": "all", "conditions": []}',
            "csrf_token": csrf,
        },
        headers=HTML,
    )
    assert r.status_code == 404
    # Their own list and estimate know nothing of it.
    assert "VIPs" not in client.get("/segments", headers=HTML).text
    r = client.post("/segments/estimate", json={"definition": VIP}, headers={"x-csrf-token": csrf})
    assert 'data-size="0" data-total="0"' in r.text
    # A definition naming it is refused.
    ref = {"kind": "segment", "segment_id": sid, "member": True}
    r = client.post(
        "/segments/new",
        data={"name": "Theirs", "definition": json.dumps(ref), "csrf_token": csrf},
        headers=HTML,
    )
    assert r.status_code == 422
    assert "No segment" in r.text


def test_an_estimate_counted_on_a_share_says_so() -> None:
    from accord.analyze.segments.queries import Estimate
    from accord.web.templating import create_templates

    fragment = create_templates().get_template("segments/_estimate.html")
    exact = fragment.render(got=Estimate(40, 100, [], 3.2), error=None)
    assert 'data-exact="true"' in exact
    assert "counted in 3 ms" in exact
    share = fragment.render(
        got=Estimate(4_800, 1_000_000, [], 41.0, exact=False, fraction=1 / 256), error=None
    )
    assert 'data-exact="false"' in share
    assert "about" in share
    assert "4,800</strong> of 1,000,000 people" in share
    assert "counted on 1 person in 256 and scaled up" in share
