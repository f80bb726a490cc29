from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import bearer


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


def lookup(client: TestClient, ws: ProvisionedWorkspace, **params: str) -> dict:  # type: ignore[type-arg]
    response = client.get("/api/v1/profiles/lookup", params=params, headers=bearer(ws.api_token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Event)) or 0)


def test_identify_lands_on_a_profile_with_reserved_traits(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    response = client.post(
        "/v1/identify",
        json={
            "userId": "u-1",
            "traits": {
                "first_name": "Ada",
                "Last Name": "Lovelace",
                "email": " Ada@Example.COM ",
                "zip": "02139",
                "address": {"city": "Cambridge"},
                "tier": "gold",
            },
            "context": {
                "ip": "203.0.113.9",
                "userAgent": "UA/1.0",
                "campaign": {"source": "newsletter", "medium": "email"},
            },
        },
        headers=basic(workspace.write_key),
    )
    assert response.status_code == 200
    assert response.json() == {"success": True}
    profile = lookup(client, workspace, email="ada@example.com")
    assert profile["traits"]["firstName"] == "Ada"
    assert profile["traits"]["lastName"] == "Lovelace"
    assert profile["traits"]["address.postalCode"] == "02139"
    assert profile["traits"]["address.city"] == "Cambridge"
    assert profile["traits"]["tier"] == "gold"
    assert {"type": "email", "value": "ada@example.com"}.items() <= profile["identifiers"][
        0
    ].items() or any(
        i["type"] == "email" and i["value"] == "ada@example.com" for i in profile["identifiers"]
    )
    assert profile["display_name"] == "Ada Lovelace"
    timeline = client.get(
        f"/api/v1/profiles/{profile['id']}/timeline", headers=bearer(workspace.api_token)
    ).json()
    context = timeline["data"][0]["context"]
    assert context["ip"] == "203.0.113.9"
    assert context["campaign"]["source"] == "newsletter"


def test_write_key_in_body_and_gzip(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    body = {
        "writeKey": workspace.write_key,
        "batch": [
            {"type": "page", "anonymousId": "anon-7", "name": "Home", "messageId": "m-1"},
            {"type": "track", "anonymousId": "anon-7", "event": "Viewed", "messageId": "m-2"},
        ],
    }
    response = client.post(
        "/v1/batch",
        content=gzip.compress(json.dumps(body).encode()),
        headers={"content-type": "application/json", "content-encoding": "gzip"},
    )
    assert response.status_code == 200, response.text
    profile = lookup(client, workspace, anonymous_id="anon-7")
    assert profile["computed"]["event_count"] == 2
    assert profile["computed"]["channels"] == ["api", "web"]
    bad = client.post(
        "/v1/batch",
        content=b"not gzip",
        headers={"content-encoding": "gzip", **basic(workspace.write_key)},
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid_gzip"


def test_keys_are_checked(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    msg = {"userId": "u-1"}
    assert client.post("/v1/identify", json=msg).status_code == 401
    assert client.post("/v1/identify", json=msg, headers=basic("wk_nope")).status_code == 401
    # An API token is not a write key.
    refused = client.post("/v1/identify", json=msg, headers=basic(workspace.api_token))
    assert refused.status_code == 401
    assert refused.json()["code"] == "unauthorized"


def test_retries_are_idempotent(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    msg = {"userId": "u-9", "event": "Signed Up", "messageId": "retry-1"}
    for _ in range(3):
        assert (
            client.post("/v1/track", json=msg, headers=basic(workspace.write_key)).status_code
            == 200
        )
    no_id = {"userId": "u-9", "event": "Clicked", "timestamp": "2026-01-01T00:00:00Z"}
    for _ in range(2):
        client.post("/v1/track", json=no_id, headers=basic(workspace.write_key))
    assert count_events(session) == 2


def test_bad_messages_are_reported_and_the_rest_kept(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    batch = [
        {"type": "track", "userId": "u-1", "event": "Good", "messageId": "g1"},
        {"type": "track", "event": "No id", "messageId": "b1"},
        {"type": "teleport", "userId": "u-1", "messageId": "b2"},
        {"type": "track", "userId": "u-1", "messageId": "b3"},
        {"type": "identify", "userId": "u-1", "timestamp": "yesterday", "messageId": "b4"},
        {"type": "page", "userId": "u-1", "messageId": "g2"},
    ]
    response = client.post("/v1/batch", json={"batch": batch}, headers=basic(workspace.write_key))
    assert response.status_code == 400
    body = response.json()
    assert body["accepted"] == 2
    assert [e["field"] for e in body["errors"]] == [
        "batch[1].userId",
        "batch[2].type",
        "batch[3].event",
        "batch[4].timestamp",
    ]
    assert body["field"] == "batch[1].userId"
    assert count_events(session) == 2


def test_size_limits(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    big = {"userId": "u-1", "event": "Big", "properties": {"blob": "x" * 33_000}}
    response = client.post("/v1/track", json=big, headers=basic(workspace.write_key))
    assert response.status_code == 413
    assert response.json()["code"] == "message_too_large"
    batch = {
        "batch": [{"type": "track", "userId": "u", "event": "e", "properties": {"b": "x" * 30_000}}]
        * 18
    }
    response = client.post("/v1/batch", json=batch, headers=basic(workspace.write_key))
    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"
    # A message over 32 KB inside a batch is refused alone.
    mixed = {"batch": [big | {"type": "track"}, {"type": "track", "userId": "u", "event": "ok"}]}
    response = client.post("/v1/batch", json=mixed, headers=basic(workspace.write_key))
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "message_too_large"
    assert response.json()["accepted"] == 1


def test_clock_skew_is_corrected(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    # The device clock runs two hours fast: it stamped the event 10 s before sending.
    now = datetime.now(UTC)
    device_sent = now + timedelta(hours=2)
    device_ts = device_sent - timedelta(seconds=10)
    client.post(
        "/v1/track",
        json={
            "userId": "u-skew",
            "event": "Tapped",
            "timestamp": device_ts.isoformat(),
            "sentAt": device_sent.isoformat(),
        },
        headers=basic(workspace.write_key),
    )
    profile = lookup(client, workspace, user_id="u-skew")
    item = client.get(
        f"/api/v1/profiles/{profile['id']}/timeline", headers=bearer(workspace.api_token)
    ).json()["data"][0]
    at = datetime.fromisoformat(item["timestamp"])
    assert abs((at - (now - timedelta(seconds=10))).total_seconds()) < 5


def test_cors_preflight(client: TestClient) -> None:
    response = client.options(
        "/v1/batch",
        headers={"Origin": "https://shop.example", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in response.headers["access-control-allow-headers"]
