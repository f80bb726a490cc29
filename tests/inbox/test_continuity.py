"""The continuity story over real transports: a web form, an email reply through a real
SMTP relay, the customer's email reply into Accord's SMTP listener, a phone call with
the screen pop, a transfer with a note, resolution and the CSAT answer. One
conversation, one person, on both databases."""

from __future__ import annotations

import re
import smtplib
import time
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx

from accord.app import create_app
from accord.channels.inbound import InboundHandler, smtp_controller
from accord.govern.access.models import User
from accord.kit.db import transaction
from tests.helpers import Committed, add_user, bearer, free_port, live_server
from tests.inbox.conftest import Sink


def _user_id(committed: Committed, email: str) -> str:
    with transaction(committed.factory) as session:
        from sqlalchemy import select

        return str(session.scalars(select(User.id).where(User.email == email)).one())


def _wait(predicate, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_one_conversation_across_form_email_phone_transfer_and_csat(
    committed: Committed, smtp_sink: Sink
) -> None:
    ws = committed.workspace("Northwind Outdoor")
    with transaction(committed.factory) as session:
        add_user(session, ws, "ana@northwind-outdoor.com", role="agent")
        add_user(session, ws, "ben@northwind-outdoor.com", role="agent")
    ana, ben = (
        _user_id(committed, "ana@northwind-outdoor.com"),
        _user_id(committed, "ben@northwind-outdoor.com"),
    )
    settings = committed.settings(
        resolve_worker=False, outbox_worker=True, imap_poll_seconds=0, resolve_inline=True
    )
    app = create_app(settings)
    inbound_port = free_port()
    with live_server(app) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        # Set-up: the support mailbox (outbound through the sink), a team, an SLA.
        r = api.put(
            "/api/v1/mailbox",
            json={
                "address": "help@northwind-outdoor.com",
                "name": "Northwind Support",
                "relay": {"host": "127.0.0.1", "port": smtp_sink.port},
            },
        )
        assert r.status_code == 200, r.text
        assert "password_encrypted" not in r.text
        r = api.post("/api/v1/teams", json={"name": "Support", "members": [ana]})
        assert r.status_code == 201, r.text
        support = r.json()["id"]
        r = api.post(
            "/api/v1/sla-policies",
            json={"name": "Standard", "first_response_minutes": 60, "business_hours": False},
        )
        assert r.status_code == 201, r.text

        # 1. The customer fills the web form (write key, as a site would).
        r = httpx.post(
            f"{base}/v1/forms/contact",
            json={
                "writeKey": ws.write_key,
                "name": "Dana Reyes",
                "email": "Dana.Reyes@example.com",
                "phone": "+1 415 555 0134",
                "subject": "Tent pole snapped on first trip",
                "message": "One of the poles of my Ridgeline 2 tent snapped. Can I get a new one?",
            },
        )
        assert r.status_code == 201, r.text
        number = r.json()["conversation"]
        conv = api.get("/api/v1/conversations", params={"q": "tent pole"}).json()["data"][0]
        assert conv["number"] == number
        assert conv["channel"] == "web"
        assert conv["assignee_id"] == ana
        assert conv["team_id"] == support
        assert conv["first_response_due_at"] is not None
        assert conv["sla"] in ("ok", "due_soon")
        cid, person = conv["id"], conv["profile_id"]
        assert person is not None

        # 2. Ana answers; the reply goes out by email through the relay.
        r = api.post(
            f"/api/v1/conversations/{cid}/replies",
            json={"body": "Sorry to hear that, Dana! Which pole is it?", "agent_id": ana},
        )
        assert r.status_code == 201, r.text
        assert r.json()["channel"] == "email"
        assert r.json()["address"] == "dana.reyes@example.com"
        sent = smtp_sink.wait_for(1)[0]
        assert sent["To"] == "dana.reyes@example.com"
        assert sent["Subject"] == "Re: Tent pole snapped on first trip"
        assert "Which pole is it?" in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        reply_id = sent["Message-ID"]
        _wait(
            lambda: (
                api.get(f"/api/v1/conversations/{cid}").json()["messages"][-1]["delivery"] == "sent"
            )
        )

        # 3. Dana replies by email to Accord's own SMTP listener, quoting the answer.
        handler = InboundHandler(
            committed.factory,
            secret_key=settings.resolved_secret_key,
            base_url=base,
            data_dir=committed.data_dir,
        )
        controller = smtp_controller(handler, "127.0.0.1", inbound_port)
        controller.start()
        try:
            mail = EmailMessage()
            mail["From"] = "Dana Reyes <dana.reyes@example.com>"
            mail["To"] = "help@northwind-outdoor.com"
            mail["Subject"] = "Re: Tent pole snapped on first trip"
            mail["Message-ID"] = "<dana-1@example.com>"
            mail["In-Reply-To"] = reply_id
            mail["References"] = reply_id
            mail.set_content(
                "It's the long curved one, photo attached.\n\n"
                "On Mon, Nov 23, 2026 at 10:00 AM Northwind Support wrote:\n"
                "> Sorry to hear that, Dana! Which pole is it?\n"
            )
            mail.add_attachment(
                b"\x89PNG fake", maintype="image", subtype="png", filename="pole.png"
            )
            with smtplib.SMTP("127.0.0.1", inbound_port) as client:
                client.send_message(mail)
                # A message for an unknown mailbox is refused at RCPT time.
                try:
                    client.sendmail(
                        "x@example.com", ["nobody@elsewhere.example.com"], b"Subject: x\n\nx"
                    )
                    raise AssertionError("unknown recipient accepted")
                except smtplib.SMTPRecipientsRefused:
                    pass
            # Redelivery of the same message is stored once.
            with smtplib.SMTP("127.0.0.1", inbound_port) as client:
                client.send_message(mail)
        finally:
            controller.stop()
        detail = api.get(f"/api/v1/conversations/{cid}").json()
        inbound_email = [
            m for m in detail["messages"] if m["channel"] == "email" and m["direction"] == "in"
        ]
        assert len(inbound_email) == 1
        assert inbound_email[0]["body"] == "It's the long curved one, photo attached."
        assert "Which pole is it?" in inbound_email[0]["quoted"]

        # 4. Dana calls. The screen pop knows her by a number typed another way.
        pop = api.get("/api/v1/contact-center/lookup", params={"phone": "(415) 555-0134"}).json()
        assert pop["known"]
        assert pop["profile_id"] == person
        assert [c["number"] for c in pop["open_conversations"]] == [number]
        assert f"#{number}" in pop["likely_reason"]
        assert pop["route"]["agent_id"] == ana
        r = api.post(
            "/api/v1/calls",
            json={
                "phone": "415-555-0134",
                "duration_seconds": 185,
                "disposition": "needs replacement part",
                "notes": "Wants the pole shipped to her home address.",
                "external_id": "call-778",
                "agent_id": ana,
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["conversation"]["id"] == cid
        assert not r.json()["created"]

        # 5. Ana transfers to Ben with a note; Ben sees the whole story.
        r = api.post(
            f"/api/v1/conversations/{cid}/transfer",
            json={"assignee_id": ben, "note": "Parts team: ship pole P-2 to her.", "agent_id": ana},
        )
        assert r.status_code == 200, r.text
        assert r.json()["assignee_id"] == ben
        detail = api.get(f"/api/v1/conversations/{cid}").json()
        channels = [m["channel"] for m in detail["messages"]]
        assert channels == ["web", "email", "email", "phone", "note"]
        assert detail["messages"][-1]["body"] == "Parts team: ship pole P-2 to her."
        transfer = next(e for e in detail["events"] if e["kind"] == "transferred")
        assert transfer["data"]["from"] == ana
        assert transfer["data"]["to"] == ben

        # 6. Ben resolves; the survey goes out; Dana answers it.
        r = api.patch(f"/api/v1/conversations/{cid}", json={"status": "resolved", "agent_id": ben})
        assert r.status_code == 200
        assert r.json()["status"] == "resolved"
        survey = smtp_sink.wait_for(2)[1]
        assert survey["To"] == "dana.reyes@example.com"
        text = survey.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        link = re.search(r"5 - Very satisfied: (\S+)", text)
        assert link is not None
        path = urlsplit(link.group(1))
        page = httpx.get(f"{base}{path.path}?{path.query}")
        assert page.status_code == 200
        assert "How did we do?" in page.text
        token = re.search(r'name="t" value="([^"]+)"', page.text)
        assert token is not None
        # A forged token is refused.
        forged = httpx.post(f"{base}{path.path}", data={"t": "x" * 32, "score": "1"})
        assert forged.status_code == 403
        done = httpx.post(
            f"{base}{path.path}",
            data={"t": token.group(1), "score": "5", "comment": "Fast and friendly"},
        )
        assert done.status_code == 200
        assert "Thank you" in done.text
        final = api.get(f"/api/v1/conversations/{cid}").json()
        assert final["csat_score"] == 5
        assert final["csat_comment"] == "Fast and friendly"
        kinds = [e["kind"] for e in final["events"]]
        for kind in ("created", "assigned", "first_response", "transferred", "resolved", "csat"):
            assert kind in kinds

        # One person across every channel: the profile's timeline holds them all.
        timeline = api.get(f"/api/v1/profiles/{person}/timeline").json()["data"]
        assert {"web", "email", "call_center"} <= {i["channel"] for i in timeline}

        metrics = api.get("/api/v1/inbox/metrics", params={"group_by": "agent"}).json()
        ben_row = next(g for g in metrics["groups"] if g["key"] == ben)
        assert ben_row["csat_average"] == 5.0
        assert ben_row["resolved"] == 1
        # The first response was Ana's, before she transferred it: hers, not Ben's.
        assert ben_row["first_response_p50_seconds"] is None
        ana_row = next(g for g in metrics["groups"] if g["key"] == ana)
        assert ana_row["first_response_p50_seconds"] is not None
        assert ana_row["resolved"] == 0
        csv_text = api.get("/api/v1/conversations/export.csv").text
        assert csv_text.splitlines()[0].startswith("number,id,created_at")
        assert f"\n{number}," in csv_text


def test_imap_polling_stores_unseen_mail_and_flags_it_seen(committed: Committed) -> None:
    from accord.channels import mailbox
    from accord.channels.inbound import poll_imap
    from accord.govern.access.principal import Principal
    from accord.govern.workspaces.models import Workspace
    from tests.inbox.imap_server import ImapServer, Mailbox

    ws = committed.workspace("Imap Outfitters")
    box = Mailbox(user="support", password="s3cret")
    first = box.add(
        b"From: Lee Park <lee@example.com>\r\nTo: support@imap-outfitters.com\r\n"
        b"Subject: Gift card balance\r\nMessage-ID: <lee-1@example.com>\r\n\r\n"
        b"How much is left on my gift card?\r\n"
    )
    settings = committed.settings()
    other = committed.workspace("No IMAP Outfitters")
    with transaction(committed.factory) as session:
        mailbox.save(
            session,
            other.workspace.id,
            {"address": "help@no-imap-outfitters.com"},
            settings.resolved_secret_key,
            actor=Principal.cli(other.workspace.id),
        )
    with ImapServer(box) as server:
        with transaction(committed.factory) as session:
            workspace = session.get(Workspace, ws.workspace.id)
            assert workspace is not None
            raw = {
                "address": "support@imap-outfitters.com",
                "imap": {
                    "host": "127.0.0.1",
                    "port": server.port,
                    "username": "support",
                    "password": "s3cret",
                },
            }
            workspace.settings = {
                **workspace.settings,
                "email": mailbox.stored_form(raw, settings.resolved_secret_key, {}),
            }
        assert "s3cret" not in str(workspace.settings)
        with transaction(committed.factory) as session:
            polled = mailbox.workspace_ids_with_imap(session, settings.resolved_secret_key)
        assert ws.workspace.id in polled  # the poller's list of mailboxes to read
        assert other.workspace.id not in polled  # a mailbox without IMAP
        handler = InboundHandler(
            committed.factory,
            secret_key=settings.resolved_secret_key,
            base_url="http://127.0.0.1",
            data_dir=committed.data_dir,
        )
        assert poll_imap(handler, ws.workspace.id) == 1
        assert box.seen(first)
        # Nothing new: a second poll stores nothing.
        assert poll_imap(handler, ws.workspace.id) == 0
    with transaction(committed.factory) as session:
        from sqlalchemy import select

        from accord.inbox.models import Conversation, Message

        conv = session.scalars(
            select(Conversation).where(Conversation.workspace_id == ws.workspace.id)
        ).one()
        assert conv.subject == "Gift card balance"
        assert conv.contact_name == "Lee Park"
        body = session.scalars(select(Message.body).where(Message.conversation_id == conv.id)).one()
        assert body == "How much is left on my gift card?"
