"""Bad input to ``/api/v1`` is a 4xx naming the field, never a 5xx: offsets beyond what
the database takes, and a NUL character or a lone surrogate anywhere in a JSON body or a
query string (no column can hold either), caught once for every API request."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.guard import bad_query
from tests.govern.test_access_api import assert_problem
from tests.helpers import add_user, bearer, console_login

BEYOND = 2**63


@pytest.mark.parametrize("path", ["/api/v1/profiles", "/api/v1/resolve/candidates"])
def test_offsets_are_bounded_by_what_the_database_takes(
    client: TestClient, workspace: ProvisionedWorkspace, path: str
) -> None:
    auth = bearer(workspace.api_token)
    assert_problem(
        client.get(path, params={"offset": str(BEYOND)}, headers=auth),
        422,
        "validation_error",
        "offset",
    )
    largest = client.get(path, params={"offset": str(BEYOND - 1)}, headers=auth)
    assert largest.status_code == 200, largest.text
    assert largest.json()["data"] == []


def post(client: TestClient, ws: ProvisionedWorkspace, path: str, text: str) -> Any:
    return client.post(
        path,
        content=text.encode("utf-8", "surrogatepass"),
        headers={**bearer(ws.api_token), "content-type": "application/json"},
    )


@pytest.mark.parametrize(
    ("path", "text", "field"),
    [
        ("/api/v1/keys", '{"kind":"token","name":"k\\u0000"}', "name"),
        ("/api/v1/keys", '{"kind":"token","name":"k\\ud800"}', "name"),
        ("/api/v1/teams", '{"name":"Team\\u0000"}', "name"),
        (
            "/api/v1/canned-responses",
            '{"shortcut":"hi","title":"Hello","body":"Hi \\u0000 there"}',
            "body",
        ),
        ("/api/v1/teams", '{"name":"T","business_hours":{"mon\\u0000":[]}}', "business_hours"),
    ],
)
def test_nul_and_lone_surrogates_in_a_body_are_422(
    client: TestClient, workspace: ProvisionedWorkspace, path: str, text: str, field: str
) -> None:
    problem = assert_problem(post(client, workspace, path, text), 422, "validation_error")
    assert problem["field"].startswith(field), problem


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/api/v1/profiles", {"q": "a\x00"}, "q"),
        ("/api/v1/profiles/lookup", {"email": "a\x00@x.com"}, "email"),
        ("/api/v1/profiles/lookup", {"identifier": "user_id:\x00"}, "identifier"),
        ("/api/v1/conversations", {"q": "\x00"}, "q"),
    ],
)
def test_nul_in_a_query_string_is_422(
    client: TestClient,
    workspace: ProvisionedWorkspace,
    path: str,
    params: dict[str, str],
    field: str,
) -> None:
    response = client.get(path, params=params, headers=bearer(workspace.api_token))
    assert_problem(response, 422, "validation_error", field)


def test_good_text_passes(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    # An emoji written as a surrogate pair of escapes is text.
    created = post(client, workspace, "/api/v1/teams", '{"name":"Team \\ud83d\\ude00"}')
    assert created.status_code == 201, created.text
    assert created.json()["name"] == "Team \U0001f600"
    found = client.get("/api/v1/profiles", params={"q": "ann"}, headers=bearer(workspace.api_token))
    assert found.status_code == 200


def test_query_strings_are_read_as_starlette_reads_them() -> None:
    assert bad_query(b"q=a%00b") is not None
    assert bad_query(b"q=a%2500b") is None  # "%00" as text
    assert bad_query(b"a%00=1") is not None
    assert bad_query(b"q=%ED%A0%80") is None  # not UTF-8: read as U+FFFD
    assert bad_query(b"q=plain&limit=5") is None


def test_console_pages_refuse_nul_with_their_error_page(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com")
    csrf = console_login(client, "ada@example.com")
    found = client.get("/customers?q=a%00", headers={"accept": "text/html"})
    assert found.status_code == 422
    assert found.headers["content-type"].startswith("text/html")
    renamed = client.post(
        "/settings/workspace",
        data={"csrf_token": csrf, "name": "a\x00b"},
        headers={"accept": "text/html"},
    )
    assert renamed.status_code == 422
    assert client.get("/customers?q=ada").status_code == 200
