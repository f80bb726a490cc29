"""Every send asks the consent policy, and the suite knows every send.

The code is read: a function that writes an outbound message to a customer or calls a
transport must be a registered send path (or a registered record of something already
sent), every send path must ask the policy, a transport accepts only a permit that only
the policy gives, and every send path has a test that it is refused. Then the refusals
this file owns: an agent's reply and the double opt-in confirmation."""

from __future__ import annotations

import ast
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.channels import email as email_channel
from accord.channels.mailbox import Mailbox, Server
from accord.channels.notices import send_confirmation
from accord.govern.consent import service as consent
from accord.govern.consent.policy import Permit, may_contact
from accord.govern.consent.sendpaths import ASKS, RECORDS, SEND_PATHS, TRANSPORTS
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.errors import AccordError
from accord.profile.models import Profile
from tests.helpers import bearer
from tests.resolve.test_identity import Api

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "accord"

# Each send path and the test that shows it refused for consent.
REFUSAL_TESTS = {
    "accord.inbox.service.reply": "tests/govern/test_send_paths.py::"
    "test_a_reply_is_refused_with_the_consent_as_the_reason",
    "accord.inbox.csat.request_survey": "tests/inbox/test_unsubscribe.py::"
    "test_one_click_unsubscribe_from_a_real_email_stops_the_next_survey",
    "accord.channels.email.deliver_one": "tests/inbox/test_unsubscribe.py::"
    "test_a_survey_queued_before_the_unsubscribe_is_refused_when_sent",
    "accord.channels.sms_inbox.deliver_text": "tests/inbox/test_sms.py::"
    "test_a_text_queued_before_a_stop_is_refused_when_sent",
    "accord.social.delivery.deliver_reply": "tests/social/test_replies.py::"
    "test_a_reply_queued_before_the_author_opted_out_is_refused_when_sent",
    "accord.social.alerts._email": "tests/social/test_alerts.py::"
    "test_an_alert_is_not_emailed_to_a_suppressed_address",
    "accord.channels.notices.send_confirmation": "tests/govern/test_send_paths.py::"
    "test_the_opt_in_confirmation_is_not_sent_to_a_suppressed_address",
    "accord.chat.triggers.fire": "tests/chat/test_consent_sends.py::"
    "test_a_proactive_invitation_is_not_shown_to_a_visitor_who_refused_it",
    "accord.chat.service.start_chat": "tests/chat/test_consent_sends.py::"
    "test_an_agent_cannot_open_a_chat_with_a_visitor_who_refused_chat",
    "accord.chat.transcript.send": "tests/chat/test_consent_sends.py::"
    "test_a_transcript_is_not_mailed_to_a_suppressed_address",
    "accord.outreach.sending.send_batch": "tests/outreach/test_sending.py::"
    "test_a_person_without_marketing_consent_is_skipped_with_the_reason",
    "accord.outreach.service.test_send": "tests/outreach/test_sending.py::"
    "test_a_test_send_is_never_mailed_to_a_suppressed_address",
}


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _sends(node: ast.Call) -> bool:
    """A call that writes an outbound message or hands one to a transport."""
    name = _called(node)
    transports = {t.rsplit(".", 1)[1] for t in TRANSPORTS}
    if name in transports:
        return True
    if name != "add_message":
        return False
    return any(
        kw.arg == "direction" and isinstance(kw.value, ast.Constant) and kw.value.value == "out"
        for kw in node.keywords
    )


