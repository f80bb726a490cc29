"""The customer's consent pages without a browser, on both databases: the preference
center records what changed with its evidence, a grant of email marketing waits for a
confirmation where the workspace asks for one, RFC 8058 one-click unsubscribes answer
200 with no cookie and no CSRF token, a confirmation link confirms only on its button,
and a link that was altered (or names another workspace's person) changes nothing."""

from __future__ import annotations

import base64
import re
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.customers.preferences import confirm_url, preference_url, unsubscribe_url
from accord.govern.consent import links
from accord.govern.consent import service as consent
from accord.govern.consent.models import ConsentRecord
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.resolve.test_identity import Api

HTML = {"accept": "text/html", "user-agent": "Mozilla/5.0 (ConsentTest)"}


def _person(client: TestClient, ws: ProvisionedWorkspace, email: str, **traits: str) -> uuid.UUID:
    api = Api(client, ws)
    api.send("identify", userId=email, traits={"email": email, **traits})
    return uuid.UUID(api.profile(email=email)["id"])


def _records(session: Session, pid: uuid.UUID) -> list[ConsentRecord]:
    session.expire_all()
    return consent.history(session, [pid])


def _checked(html: str) -> set[str]:
    return set(re.findall(r'name="choice" value="([^"]+)"[^>]* checked', html))


def _prefs(settings: Settings, ws: ProvisionedWorkspace, pid: uuid.UUID) -> str:
    return preference_url("", settings.resolved_secret_key, ws.workspace.id, pid)


def _altered(path: str) -> str:
    """The same link with one character of its signature changed."""
    last = path[-1]
    return path[:-1] + ("0" if last != "0" else "1")


def test_the_preference_center_records_changes_with_their_evidence(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, settings: Settings
) -> None:
    pid = _person(client, workspace, "ana@example.com", name="Ana Ruiz", country="US")
    path = _prefs(settings, workspace, pid)
    page = client.get(path, headers=HTML)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "content-security-policy" in page.headers
    assert "Hello Ana Ruiz" in page.text
    assert "<script" not in page.text
    assert page.text.count("<h1") == 1
    # US is opt-out by default: everything offered is on until she says no.
    assert {"email.marketing", "sms.marketing", "all.personalization"} <= _checked(page.text)
    assert "always sent" in page.text

    chosen = sorted(_checked(page.text) - {"email.marketing"})
    saved = client.post(path, data={"choice": chosen}, headers=HTML, follow_redirects=False)
    assert saved.status_code == 303
    assert saved.headers["location"].startswith(path + "?saved=1")
    again = client.get(saved.headers["location"], headers=HTML)
    assert 'role="status"' in again.text
    assert "Saved." in again.text
    assert "email.marketing" not in _checked(again.text)
    [record] = _records(session, pid)
    assert (record.channel, record.purpose, record.status) == ("email", "marketing", "withdrawn")
    assert record.source == "preference_center"
    assert record.ip == "testclient"
    assert record.user_agent == "Mozilla/5.0 (ConsentTest)"
    assert record.notice_version == "1"

    # Saving again without a change records nothing; "stop all" withdraws the rest.
    client.post(path, data={"choice": chosen}, headers=HTML)
    assert len(_records(session, pid)) == 1
    stopped = client.post(path, data={"choice": chosen, "action": "stop_all"}, headers=HTML)
    assert "You will no longer receive any of the messages below" in stopped.text
    assert _checked(stopped.text) == set()
    assert {r.status for r in _records(session, pid)} == {"withdrawn"}


def test_email_marketing_waits_for_a_confirmation_where_the_region_asks(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, settings: Settings
) -> None:
    pid = _person(client, workspace, "jonas@example.de", name="Jonas Weber", country="DE")
    path = _prefs(settings, workspace, pid)
    page = client.get(path, headers=HTML)
    # The EU is opt-in: nothing is on before he says yes.
    assert _checked(page.text) == set()
    shown = client.post(path, data={"choice": ["email.marketing"]}, headers=HTML)
    assert shown.status_code == 200
    assert "email.marketing" in _checked(shown.text)
    # No outbound mail in this workspace: the page says so, the grant stays pending.
    assert "We could not send the email" in shown.text
    assert "Waiting for your confirmation: the email could not be sent" in shown.text
    assert "Waiting for your confirmation — check your inbox" in client.get(path, headers=HTML).text
    [pending] = _records(session, pid)
    assert pending.status == "pending"

    # The link in the email opens a page with one button; only the button confirms.
    link = confirm_url("", settings.resolved_secret_key, pending)
    asked = client.get(link, headers=HTML)
    assert asked.status_code == 200
    assert "Yes, subscribe me" in asked.text
    assert len(_records(session, pid)) == 1
    done = client.post(link, headers=HTML)
    assert "Subscription confirmed" in done.text
    assert [r.status for r in _records(session, pid)] == ["pending", "granted"]
    assert "Already confirmed" in client.post(link, headers=HTML).text
    assert "Already confirmed" in client.get(link, headers=HTML).text

    # Unticking a pending grant withdraws it (its link confirms nothing afterwards).
    pid2 = _person(client, workspace, "mia@example.de", country="DE")
    path2 = _prefs(settings, workspace, pid2)
    client.post(path2, data={"choice": ["email.marketing"]}, headers=HTML)
    [waiting] = _records(session, pid2)
    client.post(path2, data={}, headers=HTML)
    assert [r.status for r in _records(session, pid2)] == ["pending", "withdrawn"]
    late = confirm_url("", settings.resolved_secret_key, waiting)
    assert "no longer waits for a confirmation" in client.post(late, headers=HTML).text


