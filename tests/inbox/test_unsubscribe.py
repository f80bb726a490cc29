"""One-click unsubscribe over real transports, on both databases: the satisfaction
survey arrives through a real SMTP relay on loopback with RFC 8058's headers; the
mailbox provider's one-click POST withdraws the customer's consent to surveys by email at
once; the next survey is refused with the consent as the reason, while service replies
still go out. A survey queued before the customer unsubscribed is stopped at the moment
of sending."""

from __future__ import annotations

import time
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select

from accord.app import create_app
from accord.channels.email import deliver_one
from accord.govern.consent import service as consent
from accord.inbox.models import Message
from accord.kit.db import transaction
from tests.helpers import Committed, bearer, live_server
from tests.inbox.conftest import Sink


def _wait(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def _setup(api: httpx.Client, base: str, ws: Any, sink: Sink) -> tuple[str, str]:
    r = api.put(
        "/api/v1/mailbox",
        json={
            "address": "help@northwind-outdoor.com",
            "name": "Northwind Support",
            "relay": {"host": "127.0.0.1", "port": sink.port},
        },
    )
    assert r.status_code == 200, r.text
    r = httpx.post(
        f"{base}/v1/forms/contact",
        json={
            "writeKey": ws.write_key,
            "name": "Dana Reyes",
            "email": "dana.reyes@example.com",
            "subject": "Where is my order?",
            "message": "Order 1042 has not arrived.",
        },
    )
    assert r.status_code == 201, r.text
    conv = api.get("/api/v1/conversations", params={"q": "order"}).json()["data"][0]
    return conv["id"], conv["profile_id"]


def test_one_click_unsubscribe_from_a_real_email_stops_the_next_survey(
    committed: Committed, smtp_sink: Sink
) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(
        resolve_worker=False, outbox_worker=True, imap_poll_seconds=0, resolve_inline=True
    )
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        cid, person = _setup(api, base, ws, smtp_sink)
        r = api.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
        [survey] = smtp_sink.wait_for(1)
        assert survey["To"] == "dana.reyes@example.com"
        # RFC 8058: an HTTPS-able link in List-Unsubscribe and the one-click marker.
        assert survey["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        link = str(survey["List-Unsubscribe"]).strip()
        assert link.startswith("<")
        assert link.endswith(">")
        given = link[1:-1]
        assert urlsplit(given).path.startswith("/unsubscribe/")
        url = f"{base}{urlsplit(given).path}"  # the server under test, wherever it listens
        assert survey["Auto-Submitted"] == "auto-generated"
        text = survey.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert given in text  # the same link for a reader, in the footer

        # The provider's POST: no cookie, no CSRF token, the RFC's body.
        r = httpx.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert r.status_code == 200, r.text
        check = api.get(
            "/api/v1/consent/check",
            params={"profile_id": person, "channel": "email", "purpose": "surveys"},
        ).json()
        assert check["allowed"] is False
        assert "the unsubscribe link" in check["reason"]
        # Posting it again changes nothing (one withdrawal on record).
        assert httpx.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
        history = api.get(f"/api/v1/profiles/{person}/consent").json()["history"]
        assert [(h["channel"], h["purpose"], h["status"], h["source"]) for h in history] == [
            ("email", "surveys", "withdrawn", "unsubscribe_link")
        ]

        # Dana writes again; the conversation reopens and is resolved: no survey, and the
        # conversation says why.
        r = httpx.post(
            f"{base}/v1/forms/contact",
            json={
                "writeKey": ws.write_key,
                "name": "Dana Reyes",
                "email": "dana.reyes@example.com",
                "subject": "Where is my order?",
                "message": "Still nothing.",
            },
        )
        assert r.status_code == 201, r.text
        r = api.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
        detail = api.get(f"/api/v1/conversations/{cid}").json()
        refused = [e for e in detail["events"] if e["kind"] == "csat_not_sent"]
        assert len(refused) == 1
        assert "withdrew consent to surveys by email" in refused[0]["data"]["reason"]
        assert "unsubscribe link" in refused[0]["data"]["reason"]
        # A service reply still goes out.
        r = api.post(f"/api/v1/conversations/{cid}/replies", json={"body": "It ships today."})
        assert r.status_code == 201, r.text
        sent = smtp_sink.wait_for(2)
        assert sent[1]["Subject"].startswith("Re:")
        assert "List-Unsubscribe" not in sent[1]
        time.sleep(0.5)
        assert len(smtp_sink.messages) == 2


def test_a_survey_queued_before_the_unsubscribe_is_refused_when_sent(
    committed: Committed, smtp_sink: Sink
) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(
        resolve_worker=False, outbox_worker=False, imap_poll_seconds=0, resolve_inline=True
    )
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        cid, person = _setup(api, base, ws, smtp_sink)
        r = api.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved"})
        assert r.status_code == 200, r.text
    with transaction(committed.factory) as session:
        [queued] = session.scalars(
            select(Message).where(
                Message.conversation_id == uuid.UUID(cid), Message.delivery == "queued"
            )
        ).all()
        consent.record(
            session,
            ws.workspace.id,
            uuid.UUID(person),
            channel="email",
            purpose="surveys",
            status="withdrawn",
            source="preference_center",
        )
        queued_id = queued.id
    state = deliver_one(committed.factory, queued_id, "k" * 40, lambda *_: None)
    assert state == "refused"
    with transaction(committed.factory) as session:
        row = session.get(Message, queued_id)
        assert row is not None
        assert row.delivery == "refused"
        assert "withdrew consent to surveys by email" in (row.delivery_error or "")
    time.sleep(0.3)
    assert smtp_sink.messages == []
