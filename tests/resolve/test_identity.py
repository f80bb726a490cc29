"""Deterministic identity resolution through the tracking API, on both databases."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.resolve.models import Merge
from tests.helpers import bearer
from tests.resolve.test_batches import broken_references


class Api:
    def __init__(self, client: TestClient, ws: ProvisionedWorkspace) -> None:
        self.client = client
        self.ws = ws
        self.write = {
            "Authorization": "Basic " + base64.b64encode(f"{ws.write_key}:".encode()).decode()
        }
        self.read = bearer(ws.api_token)

    def send(self, kind: str, **msg: Any) -> None:
        response = self.client.post(f"/v1/{kind}", json=msg, headers=self.write)
        assert response.status_code == 200, response.text

    def profile(self, **params: str) -> dict[str, Any]:
        response = self.client.get("/api/v1/profiles/lookup", params=params, headers=self.read)
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    def missing(self, **params: str) -> bool:
        response = self.client.get("/api/v1/profiles/lookup", params=params, headers=self.read)
        return response.status_code == 404

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=self.read)
        assert response.status_code == 200, response.text
        return response.json()

    def timeline(self, profile_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/profiles/{profile_id}/timeline", limit=500)["data"]  # type: ignore[no-any-return]

    def merges(self, profile_id: str) -> list[dict[str, Any]]:
        return self.get(f"/api/v1/profiles/{profile_id}/merges")["data"]  # type: ignore[no-any-return]

    def split(self, profile_id: str, merge_id: str | None = None) -> dict[str, Any]:
        response = self.client.post(
            f"/api/v1/profiles/{profile_id}/split",
            json={"merge_id": merge_id} if merge_id else {},
            headers=self.read,
        )
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]


def idents(profile: dict[str, Any]) -> set[str]:
    return {f"{i['type']}:{i['value']}" for i in profile["identifiers"]}


def test_anonymous_visitor_becomes_known(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    api = Api(client, workspace)
    api.send("page", anonymousId="anon-1", name="Home", timestamp="2026-05-01T10:00:00Z")
    api.send(
        "track", anonymousId="anon-1", event="Product Viewed", timestamp="2026-05-01T10:01:00Z"
    )
    anonymous = api.profile(anonymous_id="anon-1")
    api.send(
        "identify",
        anonymousId="anon-1",
        userId="u-42",
        traits={"email": "kim@example.com", "firstName": "Kim"},
        timestamp="2026-05-01T10:05:00Z",
    )
    known = api.profile(user_id="u-42")
    assert known["id"] == anonymous["id"]
    assert idents(known) == {"anonymous_id:anon-1", "user_id:u-42", "email:kim@example.com"}
    assert [i["type"] for i in api.timeline(known["id"])] == ["identify", "track", "page"]
    assert known["computed"]["first_seen"].startswith("2026-05-01T10:00:00")


def test_known_profiles_merge_on_a_shared_identifier_and_split_back(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session
) -> None:
    api = Api(client, workspace)
    # Online: an app user with an email.
    api.send(
        "identify",
        userId="u-1",
        traits={"email": "lee@example.com", "firstName": "Lee", "address": {"city": "Austin"}},
        timestamp="2026-03-01T09:00:00Z",
    )
    api.send(
        "track",
        userId="u-1",
        event="Order Completed",
        timestamp="2026-03-02T09:00:00Z",
        properties={"order_id": "W-1", "total": 120.5, "products": [{"sku": "A", "price": 120.5}]},
    )
    # The call center knows a phone and a different city, later.
    api.send(
        "identify",
        anonymousId="call-77",
        traits={"phone": "(512) 555-0134", "address": {"city": "Dallas"}, "lastName": "Park"},
        context={"channel": "call_center"},
        timestamp="2026-03-05T12:00:00Z",
    )
    online, call = api.profile(user_id="u-1"), api.profile(phone="+1 512-555-0134")
    assert online["id"] != call["id"]
    before_online = (online["traits"], idents(online), len(api.timeline(online["id"])))
    before_call = (call["traits"], idents(call), len(api.timeline(call["id"])))

    # The customer gives their email to the call center: one person.
    api.send(
        "identify",
        anonymousId="call-77",
        traits={"email": "LEE@example.com"},
        context={"channel": "call_center"},
        timestamp="2026-03-06T12:00:00Z",
    )
    merged = api.profile(email="lee@example.com")
    assert api.profile(phone="5125550134")["id"] == merged["id"]
    assert merged["traits"]["firstName"] == "Lee"
    assert merged["traits"]["lastName"] == "Park"
    assert merged["traits"]["address.city"] == "Dallas"  # the latest wins
    assert merged["computed"]["order_count"] == 1
    assert sorted(merged["computed"]["channels"]) == ["api", "call_center"]
    assert len(api.timeline(merged["id"])) == before_online[2] + before_call[2] + 1
    (merge,) = api.merges(merged["id"])
    assert merge["rule"] == "shared_identifier"
    assert "email:lee@example.com" in merge["evidence"]["identifiers"]
    # The absorbed id still finds the person.
    absorbed = merge["absorbed_id"]
    assert api.get(f"/api/v1/profiles/{absorbed}")["id"] == merged["id"]
    assert broken_references(session, workspace.workspace.id) == []

    split = api.split(merged["id"], merge["id"])
    assert split["undone_at"] is not None
    a, b = api.profile(user_id="u-1"), api.profile(phone="+15125550134")
    assert a["id"] != b["id"]
    assert {a["id"], b["id"]} == {online["id"], call["id"]}
    restored_online = a if a["id"] == online["id"] else b
    restored_call = b if restored_online is a else a
    assert restored_online["traits"] == before_online[0]
    assert idents(restored_online) == before_online[1]
    assert len(api.timeline(restored_online["id"])) == before_online[2]
    assert restored_online["computed"]["order_count"] == 1
    assert restored_call["computed"]["order_count"] == 0
    assert broken_references(session, workspace.workspace.id) == []
    # The email that joined them stays with the side that brought it (the call), and the
    # split is remembered: the same evidence again does not re-merge.
    api.send(
        "identify",
        anonymousId="call-77",
        traits={"email": "lee@example.com"},
        timestamp="2026-03-07T12:00:00Z",
    )
    assert api.profile(user_id="u-1")["id"] != api.profile(phone="+15125550134")["id"]


def test_two_user_ids_never_merge(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    api = Api(client, workspace)
    api.send("identify", userId="alice", anonymousId="family-tablet")
    api.send("identify", userId="bob", anonymousId="family-tablet")
    api.send("identify", userId="bob", traits={"email": "shared@family.example"})
    api.send("identify", userId="alice", traits={"email": "shared@family.example"})
    alice, bob = api.profile(user_id="alice"), api.profile(user_id="bob")
    assert alice["id"] != bob["id"]
    assert "user_id:bob" not in idents(alice)
    assert "user_id:alice" not in idents(bob)


def test_blocked_values_link_nobody(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    api = Api(client, workspace)
    api.send("identify", userId="p1", traits={"email": "test@test.com", "phone": "0000000000"})
    api.send("identify", userId="p2", traits={"email": "TEST@test.com"})
    assert api.profile(user_id="p1")["id"] != api.profile(user_id="p2")["id"]
    assert api.missing(email="test@test.com")


def test_shared_device_stops_linking(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    api = Api(client, workspace)
    for user in ("k1", "k2", "k3"):
        api.send("identify", userId=user, context={"device": {"id": "store-kiosk-1"}})
        api.send("identify", userId=user, traits={"email": f"{user}@example.com"})
    profiles = {api.profile(user_id=u)["id"] for u in ("k1", "k2", "k3")}
    assert len(profiles) == 3
    for u in ("k1", "k2", "k3"):
        assert "device_id:store-kiosk-1" not in idents(api.profile(user_id=u))


def test_limit_per_type(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    ws = session.get(Workspace, workspace.workspace.id)
    assert ws is not None
    ws.settings = {"identity": {"types": {"email": {"limit": 2}}}}
    session.commit()
    api = Api(client, workspace)
    for n in range(4):
        api.send("identify", userId="heavy", traits={"email": f"e{n}@example.com"})
    profile = api.profile(user_id="heavy")
    assert len([i for i in idents(profile) if i.startswith("email:")]) == 2


def test_phone_formats_are_one_person(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    api = Api(client, workspace)
    api.send("identify", anonymousId="a", traits={"phone": "(415) 555-0100"})
    api.send(
        "identify", anonymousId="b", traits={"phone": "+1 415.555.0100", "email": "x@example.com"}
    )
    api.send("identify", anonymousId="c", traits={"phone": "4155550100"})
    assert len({api.profile(anonymous_id=x)["id"] for x in "abc"}) == 1


def test_alias_links_previous_id(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    api = Api(client, workspace)
    api.send("track", anonymousId="old-anon", event="Browsed")
    api.send("alias", previousId="old-anon", userId="u-alias")
    assert api.profile(user_id="u-alias")["id"] == api.profile(anonymous_id="old-anon")["id"]


def test_merge_records_are_per_workspace(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    a, b = Api(client, workspace), Api(client, other_workspace)
    a.send("identify", userId="same", traits={"email": "same@example.com"})
    b.send("identify", userId="same", traits={"email": "same@example.com"})
    pa, pb = a.profile(user_id="same"), b.profile(user_id="same")
    assert pa["id"] != pb["id"]
    # Workspace A's token cannot see B's person by id, lookup, timeline or merges.
    for path in (
        f"/api/v1/profiles/{pb['id']}",
        f"/api/v1/profiles/{pb['id']}/timeline",
        f"/api/v1/profiles/{pb['id']}/merges",
    ):
        assert client.get(path, headers=a.read).status_code == 404
    response = client.post(f"/api/v1/profiles/{pb['id']}/split", json={}, headers=a.read)
    assert response.status_code == 404
    assert session.scalars(select(Merge)).all() == []
