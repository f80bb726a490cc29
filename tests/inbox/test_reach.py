"""Answering where Accord can deliver, on both databases. A written reply goes only by
email or on a live chat; a caller is answered by calling back (a logged call, or a
callback scheduled as a task), never by a "sent" message nobody delivers; social has no
reply yet. A reply refused for consent says which: the customer asked not to be
contacted (``doNotContact``) or their address bounced (``emailBounced``)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access.models import User
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox import service
from accord.inbox.context import Actor, InboxContext
from accord.inbox.models import Conversation, Message
from accord.kit.errors import AccordError
from accord.kit.time import utcnow
from tests.helpers import add_user, bearer, console_login

AGENT = "agent@acme-support.com"
PHONE = "+14155550123"


def _message(client: TestClient, ws: ProvisionedWorkspace, **body: Any) -> dict[str, Any]:
    body.setdefault("body", "Hello")
    r = client.post("/api/v1/messages", headers=bearer(ws.api_token), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json()["conversation"])


def _reply(client: TestClient, ws: ProvisionedWorkspace, cid: Any, **body: Any) -> Any:
    return client.post(
        f"/api/v1/conversations/{cid}/replies",
        headers=bearer(ws.api_token),
        json={"body": "We are on it", **body},
    )


def _channels(page: str) -> list[str]:
    found = re.search(r'<select name="channel" id="reply-channel"[^>]*>(.*?)</select>', page, re.S)
    assert found
    return re.findall(r'<option value="([^"]*)"', found.group(1))


def _thread(session: Session, cid: Any) -> list[Message]:
    stmt = select(Message).where(Message.conversation_id == uuid.UUID(str(cid)))
    return list(session.scalars(stmt.order_by(Message.created_at)))


def test_a_caller_is_answered_by_calling_back_never_by_a_sent_message(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, AGENT, "agent")
    call = _message(
        client, workspace, channel="phone", contact={"phone": PHONE}, body="Inbound call · 2m"
    )
    cid, number = call["id"], call["number"]
    # Nothing to write to: the API says so, and says what to do instead.
    r = _reply(client, workspace, cid)
    assert (r.status_code, r.json()["code"]) == (422, "unreachable")
    assert "call them back" in r.json()["detail"]
    assert _reply(client, workspace, cid, channel="phone").status_code == 422
    conversation = session.get(Conversation, uuid.UUID(cid))
    assert conversation is not None
    ctx = InboxContext.load(session, workspace.workspace.id, secret_key="k", base_url="http://x")
    with pytest.raises(AccordError) as refused:
        service.reply(session, ctx, conversation, Actor(None, "Ben"), "Hi", channel="phone")
    assert refused.value.code == "not_deliverable"
    assert not [m for m in _thread(session, cid) if m.direction == "out"]

    # The console offers no phone "reply", only calling back.
    csrf = console_login(client, AGENT)
    page = client.get(f"/inbox/{number}").text
    assert _channels(page) == [""]
    assert 'id="call-back"' in page
    assert PHONE in page
    r = client.post(
        f"/inbox/{number}/call",
        data={"csrf_token": csrf, "minutes": "3", "outcome": "reached", "notes": "New pole sent"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "error=" not in r.headers["location"]
    [logged] = [m for m in _thread(session, cid) if m.direction == "out"]
    assert (logged.channel, logged.address, logged.delivery) == ("phone", PHONE, None)
    assert logged.body == "Outbound call · 3m 00s · reached\nNew pole sent"
    session.refresh(conversation)
    assert conversation.first_response_at is not None  # the call answered the customer
    assert 'class="delivery dl-sent"' not in client.get(f"/inbox/{number}").text

    # Or a callback, as a task: a note, the conversation the agent's, snoozed till then.
    when = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
    r = client.post(
        f"/inbox/{number}/callback",
        data={"csrf_token": csrf, "when": when.strftime("%Y-%m-%dT%H:%M"), "notes": "Size"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert "error=" not in r.headers["location"]
    session.refresh(conversation)
    agent_id = session.scalars(select(User.id).where(User.email == AGENT)).one()
    assert conversation.status == "snoozed"
    assert conversation.snoozed_until == when
    assert "callback" in conversation.tags
    assert conversation.assignee_id == agent_id
    assert _thread(session, cid)[-1].body.startswith(f"Call back {PHONE} at ")


def test_social_messages_offer_no_reply_that_goes_nowhere(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, AGENT, "agent")
    social = _message(
        client, workspace, channel="social", contact={"social": {"twitter": "@kimtran"}}
    )
    r = _reply(client, workspace, social["id"])
    assert (r.status_code, r.json()["code"]) == (422, "unreachable")
    assert _reply(client, workspace, social["id"], channel="social").status_code == 422
    console_login(client, AGENT)
    page = client.get(f"/inbox/{social['number']}").text
    assert _channels(page) == [""]
    assert 'id="no-channel"' in page


@pytest.mark.parametrize(
    ("traits", "says"),
    [
        ({"doNotContact": True}, "asked not to be contacted (doNotContact)"),
        ({"emailBounced": True}, "email address bounced (emailBounced)"),
    ],
)
def test_a_reply_refused_for_consent_says_which(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    traits: dict[str, Any],
    says: str,
) -> None:
    add_user(session, workspace, AGENT, "agent")
    emailed = _message(
        client, workspace, channel="email", contact={"email": "kim@example.com"}, subject="Hi"
    )
    r = client.post(
        "/v1/identify",
        auth=(workspace.write_key, ""),
        json={"userId": "kim", "traits": {"email": "kim@example.com", **traits}},
    )
    assert r.status_code == 200, r.text
    r = _reply(client, workspace, emailed["id"])
    assert (r.status_code, r.json()["code"]) == (409, "no_consent")
    assert says in r.json()["detail"]
    assert "cannot be reached" not in r.json()["detail"]
    csrf = console_login(client, AGENT)
    r = client.post(
        f"/inbox/{emailed['number']}/reply",
        data={"csrf_token": csrf, "body": "Hello", "channel": ""},
        follow_redirects=False,
    )
    page = client.get(r.headers["location"]).text
    alert = re.search(r'<div class="alert error" role="alert">(.*?)</div>', page, re.S)
    assert alert
    assert says in alert.group(1).replace("&#39;", "'")
