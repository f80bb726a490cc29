"""Live chat over the WebSocket on both databases: a visitor's session and token, page
views, chatting into the inbox, an agent's reply delivered to the socket, notes never
leaking, files only for the right visitor, the history on the next visit, leave-a-message,
transcript, rating and workspace isolation."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.websockets import WebSocketDisconnect

from accord.chat.models import ChatVisitor
from accord.govern.access.models import User
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Conversation, Message
from tests.helpers import Committed, add_user, bearer


def start(client: TestClient, ws: ProvisionedWorkspace, anon: str, **extra: Any) -> dict[str, Any]:
    r = client.post(
        "/v1/chat/session", json={"writeKey": ws.write_key, "anonymousId": anon, **extra}
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    return dict(r.json())


def socket_url(ws: ProvisionedWorkspace, hello: dict[str, Any]) -> str:
    return f"/v1/chat/ws?key={ws.write_key}&visitor={hello['visitor_id']}&token={hello['token']}"


def until(sock: Any, kind: str, limit: int = 20) -> dict[str, Any]:
    for _ in range(limit):
        got = sock.receive_json()
        if got["type"] == kind:
            return dict(got)
    raise AssertionError(f"no {kind} message")


def agent(session: Session, ws: ProvisionedWorkspace, email: str = "maya@acme.test") -> str:
    add_user(session, ws, email, role="agent")
    user_id = str(session.scalars(select(User.id).where(User.email == email)).one())
    session.commit()  # SQLite: a test never holds the write lock the server needs
    return user_id


def fresh(session: Session, model: Any, row_id: Any) -> Any:
    """A row as committed now (and no transaction left open)."""
    row = session.get(model, uuid.UUID(str(row_id)), populate_existing=True)
    session.commit()
    return row


def test_visitor_chats_and_the_agents_reply_reaches_the_socket(
    chat_client: TestClient, db: Session, site: ProvisionedWorkspace
) -> None:
    maya = agent(db, site)
    hello = start(chat_client, site, "anon-1")
    assert hello["history"] == []
    assert hello["agents_available"] is True
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        assert sock.receive_json()["type"] == "hello"
        sock.send_json(
            {
                "type": "page",
                "url": "https://shop.example/checkout?utm_source=newsletter",
                "title": "Checkout",
                "referrer": "https://search.example/?q=tents",
                "cart": 129.5,
            }
        )
        sock.send_json({"type": "message", "body": "Is shipping free?", "client_id": "c1"})
        ack = until(sock, "ack")
        mine = until(sock, "message")["message"]
        assert mine["direction"] == "in"
        assert mine["body"] == "Is shipping free?"
        visitor = fresh(db, ChatVisitor, hello["visitor_id"])
        assert visitor.current_url.endswith("/checkout?utm_source=newsletter")
        assert visitor.utm == {"utm_source": "newsletter"}
        assert visitor.referrer == "https://search.example/?q=tents"
        assert float(visitor.cart_value) == 129.5
        conversation = fresh(db, Conversation, visitor.conversation_id)
        assert conversation is not None
        assert conversation.channel == "chat"
        assert conversation.profile_id is not None  # the visitor is a profile
        message = fresh(db, Message, ack["id"])
        assert message is not None
        assert message.meta["visitor"] == hello["visitor_id"]

        auth = bearer(site.api_token)
        r = chat_client.post(
            f"/api/v1/conversations/{conversation.id}/notes",
            headers=auth,
            json={"body": "Internal: VIP, offer free shipping", "agent_id": maya},
        )
        assert r.status_code == 201, r.text
        r = chat_client.post(
            f"/api/v1/conversations/{conversation.id}/replies",
            headers=auth,
            json={"body": "Yes, over $50 it is free.", "agent_id": maya},
        )
        assert r.status_code == 201, r.text
        reply = until(sock, "message")["message"]
        assert reply["direction"] == "out"
        assert reply["body"] == "Yes, over $50 it is free."
        assert reply["author"] == "maya@acme.test"
        assert "Internal" not in str(reply)

    # The next visit: the same token brings the history back, without the note.
    again = start(chat_client, site, "anon-1", visitorId=hello["visitor_id"], token=hello["token"])
    assert again["visitor_id"] == hello["visitor_id"]
    bodies = [m["body"] for m in again["history"]]
    assert bodies == ["Is shipping free?", "Yes, over $50 it is free."]


def test_tokens_are_per_visitor_and_per_workspace(
    chat_client: TestClient,
    chat_db: Committed,
    site: ProvisionedWorkspace,
) -> None:
    other = chat_db.workspace("Other shop " + site.workspace.slug)
    alice = start(chat_client, site, "anon-alice")
    with chat_client.websocket_connect(socket_url(site, alice)) as sock:
        sock.receive_json()
        sock.send_json({"type": "message", "body": "My address is 1 Elm St", "client_id": "a"})
        until(sock, "ack")
    # Another browser with Alice's anonymous id but no token gets a visitor of its own.
    mallory = start(chat_client, site, "anon-alice", visitorId=alice["visitor_id"], token="vt_x")
    assert mallory["visitor_id"] != alice["visitor_id"]
    assert mallory["history"] == []
    bad = [
        f"/v1/chat/ws?key={site.write_key}&visitor={alice['visitor_id']}&token=vt_wrong",
        f"/v1/chat/ws?key={other.write_key}&visitor={alice['visitor_id']}&token={alice['token']}",
        f"/v1/chat/ws?key=wk_nope&visitor={alice['visitor_id']}&token={alice['token']}",
        f"/v1/chat/ws?visitor={alice['visitor_id']}&token={alice['token']}",
    ]
    for url in bad:
        with pytest.raises(WebSocketDisconnect) as refused, chat_client.websocket_connect(url):
            pass
        assert refused.value.code in (4401, 1008), url
    r = chat_client.post("/v1/chat/session", json={"anonymousId": "x"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")


def test_files_are_checked_stored_and_served_only_to_their_visitor(
    chat_client: TestClient, db: Session, site: ProvisionedWorkspace
) -> None:
    hello = start(chat_client, site, "anon-files")
    form = {"writeKey": site.write_key, "visitor": hello["visitor_id"], "token": hello["token"]}
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 100
    r = chat_client.post(
        "/v1/chat/files", data=form, files={"file": ("receipt.png", png, "image/png")}
    )
    assert r.status_code == 201, r.text
    r = chat_client.post(
        "/v1/chat/files", data=form, files={"file": ("run.exe", b"MZ...", "application/x-msdos")}
    )
    assert r.status_code == 415
    assert r.json()["code"] == "file_type_not_allowed"
    big = b"0" * (10 * 1024 * 1024 + 10)
    r = chat_client.post("/v1/chat/files", data=form, files={"file": ("big.png", big, "image/png")})
    assert r.status_code == 413
    assert r.json()["field"] == "file"
    r = chat_client.post(
        "/v1/chat/files",
        data={**form, "token": "vt_wrong"},
        files={"file": ("a.png", png, "image/png")},
    )
    assert r.status_code == 401

    again = start(
        chat_client, site, "anon-files", visitorId=hello["visitor_id"], token=hello["token"]
    )
    [message] = again["history"]
    [f] = message["files"]
    assert f["name"] == "receipt.png"
    assert f["size"] == len(png)
    got = chat_client.get(f["url"] + f"&key={site.write_key}")
    assert got.status_code == 200
    assert got.content == png
    assert got.headers["content-security-policy"] == "sandbox"
    # Another visitor of the same workspace, with a valid token of their own: not found.
    other = start(chat_client, site, "anon-other")
    url = (
        f"/v1/chat/files/{f['id']}?key={site.write_key}"
        f"&visitor={other['visitor_id']}&token={other['token']}"
    )
    assert chat_client.get(url).status_code == 404
    # The agent sees it in the console's conversation (attachments by hash).
    conversation = db.scalars(
        select(Conversation).where(Conversation.workspace_id == site.workspace.id)
    ).one()
    db.commit()
    assert conversation.preview == "receipt.png"


def test_a_page_left_before_the_widget_heard_back_leaves_no_second_visitor(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    # The first page's session call made a visitor, but the page was gone before the
    # answer: the next page starts without a token and takes that visitor up again.
    lost = start(chat_client, site, "anon-hurry")
    again = start(chat_client, site, "anon-hurry")
    assert again["visitor_id"] == lost["visitor_id"]
    with chat_client.websocket_connect(socket_url(site, again)) as sock:
        sock.receive_json()
        sock.send_json({"type": "page", "url": "https://shop.example/tents", "title": "Tents"})
        for _ in range(200):
            with chat_db.factory() as s:
                told = s.get(ChatVisitor, uuid.UUID(again["visitor_id"]))
                if told is not None and told.page_views:
                    break
            time.sleep(0.02)
        else:
            raise AssertionError("the page was never told")
    # Once it has told a page it is no longer free: another browser sharing the
    # anonymous id but not the token gets a visitor of its own.
    other = start(chat_client, site, "anon-hurry")
    assert other["visitor_id"] != again["visitor_id"]
    with chat_db.factory() as s:
        rows = s.scalars(
            select(ChatVisitor.id).where(
                ChatVisitor.workspace_id == site.workspace.id,
                ChatVisitor.anonymous_id == "anon-hurry",
            )
        ).all()
    assert len(rows) == 2
