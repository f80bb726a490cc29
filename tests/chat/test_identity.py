"""Who a chat visitor is, on both databases. Anyone can type someone else's email into the
pre-chat or offline form: that is a claim, shown to agents as not verified and answered
to, but it never joins the visitor to that person's conversations nor links the email to
the visitor's profile. An identity the site's server vouches for (an HMAC of the user id or
email under the workspace's identity secret) does join them."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from accord.chat import identity
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Message
from tests.chat.test_chat import socket_url, start, until
from tests.chat.test_chat_console import admin_console, agent_console
from tests.helpers import Committed, bearer

KIM = "kim.tran@example.com"


def kims_open_email(client: TestClient, site: ProvisionedWorkspace) -> dict[str, Any]:
    """Kim wrote by email about her order; the conversation is open."""
    r = client.post(
        "/api/v1/messages",
        headers=bearer(site.api_token),
        json={
            "channel": "email",
            "contact": {"email": KIM, "name": "Kim Tran"},
            "subject": "Order 1042",
            "body": "Where is my order 1042? It ships to 12 Elm St.",
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["conversation"])


def chat_as(
    client: TestClient,
    site: ProvisionedWorkspace,
    anon: str,
    identify: dict[str, Any],
    body: str,
) -> tuple[dict[str, Any], bool, str]:
    """A visitor identifies and writes; returns the session, whether they were verified
    and the conversation their message went to."""
    hello = start(client, site, anon)
    with client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json({"type": "identify", **identify})
        verified = bool(until(sock, "identified")["verified"])
        sock.send_json({"type": "message", "body": body, "client_id": "m1"})
        conversation = str(until(sock, "ack")["conversation_id"])
    return hello, verified, conversation


def profile_of(client: TestClient, site: ProvisionedWorkspace, **query: str) -> dict[str, Any]:
    r = client.get("/api/v1/profiles/lookup", headers=bearer(site.api_token), params=query)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_typed_email_is_a_claim_that_joins_nobody(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    kims = kims_open_email(chat_client, site)
    hello, verified, conversation = chat_as(
        chat_client,
        site,
        "anon-impostor",
        {"traits": {"name": "Kim Tran", "email": KIM}},  # what a pre-chat form sends
        "Please change the address of my order",
    )
    assert verified is False
    assert conversation != kims["id"]  # a chat of its own, not Kim's email conversation
    # The email was not linked: the visitor's profile is not Kim's and holds no email.
    visitor = profile_of(chat_client, site, anonymous_id="anon-impostor")
    kim = profile_of(chat_client, site, email=KIM)
    assert visitor["id"] != kim["id"]
    assert "email" not in {i["type"] for i in visitor["identifiers"]}
    # Agents see who the visitor says they are, marked as not verified.
    with chat_db.factory() as session:
        [said] = session.scalars(
            select(Message).where(Message.conversation_id == uuid.UUID(conversation))
        ).all()
    assert said.meta["unverified"] is True
    assert said.address == KIM
    assert said.author_name == "Kim Tran"
    csrf, _ = agent_console(chat_client, chat_db, site)
    assert csrf
    r = chat_client.get(f"/inbox/by-id/{conversation}", follow_redirects=True)
    assert r.status_code == 200, r.text
    assert 'id="unverified-notice"' in r.text
    assert "not verified" in r.text
    # An agent answering Kim's email conversation: nothing of it reaches the visitor.
    r = chat_client.post(
        f"/api/v1/conversations/{kims['id']}/replies",
        headers=bearer(site.api_token),
        json={"body": "Your order 1042 ships tomorrow to 12 Elm St."},
    )
    assert r.status_code == 201, r.text
    again = start(
        chat_client, site, "anon-impostor", visitorId=hello["visitor_id"], token=hello["token"]
    )
    assert [m["body"] for m in again["history"]] == ["Please change the address of my order"]


def test_a_verified_identity_continues_the_persons_conversation(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    kims = kims_open_email(chat_client, site)
    r = chat_client.post("/api/v1/chat/identity/secret", headers=bearer(site.api_token))
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    # A wrong hash is no better than none.
    _, verified, conversation = chat_as(
        chat_client,
        site,
        "anon-guess",
        {"traits": {"email": KIM}, "userHash": identity.user_hash("guess", KIM)},
        "Hi, it's Kim",
    )
    assert verified is False
    assert conversation != kims["id"]
    # The site's server vouches for Kim (by email, as she has no user id here); the page
    # shows her address as she typed it at sign-up, the server hashed it lower-cased.
    _, verified, conversation = chat_as(
        chat_client,
        site,
        "anon-kim",
        {
            "traits": {"email": "Kim.Tran@Example.com", "name": "Kim Tran"},
            "userHash": identity.user_hash(secret, KIM),
        },
        "Any news on 1042?",
    )
    assert verified is True
    assert conversation == kims["id"]  # the same issue, continued on chat
    assert (
        profile_of(chat_client, site, anonymous_id="anon-kim")["id"]
        == (profile_of(chat_client, site, email=KIM)["id"])
    )
    # By user id: the hash covers the id; an email said alongside is not linked by it.
    _, verified, _ = chat_as(
        chat_client,
        site,
        "anon-user",
        {
            "userId": "u-77",
            "traits": {"email": "someone.else@example.com"},
            "userHash": identity.user_hash(secret, "u-77"),
        },
        "Hello",
    )
    assert verified is True
    user = profile_of(chat_client, site, user_id="u-77")
    assert profile_of(chat_client, site, anonymous_id="anon-user")["id"] == user["id"]
    assert "someone.else@example.com" not in {i["value"] for i in user["identifiers"]}


def test_links_anyone_can_make_do_not_open_a_conversation_to_a_verified_stranger(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    """The public tracking API lets any browser say "my email is Kim's", which links
    Kim's address to the caller's own account. Being vouched for as oneself must still
    not continue Kim's conversation: only a vouched identity that wrote in does."""
    kims = kims_open_email(chat_client, site)
    auth = bearer(site.api_token)
    secret = chat_client.post("/api/v1/chat/identity/secret", headers=auth).json()["secret"]
    r = chat_client.post(
        "/v1/identify",
        json={
            "writeKey": site.write_key,
            "anonymousId": "anon-mallory",
            "userId": "u-mallory",
            "traits": {"email": KIM},
        },
    )
    assert r.status_code == 200, r.text
    mallory = profile_of(chat_client, site, user_id="u-mallory")
    assert KIM in {i["value"] for i in mallory["identifiers"]}  # the graph took the link
    _, verified, conversation = chat_as(
        chat_client,
        site,
        "anon-mallory",
        {"userId": "u-mallory", "userHash": identity.user_hash(secret, "u-mallory")},
        "Any news on my order?",
    )
    assert verified is True
    assert conversation != kims["id"]
    # Kim herself, vouched for by her email, continues it.
    _, verified, conversation = chat_as(
        chat_client,
        site,
        "anon-kim-2",
        {
            "userId": "u-kim",
            "traits": {"email": KIM},
            "userHash": identity.user_hash(secret, "u-kim"),
            "emailHash": identity.user_hash(secret, KIM),
        },
        "It's Kim again",
    )
    assert verified is True
    assert conversation == kims["id"]