@pytest.mark.parametrize("multipart", [False, True])
def test_one_click_unsubscribe_answers_200_without_cookies_or_csrf(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    settings: Settings,
    multipart: bool,
) -> None:
    pid = _person(client, workspace, "kim@example.com", country="US")
    path = unsubscribe_url(
        "", settings.resolved_secret_key, workspace.workspace.id, pid, "email", "marketing"
    )
    client.cookies.clear()
    body = {"List-Unsubscribe": "One-Click"}
    if multipart:
        response = client.post(path, files={"List-Unsubscribe": (None, "One-Click")})
    else:
        response = client.post(path, data=body)
    assert response.status_code == 200, response.text
    assert "set-cookie" not in response.headers
    [record] = _records(session, pid)
    assert (record.channel, record.purpose, record.status) == ("email", "marketing", "withdrawn")
    assert record.source == "unsubscribe_link"
    assert record.evidence == {"one_click": True}
    # A second one is answered the same and records nothing more.
    assert client.post(path, data=body).status_code == 200
    assert len(_records(session, pid)) == 1


def test_the_unsubscribe_page_asks_first_and_links_the_preference_center(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, settings: Settings
) -> None:
    pid = _person(client, workspace, "lou@example.com", country="US")
    path = unsubscribe_url(
        "", settings.resolved_secret_key, workspace.workspace.id, pid, "sms", "marketing"
    )
    page = client.get(path, headers=HTML)
    assert "Unsubscribe from news and offers by text message?" in page.text
    assert _prefs(settings, workspace, pid) in page.text
    assert _records(session, pid) == []  # a GET (a mail scanner) changes nothing
    done = client.post(path, headers=HTML)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.text
    [record] = _records(session, pid)
    assert record.evidence == {"one_click": False}
    assert "already unsubscribed" in client.get(path, headers=HTML).text


def test_an_altered_or_foreign_link_gets_a_403_page_and_changes_nothing(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    settings: Settings,
) -> None:
    secret = settings.resolved_secret_key
    pid = _person(client, workspace, "max@example.com", country="US")
    prefs = _prefs(settings, workspace, pid)
    unsub = unsubscribe_url("", secret, workspace.workspace.id, pid, "email", "marketing")
    for path in (prefs, unsub):
        for method in ("GET", "POST"):
            r = client.request(method, _altered(path), headers=HTML, data={"choice": []})
            assert r.status_code == 403, (method, path)
            assert "This link does not work" in r.text
            assert 'data-code="bad_link"' in r.text
    # A one-click POST from a mailbox provider (no Accept header) is refused the same way.
    assert client.post(_altered(unsub), data={"List-Unsubscribe": "One-Click"}).status_code == 403
    # A link of another kind, or pointed at another workspace, is no link at all.
    assert client.get(
        prefs.replace("/preferences/", "/unsubscribe/"), headers=HTML
    ).status_code == (403)
    token = prefs.rsplit("/", 1)[1]
    body, mac = token.split(".")
    payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    moved = payload.replace(str(workspace.workspace.id), str(other_workspace.workspace.id))
    forged = base64.urlsafe_b64encode(moved.encode()).decode().rstrip("=") + "." + mac
    assert client.post(f"/preferences/{forged}", headers=HTML, data={}).status_code == 403
    # Even a well-signed link naming the other workspace does not reach this person.
    foreign = links.url(
        "", secret, links.Link(links.PREFERENCES, other_workspace.workspace.id, str(pid))
    )
    r = client.post(foreign, headers=HTML, data={})
    assert r.status_code == 404
    assert "We could not find your details" in r.text
    assert _records(session, pid) == []


def test_a_pending_grant_asks_for_its_confirmation_by_email(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[tuple[str, str, str]] = []

    def send(*args: object, to: str, secret_key: str, base_url: str) -> None:
        row = args[3]
        assert isinstance(row, ConsentRecord)
        sent.append((row.status, to, base_url))

    monkeypatch.setattr("accord.web.consent_pages.send_confirmation", send)
    pid = _person(client, workspace, "eva@example.at", country="AT")
    path = _prefs(settings, workspace, pid)
    shown = client.post(path, data={"choice": ["email.marketing"]}, headers=HTML)
    assert sent == [("pending", "eva@example.at", settings.base_url)]
    assert "We sent an email to eva@example.at" in shown.text
    assert "Waiting for your confirmation — check your inbox" in shown.text

    # Somebody known by a phone number alone: nowhere to send it, and the page says so.
    api = Api(client, workspace)
    api.send("identify", userId="u-phone", traits={"phone": "+4366412345678", "country": "AT"})
    by_phone = uuid.UUID(api.profile(phone="+4366412345678")["id"])
    shown = client.post(
        _prefs(settings, workspace, by_phone), data={"choice": ["email.marketing"]}, headers=HTML
    )
    assert "We have no email address to send the confirmation" in shown.text
    assert len(sent) == 1
