"""The call screen pop: a known caller's context, and a route for an unknown one."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import bearer


def test_unknown_caller_is_routed_to_the_phone_or_default_team(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    for name in ("Priority", "Support"):
        made = client.post("/api/v1/teams", headers=auth, json={"name": name})
        assert made.status_code in (200, 201), made.text
    pop = client.get("/api/v1/contact-center/lookup?phone=+1 415 555 0100", headers=auth)
    assert pop.status_code == 200, pop.text
    body = pop.json()
    assert body["known"] is False
    assert body["route"]["team"] in ("Priority", "Support")
    assert body["route"]["team_id"] is not None


def test_known_caller_sees_their_orders_and_activity(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    sent = client.post(
        "/v1/batch",
        auth=(workspace.write_key, ""),
        json={
            "batch": [
                {"type": "identify", "userId": "u1", "traits": {"phone": "+14155550199"}},
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "Order Completed",
                    "properties": {"order_id": "A-1", "total": 42.5, "store": "Portland"},
                },
            ]
        },
    )
    assert sent.status_code == 200, sent.text
    pop = client.get(
        "/api/v1/contact-center/lookup?phone=(415) 555-0199", headers=bearer(workspace.api_token)
    ).json()
    assert pop["known"] is True
    assert pop["order_count"] == 1
    assert [o["order_id"] for o in pop["recent_orders"]] == ["A-1"]
    assert {a["type"] for a in pop["recent_activity"]} >= {"identify", "track"}
