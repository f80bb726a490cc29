"""Security headers: the console cannot be framed, runs only Accord's own scripts, and
every response says nosniff; the API reference works offline."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, console_login


def test_pages_send_a_content_security_policy(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com")
    console_login(client, "ada@example.com")
    for path in ("/login", "/customers", "/settings/identity", "/docs", "/redoc"):
        response = client.get(path)
        assert response.status_code == 200, path
        policy = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in policy
        assert re.search(r"script-src 'self' 'nonce-[\w-]{16,}'", policy)
        assert "unsafe-eval" not in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
    first = client.get("/login").headers["content-security-policy"]
    assert first != client.get("/login").headers["content-security-policy"]  # a fresh nonce


def test_the_api_and_errors_carry_them_too(client: TestClient) -> None:
    for response in (client.get("/health"), client.get("/api/v1/profiles")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_api_reference_pages_use_only_local_assets(client: TestClient) -> None:
    for path in ("/docs", "/redoc"):
        html = client.get(path).text
        sources = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert sources
        assert all(s.startswith("/static/") for s in sources), sources
        for s in sources:
            assert client.get(s).status_code == 200, s