def _functions() -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every top-level function and method of the package, by its dotted name."""
    out: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        # Migrations send nothing; the benchmarks talk only to sinks of their own on
        # loopback (the send benchmark's limit hands pre-rendered messages to one).
        if "migrations" in path.parts or "bench" in path.parts:
            continue
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        tree = ast.parse(path.read_text())
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                out[f"{module}.{node.name}"] = node
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                        out[f"{module}.{node.name}.{item.name}"] = item
    return out


def test_every_function_that_sends_is_a_registered_send_path() -> None:
    functions = _functions()
    sending = {
        name
        for name, fn in functions.items()
        if name not in TRANSPORTS
        and any(isinstance(n, ast.Call) and _sends(n) for n in ast.walk(fn))
    }
    unregistered = sending - set(SEND_PATHS) - set(RECORDS)
    assert not unregistered, (
        f"{sorted(unregistered)} send to customers without being registered in "
        "accord/govern/consent/sendpaths.py (and asking may_contact)"
    )
    # The registry names only what exists and still sends.
    assert set(SEND_PATHS) | set(RECORDS) <= set(functions)
    assert sending >= set(SEND_PATHS) - {"accord.chat.triggers.fire"}


def test_every_send_path_asks_the_policy() -> None:
    functions = _functions()
    for name in SEND_PATHS:
        calls = {_called(n) for n in ast.walk(functions[name]) if isinstance(n, ast.Call)}
        assert calls & ASKS, f"{name} does not ask the consent policy"


def test_transports_take_only_a_permit_from_the_policy() -> None:
    functions = _functions()
    for name in TRANSPORTS:
        args = [a.arg for a in functions[name].args.args]
        assert "permit" in args, f"{name} must take a Permit"
    with pytest.raises(TypeError):
        Permit(uuid.uuid4(), "email", "service", None, "a@example.com", "contract")
    box = Mailbox(address="help@example.com", name="Help", relay=Server("127.0.0.1", 1))
    with pytest.raises(PermissionError):
        email_channel.transport(box, object(), "a@example.com", None)  # type: ignore[arg-type]


def test_every_send_path_has_a_test_of_its_refusal() -> None:
    assert set(REFUSAL_TESTS) == set(SEND_PATHS)
    for path, test in REFUSAL_TESTS.items():
        file, _, name = test.partition("::")
        assert f"def {name}(" in (ROOT / file).read_text(), f"{path}: {test} is missing"


# --- refusals ------------------------------------------------------------------------------


def _person(client: TestClient, ws: ProvisionedWorkspace, email: str) -> str:
    api = Api(client, ws)
    api.send("identify", userId=f"u-{email}", traits={"email": email})
    return str(api.profile(email=email)["id"])


def test_a_reply_is_refused_with_the_consent_as_the_reason(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    r = client.post(
        "/api/v1/messages",
        headers=auth,
        json={"channel": "email", "contact": {"email": "rae@example.com"}, "body": "Help"},
    )
    assert r.status_code == 201, r.text
    cid, pid = r.json()["conversation"]["id"], r.json()["conversation"]["profile_id"]
    r = client.post(
        f"/api/v1/profiles/{pid}/consent",
        headers=auth,
        json={"channel": "email", "purpose": "all", "status": "denied", "source": "email_reply"},
    )
    assert r.status_code == 201, r.text
    r = client.post(f"/api/v1/conversations/{cid}/replies", headers=auth, json={"body": "Hi"})
    assert r.status_code == 409
    body: dict[str, Any] = r.json()
    assert body["code"] == "no_consent"
    assert body["field"] == "channel"
    assert "denied consent to everything by email" in body["detail"]


def test_the_opt_in_confirmation_is_not_sent_to_a_suppressed_address(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    r = client.put(
        "/api/v1/mailbox",
        headers=auth,
        json={"address": "help@acme.example", "relay": {"host": "127.0.0.1", "port": 1}},
    )
    assert r.status_code == 200, r.text
    pid = _person(client, workspace, "sam@example.com")
    r = client.post(
        "/api/v1/consent/suppressions",
        headers=auth,
        json={"identifiers": [{"type": "email", "value": "sam@example.com"}]},
    )
    assert r.status_code == 201, r.text
    session.expire_all()  # the API wrote the mailbox through a session of its own
    ws = session.get(Workspace, workspace.workspace.id)
    person = session.get(Profile, uuid.UUID(pid))
    assert ws is not None
    assert person is not None
    pending = consent.record(
        session,
        ws.id,
        person.id,
        channel="email",
        purpose="marketing",
        status="pending",
        source="form",
    )
    with pytest.raises(AccordError) as refused:
        send_confirmation(
            session,
            ws,
            person,
            pending,
            to="sam@example.com",
            secret_key="k" * 40,
            base_url="http://127.0.0.1:8000",
        )
    assert refused.value.code == "suppressed"
    assert not may_contact(
        session, ws, person, "email", "service", address="sam@example.com"
    ).allowed
