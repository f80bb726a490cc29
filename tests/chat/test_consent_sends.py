"""The chat's send paths ask the consent policy, on both databases: a proactive
invitation is not shown to a visitor who refused marketing by chat (and is shown to one
who did not), an agent cannot open a chat with a visitor who refused every contact by
chat, and a transcript is not mailed to a suppressed address."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accord.chat import identity
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.chat.test_chat import socket_url, start, until
from tests.chat.test_chat_console import admin_console
from tests.chat.test_identity import KIM, kims_open_email
from tests.chat.test_transcript import _ask, _transcripts
from tests.chat.test_triggers import add_trigger, visit
from tests.helpers import Committed, bearer


def _identified(client: TestClient, site: ProvisionedWorkspace, anon: str, email: str) -> str:
    r = client.post(
        "/v1/identify",
        json={"writeKey": site.write_key, "anonymousId": anon, "traits": {"email": email}},
    )
    assert r.status_code == 200, r.text
    r = client.get(
        "/api/v1/profiles/lookup", params={"email": email}, headers=bearer(site.api_token)
    )
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def _refuse(client: TestClient, site: ProvisionedWorkspace, pid: str, **body: str) -> None:
    r = client.post(
        f"/api/v1/profiles/{pid}/consent",
        headers=bearer(site.api_token),
        json={"status": "denied", "source": "agent", **body},
    )
    assert r.status_code == 201, r.text


def test_a_proactive_invitation_is_not_shown_to_a_visitor_who_refused_it(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    add_trigger(chat_client, site)
    refusing = start(chat_client, site, "anon-refuses")
    pid = _identified(chat_client, site, "anon-refuses", "no.offers@example.com")
    _refuse(chat_client, site, pid, channel="chat", purpose="marketing")
    assert visit(chat_client, site, refusing, "https://shop.example/checkout") == []
    # Another visitor, who refused nothing, is invited.
    willing = start(chat_client, site, "anon-willing")
    _identified(chat_client, site, "anon-willing", "yes.please@example.com")
    pushed = visit(chat_client, site, willing, "https://shop.example/checkout")
    assert [p["type"] for p in pushed] == ["proactive"]


def test_an_agent_cannot_open_a_chat_with_a_visitor_who_refused_chat(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    hello = start(chat_client, site, "anon-quiet")
    pid = _identified(chat_client, site, "anon-quiet", "quiet@example.com")
    _refuse(chat_client, site, pid, channel="chat", purpose="all")
    csrf = admin_console(chat_client, chat_db, site)
    r = chat_client.post(
        f"/inbox/visitors/{hello['visitor_id']}/chat",
        data={"csrf_token": csrf, "body": "Hi! Can I help?"},
        follow_redirects=False,
    )
    assert r.status_code == 409
    assert "denied consent to everything by chat" in r.text


def test_a_transcript_is_not_mailed_to_a_suppressed_address(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    kims_open_email(chat_client, site)
    auth = bearer(site.api_token)
    secret = chat_client.post("/api/v1/chat/identity/secret", headers=auth).json()["secret"]
    hello = start(chat_client, site, "anon-kim-sup")
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json(
            {
                "type": "identify",
                "userId": "u-kim",
                "traits": {"email": KIM},
                "userHash": identity.user_hash(secret, "u-kim"),
                "emailHash": identity.user_hash(secret, KIM),
            }
        )
        assert until(sock, "identified")["verified"] is True
        sock.send_json({"type": "message", "body": "Any news on 1042?", "client_id": "k1"})
        until(sock, "ack")
        r = chat_client.post(
            "/api/v1/consent/suppressions",
            headers=auth,
            json={"identifiers": [{"type": "email", "value": KIM}]},
        )
        assert r.status_code == 201, r.text
        got = _ask(sock, KIM)
        assert got["type"] == "error"
        assert got["code"] == "suppressed"
    assert _transcripts(chat_db, site) == []
