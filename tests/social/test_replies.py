"""Care end to end on both databases, against Bluesky on loopback: a customer's post is
heard by a real fetch of the source, lands on their profile and in an inbox
conversation, and the agent's reply goes back through the connector as a public reply
(then a direct message); the mention is answered and the response time counts. A reply
queued before the author opted out of social contact is refused when sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.social import tasks
from accord.social.delivery import deliver_reply
from accord.social.sources import registry
from tests.helpers import bearer
from tests.social.servers.bluesky import BlueskyServer, bluesky_server

pytestmark = pytest.mark.usefixtures("backend")


@pytest.fixture
def server() -> Iterator[BlueskyServer]:
    with bluesky_server() as s:
        yield s


class Care:
    def __init__(
        self,
        client: TestClient,
        ws: ProvisionedWorkspace,
        server: BlueskyServer,
        factory: sessionmaker[Session],
        settings: Settings,
    ) -> None:
        self.client, self.ws, self.server, self.factory = client, ws, server, factory
        self.auth = bearer(ws.api_token)
        self.secret_key = settings.resolved_secret_key
        self.listening = tasks.Listening(
            connectors=registry.connectors(), secret_key=self.secret_key, private_hosts=True
        )
        assert server.brand is not None
        r = client.put(
            "/api/v1/social/listening",
            headers=self.auth,
            json={"brands": ["Northwind"], "handles": [f"@{server.brand.handle}"]},
        )
        assert r.status_code == 200, r.text
        config = server.source()
        r = client.post(
            "/api/v1/social/sources",
            headers=self.auth,
            json={
                "kind": "bluesky",
                "name": "Bluesky",
                "settings": {**config.settings, "mode": "search"},
                "credentials": config.credentials,
            },
        )
        assert r.status_code == 201, r.text
        self.source_id = r.json()["id"]

    def hear(self) -> None:
        import uuid

        outcome = tasks.fetch(self.factory, uuid.UUID(self.source_id), listening=self.listening)
        assert outcome is not None, self.get(f"/api/v1/social/sources/{self.source_id}")
        tasks.open_conversations(self.factory, self.ws.workspace.id, listening=self.listening)

    def get(self, path: str, **params: Any) -> Any:
        r = self.client.get(path, headers=self.auth, params=params)
        assert r.status_code == 200, r.text
        return r.json()

    def reply(self, conversation_id: str, body: str, **extra: Any) -> dict[str, Any]:
        r = self.client.post(
            f"/api/v1/conversations/{conversation_id}/replies",
            headers=self.auth,
            json={"body": body, "channel": "social", **extra},
        )
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def deliver(self, message_id: str) -> str:
        import uuid

        return deliver_reply(
            self.factory,
            uuid.UUID(message_id),
            self.secret_key,
            lambda *_: None,
            repliers=registry.repliers(),
        )


@pytest.fixture
def care(
    client: TestClient,
    workspace: ProvisionedWorkspace,
    server: BlueskyServer,
    session_factory: sessionmaker[Session],
    settings: Settings,
) -> Care:
    return Care(client, workspace, server, session_factory, settings)


def _customer(care: Care, handle: str) -> str:
    r = care.client.post(
        "/v1/identify",
        headers=bearer(care.ws.write_key),
        json={"userId": "rae-7", "traits": {"email": "rae@example.com", "bluesky": handle}},
    )
    assert r.status_code == 200, r.text
    return str(care.get("/api/v1/profiles/lookup", email="rae@example.com")["id"])


def test_a_customers_post_is_answered_through_bluesky(care: Care) -> None:
    server = care.server
    rae = server.account("rae.example.com", "Rae", followers=12_000)
    pid = _customer(care, rae.handle)
    post = server.post(
        rae,
        "Northwind charged me twice and support never answered. Refund please?",
        at=datetime.now(UTC) - timedelta(minutes=3),
    )
    care.hear()
    mentions = care.get("/api/v1/social/mentions")["items"]
    assert len(mentions) == 1
    mention = mentions[0]
    assert mention["profile_id"] == pid
    assert mention["followers"] == 12_000
    assert mention["decision"] == "respond"
    conversation = care.get(f"/api/v1/conversations/{mention['conversation_id']}")
    assert conversation["profile_id"] == pid
    # Heard again on the next fetch: nothing new.
    care.hear()
    assert len(care.get("/api/v1/social/mentions")["items"]) == 1

    sent = care.reply(mention["conversation_id"], "Sorry Rae, refunding the double charge now.")
    assert sent["delivery"] == "queued"
    assert care.deliver(sent["id"]) == "sent"
    written = server.written()
    assert len(written) == 1
    record = written[0]["value"]
    assert record["text"].endswith("refunding the double charge now.")
    assert record["reply"]["parent"]["uri"] == post["uri"]
    answered = care.get(f"/api/v1/social/mentions/{mention['id']}")
    assert answered["state"] == "answered"
    assert answered["first_response_at"]
    response = care.get("/api/v1/social/metrics", days=7)["response"]
    assert (response["to_respond"], response["answered"], response["rate"]) == (1, 1, 1.0)

    dm = care.reply(mention["conversation_id"], "I've sent you the refund reference.", private=True)
    assert care.deliver(dm["id"]) == "sent"
    assert len(server.written()) == 1  # no second public post
    assert any("I've sent you the refund reference." in str(m) for m in server.messages.values())


def test_a_reply_longer_than_the_network_takes_is_refused(care: Care) -> None:
    rae = care.server.account("rae.example.com", "Rae")
    care.server.post(rae, "Northwind, how do I return boots?")
    care.hear()
    mention = care.get("/api/v1/social/mentions")["items"][0]
    r = care.client.post(
        f"/api/v1/conversations/{mention['conversation_id']}/replies",
        headers=care.auth,
        json={"body": "x" * 301, "channel": "social"},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "too_long"


def test_a_reply_queued_before_the_author_opted_out_is_refused_when_sent(care: Care) -> None:
    rae = care.server.account("rae.example.com", "Rae")
    pid = _customer(care, rae.handle)
    care.server.post(rae, "Northwind lost my parcel, where is it?")
    care.hear()
    mention = care.get("/api/v1/social/mentions")["items"][0]
    sent = care.reply(mention["conversation_id"], "Looking into it now.")
    r = care.client.post(
        f"/api/v1/profiles/{pid}/consent",
        headers=care.auth,
        json={"channel": "social", "purpose": "all", "status": "withdrawn", "source": "agent"},
    )
    assert r.status_code == 201, r.text
    assert care.deliver(sent["id"]) == "refused"
    assert care.server.written() == []
    thread = care.get(f"/api/v1/conversations/{mention['conversation_id']}")["messages"]
    refused = next(m for m in thread if m["id"] == sent["id"])
    assert refused["delivery"] == "refused"
    assert "social" in refused["delivery_error"]
