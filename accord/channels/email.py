"""Email in and out. Inbound mail (from the SMTP listener or IMAP polling) becomes an
inbound message of the sender's conversation; delivery reports mark the address as
bounced on the person. Outbound replies wait in the outbox (messages with delivery
``queued``) and a worker sends them through the workspace's relay after commit."""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.channels import mailbox, mime
from accord.channels.relay_pool import connect
from accord.customers import queries as customer_queries
from accord.customers.preferences import unsubscribe_url
from accord.govern.consent import service as consent
from accord.govern.consent.policy import Permit, may_contact
from accord.govern.workspaces.models import Workspace
from accord.inbox.context import SYSTEM, InboxContext
from accord.inbox.intake import Inbound, NewAttachment, Received, receive
from accord.inbox.models import Conversation, Message
from accord.inbox.people import Contact, accept_now
from accord.inbox.repository import MessageRepository
from accord.kit.db import transaction
from accord.kit.errors import AccordError
from accord.kit.time import utcnow
from accord.profile.queries import live_profile

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 5
BATCH = 50
# Told of each delivery report about a message Accord sent (a bounce, a spam complaint):
# (session, workspace, "bounced" or "complained", the message's Message-ID, addresses).
# The edge hands in the outreach's, which marks the campaign's send.
Reported = Callable[[Session, uuid.UUID, str, str, list[str]], None]


def receive_email(
    session: Session,
    ctx: InboxContext,
    raw: bytes,
    data_dir: Path | None,
    reported: Reported | None = None,
) -> Received | None:
    parsed = mime.parse(raw)
    about = parsed.bounced_message_id
    if parsed.complaint_for:
        mark_complained(session, ctx, parsed.complaint_for)
        if reported is not None and about:
            reported(session, ctx.workspace_id, "complained", about, parsed.complaint_for)
        return None
    if parsed.bounce_for:
        mark_bounced(session, ctx, parsed.bounce_for, about)
        if reported is not None and about:
            reported(session, ctx.workspace_id, "bounced", about, parsed.bounce_for)
        return None
    if not parsed.from_address:
        log.warning("inbound email without a sender dropped")
        return None
    return receive(
        session,
        ctx,
        Inbound(
            channel="email",
            contact=Contact(email=parsed.from_address, name=parsed.from_name),
            body=parsed.text,
            subject=parsed.subject or None,
            html=parsed.html,
            quoted=parsed.quoted,
            external_id=parsed.message_id,
            references=parsed.references,
            at=parsed.date,
            attachments=[
                NewAttachment(a.filename, a.content_type, a.data) for a in parsed.attachments
            ],
            meta={"auto_submitted": True} if parsed.auto_submitted else {},
        ),
        data_dir,
    )


def mark_bounced(
    session: Session, ctx: InboxContext, addresses: list[str], original_id: str | None
) -> None:
    """The person behind each address is marked ``emailBounced`` (replies stop going to
    it) and the message that bounced shows it."""
    now = utcnow()
    messages = [
        {
            "type": "identify",
            "traits": {"email": address, "emailBounced": True},
            "context": {"channel": "email"},
            "timestamp": now.isoformat(),
            "messageId": f"bounce-{original_id or now.isoformat()}-{address}",
        }
        for address in addresses
    ]
    # The person reflects the bounce at once, so the next reply is refused.
    accept_now(session, ctx.workspace, messages, source="inbox:bounce", at=now)
    if original_id:
        for message in MessageRepository.from_session(session).by_external_ids(
            ctx.workspace_id, [original_id]
        ):
            message.delivery = "bounced"
            message.delivery_error = f"bounced: {', '.join(addresses)}"
            conversation = session.get(Conversation, message.conversation_id)
            if conversation is not None:
                ctx.log(session, conversation, "bounced", SYSTEM, channel="email")
                ctx.changed(session, conversation, "delivery")


