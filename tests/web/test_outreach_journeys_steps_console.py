"""The journey editor's date trigger and its task, webhook and audience steps, without a
browser, on both databases: every ready-made journey opens in the editor and publishes
as it is (its definition unchanged by the round trip through the form); a date trigger's
trait, days before and "every year" or "once" are kept; a task's subject, note, channel
and priority, a webhook's destination and an audience's destination, action and name
are kept through adding, saving and publishing; a step without a destination is refused
beside it, with a word on where destinations are made; the list and the report name the
new kinds (the trigger, the funnel's rows)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.outreach.journeys import service
from accord.outreach.journeys.definition import parse
from accord.outreach.journeys.library import TEMPLATES
from accord.outreach.journeys.schemas import JourneyReport, StepCount
from accord.web.outreach_journeys import funnel_chart
from tests.helpers import add_user, bearer, console_login
from tests.web.test_outreach_console import ANALYST, HTML
from tests.web.test_outreach_journeys_console import _create, _steps
from tests.web.test_outreach_journeys_console import _form as _fields


def _form(html: str) -> dict[str, str]:
    """The editor form as a browser posts it: a group of radio buttons as its checked
    one."""
    out = _fields(html)
    for tag in re.findall(r'<input type="radio"[^>]*>', html):
        name, value = re.search(r'name="([^"]+)" value="([^"]*)"', tag).groups()  # type: ignore[union-attr]
        if " checked" in tag:
            out[name] = value
    return out


def _stored(session: Session, ws: ProvisionedWorkspace, journey_id: str) -> dict[str, Any]:
    session.expire_all()
    return service.get(session, ws.workspace.id, uuid.UUID(journey_id)).definition


def _destination(client: TestClient, ws: ProvisionedWorkspace, name: str) -> str:
    r = client.post(
        "/api/v1/destinations",
        json={"name": name, "url": "http://127.0.0.1:9/hook"},
        headers=bearer(ws.api_token),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _card(html: str, step_id: str) -> str:
    return html.split(f'id="step-{step_id}"')[1].split("</article>")[0]


def _selected(html: str, name: str) -> str | None:
    body = re.search(rf'<select name="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    chosen = re.search(r'<option value="([^"]*)" selected>', body.group(1)) if body else None
    return chosen.group(1) if chosen else None


def test_every_ready_made_journey_opens_saves_and_publishes(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)
    for key, template in TEMPLATES.items():
        journey_id = _create(client, csrf, key)
        page = client.get(f"/outreach/journeys/{journey_id}", headers=HTML)
        assert page.status_code == 200, key
        ids = [s["id"] for s in template["definition"]["steps"]]
        assert _steps(page.text) == ids, key
        exits = sum(1 for s in template["definition"]["steps"] if s["kind"] == "exit")
        assert page.text.count("People leave the journey here.") == exits, key
        r = client.post(
            f"/outreach/journeys/{journey_id}",
            data={**_form(page.text), "op": "publish"},
            follow_redirects=False,
        )
        assert r.status_code == 303, (key, r.text[:2000])
        assert "done=published" in r.headers["location"], key
        # The round trip through the form changed nothing.
        kept = parse(_stored(session, workspace, journey_id)).model_dump()
        assert kept == parse(template["definition"]).model_dump(), (key, str(kept["trigger"]))
    listing = client.get("/outreach/journeys", headers=HTML).text
    assert "on the date in birthday, every year" in listing
    assert "entered by hand" in listing
    new = client.get("/outreach/journeys/new", headers=HTML).text
    assert "on the date in birthday, every year" in new


def test_a_date_trigger_is_kept_and_checked(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)
    journey_id = _create(client, csrf, "welcome")
    page = client.get(f"/outreach/journeys/{journey_id}", headers=HTML).text
    assert '<option value="date">On a date a trait holds</option>' in page
    form = {**_form(page), "trigger_kind": "date", "trigger_field": "renewal_date"}
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "trigger_days_before": "7", "trigger_every_year": "0"},
        follow_redirects=True,
    )
    assert r.status_code == 200
    assert "Saved." in r.text
    trigger = _stored(session, workspace, journey_id)["trigger"]
    assert {k: trigger[k] for k in ("kind", "field", "days_before", "every_year")} == {
        "kind": "date",
        "field": "renewal_date",
        "days_before": 7,
        "every_year": False,
    }
    assert _selected(r.text, "trigger_kind") == "date"
    assert 'name="trigger_field" id="trigger-field" maxlength="120" value="renewal_date"' in r.text
    assert 'name="trigger_days_before" id="trigger-days-before"' in r.text
    assert re.search(r'name="trigger_days_before"[^>]*value="7"', r.text)
    assert re.search(r'value="0" id="trigger-once" checked', r.text)
    assert not re.search(r'value="1" id="trigger-every-year" checked', r.text)

    # Every year again, the day itself; then published.
    form = _form(r.text)
    assert form["trigger_every_year"] == "0"
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "trigger_every_year": "1", "trigger_days_before": "0", "op": "publish"},
        follow_redirects=True,
    )
    assert "Published as version 1" in r.text
    trigger = _stored(session, workspace, journey_id)["trigger"]
    assert (trigger["field"], trigger["days_before"], trigger["every_year"]) == (
        "renewal_date",
        0,
        True,
    )
    assert re.search(r'value="1" id="trigger-every-year" checked', r.text)

    # Refusals: no trait, a year and more ahead; shown with the trigger, the form kept.
    form = _form(r.text)
    bad = client.post(
        f"/outreach/journeys/{journey_id}", data={**form, "trigger_field": ""}, headers=HTML
    )
    assert bad.status_code == 422
    settings = bad.text.split('id="journey-settings"')[1].split("</section>")[0]
    assert "a date trigger names the trait that holds the date" in settings
    far = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "trigger_days_before": "400"},
        headers=HTML,
    )
    assert far.status_code == 422
    settings = far.text.split('id="journey-settings"')[1].split("</section>")[0]
    assert "Days before: Input should be less than or equal to 365" in settings
    assert re.search(r'name="trigger_days_before"[^>]*value="400"', far.text)
    odd = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "trigger_field": "renewal date"},
        headers=HTML,
    )
    assert odd.status_code == 422
    assert "a trait&#39;s name holds letters, digits" in odd.text


def test_task_webhook_and_audience_steps_are_added_edited_and_kept(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)
    journey_id = _create(client, csrf, "win_back")
    page = client.get(f"/outreach/journeys/{journey_id}", headers=HTML).text
    for words in ("Task for an agent", "Webhook", "Audience"):
        assert f">{words}</button>" in page

    # Without a destination: the webhook step is refused beside it, with where to make one.
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**_form(page), "op": "add:2:webhook"},
        headers=HTML,
    )
    assert r.status_code == 422
    card = _card(r.text, "webhook-1")
    assert "A webhook step names its destination" in card
    assert "no destination yet" in card
    assert "POST /api/v1/destinations" in card
    assert 'href="/docs#/audiences"' in card

    crm = _destination(client, workspace, "CRM")
    ads = _destination(client, workspace, "Ad network")
    page = client.get(f"/outreach/journeys/{journey_id}", headers=HTML).text
    steps = ["offer", "wait-7d", "last-chance"]
    assert _steps(page) == steps
    for op, added in (("add:2:task", "task-1"), ("add:3:webhook", "webhook-1")):
        r = client.post(
            f"/outreach/journeys/{journey_id}",
            data={**_form(page), "op": op},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        assert r.headers["location"].endswith(f"&step={added}#step-{added}")
        page = client.get(r.headers["location"].split("#")[0], headers=HTML).text
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**_form(page), "op": "add:4:audience"},
        follow_redirects=True,
    )
    page = r.text
    assert _steps(page) == [*steps, "task-1", "webhook-1", "audience-1"]
    task = _card(page, "task-1")
    assert 'value="Call {{ person.first_name | default(&#39;this customer&#39;) }}"' in task
    assert _selected(task, "steps.3.via") == "phone"
    assert _selected(task, "steps.3.priority") == "normal"
    # New destination steps go to the first destination by name.
    assert _selected(_card(page, "webhook-1"), "steps.4.destination_id") == ads
    assert '<option value="' + crm + '">CRM</option>' in _card(page, "webhook-1")
    audience = _card(page, "audience-1")
    assert _selected(audience, "steps.5.destination_id") == ads
    assert _selected(audience, "steps.5.action") == "add"
    assert 'placeholder="Win-back"' in audience  # named after the journey unless named
    assert "People leave the journey here." not in page

    form = {
        **_form(page),
        "steps.3.subject": "Call {{ person.first_name }} about their offer",
        "steps.3.text": "They did not buy after two emails.",
        "steps.3.via": "sms",
        "steps.3.priority": "urgent",
        "steps.4.destination_id": crm,
        "steps.5.action": "remove",
        "steps.5.audience": "Lapsed buyers",
        "op": "publish",
    }
    r = client.post(f"/outreach/journeys/{journey_id}", data=form, follow_redirects=True)
    assert "Published as version 1" in r.text
    stored = {s["id"]: s for s in _stored(session, workspace, journey_id)["steps"]}
    assert {k: stored["task-1"].get(k) for k in ("kind", "subject", "text", "via", "priority")} == {
        "kind": "task",
        "subject": "Call {{ person.first_name }} about their offer",
        "text": "They did not buy after two emails.",
        "via": "sms",
        "priority": "urgent",
    }
    assert stored["webhook-1"]["kind"] == "webhook"
    assert stored["webhook-1"]["destination_id"] == crm
    assert (stored["audience-1"]["destination_id"], stored["audience-1"]["action"]) == (
        ads,
        "remove",
    )
    assert stored["audience-1"]["audience"] == "Lapsed buyers"
    page = r.text
    assert _selected(_card(page, "task-1"), "steps.3.via") == "sms"
    assert _selected(_card(page, "task-1"), "steps.3.priority") == "urgent"
    assert "They did not buy after two emails.</textarea>" in _card(page, "task-1")
    assert _selected(_card(page, "webhook-1"), "steps.4.destination_id") == crm
    assert _selected(_card(page, "audience-1"), "steps.5.action") == "remove"
    assert 'value="Lapsed buyers"' in _card(page, "audience-1")

    # A task without a subject, an audience without a destination: each beside its step.
    bad = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**_form(page), "steps.3.subject": " "},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert "A task needs a subject" in _card(bad.text, "task-1")
    assert "Not saved. Step 4 (task-1): A task needs a subject" in bad.text
    bad = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**_form(page), "steps.5.destination_id": ""},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert "An audience step names its destination" in _card(bad.text, "audience-1")
    assert "jy-error" not in _card(bad.text, "webhook-1")


def test_the_funnel_names_the_new_kinds() -> None:
    report = JourneyReport(
        journey_id=uuid.uuid4(),
        people={"waiting": 3},
        funnel=[
            StepCount(step="text", kind="sms", name=None, reached=3),
            StepCount(step="call", kind="task", name=None, reached=2),
            StepCount(step="crm", kind="webhook", name=None, reached=2),
            StepCount(step="ads", kind="audience", name=None, reached=1),
        ],
        messages={},
        goal=None,
        entered=3,
        reached_goal=0,
        holdout=0,
        holdout_reached_goal=0,
        conversion=None,
    )
    chart = funnel_chart(report, {"call": "Call them"})
    assert chart.labels == [
        "text · Text message",
        "Call them · Task for an agent",
        "crm · Webhook",
        "ads · Audience",
    ]
