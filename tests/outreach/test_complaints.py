"""A spam complaint forwarded by a mailbox provider (an ARF feedback report, RFC 5965)
withdraws the person's consent to marketing by email, with the complaint as the source,
so every later campaign and journey email to them is refused with it as the reason; the
report itself opens no conversation. Both databases."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.channels import mime
from accord.channels.email import receive_email
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.context import InboxContext
from tests.helpers import bearer
from tests.resolve.test_identity import Api


def arf(to: str, message_id: str, *, rcpt_header: bool = True) -> bytes:
    report = "Feedback-Type: abuse\r\nUser-Agent: ExampleFBL/1.0\r\nVersion: 1\r\n"
    if rcpt_header:
        report += f"Original-Rcpt-To: {to}\r\n"
    return (
        "From: fbl@mailbox-provider.example\r\nTo: news@northwind.example\r\n"
        "Subject: FW: spam complaint\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=feedback-report; boundary="b"\r\n\r\n'
        "--b\r\nContent-Type: text/plain\r\n\r\nThis is an email abuse report.\r\n"
        f"--b\r\nContent-Type: message/feedback-report\r\n\r\n{report}"
        "--b\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: Northwind <news@northwind.example>\r\nTo: {to}\r\n"
        f"Message-ID: {message_id}\r\nSubject: The spring sale\r\n"
        "--b--\r\n"
    ).encode()


def test_a_feedback_report_is_read_as_a_complaint() -> None:
    parsed = mime.parse(arf("Rae@Example.com", "<01a2@northwind.example>"))
    assert parsed.complaint_for == ["rae@example.com"]
    assert parsed.bounce_for == []
    assert parsed.bounced_message_id == "<01a2@northwind.example>"
    assert parsed.auto_submitted
    # Without Original-Rcpt-To, the complained-of message's To says who.
    fallback = mime.parse(arf("sam@example.com", "<x@y>", rcpt_header=False))
    assert fallback.complaint_for == ["sam@example.com"]


def test_a_spam_complaint_withdraws_email_marketing(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, settings: Any
) -> None:
    api = Api(client, workspace)
    api.send("identify", userId="rae", traits={"email": "rae@example.com"})
    person = str(api.profile(email="rae@example.com")["id"])
    auth = bearer(workspace.api_token)

    def check(purpose: str) -> dict[str, Any]:
        r = client.get(
            "/api/v1/consent/check",
            headers=auth,
            params={"profile_id": person, "channel": "email", "purpose": purpose},
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    assert check("marketing")["allowed"] is True  # an opt-out region, nothing recorded
    ctx = InboxContext.load(session, workspace.workspace.id, secret_key="k", base_url="http://x")
    assert (
        receive_email(session, ctx, arf("rae@example.com", "<s-1@northwind.example>"), None) is None
    )
    session.commit()
    refused = check("marketing")
    assert refused["allowed"] is False
    assert refused["code"] == "no_consent"
    assert "withdrew consent to marketing by email" in refused["reason"]
    assert "complaint" in refused["reason"]
    assert check("service")["allowed"] is True  # an order update still goes out
    assert client.get("/api/v1/conversations", headers=auth).json()["data"] == []
