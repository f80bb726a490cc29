"""An identifier is first seen when its first event happened, never after it was last
seen, however late resolution gets to it (historical imports, a backlog)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import bearer


def test_identifiers_of_historical_events_are_first_seen_then(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = (workspace.write_key, "")
    batch = [
        {
            "type": "identify",
            "userId": "hist-1",
            "traits": {"email": "hist@example.com"},
            "timestamp": "2024-03-01T10:00:00Z",
        },
        {
            "type": "track",
            "userId": "hist-1",
            "event": "Viewed",
            "timestamp": "2024-03-05T10:00:00Z",
        },
    ]
    assert client.post("/v1/batch", json={"batch": batch}, auth=auth).status_code == 200
    person = client.get(
        "/api/v1/profiles/lookup?email=hist@example.com", headers=bearer(workspace.api_token)
    ).json()
    seen = {i["type"]: i for i in person["identifiers"]}
    assert seen["email"]["first_seen_at"].startswith("2024-03-01T10:00:00")
    for ident in person["identifiers"]:
        assert ident["first_seen_at"] <= ident["last_seen_at"], ident
