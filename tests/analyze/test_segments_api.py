"""The segments API on both databases: definitions as JSON (create, change, duplicate,
archive, restore), the size estimate and preview, members, history, sizes, explain, a
person's segments and computed traits; machine-readable errors; scopes; workspace
isolation."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login
from tests.resolve.test_identity import Api

VIP = {"kind": "trait", "field": "plan", "op": "eq", "value": "VIP"}


def seed(api: Api) -> dict[str, str]:
    api.send(
        "identify",
        userId="ana",
        traits={"email": "ana@example.com", "plan": "VIP", "name": "Ana Diaz"},
    )
    api.send("identify", userId="ben", traits={"email": "ben@example.com", "plan": "free"})
    for n in range(3):
        api.send(
            "track", userId="ana", event="Product Viewed", properties={"category": "tents", "n": n}
        )
    return {
        "ana": api.profile(email="ana@example.com")["id"],
        "ben": api.profile(email="ben@example.com")["id"],
    }


def post(client: TestClient, ws: ProvisionedWorkspace, path: str, body: Any = None) -> Any:
    return client.post(path, json=body, headers=bearer(ws.api_token))


def get(client: TestClient, ws: ProvisionedWorkspace, path: str, **params: Any) -> Any:
    return client.get(path, params=params, headers=bearer(ws.api_token))


def test_a_segment_through_the_api(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    people = seed(Api(client, workspace))
    est = post(client, workspace, "/api/v1/segments/estimate", {"definition": VIP})
    assert est.status_code == 200, est.text
    assert est.json()["size"] == 1
    assert est.json()["total"] == 2
    assert [p["id"] for p in est.json()["sample"]] == [people["ana"]]

    r = post(client, workspace, "/api/v1/segments", {"name": "VIPs", "definition": VIP})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["queued"] is False
    assert created["entered"] == 1
    seg = created["segment"]
    assert seg["size"] == 1
    assert seg["topics"] == ["traits"]
    sid = seg["id"]

    members = get(client, workspace, f"/api/v1/segments/{sid}/members").json()
    assert [m["profile_id"] for m in members["data"]] == [people["ana"]]
    history = get(client, workspace, f"/api/v1/segments/{sid}/history").json()["data"]
    assert history[0]["event"] == "Audience Entered"
    assert history[0]["cause"] == "build"
    sizes = get(client, workspace, f"/api/v1/segments/{sid}/sizes", days=7).json()["data"]
    assert len(sizes) == 7
    assert sizes[-1]["size"] == 1

    why = get(client, workspace, f"/api/v1/segments/{sid}/explain/{people['ben']}").json()
    assert why["member"] is False
    assert why["holds"] is False
    assert why["tree"]["text"] == "plan is VIP"

    mine = get(client, workspace, f"/api/v1/profiles/{people['ana']}/segments").json()
    assert [s["name"] for s in mine["current"]] == ["VIPs"]

    # A change of definition is built again: Ben joins, Ana leaves.
    free = {"kind": "trait", "field": "plan", "op": "eq", "value": "free"}
    r = client.put(
        f"/api/v1/segments/{sid}",
        json={"name": "VIPs", "definition": free},
        headers=bearer(workspace.api_token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["segment"]["version"] == 2
    assert (r.json()["entered"], r.json()["exited"]) == (1, 1)
    history = get(client, workspace, f"/api/v1/segments/{sid}/history").json()["data"]
    assert {h["cause"] for h in history[:2]} == {"definition changed"}

    dup = post(client, workspace, f"/api/v1/segments/{sid}/duplicate")
    assert dup.status_code == 201
    assert dup.json()["segment"]["name"] == "VIPs (copy)"
    archived = post(client, workspace, f"/api/v1/segments/{sid}/archive").json()
    assert archived["status"] == "archived"
    assert archived["size"] == 0
    assert [s["name"] for s in get(client, workspace, "/api/v1/segments").json()["data"]] == [
        "VIPs (copy)"
    ]
    restored = post(client, workspace, f"/api/v1/segments/{sid}/restore").json()
    assert restored["segment"]["size"] == 1

    fields = get(client, workspace, "/api/v1/segments/fields").json()
    assert "plan" in fields["traits"]
    assert fields["events"][0]["name"] == "Product Viewed"
    assert "category" in fields["events"][0]["properties"]
    assert get(
        client, workspace, "/api/v1/segments/suggest", kind="trait", field="plan", q="v"
    ).json() == ["VIP"]
    assert get(
        client,
        workspace,
        "/api/v1/segments/suggest",
        kind="event",
        field="category",
        event="Product Viewed",
    ).json() == ["tents"]


def test_computed_traits_over_the_api(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    people = seed(Api(client, workspace))
    r = post(
        client,
        workspace,
        "/api/v1/computed-traits",
        {"key": "views", "name": "Views", "event": "Product Viewed", "aggregate": "count"},
    )
    assert r.status_code == 201, r.text
    again = post(
        client,
        workspace,
        "/api/v1/computed-traits",
        {"key": "views", "name": "V", "event": "X", "aggregate": "count"},
    )
    assert again.status_code == 409
    bad = post(
        client,
        workspace,
        "/api/v1/computed-traits",
        {"key": "top", "name": "Top", "event": "X", "aggregate": "max"},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "property"
    mine = get(client, workspace, f"/api/v1/profiles/{people['ana']}/segments").json()
    assert mine["computed"] == {"views": 3}
    seg = post(
        client,
        workspace,
        "/api/v1/segments",
        {
            "name": "Browsers",
            "definition": {"kind": "computed", "key": "views", "op": "gte", "value": 2},
        },
    )
    assert seg.json()["segment"]["size"] == 1


def test_errors_say_what_and_where(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    r = post(
        client,
        workspace,
        "/api/v1/segments",
        {"name": "Bad", "definition": {"kind": "trait", "field": "plan", "op": "nope"}},
    )
    assert r.status_code == 422
    body = r.json()
    assert body["code"] == "invalid_definition"
    assert body["field"] == "definition"
    assert "op" in body["detail"] or "op" in body.get("message", body["detail"])
    post(client, workspace, "/api/v1/segments", {"name": "Same", "definition": VIP})
    dup = post(client, workspace, "/api/v1/segments", {"name": "Same", "definition": VIP})
    assert dup.status_code == 409
    assert dup.json()["code"] == "segment_exists"
    missing = get(client, workspace, "/api/v1/segments/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404
    assert missing.json()["field"] == "segment_id"


def test_scopes_and_workspace_isolation(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    seed(Api(client, workspace))
    sid = post(client, workspace, "/api/v1/segments", {"name": "VIPs", "definition": VIP}).json()[
        "segment"
    ]["id"]
    # Another workspace sees nothing of it, and cannot build on it.
    for path in (
        f"/api/v1/segments/{sid}",
        f"/api/v1/segments/{sid}/members",
        f"/api/v1/segments/{sid}/history",
    ):
        assert get(client, other_workspace, path).status_code == 404, path
    assert post(client, other_workspace, f"/api/v1/segments/{sid}/archive").status_code == 404
    ref = post(
        client,
        other_workspace,
        "/api/v1/segments",
        {"name": "X", "definition": {"kind": "segment", "segment_id": sid}},
    )
    assert ref.status_code == 422
    assert ref.json()["code"] == "unknown_segment"
    assert get(client, other_workspace, "/api/v1/segments").json()["data"] == []
    # No key: 401; an agent (no analytics scope) is refused.
    assert client.get("/api/v1/segments").status_code == 401
    add_user(session, workspace, "agent@acme.test", role="agent")
    session.commit()
    console_login(client, "agent@acme.test")
    refused = client.get("/api/v1/segments")
    assert refused.status_code in (401, 403)
