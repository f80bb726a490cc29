"""The agent's side of live chat on both databases: the live visitors list (API and
console, per workspace), starting a chat with a visitor, typing and read receipts reaching
the socket, resolving and the visitor's rating, leave-a-message when nobody is available,
the transcript by email, and visits (new vs returning)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update

from accord.chat.models import ChatVisitor
from accord.govern.access.models import User
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Conversation, Message
from accord.kit.db import transaction
from accord.kit.time import utcnow
from tests.chat.test_chat import socket_url, start, until
from tests.helpers import Committed, add_user, bearer, console_login


def agent_console(
    client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> tuple[str, str]:
    email = f"agent-{uuid.uuid4().hex[:6]}@shop.example.com"
    with chat_db.factory() as session:
        add_user(session, site, email, role="agent")
        user_id = str(session.scalars(select(User.id).where(User.email == email)).one())
        session.commit()
    return console_login(client, email), user_id


def admin_console(client: TestClient, chat_db: Committed, site: ProvisionedWorkspace) -> str:
    """Signs a new admin of the site into the console; returns the CSRF token."""
    email = f"admin-{uuid.uuid4().hex[:6]}@shop.example.com"
    with chat_db.factory() as session:
        add_user(session, site, email, role="admin")
        session.commit()
    return console_login(client, email)


def test_live_visitors_per_workspace(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    other = chat_db.workspace(f"Other {uuid.uuid4().hex[:6]}")
    hello = start(chat_client, site, "anon-live")
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json(
            {
                "type": "page",
                "url": "https://shop.example/tents?utm_source=ads&utm_campaign=spring",
                "title": "Tents",
                "referrer": "https://www.google.com/",
                "cart": 99,
                "currency": "EUR",
            }
        )
        until(sock, "page_ack")
    r = chat_client.get("/api/v1/chat/visitors", headers=bearer(site.api_token))
    assert r.status_code == 200, r.text
    [v] = r.json()["data"]
    assert v["id"] == hello["visitor_id"]
    assert v["current_title"] == "Tents"
    assert v["utm"] == {"utm_source": "ads", "utm_campaign": "spring"}
    assert v["referrer"] == "https://www.google.com/"
    assert v["cart_value"] == "99.00"
    assert v["cart_currency"] == "EUR"
    assert v["returning"] is False
    assert v["pages_this_visit"] == 1
    assert chat_client.get("/api/v1/chat/visitors", headers=bearer(other.api_token)).json() == {
        "data": []
    }
    # A visitor whose widget went quiet is no longer on the site.
    with transaction(chat_db.factory) as session:
        session.execute(
            update(ChatVisitor)
            .where(ChatVisitor.id == uuid.UUID(hello["visitor_id"]))
            .values(last_seen_at=utcnow() - timedelta(minutes=45))
        )
    assert chat_client.get("/api/v1/chat/visitors", headers=bearer(site.api_token)).json() == {
        "data": []
    }
    # Back after 45 minutes: a returning visitor on their second visit.
    again = start(
        chat_client, site, "anon-live", visitorId=hello["visitor_id"], token=hello["token"]
    )
    assert again["visitor_id"] == hello["visitor_id"]
    [v] = chat_client.get("/api/v1/chat/visitors", headers=bearer(site.api_token)).json()["data"]
    assert v["visits"] == 2
    assert v["returning"] is True
    assert v["pages_this_visit"] == 0


def test_agent_starts_a_chat_types_reads_resolves_and_the_visitor_rates(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    hello = start(chat_client, site, "anon-started")
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json({"type": "page", "url": "https://shop.example/boots", "title": "Boots"})
        until(sock, "page_ack")
        csrf, _ = agent_console(chat_client, chat_db, site)
        page = chat_client.get("/inbox/visitors")
        assert page.status_code == 200
        assert "Boots" in page.text
        r = chat_client.post(
            f"/inbox/visitors/{hello['visitor_id']}/chat",
            data={"csrf_token": csrf, "body": "Hi! Looking for a size?"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        number = int(r.headers["location"].rsplit("/", 1)[1])
        first = until(sock, "message")["message"]
        assert first["direction"] == "out"
        assert first["body"] == "Hi! Looking for a size?"

        headers = {"X-CSRF-Token": csrf}
        r = chat_client.post(f"/inbox/{number}/typing", data={"on": "1"}, headers=headers)
        assert r.status_code == 204
        typing = until(sock, "typing")
        assert typing["on"] is True
        assert typing["by"] == "agent"
        sock.send_json({"type": "message", "body": "Yes, 43 please", "client_id": "s1"})
        until(sock, "ack")
        assert chat_client.post(f"/inbox/{number}/read", headers=headers).status_code == 204
        assert until(sock, "read")["by"] == "agent"
        panel = chat_client.get(f"/inbox/{number}/chat")
        assert "Boots" in panel.text
        assert "online now" in panel.text
        # The agent answers in the composer and resolves: the widget asks for a rating.
        r = chat_client.post(
            f"/inbox/{number}/reply",
            data={"csrf_token": csrf, "body": "Size 43 is in stock.", "then": "resolved"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        got: dict[str, dict[str, Any]] = {}
        while len(got) < 2:  # the answer and the status change, in either order
            item = sock.receive_json()
            if item["type"] == "status" or (
                item["type"] == "message" and item["message"]["direction"] == "out"
            ):
                got[item["type"]] = item
        assert got["message"]["message"]["body"] == "Size 43 is in stock."
        assert got["status"]["status"] == "resolved"
        sock.send_json({"type": "csat", "score": 5, "comment": "Quick and kind"})
        until(sock, "rated")
        sock.send_json({"type": "csat", "score": 9})
        assert until(sock, "error")["field"] == "score"
    with transaction(chat_db.factory) as session:
        conversation = session.scalars(
            select(Conversation).where(
                Conversation.workspace_id == site.workspace.id, Conversation.number == number
            )
        ).one()
        assert conversation.channel == "chat"
        assert conversation.status == "resolved"
        assert conversation.csat_score == 5
        assert conversation.csat_comment == "Quick and kind"


def test_leave_a_message_and_transcript(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    _, agent_id = agent_console(chat_client, chat_db, site)
    auth = bearer(site.api_token)
    # Every agent and admin of the workspace steps away.
    members = chat_client.get("/api/v1/users", headers=auth).json()["data"]
    for m in members:
        r = chat_client.put(
            f"/api/v1/agents/{m['user_id']}", headers=auth, json={"available": False}
        )
        assert r.status_code == 200, r.text
    hello = start(chat_client, site, "anon-offline")
    assert hello["agents_available"] is False
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json({"type": "offline", "name": "Robin", "email": "nope", "message": "Hi"})
        assert until(sock, "error")["field"] == "email"
        sock.send_json(
            {
                "type": "offline",
                "name": "Robin",
                "email": "robin@example.com",
                "message": "Can I return boots after 60 days?",
            }
        )
        until(sock, "offline_received")
        # The address was typed by a visitor nobody vouched for: no transcript goes to it
        # (tests/chat/test_transcript.py).
        sock.send_json({"type": "transcript", "email": "robin@example.com"})
        assert until(sock, "error")["code"] == "transcript_unverified"
    with transaction(chat_db.factory) as session:
        conversation = session.scalars(
            select(Conversation).where(Conversation.workspace_id == site.workspace.id)
        ).one()
        assert "offline" in conversation.tags
        thread = session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at)
        ).all()
        assert [m for m in thread if m.meta.get("kind") == "chat_transcript"] == []
        conversation_id = conversation.id
    # The answer to a message left offline goes by email, not to the chat.
    r = chat_client.post(
        f"/api/v1/conversations/{conversation_id}/replies",
        headers=auth,
        json={"body": "Yes, within 90 days.", "agent_id": agent_id},
    )
    assert r.status_code == 201, r.text
    assert r.json()["channel"] == "email"
    assert r.json()["address"] == "robin@example.com"


def test_prechat_form_and_settings(chat_client: TestClient, site: ProvisionedWorkspace) -> None:
    auth = bearer(site.api_token)
    r = chat_client.put(
        "/api/v1/chat/settings",
        headers=auth,
        json={"title": "Talk to us", "greeting": "Hello!", "prechat": True, "color": "#0f766e"},
    )
    assert r.status_code == 200, r.text
    r = chat_client.put("/api/v1/chat/settings", headers=auth, json={"color": "red"})
    assert r.status_code == 422
    hello = start(chat_client, site, "anon-prechat")
    assert hello["settings"] == {
        "title": "Talk to us",
        "greeting": "Hello!",
        "prechat": True,
        "color": "#0f766e",
    }
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json(
            {"type": "identify", "traits": {"name": "Kim Lee", "email": "kim@example.com"}}
        )
        sock.send_json({"type": "message", "body": "Hello there", "client_id": "p1"})
        until(sock, "ack")
    conversations = chat_client.get(
        "/api/v1/conversations", headers=auth, params={"view": "all", "channel": "chat"}
    ).json()["data"]
    assert [c["contact_name"] for c in conversations] == ["Kim Lee"]
