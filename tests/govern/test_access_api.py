from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access.models import ApiKey, User
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer

PROBLEM = "application/problem+json"


def assert_problem(response, status: int, code: str, field: str | None = None) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["detail"]
    if field is not None:
        assert body["field"] == field
    return body


def test_user_lifecycle(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    auth = bearer(workspace.api_token)
    created = client.post(
        "/api/v1/users", json={"email": "Agent@Example.com", "role": "agent"}, headers=auth
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["email"] == "agent@example.com"
    assert body["role"] == "agent"
    assert len(body["generated_password"]) >= 12
    user_id = body["user_id"]

    listed = client.get("/api/v1/users", headers=auth).json()["data"]
    assert [u["email"] for u in listed] == ["agent@example.com"]

    changed = client.patch(f"/api/v1/users/{user_id}", json={"role": "analyst"}, headers=auth)
    assert changed.status_code == 200
    assert changed.json()["role"] == "analyst"

    assert client.delete(f"/api/v1/users/{user_id}", headers=auth).status_code == 204
    assert_problem(client.get(f"/api/v1/users/{user_id}", headers=auth), 404, "not_found")


def test_bad_input_names_the_field(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    auth = bearer(workspace.api_token)
    assert_problem(
        client.post("/api/v1/users", json={"email": "not-an-email", "role": "agent"}, headers=auth),
        422,
        "validation_error",
        "email",
    )
    assert_problem(
        client.post("/api/v1/users", json={"email": "a@example.com", "role": "boss"}, headers=auth),
        422,
        "validation_error",
        "role",
    )
    assert_problem(
        client.post("/api/v1/users", json={"role": "agent"}, headers=auth),
        422,
        "validation_error",
        "email",
    )
    assert_problem(
        client.post(
            "/api/v1/keys", json={"kind": "token", "name": "x", "scopes": ["root"]}, headers=auth
        ),
        422,
        "validation_error",
        "scopes.0",
    )
    assert_problem(
        client.post(
            "/api/v1/keys",
            content=b"{not json",
            headers={**auth, "content-type": "application/json"},
        ),
        400,
        "invalid_json",
        "body",
    )
    assert_problem(
        client.get("/api/v1/users/not-a-uuid", headers=auth), 422, "validation_error", "user_id"
    )


def test_duplicate_member_conflicts(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    auth = bearer(workspace.api_token)
    payload = {"email": "dup@example.com", "role": "agent"}
    assert client.post("/api/v1/users", json=payload, headers=auth).status_code == 201
    assert_problem(
        client.post("/api/v1/users", json=payload, headers=auth), 409, "conflict", "email"
    )


def test_last_admin_cannot_be_demoted_or_removed(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "boss@example.com", "admin")
    auth = bearer(workspace.api_token)
    boss = client.get("/api/v1/users", headers=auth).json()["data"][0]
    assert_problem(
        client.patch(f"/api/v1/users/{boss['user_id']}", json={"role": "agent"}, headers=auth),
        409,
        "last_admin",
        "role",
    )
    assert_problem(
        client.delete(f"/api/v1/users/{boss['user_id']}", headers=auth), 409, "last_admin"
    )


def test_scoped_token_is_limited_to_its_scopes(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    created = client.post(
        "/api/v1/keys",
        json={"kind": "token", "name": "reader", "scopes": ["workspace:read"]},
        headers=auth,
    )
    assert created.status_code == 201
    reader = bearer(created.json()["secret"])
    assert client.get("/api/v1/users", headers=reader).status_code == 200
    assert client.get("/api/v1/workspace", headers=reader).json()["name"] == "Acme"
    assert_problem(client.get("/api/v1/keys", headers=reader), 403, "insufficient_scope")
    assert_problem(
        client.post(
            "/api/v1/users", json={"email": "x@example.com", "role": "agent"}, headers=reader
        ),
        403,
        "insufficient_scope",
    )
    assert_problem(client.get("/api/v1/audit", headers=reader), 403, "insufficient_scope")


def test_revoked_token_is_refused(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    auth = bearer(workspace.api_token)
    created = client.post(
        "/api/v1/keys", json={"kind": "token", "name": "temp"}, headers=auth
    ).json()
    temp = bearer(created["secret"])
    assert client.get("/api/v1/workspace", headers=temp).status_code == 200
    assert client.delete(f"/api/v1/keys/{created['id']}", headers=auth).status_code == 204
    assert_problem(client.get("/api/v1/workspace", headers=temp), 401, "unauthorized")
    # A token cannot revoke itself (it would lock the caller out mid-request).
    own = next(
        k for k in client.get("/api/v1/keys", headers=auth).json()["data"] if k["kind"] == "token"
    )
    assert_problem(client.delete(f"/api/v1/keys/{own['id']}", headers=auth), 409, "self_revoke")


def test_write_key_cannot_read(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    body = assert_problem(
        client.get("/api/v1/users", headers=bearer(workspace.write_key)),
        403,
        "write_key_not_allowed",
    )
    assert "write key" in body["detail"]


def test_workspaces_are_isolated(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    add_user(session, other_workspace, "globex-admin@example.com", "admin")
    a, b = bearer(workspace.api_token), bearer(other_workspace.api_token)
    b_user = client.get("/api/v1/users", headers=b).json()["data"][0]
    b_key = client.get("/api/v1/keys", headers=b).json()["data"][0]

    assert client.get("/api/v1/users", headers=a).json()["data"] == []
    assert client.get("/api/v1/workspace", headers=a).json()["name"] == "Acme"
    assert_problem(client.get(f"/api/v1/users/{b_user['user_id']}", headers=a), 404, "not_found")
    assert_problem(
        client.patch(f"/api/v1/users/{b_user['user_id']}", json={"role": "agent"}, headers=a),
        404,
        "not_found",
    )
    assert_problem(client.delete(f"/api/v1/users/{b_user['user_id']}", headers=a), 404, "not_found")
    assert_problem(client.delete(f"/api/v1/keys/{b_key['id']}", headers=a), 404, "not_found")
    key_ids_a = {k["id"] for k in client.get("/api/v1/keys", headers=a).json()["data"]}
    assert b_key["id"] not in key_ids_a
    # B is untouched by A's attempts.
    assert client.get(f"/api/v1/users/{b_user['user_id']}", headers=b).json()["role"] == "admin"
    assert client.get("/api/v1/workspace", headers=b).status_code == 200


def test_secrets_are_stored_hashed(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    created = client.post(
        "/api/v1/users",
        json={"email": "pw@example.com", "role": "agent", "password": "a long passphrase"},
        headers=auth,
    )
    assert created.status_code == 201
    assert created.json()["generated_password"] is None
    user = session.scalars(select(User).where(User.email == "pw@example.com")).one()
    assert user.password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in user.password_hash
    tokens = session.scalars(select(ApiKey).where(ApiKey.kind == "token")).all()
    assert tokens
    for key in tokens:
        assert key.write_key is None
        assert workspace.api_token[4:] not in key.key_hash
        assert len(key.key_hash) == 64


def test_audit_log_records_changes(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    auth = bearer(workspace.api_token)
    client.post("/api/v1/users", json={"email": "aud@example.com", "role": "agent"}, headers=auth)
    events = client.get("/api/v1/audit", headers=auth).json()["data"]
    actions = [e["action"] for e in events]
    assert "member.added" in actions
    added = next(e for e in events if e["action"] == "member.added")
    assert added["actor"] == "token:Default API token"
    assert added["target"] == "aud@example.com"
