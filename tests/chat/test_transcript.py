"""The chat transcript by email, on both databases. It leaves through the business's relay
from its support address, so it goes only to an address the visitor is known by (the
email the site vouched for, or one the conversation holds an email from), never to an
address an unverified visitor typed, and at most once every few minutes per
conversation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.chat import identity
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Message
from tests.chat.test_chat import socket_url, start, until
from tests.chat.test_identity import KIM, kims_open_email
from tests.helpers import Committed, bearer

VICTIM = "victim@example.org"


def _transcripts(chat_db: Committed, site: ProvisionedWorkspace) -> list[Message]:
    with chat_db.factory() as session:
        rows = session.scalars(
            select(Message).where(
                Message.workspace_id == site.workspace.id, Message.channel == "email"
            )
        ).all()
        return [m for m in rows if (m.meta or {}).get("kind") == "chat_transcript"]


def _ask(sock: Any, email: str | None) -> dict[str, Any]:
    """One transcript request; the answer (sent or refused)."""
    frame: dict[str, Any] = {"type": "transcript"}
    if email is not None:
        frame["email"] = email
    sock.send_json(frame)
    for _ in range(20):
        got = dict(sock.receive_json())
        if got["type"] == "transcript_sent" or (
            got["type"] == "error" and got.get("ref") == "transcript"
        ):
            return got
    raise AssertionError("no answer to the transcript request")


def test_an_anonymous_visitor_cannot_mail_the_transcript_anywhere(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    hello = start(chat_client, site, "anon-phisher")
    assert hello["verified"] is False  # the widget offers no transcript
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json(
            {"type": "message", "body": "Your account is locked, log in at evil.example"}
        )
        until(sock, "ack")
        for _ in range(30):
            got = _ask(sock, VICTIM)
            assert got["type"] == "error"
            assert got["code"] == "transcript_unverified"
        # Typing an address first (the pre-chat form) makes it no more theirs.
        sock.send_json({"type": "identify", "traits": {"name": "Vic", "email": VICTIM}})
        assert until(sock, "identified")["verified"] is False
        assert _ask(sock, VICTIM)["code"] == "transcript_unverified"
        assert _ask(sock, None)["code"] == "transcript_unverified"
    assert _transcripts(chat_db, site) == []


def test_a_verified_visitor_gets_one_transcript_at_their_own_address(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    kims = kims_open_email(chat_client, site)
    auth = bearer(site.api_token)
    secret = chat_client.post("/api/v1/chat/identity/secret", headers=auth).json()["secret"]
    hello = start(chat_client, site, "anon-kim-tx")
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
        assert until(sock, "ack")["conversation_id"] == kims["id"]
        # Not to someone else's address, even for a verified visitor.
        got = _ask(sock, VICTIM)
        assert (got["code"], got["field"]) == ("transcript_address_unknown", "email")
        # To hers (as typed in any case), once.
        assert _ask(sock, KIM.upper())["type"] == "transcript_sent"
        for _ in range(5):
            assert _ask(sock, KIM)["code"] == "transcript_too_soon"
    [sent] = _transcripts(chat_db, site)
    assert sent.address == KIM
    assert str(sent.conversation_id) == kims["id"]
    assert "Any news on 1042?" in sent.body


def test_a_link_anyone_can_make_does_not_make_an_address_known(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    """Mallory links Kim's address to her own account through the public tracking API
    and is vouched for as herself: the transcript still goes nowhere but to addresses
    Mallory is known by (she has none here)."""
    auth = bearer(site.api_token)
    secret = chat_client.post("/api/v1/chat/identity/secret", headers=auth).json()["secret"]
    r = chat_client.post(
        "/v1/identify",
        json={
            "writeKey": site.write_key,
            "anonymousId": "anon-mallory-tx",
            "userId": "u-mallory",
            "traits": {"email": VICTIM},
        },
    )
    assert r.status_code == 200, r.text
    hello = start(chat_client, site, "anon-mallory-tx")
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json(
            {
                "type": "identify",
                "userId": "u-mallory",
                "userHash": identity.user_hash(secret, "u-mallory"),
            }
        )
        assert until(sock, "identified")["verified"] is True
        sock.send_json({"type": "message", "body": "Hello", "client_id": "m1"})
        until(sock, "ack")
        assert _ask(sock, VICTIM)["code"] == "transcript_address_unknown"
        assert _ask(sock, None)["code"] == "transcript_no_address"
    assert _transcripts(chat_db, site) == []
