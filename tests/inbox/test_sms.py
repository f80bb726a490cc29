"""Text messages in the inbox over a real provider API on loopback (Twilio's format): a
customer's text opens a conversation, the agent's reply goes out through the provider
and its delivery receipt comes back, the customer's answer continues the same
conversation, STOP withdraws consent to texts and START gives it back, and a callback
without the provider's signature is refused. Both databases."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
import pytest

from accord.app import create_app
from accord.channels import sms
from accord.channels.sms_inbox import deliver_text
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Message
from accord.kit.db import read_only
from tests.helpers import Committed, bearer, held_port, live_server, port_of
from tests.sms_provider import NUMBER, Provider, sms_provider, twilio_signature
from tests.smtp_sink import wait_until

T = TypeVar("T")
CUSTOMER = "+14155550134"


@dataclass
class Setup:
    base: str
    ws: ProvisionedWorkspace
    api: httpx.Client
    provider: Provider

    @property
    def inbound(self) -> str:
        return f"{self.base}/v1/sms/{self.ws.workspace.id}/inbound"

    def conversations(self) -> list[dict[str, Any]]:
        return list(self.api.get("/api/v1/conversations").json()["data"])

    def thread(self, cid: str) -> list[dict[str, Any]]:
        return list(self.api.get(f"/api/v1/conversations/{cid}").json()["messages"])

    def may_text(self, pid: str, purpose: str = "service") -> dict[str, Any]:
        r = self.api.get(
            "/api/v1/consent/check",
            params={"channel": "sms", "purpose": purpose, "profile_id": pid},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())


@pytest.fixture
def texting(committed: Committed) -> Iterator[Setup]:
    with sms_provider() as provider, _served(committed, provider, outbox=True) as setup:
        yield setup


@contextmanager
def _served(committed: Committed, provider: Provider, *, outbox: bool) -> Iterator[Setup]:
    ws = committed.workspace("Northwind Outdoor")
    held = held_port()
    port = port_of(held)
    settings = committed.settings(
        resolve_worker=False,
        resolve_inline=True,
        outbox_worker=outbox,
        imap_poll_seconds=0,
        jobs_worker=False,
        base_url=f"http://127.0.0.1:{port}",
    )
    with live_server(create_app(settings), held) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        r = api.put("/api/v1/sms", json=provider.settings())
        assert r.status_code == 200, r.text
        yield Setup(base, ws, api, provider)


def test_a_text_conversation_in_and_out_with_receipts(texting: Setup) -> None:
    s = texting
    stored = s.api.get("/api/v1/sms").json()
    assert stored["auth_token_set"] is True
    assert stored["from_number"] == NUMBER
    assert s.provider.token not in str(stored)

    r = s.provider.inbound(s.inbound, CUSTOMER, "Hi, my order #1042 has not arrived")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/xml")
    assert "<Message>" not in r.text  # nothing is texted back
    (conv,) = s.conversations()
    assert conv["channel"] == "sms"
    cid, pid = conv["id"], conv["profile_id"]
    assert pid is not None
    (first,) = s.thread(cid)
    assert (first["direction"], first["channel"], first["address"]) == ("in", "sms", CUSTOMER)

    # The agent answers; on a text conversation the reply is a text, by the provider.
    r = s.api.post(f"/api/v1/conversations/{cid}/replies", json={"body": "Checking now, Dana!"})
    assert r.status_code == 201, r.text
    assert (r.json()["channel"], r.json()["address"]) == ("sms", CUSTOMER)
    (text,) = s.provider.wait_for(1)
    assert (text.to, text.sender, text.body) == (CUSTOMER, NUMBER, "Checking now, Dana!")
    assert text.status_callback is not None
    assert text.status_callback.startswith(f"{s.base}/v1/sms/{s.ws.workspace.id}/receipts/")
    wait_until(lambda: s.thread(cid)[-1]["delivery"] == "sent")

    # The carrier's receipt: delivered (a late "sent" does not move it back).
    assert s.provider.receipt(text, "delivered").status_code == 204
    assert s.provider.receipt(text, "sent").status_code == 204
    assert s.thread(cid)[-1]["delivery"] == "delivered"

    # The customer answers: the same conversation.
    r = s.provider.inbound(s.inbound, CUSTOMER, "Thanks! It was due Monday")
    assert r.status_code == 200, r.text
    assert [c["id"] for c in s.conversations()] == [cid]
    assert [m["body"] for m in s.thread(cid)][-1] == "Thanks! It was due Monday"
    assert len(s.thread(cid)) == 3


def test_stop_withdraws_every_text_and_start_gives_them_back(texting: Setup) -> None:
    s = texting
    assert s.provider.inbound(s.inbound, CUSTOMER, "Where is my parcel?").status_code == 200
    (conv,) = s.conversations()
    cid, pid = conv["id"], conv["profile_id"]
    assert s.may_text(pid)["allowed"] is True

    # A keyword is no message of the conversation, and a redelivery records nothing twice.
    stop = {
        "AccountSid": s.provider.account,
        "MessageSid": "SM" + "f" * 32,
        "From": CUSTOMER,
        "To": NUMBER,
        "Body": "Stop",
    }
    for _ in range(2):
        r = s.provider.post(s.inbound, stop)
        assert r.status_code == 200, r.text
    assert len(s.thread(cid)) == 1
    for purpose in ("service", "marketing"):
        decision = s.may_text(pid, purpose)
        assert decision["allowed"] is False
        assert decision["code"] == "no_consent"
        assert "SMS STOP" in decision["reason"]
    history = s.api.get(f"/api/v1/profiles/{pid}/consent").json()["history"]
    stops = [h for h in history if h["source"] == "sms_stop"]
    assert len(stops) == 1
    assert stops[0]["channel"] == "sms"
    assert stops[0]["purpose"] == "all"
    assert stops[0]["status"] == "withdrawn"
    r = s.api.post(f"/api/v1/conversations/{cid}/replies", json={"body": "Are you there?"})
    assert r.status_code == 409
    assert r.json()["code"] == "no_consent"
    assert r.json()["field"] == "channel"
    # Email is not touched by a STOP.
    email = {"channel": "email", "purpose": "service", "profile_id": pid}
    assert s.api.get("/api/v1/consent/check", params=email).json()["allowed"]

    assert s.provider.inbound(s.inbound, CUSTOMER, "START").status_code == 200
    assert s.may_text(pid)["allowed"] is True
    r = s.api.post(f"/api/v1/conversations/{cid}/replies", json={"body": "Welcome back"})
    assert r.status_code == 201, r.text
    assert s.provider.wait_for(1)[0].body == "Welcome back"


def test_keyword_replies_when_the_workspace_answers_them(texting: Setup) -> None:
    s = texting
    r = s.api.put(
        "/api/v1/sms", json={**s.provider.settings(), "keyword_replies": True, "help_text": "Help!"}
    )
    assert r.status_code == 200, r.text
    assert s.api.get("/api/v1/sms").json()["auth_token_set"] is True
    r = s.provider.inbound(s.inbound, CUSTOMER, "help")
    assert "<Message>Help!</Message>" in r.text
    r = s.provider.inbound(s.inbound, CUSTOMER, "STOP")
    assert "unsubscribed" in r.text
    assert "START" in r.text
    assert s.conversations() == []


def test_callbacks_without_the_providers_signature_are_refused(texting: Setup) -> None:
    s = texting
    params = {"AccountSid": s.provider.account, "MessageSid": "SM1", "From": CUSTOMER, "Body": "x"}
    wrong = twilio_signature("not-the-token", s.inbound, list(params.items()))
    for headers in ({}, {"X-Twilio-Signature": wrong}):
        r = httpx.post(s.inbound, data=params, headers=headers)
        assert r.status_code == 401, r.text
        assert r.json()["code"] == "bad_signature"
        assert r.json()["field"] == "X-Twilio-Signature"
    # Signed for another workspace's address: its URL is part of what is signed.
    other = f"{s.base}/v1/sms/{uuid.uuid4()}/inbound"
    signature = twilio_signature(s.provider.token, s.inbound, list(params.items()))
    r = httpx.post(other, data=params, headers={"X-Twilio-Signature": signature})
    assert r.status_code == 401
    assert s.conversations() == []


def test_a_number_the_provider_refuses_fails_with_its_reason_and_undelivered_is_shown(
    texting: Setup,
) -> None:
    s = texting
    assert s.provider.inbound(s.inbound, CUSTOMER, "Hello").status_code == 200
    (conv,) = s.conversations()
    cid = conv["id"]
    r = s.api.post(f"/api/v1/conversations/{cid}/replies", json={"body": "Hi there"})
    assert r.status_code == 201, r.text
    (text,) = s.provider.wait_for(1)
    wait_until(lambda: s.thread(cid)[-1]["delivery"] == "sent")
    assert s.provider.receipt(text, "undelivered", "30003").status_code == 204
    last = s.thread(cid)[-1]
    assert last["delivery"] == "undelivered"
    assert "error 30003" in last["delivery_error"]
    # The provider refuses the number for good (it texted STOP to the provider itself).
    s.provider.unsubscribed.add(CUSTOMER)
    r = s.api.post(f"/api/v1/conversations/{cid}/replies", json={"body": "Again"})
    assert r.status_code == 201, r.text
    last = wait_until(lambda: (m := s.thread(cid)[-1])["delivery"] == "failed" and m)
    assert "21610" in last["delivery_error"]


def test_a_text_queued_before_a_stop_is_refused_when_sent(committed: Committed) -> None:
    with sms_provider() as provider, _served(committed, provider, outbox=False) as s:
        assert provider.inbound(s.inbound, CUSTOMER, "Is the store open?").status_code == 200
        (conv,) = s.conversations()
        r = s.api.post(f"/api/v1/conversations/{conv['id']}/replies", json={"body": "Yes, 9-5"})
        assert r.status_code == 201, r.text
        message_id = uuid.UUID(r.json()["id"])
        assert provider.inbound(s.inbound, CUSTOMER, "STOP").status_code == 200
        state = deliver_text(
            committed.factory, message_id, "k" * 40, lambda *_: None, base_url=s.base
        )
        assert state == "refused"
        assert provider.texts == []
        with read_only(committed.factory) as session:
            message = session.get(Message, message_id)
            assert message is not None
            assert message.delivery_error is not None
            assert "SMS STOP" in message.delivery_error


def test_signature_matches_twilios_published_example() -> None:
    # The example in Twilio's documentation of webhook security.
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675310"),
        ("Digits", "1234"),
        ("From", "+14158675310"),
        ("To", "+18005551212"),
    ]
    assert sms.signature("12345", url, params) == "GvWf1cFY/Q7PnoempGyD5oXAezc="
    assert sms.keyword_of(" stop! ") == "stop"
    assert sms.keyword_of("Stop sending me this") is None
    assert sms.segments("a" * 160) == 1
    assert sms.segments("a" * 161) == 2
    assert sms.segments("é" * 70) == 1
    assert sms.segments("😀" * 40) == 2


def test_texts_are_not_offered_without_a_number_to_send_from(texting: Setup) -> None:
    s = texting
    assert s.provider.inbound(s.inbound, CUSTOMER, "Hello?").status_code == 200
    (conv,) = s.conversations()
    r = s.api.put("/api/v1/sms", json={**s.provider.settings(), "from_number": ""})
    assert r.status_code == 200, r.text
    r = s.api.post(
        f"/api/v1/conversations/{conv['id']}/replies", json={"body": "Hi", "channel": "sms"}
    )
    assert r.status_code == 422
    assert (r.json()["code"], r.json()["field"]) == ("unreachable", "channel")
    assert s.provider.texts == []


def test_a_text_from_a_sender_that_is_no_phone_number_still_reaches_the_inbox(
    texting: Setup,
) -> None:
    # Short codes and alphanumeric senders are not numbers a person can be known by.
    for sender in ("72345", "NORTHWIND"):
        r = texting.provider.inbound(texting.inbound, sender, f"Your code from {sender}")
        assert r.status_code == 200, r.text
    bodies = sorted(m["body"] for c in texting.conversations() for m in texting.thread(c["id"]))
    assert bodies == ["Your code from 72345", "Your code from NORTHWIND"]
