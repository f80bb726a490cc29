"""Settings > SMS without a browser, on both databases: an admin saves the provider with
the version read (the auth token encrypted, never shown again, kept when the field is
left empty and removed only when asked), a refused value is shown beside its field with
what was typed, a change made since the page was read is refused with 409 and nothing
overwritten, the inbound webhook to paste into the provider is on the page, and only
admins open it. A text campaign made in the composer keeps only its text, its test is
refused under the number's field, and its preview is the text as sent."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.channels import sms
from accord.govern.audit import service as audit
from accord.govern.workspaces.service import ProvisionedWorkspace, get_workspace
from tests.helpers import add_user, console_login, csrf_from

HTML = {"accept": "text/html"}
TOKEN = "sk-test-token-5f1e9a0c2b7d4e8f"
SECRET = "test-secret-key-" + "x" * 32  # tests/conftest.py's settings


def _form(csrf: str, **fields: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf,
        "version": "0",
        "api_url": "https://api.twilio.com",
        "account_sid": "AC" + "1" * 32,
        "auth_token": TOKEN,
        "from_number": "+1 (415) 555-0100",
        "messaging_service_sid": "",
        "help_text": "Northwind: reply to reach us.",
        "keyword_replies": "1",
        **fields,
    }


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="{name}-error">(.*?)</p>', html, re.S)
    assert found, f"no error beside {name}"
    return found.group(1)


def test_an_admin_saves_the_provider_and_the_token_never_comes_back(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@acme.test", "admin")
    console_login(client, "ada@acme.test")
    wid = workspace.workspace.id
    page = client.get("/settings/sms")
    assert page.status_code == 200
    assert 'href="/settings/sms"' in page.text  # the settings tab
    assert f"/v1/sms/{wid}/inbound" in page.text  # the webhook to paste
    assert "No token is stored yet" in page.text
    csrf = csrf_from(page.text)

    saved = client.post("/settings/sms", data=_form(csrf), follow_redirects=False)
    assert saved.status_code == 303, saved.text
    session.expire_all()
    value, version = sms.settings(session, wid)
    assert version == 1
    assert value["from_number"] == "+14155550100"
    assert value["auth_token_set"] is True
    assert value["keyword_replies"] is True
    provider = sms.of(get_workspace(session, wid), SECRET)
    assert provider is not None
    assert provider.auth_token == TOKEN
    shown = client.get(saved.headers["location"]).text
    assert "Saved. The SMS settings are now at version 1." in shown
    assert "A token is stored" in shown
    assert 'id="remove_token"' in shown
    assert TOKEN not in shown
    assert 'value="+14155550100"' in shown
    [entry] = [e for e in audit.recent(session, wid, limit=20) if e.action == "settings.sms.update"]
    assert TOKEN not in str(entry.data)

    # The token field left empty keeps the stored token.
    kept = client.post(
        "/settings/sms",
        data=_form(csrf, version="1", auth_token="", from_number="+14155550111"),
        follow_redirects=False,
    )
    assert kept.status_code == 303, kept.text
    session.expire_all()
    provider = sms.of(get_workspace(session, wid), SECRET)
    assert provider is not None
    assert (provider.auth_token, provider.from_number) == (TOKEN, "+14155550111")

    # The box removes it: nothing can be texted until a new one is set.
    removed = client.post(
        "/settings/sms",
        data=_form(csrf, version="2", auth_token="ignored", remove_token="1"),
        follow_redirects=False,
    )
    assert removed.status_code == 303, removed.text
    session.expire_all()
    assert sms.settings(session, wid)[0]["auth_token_set"] is False
    assert sms.of(get_workspace(session, wid), SECRET) is None
    assert "No token is stored yet" in client.get("/settings/sms").text


def test_a_refused_value_is_shown_beside_its_field_and_a_stale_form_is_refused(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@acme.test", "admin")
    console_login(client, "ada@acme.test")
    wid = workspace.workspace.id
    csrf = csrf_from(client.get("/settings/sms").text)

    bad = client.post("/settings/sms", data=_form(csrf, from_number="555-0100"))
    assert bad.status_code == 422
    assert "E.164" in _field_error(bad.text, "from_number")
    assert 'id="from_number" name="from_number" type="tel" value="555-0100"' in bad.text
    assert TOKEN not in bad.text  # what was typed comes back, never the token
    assert "The token you typed was not saved" in bad.text
    bad = client.post("/settings/sms", data=_form(csrf, api_url="ftp://example.com"))
    assert bad.status_code == 422
    assert "http(s) URL" in _field_error(bad.text, "api_url")
    bad = client.post("/settings/sms", data=_form(csrf, account_sid=""))
    assert bad.status_code == 422
    assert "account SID" in _field_error(bad.text, "account_sid")
    bad = client.post("/settings/sms", data=_form(csrf, help_text="x" * 321))
    assert bad.status_code == 422
    assert "320" in _field_error(bad.text, "help_text")
    session.expire_all()
    assert sms.settings(session, wid)[1] == 0  # nothing was saved

    assert client.post("/settings/sms", data=_form(csrf), follow_redirects=False).status_code == 303
    # Someone else saved since version 0 was read: refused, nothing overwritten.
    stale = client.post("/settings/sms", data=_form(csrf, from_number="+14155550199"))
    assert stale.status_code == 409
    assert 'id="sms-error"' in stale.text
    assert "changed by someone else" in stale.text
    session.expire_all()
    assert sms.settings(session, wid)[0]["from_number"] == "+14155550100"


def test_only_admins_open_settings_sms(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "agent@acme.test", "agent")
    csrf = console_login(client, "agent@acme.test")
    assert client.get("/settings/sms", headers=HTML).status_code == 403
    r = client.post("/settings/sms", data=_form(csrf), headers=HTML)
    assert r.status_code == 403
    session.expire_all()
    assert sms.settings(session, workspace.workspace.id)[1] == 0


def test_a_text_campaign_from_the_composer_keeps_only_its_text(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    from accord.outreach.models import Campaign

    add_user(session, workspace, "ada@acme.test", "admin")
    console_login(client, "ada@acme.test")
    page = client.get("/outreach/campaigns/new?channel=sms")
    assert page.status_code == 200
    assert re.search(r'id="campaign-channel-sms" checked', page.text)
    csrf = csrf_from(page.text)
    form = {
        "csrf_token": csrf,
        "name": "Weekend boots",
        "channel": "sms",
        "purpose": "marketing",
        "from_name": "Northwind",
        "subject": "left over from an email",
        "html": "<p>left over</p>",
        "text": "Hi {{ person.first_name or 'there' }}, boots are 20% off",
        "holdout_percent": "0",
        "goal_event": "Order Completed",
        "goal_days": "7",
        "then": "test",
        "test_address": "ada@acme.test",
        "test_phone": "",
    }
    # Saved, then the test refused under the number's field: no number typed.
    r = client.post("/outreach/campaigns/new", data=form)
    assert r.status_code == 422
    assert "Type the number" in _field_error_live(r.text, "test_phone")
    [campaign] = session.query(Campaign).filter_by(workspace_id=workspace.workspace.id).all()
    assert (campaign.channel, campaign.subject, campaign.html, campaign.from_name) == (
        "sms",
        "",
        "",
        None,
    )
    # A number in another form is refused there too; a workspace without a provider says so.
    edit = f"/outreach/campaigns/{campaign.id}/edit"
    r = client.post(edit, data={**form, "version": str(campaign.version), "test_phone": "555"})
    assert r.status_code == 422
    assert "E.164" in _field_error_live(r.text, "test_phone")
    assert 'id="test-phone" class="oc-sms-only" form="campaign-form" value="555"' in r.text
    session.refresh(campaign)
    r = client.post(
        edit, data={**form, "version": str(campaign.version), "test_phone": "+14155550177"}
    )
    assert r.status_code == 409
    assert "no SMS provider" in r.text
    # The preview of a text: the bubble, with how to opt out and its count.
    r = client.post("/outreach/campaigns/preview", data={**form, "csrf_token": csrf})
    assert r.status_code == 200
    assert 'id="preview-sms"' in r.text
    assert "Hi Alex, boots are 20% off\nReply STOP to opt out" in r.text
    assert "48 characters · 1 SMS" in r.text


def _field_error_live(html: str, name: str) -> str:
    """The composer's error under a field (always on the page, empty when none)."""
    found = re.search(rf'<p class="field-error" id="{name}-error"[^>]*>(.*?)</p>', html, re.S)
    assert found, f"no error place for {name}"
    return found.group(1)
