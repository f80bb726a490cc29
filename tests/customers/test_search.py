from __future__ import annotations

import base64

from fastapi.testclient import TestClient

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import bearer


def test_search_by_name_email_and_phone_prefix(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    write = {
        "Authorization": "Basic " + base64.b64encode(f"{workspace.write_key}:".encode()).decode()
    }
    people = [
        ("u1", "Maria", "Gonzalez", "maria@example.com", "(512) 555-0134"),
        ("u2", "Mario", "Rossi", "rossi@example.com", "+44 20 7946 0958"),
        ("u3", "Ana", "Maria Lopez", "ana@example.com", "303.555.0100"),
    ]
    for user, first, last, email, phone in people:
        response = client.post(
            "/v1/identify",
            headers=write,
            json={
                "userId": user,
                "traits": {"firstName": first, "lastName": last, "email": email, "phone": phone},
            },
        )
        assert response.status_code == 200

    def names(q: str) -> set[str]:
        response = client.get(
            "/api/v1/profiles", params={"q": q}, headers=bearer(workspace.api_token)
        )
        assert response.status_code == 200
        return {p["display_name"] for p in response.json()["data"]}

    assert names("mari") == {"Maria Gonzalez", "Mario Rossi", "Ana Maria Lopez"}
    assert names("maria") == {"Maria Gonzalez", "Ana Maria Lopez"}  # any word of the name
    assert names("rossi@") == {"Mario Rossi"}
    assert names("(512) 555") == {"Maria Gonzalez"}  # national format, stored in E.164
    assert names("+44 20") == {"Mario Rossi"}
    assert names("zzz") == set()
    listed = client.get("/api/v1/profiles", headers=bearer(workspace.api_token)).json()["data"]
    assert {p["phone"] for p in listed} == {"+15125550134", "+442079460958", "+13035550100"}
