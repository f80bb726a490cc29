"""A spam complaint forwarded by a mailbox provider (an ARF feedback report, RFC 5965)
withdraws the person's consent to marketing by email, with the complaint as the source,
so every later campaign and journey email to them is refused with it as the reason; the
report itself opens no conversation; a bounce or a complaint about a campaign's email
marks its send. Both databases."""

from __future__ import annotations

import smtplib
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.app import create_app
from accord.channels import mime
from accord.channels.email import receive_email
from accord.channels.inbound import InboundHandler, smtp_controller
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.context import InboxContext
from accord.outreach import tasks
from accord.outreach.job import Deployment
from accord.outreach.receipts import email_report
from tests.helpers import Committed, bearer, free_port, live_server
from tests.outreach import helpers
from tests.resolve.test_identity import Api
from tests.smtp_sink import Sink


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


def dsn(to: str, message_id: str) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: help@northwind.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: text/plain\r\n\r\nThe mail could not be delivered.\r\n"
        "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {to}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\nSubject: The spring sale\r\n"
        "--r--\r\n"
    ).encode()


def test_reports_arriving_later_mark_the_campaigns_sends(
    committed: Committed, smtp_sink: Sink
) -> None:
    """A campaign's email bounces after the relay took it, another is reported as spam:
    both reports reach the support mailbox through Accord's SMTP listener, and the
    campaign's sends say so (the people are marked as for any report)."""
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(resolve_worker=False, resolve_inline=True, jobs_worker=False)
    people = helpers.PEOPLE[:3]
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        helpers.mailbox(api, smtp_sink)
        helpers.send_people(base, ws.write_key, people)
        campaign = helpers.campaign(api, helpers.segment(api))
        assert api.post(f"/api/v1/outreach/campaigns/{campaign['id']}/launch").status_code == 200
        deployment = Deployment(secret_key="k" * 40, base_url=base)
        tally = tasks.deliver(committed.factory, uuid.UUID(campaign["id"]), deployment=deployment)
        assert tally.sent == 3
        ids = {str(m["To"]): str(m["Message-ID"]) for m in smtp_sink.wait_for(3)}

        handler = InboundHandler(
            committed.factory,
            secret_key="k" * 40,
            base_url=base,
            data_dir=committed.data_dir,
            reported=email_report,
        )
        port = free_port()
        controller = smtp_controller(handler, "127.0.0.1", port)
        controller.start()
        try:
            with smtplib.SMTP("127.0.0.1", port) as client:
                for raw in (
                    dsn("ana@example.com", ids["ana@example.com"]),
                    arf("ben@example.com", ids["ben@example.com"]),
                    dsn("ana@example.com", ids["ana@example.com"]),  # a second report
                ):
                    client.sendmail("mailer-daemon@mx.example.com", ["help@northwind.example"], raw)
        finally:
            controller.stop()
        sends = api.get(f"/api/v1/outreach/campaigns/{campaign['id']}/sends").json()["data"]
        by_address = {s["address"]: s for s in sends}
        assert by_address["ana@example.com"]["status"] == "bounced"
        assert "undeliverable" in by_address["ana@example.com"]["reason"]
        assert by_address["ben@example.com"]["status"] == "complained"
        assert by_address["cho@example.com"]["status"] == "sent"
        counts = api.get(f"/api/v1/outreach/campaigns/{campaign['id']}").json()["counts"]
        assert counts == {"sent": 1, "bounced": 1, "complained": 1}
        ben = helpers.person_id(api, "ben@example.com")
        decision = api.get(
            "/api/v1/consent/check",
            params={"profile_id": ben, "channel": "email", "purpose": "marketing"},
        ).json()
        assert decision["allowed"] is False
