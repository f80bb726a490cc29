"""Campaigns in the console without a browser, on both databases: the pages need a
session and the analytics scope (an agent gets none of them), a campaign of another
workspace is a 404, the composer's live preview renders a person's first name and puts a
template's error under its field with the line, saving goes through the outreach service,
launching without a mail relay says so in the composer, and a campaign being sent shows
its progress (polled while it sends), its report, its recipients and, on the 360, the
person's Messages card."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.time import utcnow
from accord.outreach import service
from accord.outreach.models import Campaign, Send
from tests.helpers import add_user, bearer, console_login
from tests.resolve.test_identity import Api

HTML = {"accept": "text/html"}
HTMX = {"accept": "text/html", "hx-request": "true"}
ANALYST = "ana.lyst@acme.test"
TEAM = {"kind": "trait", "field": "team", "op": "eq", "value": "a"}


def _people(client: TestClient, ws: ProvisionedWorkspace) -> dict[str, str]:
    api = Api(client, ws)
    out = {}
    for user, first in (("ada", "Ada"), ("bo", "Bo"), ("cy", "Cy")):
        email = f"{user}@example.com"
        api.send(
            "identify",
            userId=user,
            traits={"email": email, "firstName": first, "name": f"{first} Lovelace", "team": "a"},
        )
        out[user] = str(api.profile(email=email)["id"])
    return out


def _segment(client: TestClient, ws: ProvisionedWorkspace, name: str = "Team A") -> str:
    r = client.post(
        "/api/v1/segments",
        json={"name": name, "definition": TEAM},
        headers=bearer(ws.api_token),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["segment"]["id"])


def _campaign(client: TestClient, ws: ProvisionedWorkspace, segment_id: str, **fields: Any) -> str:
    r = client.post(
        "/api/v1/outreach/campaigns",
        json={
            "name": "Spring sale",
            "segment_id": segment_id,
            "subject": "{{ person.first_name }}, the spring sale",
            "html": "<html><body><p>Hi {{ person.first_name }}</p></body></html>",
            "text": "Hi {{ person.first_name }}",
            **fields,
        },
        headers=bearer(ws.api_token),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _form(csrf: str, segment_id: str, **fields: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "name": "Welcome back",
        "segment_id": segment_id,
        "purpose": "marketing",
        "from_name": "Acme",
        "subject": "{{ person.first_name }}, we missed you",
        "html": "<html><body><p>Hi {{ person.first_name }}</p></body></html>",
        "text": "Hi {{ person.first_name }}",
        "holdout_percent": "10",
        "goal_event": "Order Completed",
        "goal_days": "7",
        "respect_caps": "1",
        **fields,
    }


def test_pages_need_a_session(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    r = client.get("/outreach/campaigns", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/outreach/campaigns"
    r = client.get(f"/outreach/campaigns/{uuid.uuid4()}", follow_redirects=False)
    assert r.headers["location"].startswith("/login")
    r = client.post("/outreach/campaigns/preview", data={"subject": "x"}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def test_an_analyst_composes_a_campaign_with_a_live_preview(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    people = _people(client, workspace)
    segment_id = _segment(client, workspace)
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)

    listing = client.get("/outreach/campaigns", headers=HTML)
    assert listing.status_code == 200
    assert 'id="nav-campaigns"' in listing.text
    assert 'aria-current="page">Campaigns' in listing.text
    assert "No campaigns yet" in listing.text
    assert 'id="new-campaign"' in listing.text

    new = client.get("/outreach/campaigns/new", headers=HTML)
    assert new.status_code == 200
    assert f'<option value="{segment_id}">Team A · 3 people</option>' in new.text
    assert 'sandbox=""' in new.text  # the example person's preview, rendered at once
    assert "Alex Example (an example person)</label>" in new.text

    # The live preview: the session's token, then the person's first name in the subject.
    typed = {"subject": "{{ person.first_name }}, we missed you", "html": "<p>Hi</p>"}
    assert client.post("/outreach/campaigns/preview", data=typed).status_code == 403
    as_ada = client.post(
        "/outreach/campaigns/preview",
        data={**typed, "profile_id": people["ada"]},
        headers={**HTMX, "x-csrf-token": csrf},
    )
    assert as_ada.status_code == 200, as_ada.text
    assert '<strong id="preview-subject">Ada, we missed you</strong>' in as_ada.text
    assert '<strong id="preview-as">Ada (ada@example.com)</strong>' in as_ada.text
    assert 'srcdoc="&lt;p&gt;Hi&lt;/p&gt;' in as_ada.text  # the email, escaped into the frame
    example = client.post(
        "/outreach/campaigns/preview", data=typed, headers={**HTMX, "x-csrf-token": csrf}
    )
    assert '<strong id="preview-subject">Alex, we missed you</strong>' in example.text

    # A template that does not compile: the error beside its field, with its line.
    broken = client.post(
        "/outreach/campaigns/preview",
        data={**typed, "html": "<p>\n{{ person.first_name </p>"},
        headers={**HTMX, "x-csrf-token": csrf},
    )
    assert broken.status_code == 200
    assert 'id="preview-error"' in broken.text
    error = re.search(r'<p class="field-error" id="html-error"[^>]*>([^<]*)</p>', broken.text)
    assert error, broken.text
    assert error.group(1).startswith("Line 2:")
    assert 'hx-swap-oob="true"' in broken.text
    cleared = re.search(r'<p class="field-error" id="subject-error"[^>]*>([^<]*)</p>', broken.text)
    assert cleared
    assert cleared.group(1) == ""

    # People to preview as, by name or email; the one chosen stays first.
    found = client.get("/outreach/campaigns/people", params={"q": "bo@"}, headers=HTMX).text
    assert f'value="{people["bo"]}"' in found
    assert f'value="{people["ada"]}"' not in found
    kept = client.get(
        "/outreach/campaigns/people",
        params={"q": "bo@", "profile_id": people["ada"]},
        headers=HTMX,
    ).text
    assert f'value="{people["ada"]}" form="campaign-form" checked' in kept

    # Saving: the same error under the field when the template is wrong; saved otherwise.
    wrong = client.post(
        "/outreach/campaigns/new",
        data=_form(csrf, segment_id, html="<p>\n{{ person.first_name </p>", then="save"),
        headers=HTML,
    )
    assert wrong.status_code == 422
    assert re.search(r'id="html-error"[^>]*>Line 2:', wrong.text)
    assert 'value="Welcome back"' in wrong.text
    saved = client.post(
        "/outreach/campaigns/new",
        data=_form(csrf, segment_id, then="save"),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    location = saved.headers["location"]
    assert location.endswith("/edit?done=saved")
    campaign_id = location.split("/")[3]
    edit = client.get(location, headers=HTML).text
    assert "Draft saved." in edit
    assert 'value="Welcome back"' in edit
    assert 'name="version" value="1"' in edit

    # Launching with no mail relay: the draft is kept, the reason shown in the composer.
    launch = client.post(
        f"/outreach/campaigns/{campaign_id}/edit",
        data={**_form(csrf, segment_id, then="launch"), "version": "1"},
        headers=HTML,
    )
    assert launch.status_code == 409
    assert 'id="composer-error"' in launch.text
    assert "no outbound email set up" in launch.text
    assert 'name="version" value="2"' in launch.text
    test = client.post(
        f"/outreach/campaigns/{campaign_id}/edit",
        data={**_form(csrf, segment_id, then="test", test_address="me@acme.test"), "version": "2"},
        headers=HTML,
    )
    assert test.status_code == 409
    assert "no outbound email set up" in test.text
    campaign = service.get(session, workspace.workspace.id, uuid.UUID(campaign_id))
    assert campaign.status == "draft"

    page = client.get(f"/outreach/campaigns/{campaign_id}", headers=HTML)
    assert page.status_code == 200
    assert 'id="not-launched"' in page.text
    listing = client.get("/outreach/campaigns", headers=HTML).text
    assert "Welcome back" in listing
    assert 'class="status oc-st-draft"' in listing


def test_a_campaign_page_shows_progress_report_and_recipients(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    people = _people(client, workspace)
    campaign_id = uuid.UUID(_campaign(client, workspace, _segment(client, workspace)))
    campaign = session.get(Campaign, campaign_id)
    assert campaign is not None
    service.start(session, campaign, utcnow())
    session.commit()
    ada = uuid.UUID(people["ada"])
    bo = uuid.UUID(people["bo"])
    session.execute(
        update(Send)
        .where(Send.campaign_id == campaign_id, Send.profile_id == ada)
        .values(status="sent", sent_at=utcnow(), opened_at=utcnow())
    )
    session.execute(
        update(Send)
        .where(Send.campaign_id == campaign_id, Send.profile_id == bo)
        .values(status="refused", code="no_consent", reason="denied consent to marketing")
    )
    session.commit()
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)

    page = client.get(f"/outreach/campaigns/{campaign_id}", headers=HTML)
    assert page.status_code == 200
    text = page.text
    assert 'data-status="sending"' in text
    assert 'hx-trigger="every 2s"' in text  # polled while it sends
    assert "2 of 3 recipients decided" in text
    assert 'id="pause-campaign"' in text
    assert 'id="by-status"' in text
    assert 'id="funnel"' in text
    assert "No holdout to compare with" in text
    assert f'href="/customers/{ada}">Ada</a>' in text
    assert "denied consent to marketing" in text
    refused = client.get(
        f"/outreach/campaigns/{campaign_id}", params={"recipients": "refused"}, headers=HTML
    ).text
    assert f'href="/customers/{bo}"' in refused.split('id="recipient-list"')[1]
    assert f'href="/customers/{ada}"' not in refused.split('id="recipient-list"')[1]
    csv = client.get(
        f"/outreach/campaigns/{campaign_id}", params={"export": "by-status", "format": "csv"}
    )
    assert csv.status_code == 200
    assert "Sent,1" in csv.text

    fragment = client.get(f"/outreach/campaigns/{campaign_id}/progress", headers=HTMX)
    assert fragment.status_code == 200
    assert "HX-Refresh" not in fragment.headers
    assert 'hx-trigger="every 2s"' in fragment.text

    # Paused: nothing polls, and the fragment asks the page to reload.
    r = client.post(
        f"/outreach/campaigns/{campaign_id}/pause",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303
    paused = client.get(r.headers["location"], headers=HTML).text
    assert "Paused: nothing more is sent" in paused
    assert 'hx-trigger="every 2s"' not in paused
    assert 'id="resume-campaign"' in paused
    fragment = client.get(f"/outreach/campaigns/{campaign_id}/progress", headers=HTMX)
    assert fragment.headers["HX-Refresh"] == "true"

    c360 = client.get(f"/customers/{ada}", headers=HTML).text
    assert 'id="customer-messages"' in c360
    assert f'href="/outreach/campaigns/{campaign_id}">Spring sale</a>' in c360
    bo_360 = client.get(f"/customers/{bo}", headers=HTML).text
    assert "denied consent to marketing" in bo_360

    listing = client.get("/outreach/campaigns", headers=HTML).text
    row = listing.split(f'id="campaign-{campaign_id}"')[1].split("</tr>")[0]
    assert "100.0%" in row  # the one sent was opened


def test_an_agent_sees_no_campaigns(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    people = _people(client, workspace)
    campaign_id = _campaign(client, workspace, _segment(client, workspace))
    add_user(session, workspace, "jo@acme.test", "agent")
    csrf = console_login(client, "jo@acme.test")
    home = client.get("/customers", headers=HTML).text
    assert 'id="nav-campaigns"' not in home
    for path in (
        "/outreach/campaigns",
        "/outreach/campaigns/new",
        f"/outreach/campaigns/{campaign_id}",
        f"/outreach/campaigns/{campaign_id}/edit",
    ):
        assert client.get(path, headers=HTML).status_code == 403, path
    r = client.post(
        "/outreach/campaigns/preview", data={"subject": "x"}, headers={"x-csrf-token": csrf}
    )
    assert r.status_code == 403
    r = client.post(
        f"/outreach/campaigns/{campaign_id}/cancel", data={"csrf_token": csrf}, headers=HTML
    )
    assert r.status_code == 403
    # The 360 still says what the person was sent, without links to the campaigns.
    c360 = client.get(f"/customers/{people['ada']}", headers=HTML).text
    assert 'id="customer-messages"' in c360
    assert "/outreach/campaigns/" not in c360


def test_another_workspace_s_campaign_is_not_found(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    theirs = _campaign(client, other_workspace, _segment(client, other_workspace))
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)
    for path in (f"/outreach/campaigns/{theirs}", f"/outreach/campaigns/{theirs}/edit"):
        assert client.get(path, headers=HTML).status_code == 404, path
    fragment = client.get(f"/outreach/campaigns/{theirs}/progress", headers=HTMX)
    assert fragment.status_code == 404
    for action in ("pause", "resume", "cancel"):
        r = client.post(
            f"/outreach/campaigns/{theirs}/{action}", data={"csrf_token": csrf}, headers=HTML
        )
        assert r.status_code == 404, action
    r = client.post(
        f"/outreach/campaigns/{theirs}/edit",
        data=_form(csrf, "", then="save"),
        headers=HTML,
    )
    assert r.status_code == 404
    assert "Spring sale" not in client.get("/outreach/campaigns", headers=HTML).text


def test_a_campaign_is_scheduled_in_the_workspace_s_time_zone(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    _people(client, workspace)
    segment_id = _segment(client, workspace)
    r = client.put(
        "/api/v1/mailbox",
        json={
            "address": "help@acme.example",
            "name": "Acme",
            "relay": {"host": "127.0.0.1", "port": 2525},
        },
        headers=bearer(workspace.api_token),
    )
    assert r.status_code == 200, r.text
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)

    # No time given: the composer says so beside the field, and the draft is kept.
    missing = client.post(
        "/outreach/campaigns/new",
        data=_form(csrf, segment_id, then="schedule", scheduled_at=""),
        headers=HTML,
    )
    assert missing.status_code == 422
    assert re.search(r'id="scheduled_at-error"[^>]*>Choose the date and time', missing.text)
    assert "Draft saved." in missing.text
    campaign_id = re.search(r'action="/outreach/campaigns/([0-9a-f-]+)/edit"', missing.text)
    assert campaign_id

    scheduled = client.post(
        f"/outreach/campaigns/{campaign_id.group(1)}/edit",
        data={
            **_form(csrf, segment_id, then="schedule", scheduled_at="2099-06-01T09:00"),
            "version": "1",
        },
        follow_redirects=False,
    )
    assert scheduled.status_code == 303, scheduled.text
    assert scheduled.headers["location"].endswith("?done=scheduled")
    page = client.get(scheduled.headers["location"], headers=HTML).text
    assert "Scheduled." in page
    assert "scheduled for 2099-06-01 09:00 UTC" in page  # the workspace's zone is UTC
    edit = client.get(f"/outreach/campaigns/{campaign_id.group(1)}/edit", headers=HTML).text
    assert "Scheduled for 2099-06-01 09:00 UTC" in edit
    listing = client.get("/outreach/campaigns", headers=HTML).text
    assert "at 2099-06-01 09:00" in listing

    # Cancelled, it is no longer edited: its page instead.
    r = client.post(
        f"/outreach/campaigns/{campaign_id.group(1)}/cancel",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.headers["location"].endswith("?done=cancelled")
    gone = client.get(f"/outreach/campaigns/{campaign_id.group(1)}/edit", follow_redirects=False)
    assert gone.status_code == 303
    assert gone.headers["location"] == f"/outreach/campaigns/{campaign_id.group(1)}"


def test_the_usual_hour_option_round_trips_through_the_composer(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    _people(client, workspace)
    segment_id = _segment(client, workspace)
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)
    new = client.get("/outreach/campaigns/new", headers=HTML).text
    box = re.search(r'<input type="checkbox" name="usual_hour"[^>]*>', new)
    assert box
    assert "checked" not in box.group(0)
    assert "the hour they are usually active" in new

    saved = client.post(
        "/outreach/campaigns/new",
        data=_form(csrf, segment_id, then="save", usual_hour="1"),
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    campaign_id = saved.headers["location"].split("/")[3]
    assert service.get(session, workspace.workspace.id, uuid.UUID(campaign_id)).usual_hour
    edit = client.get(saved.headers["location"], headers=HTML).text
    box = re.search(r'<input type="checkbox" name="usual_hour"[^>]*>', edit)
    assert box
    assert "checked" in box.group(0)
    r = client.get(f"/api/v1/outreach/campaigns/{campaign_id}", headers=bearer(workspace.api_token))
    assert r.json()["usual_hour"] is True

    # Unticked (a browser posts nothing for it): saved as off.
    r = client.post(
        f"/outreach/campaigns/{campaign_id}/edit",
        data={**_form(csrf, segment_id, then="save"), "version": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    session.expire_all()
    assert not service.get(session, workspace.workspace.id, uuid.UUID(campaign_id)).usual_hour
    edit = client.get(f"/outreach/campaigns/{campaign_id}/edit", headers=HTML).text
    box = re.search(r'<input type="checkbox" name="usual_hour"[^>]*>', edit)
    assert box
    assert "checked" not in box.group(0)