def test_a_customers_email_never_lands_in_a_chat_opened_by_someone_claiming_to_be_her(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    """Mallory's browser tells the tracking API it is Kim, then chats: the chat resolves
    to Kim's profile. Kim's own email afterwards opens a conversation of its own, so
    nothing of it, nor the agents' answers, reaches Mallory's chat."""
    r = chat_client.post(
        "/v1/identify",
        json={"writeKey": site.write_key, "anonymousId": "anon-m2", "traits": {"email": KIM}},
    )
    assert r.status_code == 200, r.text
    _, verified, chat = chat_as(chat_client, site, "anon-m2", {"traits": {}}, "Hi, it's Kim")
    assert verified is False
    kims = kims_open_email(chat_client, site)
    assert kims["id"] != chat
    # A server-side channel from someone trusted still continues a trusted conversation.
    assert kims_open_email(chat_client, site)["id"] == kims["id"]


def test_the_identity_secret_is_admin_only_encrypted_and_rotates(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    auth = bearer(site.api_token)
    assert chat_client.get("/api/v1/chat/identity", headers=auth).json() == {
        "enabled": False,
        "set_at": None,
        "version": 0,
    }
    first = chat_client.post("/api/v1/chat/identity/secret", headers=auth).json()["secret"]
    status = chat_client.get("/api/v1/chat/identity", headers=auth).json()
    assert status["enabled"] is True
    assert "secret" not in status
    with chat_db.factory() as session:
        workspace = session.get(Workspace, site.workspace.id)
        assert workspace is not None
        assert first not in str(workspace.settings)  # stored encrypted
    second = chat_client.post("/api/v1/chat/identity/secret", headers=auth).json()["secret"]
    assert second != first
    _, verified, _ = chat_as(
        chat_client,
        site,
        "anon-old",
        {"userId": "u-1", "userHash": identity.user_hash(first, "u-1")},
        "Hi",
    )
    assert verified is False  # the rotated-out secret no longer vouches
    reader = chat_client.post(
        "/api/v1/keys",
        headers=auth,
        json={"kind": "token", "name": "agents", "scopes": ["conversations:read"]},
    ).json()["secret"]
    for method in ("get", "post", "delete"):
        path = "/api/v1/chat/identity" + ("" if method == "get" else "/secret")
        r = chat_client.request(method.upper(), path, headers=bearer(reader))
        assert r.status_code == 403, (method, r.text)
        assert r.json()["code"] == "insufficient_scope"
    assert chat_client.delete("/api/v1/chat/identity/secret", headers=auth).status_code == 204
    assert chat_client.get("/api/v1/chat/identity", headers=auth).json()["enabled"] is False


def test_console_generates_the_secret_once_and_turns_it_off(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    csrf = admin_console(chat_client, chat_db, site)
    page = chat_client.get("/settings/chat")
    assert "Turn on: generate a secret" in page.text
    r = chat_client.post("/settings/chat/identity", data={"csrf_token": csrf, "action": "generate"})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    assert 'id="identity-secret"' in r.text
    shown = r.text.split('id="identity-secret">')[1].split("<")[0]
    assert shown.startswith("cis_")
    again = chat_client.get("/settings/chat").text
    assert shown not in again
    assert "Rotate secret" in again
    r = chat_client.post(
        "/settings/chat/identity", data={"csrf_token": csrf, "action": "off"}, follow_redirects=True
    )
    assert "Turn on: generate a secret" in r.text


def test_a_trigger_can_wait_for_a_verified_visitor(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    from tests.chat.test_triggers import add_trigger

    auth = bearer(site.api_token)
    secret = chat_client.post("/api/v1/chat/identity/secret", headers=auth).json()["secret"]
    add_trigger(
        chat_client,
        site,
        name="Account help for signed-in customers",
        conditions=[{"fact": "verified", "op": "is", "value": True}],
        action={"kind": "article", "title": "Your orders", "url": "https://shop.example/orders"},
    )
    hello = start(chat_client, site, "anon-account")
    with chat_client.websocket_connect(socket_url(site, hello)) as sock:
        sock.receive_json()
        sock.send_json({"type": "identify", "userId": "u-9", "traits": {}})
        assert until(sock, "identified")["verified"] is False
        sock.send_json({"type": "page", "url": "https://shop.example/account"})
        assert sock.receive_json()["type"] == "page_ack"  # a claim: nothing shown
        hashed = identity.user_hash(secret, "u-9")
        sock.send_json({"type": "identify", "userId": "u-9", "userHash": hashed})
        assert until(sock, "identified")["verified"] is True
        sock.send_json({"type": "page", "url": "https://shop.example/account/orders"})
        assert sock.receive_json()["type"] == "article"