def mark_complained(session: Session, ctx: InboxContext, addresses: list[str]) -> None:
    """A spam complaint the mailbox provider forwarded (ARF): the person behind each
    address has withdrawn consent to marketing by email, from now on, with the complaint
    as the source (every later campaign and journey email to them is refused, with it as
    the reason)."""
    now = utcnow()
    for address in addresses:
        try:
            person = customer_queries.lookup(session, ctx.workspace_id, "email", address)
        except AccordError:
            log.info("a spam complaint about %s, who is nobody here", address)
            continue
        consent.record(
            session,
            ctx.workspace_id,
            person.id,
            channel="email",
            purpose="marketing",
            status="withdrawn",
            source="complaint",
            reason="the customer marked a message as spam (a feedback report from the mailbox "
            "provider)",
            at=now,
        )


# --- outbox --------------------------------------------------------------------------------


def transport(box: mailbox.Mailbox, email: Any, to: str, permit: Permit) -> None:
    """Hand one email to the workspace's relay. Only with a :class:`Permit` for email to
    this address: a send that did not ask the consent policy cannot get here."""
    if not isinstance(permit, Permit) or not permit.covers("email", to):
        raise PermissionError(f"no permit to email {to}")
    relay = box.relay
    if relay is None:
        raise RuntimeError("no outbound relay is configured for this workspace")
    with connect(relay, 30.0) as client:
        client.send_message(email, from_addr=box.address, to_addrs=[to])


class RelaySession:
    """One SMTP session to a workspace's relay kept open for many messages (a campaign's
    batch): connecting, TLS and login once, not per message. ``hand_over`` takes bytes
    already built and, like :func:`transport`, only with a :class:`Permit` for email to
    that address."""

    def __init__(self, box: mailbox.Mailbox, timeout: float = 30.0) -> None:
        if box.relay is None:
            raise RuntimeError("no outbound relay is configured for this workspace")
        self.box = box
        self.timeout = timeout
        self._client: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        relay = self.box.relay
        assert relay is not None
        return connect(relay, self.timeout)

    def hand_over(self, permit: Permit, to: str, data: bytes, *, sender: str | None = None) -> None:
        """Hand one message to the relay. A refusal of the recipient raises
        ``smtplib.SMTPRecipientsRefused`` (its code says whether it is permanent); a
        dropped connection is opened again for the next message."""
        if not isinstance(permit, Permit) or not permit.covers("email", to):
            raise PermissionError(f"no permit to email {to}")
        if self._client is None:
            self._client = self._connect()
        client = self._client
        try:
            # smtplib's own steps, without parsing two addresses that are already
            # plain (a campaign's batch sends many messages from one sender).
            code, reply = client.docmd("mail", f"FROM:<{sender or self.box.address}>")
            if code != 250:
                client.rset()
                raise smtplib.SMTPSenderRefused(code, reply, sender or self.box.address)
            code, reply = client.docmd("rcpt", f"TO:<{to}>")
            if code not in (250, 251):
                client.rset()
                raise smtplib.SMTPRecipientsRefused({to: (code, reply)})
            code, reply = client.data(data)
            if code != 250:
                client.rset()
                raise smtplib.SMTPDataError(code, reply)
        except (smtplib.SMTPServerDisconnected, OSError):
            self.close()
            raise

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def _references(session: Session, message: Message) -> list[str]:
    thread = MessageRepository.from_session(session).thread(message.conversation_id)
    return [
        m.external_id
        for m in thread
        if m.channel == "email" and m.external_id and m.id != message.id
    ]


# What each kind of automated email is for; everything else an agent writes is service.
PURPOSE_OF_KIND = {"csat_survey": "surveys"}


def purpose_of(message: Message) -> str:
    return PURPOSE_OF_KIND.get(str((message.meta or {}).get("kind")), "service")


