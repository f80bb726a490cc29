"""How the console names a person, on both databases: one rule on every page (Live
visitors, the inbox, the conversation, Customers and the Customer 360). A person with a
name shows it; one known only by an email or a phone shows that; an anonymous visitor
shows "Anonymous visitor"."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login

AGENT = "agent@acme-support.com"


def _message(client: TestClient, ws: ProvisionedWorkspace, **body: object) -> dict[str, object]:
    r = client.post("/api/v1/messages", headers=bearer(ws.api_token), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json()["conversation"])


def _text(html: str, pattern: str) -> str:
    found = re.search(pattern, html, re.S)
    assert found, pattern
    return re.sub(r"<[^>]+>", "", found.group(1)).strip()


def _inbox_label(client: TestClient, number: object) -> str:
    page = client.get("/inbox?view=all&status=").text
    return _text(page, rf'<a href="/inbox/{number}"><strong>(.*?)</strong>')


def _labels(client: TestClient, conversation: dict[str, object]) -> dict[str, str]:
    """The person's name on each page that shows them."""
    number = conversation["number"]
    page = client.get(f"/inbox/{number}").text
    customer = client.get(f"/customers/{conversation['profile_id']}").text
    return {
        "inbox": _inbox_label(client, number),
        "conversation": _text(
            page, r'id="customer-sidebar".*?<section class="card">\s*<h2[^>]*>(.*?)</h2>'
        ),
        "customer": _text(customer, r'<h1 id="customer-name">(.*?)</h1>'),
    }


def test_one_rule_names_a_person_everywhere(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, AGENT, "agent")
    console_login(client, AGENT)
    # A visitor on the site who never said who they are: a profile by anonymous id only.
    r = client.post(
        "/v1/chat/session", json={"writeKey": workspace.write_key, "anonymousId": "anon-7"}
    )
    assert r.status_code == 200, r.text
    anonymous = _message(
        client, workspace, channel="chat", contact={"anonymous_id": "anon-7"}, body="Hi"
    )
    assert anonymous["profile_id"]
    assert set(_labels(client, anonymous).values()) == {"Anonymous visitor"}
    visitors = client.get("/inbox/visitors").text
    assert _text(visitors, r'class="[^"]*visitor-name[^"]*"[^>]*>(.*?)</') == "Anonymous visitor"
    assert "Known customer" not in visitors
    assert "Unknown" not in client.get("/inbox?view=all&status=").text

    # Known only by an email address: the address.
    emailed = _message(
        client,
        workspace,
        channel="email",
        contact={"email": "ana.silva@example.com"},
        subject="Boots",
        body="Do the boots run small?",
    )
    assert set(_labels(client, emailed).values()) == {"ana.silva@example.com"}

    # Her name is learned later (the shop's CRM): the name everywhere, the inbox too.
    r = client.post(
        "/v1/identify",
        auth=(workspace.write_key, ""),
        json={
            "userId": "crm-88",
            "traits": {"email": "ana.silva@example.com", "name": "Ana Silva"},
        },
    )
    assert r.status_code == 200, r.text
    assert set(_labels(client, emailed).values()) == {"Ana Silva"}
    customers = client.get("/customers?q=ana").text
    assert _text(customers, r'<a href="/customers/[^"]+" class="strong">(.*?)</a>') == "Ana Silva"
