"""The public endpoints hold against floods and bad files: per-address, per-visitor and
per-key rate limits (429 with Retry-After, readable by a browser on another site), sizes
refused before a body is read, and only the file kinds a form or a chat takes, as they
say they are."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit import ratelimit
from tests.chat.test_chat import start

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 100


@pytest.fixture(autouse=True)
def still_clock(chat_app: FastAPI) -> None:
    """The limits count in windows of a minute: the test's requests stay in one."""
    now = time.time()
    chat_app.state.rate_limiter.clock = lambda: now


def _refused(response) -> None:  # type: ignore[no-untyped-def]
    assert response.status_code == 429, response.text
    assert response.json()["code"] == "rate_limited"
    assert int(response.headers["retry-after"]) >= 1
    assert response.headers["access-control-allow-origin"] == "*"


def test_chat_sessions_are_limited_per_address(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    for n in range(ratelimit.CHAT_SESSIONS_PER_ADDRESS.count):
        start(chat_client, site, f"anon-{n}")
    _refused(
        chat_client.post(
            "/v1/chat/session", json={"writeKey": site.write_key, "anonymousId": "one-more"}
        )
    )


def test_chat_uploads_are_limited_per_visitor(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    hello = start(chat_client, site, "anon-uploads")
    form = {"writeKey": site.write_key, "visitor": hello["visitor_id"], "token": hello["token"]}
    for _ in range(ratelimit.CHAT_UPLOADS_PER_VISITOR.count):
        r = chat_client.post(
            "/v1/chat/files", data=form, files={"file": ("a.png", PNG, "image/png")}
        )
        assert r.status_code == 201, r.text
    _refused(
        chat_client.post("/v1/chat/files", data=form, files={"file": ("a.png", PNG, "image/png")})
    )


def test_a_file_must_be_what_it_says(chat_client: TestClient, site: ProvisionedWorkspace) -> None:
    hello = start(chat_client, site, "anon-liar")
    form = {"writeKey": site.write_key, "visitor": hello["visitor_id"], "token": hello["token"]}
    fake = b"<html><script>alert(1)</script></html>"
    r = chat_client.post("/v1/chat/files", data=form, files={"file": ("x.png", fake, "image/png")})
    assert r.status_code == 415, r.text
    assert r.json()["code"] == "file_type_mismatch"
    r = chat_client.post(
        "/v1/chat/files", data=form, files={"file": ("x.txt", b"\x00\x01\x02" * 10, "text/plain")}
    )
    assert r.status_code == 415, r.text


def test_an_oversized_upload_is_refused_before_it_is_read(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    hello = start(chat_client, site, "anon-big")
    r = chat_client.post(
        "/v1/chat/files",
        content=b"x" * 100,
        headers={"content-type": "multipart/form-data; boundary=b", "content-length": str(2**30)},
    )
    assert r.status_code == 413, r.text
    assert hello["visitor_id"]


def test_forms_take_allowed_files_only_and_are_limited(
    chat_client: TestClient, site: ProvisionedWorkspace
) -> None:
    fields = {"writeKey": site.write_key, "email": "ada@example.com", "message": "Hello"}
    r = chat_client.post(
        "/v1/forms/contact",
        data=fields,
        files={"file": ("run.exe", b"MZ" * 50, "application/x-msdownload")},
    )
    assert r.status_code == 415, r.text
    assert r.json()["field"] == "file"
    many = [("file", (f"{n}.png", PNG, "image/png")) for n in range(6)]
    r = chat_client.post("/v1/forms/contact", data=fields, files=many)
    assert r.status_code in (400, 413), r.text
    ok = chat_client.post(
        "/v1/forms/contact", data=fields, files={"file": ("receipt.png", PNG, "image/png")}
    )
    assert ok.status_code == 201, ok.text
    for _ in range(ratelimit.FORMS_PER_ADDRESS.count - 3):
        assert chat_client.post("/v1/forms/contact", data=fields).status_code == 201
    _refused(chat_client.post("/v1/forms/contact", data=fields))