def deliver_one(
    factory: sessionmaker[Session],
    message_id: uuid.UUID,
    secret_key: str,
    publish: Callable[[uuid.UUID, dict[str, Any]], None],
    base_url: str = "http://127.0.0.1:8000",
) -> str:
    """Claim, ask the consent policy, send and mark one queued email; returns its delivery
    state. Consent is asked again here, at the moment of sending: a customer who
    unsubscribed after the message was queued is not sent it (``refused``, with why)."""
    if not claim(factory, message_id):
        return "taken"
    with transaction(factory) as session:
        message, conversation, workspace = claimed(session, message_id)
        box = mailbox.of(workspace, secret_key)
        attempts = int((message.meta or {}).get("attempts", 0)) + 1
        purpose = purpose_of(message)
        person = (
            live_profile(session, workspace.id, conversation.profile_id)
            if conversation.profile_id is not None
            else None
        )
        decision = may_contact(
            session, workspace, person, "email", purpose, address=message.address
        )
        try:
            if not decision.allowed:
                message.delivery = "refused"
                message.delivery_error = decision.reason[:500]
                InboxContext.load(
                    session, workspace.id, secret_key=secret_key, base_url=base_url
                ).log(
                    session,
                    conversation,
                    "refused",
                    SYSTEM,
                    channel="email",
                    data={"reason": decision.reason, "code": decision.code, "purpose": purpose},
                )
                raise _Refused
            if box is None:
                raise RuntimeError("no support mailbox is configured for this workspace")
            permit = decision.permit()
            external_id = message.external_id or mime.new_message_id(box.domain)
            unsubscribe = (
                unsubscribe_url(base_url, secret_key, workspace.id, person.id, "email", purpose)
                if purpose != "service" and person is not None
                else None
            )
            email = mime.build(
                from_address=box.address,
                from_name=box.name
                if not message.author_name
                else f"{message.author_name} ({box.name})",
                to=message.address or "",
                subject=message.subject or "(no subject)",
                body=message.body + _footer(unsubscribe, purpose),
                message_id=external_id,
                in_reply_to=message.in_reply_to,
                references=_references(session, message),
                at=message.created_at,
                automatic=purpose != "service",
                unsubscribe=unsubscribe,
            )
            transport(box, email, message.address or "", permit)
            message.external_id = external_id
            message.delivery = "sent"
            message.delivery_error = None
            message.meta = {
                **(message.meta or {}),
                "attempts": attempts,
                "sent_at": utcnow().isoformat(),
            }
        except _Refused:
            log.info("email %s refused: %s", message_id, decision.reason)
        except (OSError, smtplib.SMTPException, RuntimeError) as exc:
            permanent = isinstance(exc, RuntimeError | smtplib.SMTPRecipientsRefused)
            not_sent(message, attempts, exc, permanent=permanent)
        state = message.delivery or "queued"
        workspace_id = message.workspace_id
        payload = {"type": "conversation", "what": "delivery", "id": str(conversation.id)}
    publish(workspace_id, payload)
    return state


class _Refused(Exception):
    pass


def claim(factory: sessionmaker[Session], message_id: uuid.UUID) -> bool:
    """Take a queued message for sending, in a transaction of its own (one sender wins)."""
    with transaction(factory) as session:
        return MessageRepository.from_session(session).claim(message_id, utcnow())


def claimed(session: Session, message_id: uuid.UUID) -> tuple[Message, Conversation, Workspace]:
    """A claimed message with its conversation and workspace."""
    message = session.get(Message, message_id)
    assert message is not None
    conversation = session.get(Conversation, message.conversation_id)
    workspace = session.get(Workspace, message.workspace_id)
    assert conversation is not None
    assert workspace is not None
    return message, conversation, workspace


def not_sent(message: Message, attempts: int, error: Exception, *, permanent: bool) -> None:
    """A queued message the transport did not take: queued again after a growing delay
    (30 s, 1, 2, 4 minutes...), or ``failed`` when the error is permanent or the attempts
    are spent."""
    retry = not permanent and attempts < MAX_ATTEMPTS
    message.delivery = "queued" if retry else "failed"
    message.delivery_error = str(error)[:500]
    wait = timedelta(seconds=30 * 2**attempts)
    message.meta = {
        **(message.meta or {}),
        "attempts": attempts,
        "retry_at": (utcnow() + wait).isoformat() if retry else None,
    }
    log.warning("%s %s not sent (attempt %s): %s", message.channel, message.id, attempts, error)


def _footer(unsubscribe: str | None, purpose: str) -> str:
    if unsubscribe is None:
        return ""
    what = {"surveys": "surveys like this one"}.get(purpose, "messages like this one")
    return f"\n\n--\nTo stop receiving {what}, unsubscribe: {unsubscribe}\n"


def due(message: Message) -> bool:
    retry_at = (message.meta or {}).get("retry_at")
    return not retry_at or retry_at <= utcnow().isoformat()
