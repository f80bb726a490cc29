"""Audience destinations on both databases: which URLs they may have, the signature's
arithmetic, creating one (the secret shown once, kept encrypted), changing, rotating and
deleting it, the permissions, and the wiring of the job engine (a membership change
enqueues the dispatch; the jobs are registered)."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord import jobs as accord_jobs
from accord.analyze.audiences import service, webhooks
from accord.analyze.audiences.models import Destination
from accord.analyze.segments import service as segments
from accord.config import Settings
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.errors import AccordError
from accord.kit.security import decrypt
from tests.analyze.helpers import NOW, People, segment
from tests.analyze.test_audiences_webhooks import Jobs, Receiver, create, receiver, settings, team
from tests.helpers import bearer

__all__ = ["receiver", "settings"]  # the fixtures this module uses


# --- the wire ------------------------------------------------------------------------------


def test_destination_urls_are_http_and_never_the_link_local_network() -> None:
    assert (
        webhooks.check_url(" https://hooks.example.com/a?b=1 ") == "https://hooks.example.com/a?b=1"
    )
    assert webhooks.check_url("http://127.0.0.1:8080/x") == "http://127.0.0.1:8080/x"
    for bad in (
        "ftp://example.com/x",
        "example.com/x",
        "https://user:pw@example.com/",
        "http://169.254.169.254/latest/meta-data",
        "http://[fe80::1]/",
        "http://0.0.0.0/",
        "http://example.com:99999/",
        "https://",
    ):
        with pytest.raises(AccordError) as caught:
            webhooks.check_url(bad)
        assert caught.value.field == "url", bad


def test_the_signature_is_an_hmac_of_the_time_and_the_body() -> None:
    body = b'{"id":"1"}'
    header = webhooks.signature("whsec_x", 1_700_000_000, body)
    expected = hmac.new(b"whsec_x", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert webhooks.verify("whsec_x", header, body, now=1_700_000_100)
    assert not webhooks.verify("whsec_x", header, body + b" ", now=1_700_000_100)
    assert not webhooks.verify("whsec_y", header, body, now=1_700_000_100)
    assert not webhooks.verify("whsec_x", header, body, now=1_700_000_000 + 301)
    assert not webhooks.verify("whsec_x", "garbage", body)


# --- destinations ------------------------------------------------------------------------------


def test_destinations_are_created_with_a_secret_shown_once_and_kept_encrypted(
    client: TestClient,
    session: Session,
    settings: Settings,
    workspace: ProvisionedWorkspace,
    receiver: Receiver,
) -> None:
    ws = workspace.workspace.id
    auth = bearer(workspace.api_token)
    seg = segment(session, ws, team(), name="Team A")
    session.commit()
    made = create(client, workspace, receiver.url, segment_ids=[str(seg.id)])
    secret = made["secret"]
    assert secret.startswith("whsec_")
    assert made["events"] == ["Audience Entered", "Audience Exited"]
    assert made["segment_ids"] == [str(seg.id)]
    listed = client.get("/api/v1/destinations", headers=auth).json()["data"]
    assert [d["id"] for d in listed] == [made["id"]]
    assert "secret" not in listed[0]
    with session.begin_nested():
        row = session.get(Destination, uuid.UUID(made["id"]))
        assert row is not None
        assert secret not in row.secret_encrypted
        plain = decrypt(settings.resolved_secret_key, row.secret_encrypted, service.SECRET_PURPOSE)
        assert plain == secret

    for body, field, code in (
        ({"name": "x", "url": "ftp://example.com"}, "url", 422),
        ({"name": "x", "url": "http://169.254.169.254/"}, "url", 422),
        (
            {"name": "x", "url": receiver.url, "segment_ids": [str(uuid.uuid4())]},
            "segment_ids",
            422,
        ),
        ({"name": "CRM", "url": receiver.url}, "name", 409),
        ({"name": "x", "url": receiver.url, "events": ["Order Completed"]}, None, 422),
    ):
        refused = client.post("/api/v1/destinations", json=body, headers=auth)
        assert refused.status_code == code, refused.text
        if field is not None:
            assert refused.json()["field"] == field

    url = f"/api/v1/destinations/{made['id']}"
    changed = client.patch(
        url, json={"segment_ids": [], "events": ["Audience Exited"]}, headers=auth
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["segment_ids"], changed.json()["events"]) == (None, ["Audience Exited"])
    rotated = client.post(f"{url}/secret", headers=auth)
    assert rotated.status_code == 200
    assert rotated.json()["secret"] not in (secret, None)
    assert client.delete(url, headers=auth).status_code == 204
    assert client.get(url, headers=auth).status_code == 404


def test_reads_need_analytics_read_and_destinations_need_segments_write_and_profiles_read(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, receiver: Receiver
) -> None:
    ws = workspace.workspace.id

    def token(*scopes: str) -> dict[str, str]:
        _, plain = access.create_key(
            session,
            workspace_id=ws,
            kind="token",
            name="-".join(scopes),
            actor=Principal.cli(ws),
            scopes=list(scopes),
        )
        session.commit()
        return bearer(plain)

    made = create(client, workspace, receiver.url)
    base = f"/api/v1/destinations/{made['id']}"
    reader = token("analytics:read")
    writer = token("analytics:read", "segments:write")
    assert client.get("/api/v1/destinations", headers=reader).status_code == 200
    assert client.get(f"{base}/deliveries", headers=reader).status_code == 200
    body = {"name": "Other", "url": receiver.url}
    for headers in (reader, writer):
        refused = client.post("/api/v1/destinations", json=body, headers=headers)
        assert refused.status_code == 403
        assert refused.json()["code"] == "insufficient_scope"
    assert client.patch(base, json={"status": "paused"}, headers=writer).status_code == 403
    assert client.post(f"{base}/test", headers=reader).status_code == 403
    assert client.post(f"{base}/test", headers=writer).status_code == 202
    assert client.get("/api/v1/destinations", headers=token("profiles:read")).status_code == 403


def test_a_membership_change_enqueues_the_dispatch_and_the_jobs_are_registered(
    session: Session, settings: Settings, workspace: ProvisionedWorkspace, session_factory: Any
) -> None:
    ws = workspace.workspace.id
    fake = Jobs()
    engine = accord_jobs.segment_engine(fake)  # type: ignore[arg-type]
    People(session, ws).person("ana", {"team": "a"})
    segments.build(session, engine, segment(session, ws, team()), now=NOW)
    assert fake.enqueued == []  # only once committed
    session.commit()
    assert ("audiences.dispatch", ws) in fake.enqueued
    jobs, _ = accord_jobs.build(settings, session_factory)
    try:
        names = set(jobs.names())
        assert {"audiences.dispatch", "audiences.deliver", "audiences.sweep"} <= names
    finally:
        jobs.close()
