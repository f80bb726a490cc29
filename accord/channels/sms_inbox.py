"""Text messages and the inbox. A customer's text becomes an inbound message of their
conversation (the one texts were exchanged in, else their open one, else a new one); the
carriers' keywords are not conversations: STOP withdraws consent to every text from this
workspace and START gives it back, each recorded with the customer's message as evidence.
An agent's text waits in the outbox and is sent through the workspace's provider after
commit, asking the consent policy again at that moment; the provider's delivery receipts
mark it delivered or undelivered."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.channels import sms
from accord.channels.email import claim, claimed, not_sent
from accord.govern.consent import rules as consent_rules
from accord.govern.consent import service as consent
from accord.govern.consent.policy import may_contact
from accord.inbox.context import SYSTEM, InboxContext
from accord.inbox.intake import Inbound, receive
from accord.inbox.models import Conversation, Message
from accord.inbox.people import Contact, record_touchpoint, recorded
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.profile.queries import live_profile

KEYWORD_EVENTS = {"stop": "SMS Opted Out", "start": "SMS Opted In"}


def receive_text(
    session: Session,
    ctx: InboxContext,
    provider: sms.Provider,
    params: Mapping[str, str],
    data_dir: Path | None = None,
) -> str | None:
    """Take one inbound text as the provider posted it; returns the text to answer the
    sender with (None: no answer). Idempotent: a text delivered twice is taken once."""
    sid = params.get("MessageSid") or params.get("SmsSid") or ""
    sender = (params.get("From") or "").strip()
    body = params.get("Body") or ""
    if not sender:
        return None
    keyword = sms.keyword_of(body)
    if keyword in KEYWORD_EVENTS:
        opted(session, ctx, provider, sid, sender, params.get("To") or "", body, keyword)
        if not provider.keyword_replies:
            return None
        if keyword == "stop":
            return "You are unsubscribed and will receive no more messages. Reply START to resume."
        return "You are subscribed again. Reply STOP to unsubscribe."
    if keyword == "help" and provider.keyword_replies:
        return provider.help_text or "Reply STOP to unsubscribe. Reply to this text to reach us."
    media = [params[f"MediaUrl{i}"] for i in range(10) if params.get(f"MediaUrl{i}")]
    receive(
        session,
        ctx,
        Inbound(
            channel="sms",
            contact=Contact(phone=sender),
            body=body or ("(a picture)" if media else "(an empty text)"),
            external_id=f"sms:{sid}" if sid else None,
            meta={"media": media, "to": params.get("To")} if media else {"to": params.get("To")},
        ),
        data_dir,
    )
    return None


def opted(
    session: Session,
    ctx: InboxContext,
    provider: sms.Provider,
    sid: str,
    sender: str,
    to: str,
    body: str,
    keyword: str,
) -> None:
    """A STOP or START: on the sender's timeline, and their consent to texts (for every
    purpose) withdrawn or given, with the text as the evidence."""
    now = utcnow()
    key = f"sms:{sid}" if sid else f"sms:{sender}:{keyword}:{now.isoformat()}"
    if recorded(session, ctx.workspace_id, key):
        return
    profile_id, _ = record_touchpoint(
        session,
        ctx.workspace,
        channel="sms",
        contact=Contact(phone=sender),
        event_name=KEYWORD_EVENTS[keyword],
        properties={"keyword": body.strip()[:40], "to": to},
        at=now,
        key=key,
    )
    if profile_id is None:
        return
    stop = keyword == "stop"
    consent.record(
        session,
        ctx.workspace_id,
        profile_id,
        channel="sms",
        purpose=consent_rules.ALL,
        status=consent_rules.WITHDRAWN if stop else consent_rules.GRANTED,
        source="sms_stop" if stop else "sms_start",
        reason=f"the customer texted {body.strip()[:40]!r} to {to or 'the business'}",
        evidence={"message_sid": sid, "from": sender, "to": to},
        at=now,
    )


def message_receipt(
    session: Session, ctx: InboxContext, message_id: uuid.UUID, params: Mapping[str, str]
) -> None:
    """A delivery receipt for an agent's text: delivered, or not (with the carrier's
    error); receipts that arrive out of order never move a message back."""
    message = session.get(Message, message_id)
    if message is None or message.workspace_id != ctx.workspace_id or message.channel != "sms":
        return
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    conversation = session.get(Conversation, message.conversation_id)
    assert conversation is not None
    if status in sms.FAILED:
        if message.delivery == "undelivered":
            return
        code = params.get("ErrorCode") or ""
        message.delivery = "undelivered"
        message.delivery_error = (
            f"the carrier did not deliver the text ({status}{', error ' + code if code else ''})"
        )
        ctx.log(session, conversation, "undelivered", SYSTEM, channel="sms", data={"error": code})
        ctx.changed(session, conversation, "delivery")
    elif status == "delivered" and message.delivery in ("sent", "sending", "queued"):
        message.delivery = "delivered"
        message.meta = {**(message.meta or {}), "delivered_at": utcnow().isoformat()}
        ctx.changed(session, conversation, "delivery")


def deliver_text(
    factory: sessionmaker[Session],
    message_id: uuid.UUID,
    secret_key: str,
    publish: Callable[[uuid.UUID, dict[str, Any]], None],
    base_url: str = "http://127.0.0.1:8000",
    client: Callable[[sms.Provider], sms.SmsClient] = sms.SmsClient,
) -> str:
    """Claim, ask the consent policy, send and mark one queued text; returns its
    delivery state. Consent is asked again at the moment of sending: a customer who
    texted STOP after the reply was queued is not sent it (``refused``, with why)."""
    if not claim(factory, message_id):
        return "taken"
    with transaction(factory) as session:
        message, conversation, workspace = claimed(session, message_id)
        attempts = int((message.meta or {}).get("attempts", 0)) + 1
        person = (
            live_profile(session, workspace.id, conversation.profile_id)
            if conversation.profile_id is not None
            else None
        )
        to = message.address or ""
        decision = may_contact(session, workspace, person, "sms", "service", address=to)
        if not decision.allowed:
            message.delivery = "refused"
            message.delivery_error = decision.reason[:500]
            InboxContext.load(session, workspace.id, secret_key=secret_key, base_url=base_url).log(
                session,
                conversation,
                "refused",
                SYSTEM,
                channel="sms",
                data={"reason": decision.reason, "code": decision.code, "purpose": "service"},
            )
        else:
            provider = sms.of(workspace, secret_key)
            try:
                if provider is None:
                    raise sms.SmsError(
                        "no SMS provider is set up for this workspace (Settings > SMS)",
                        status=0,
                        code=None,
                        permanent=True,
                    )
                texter = client(provider)
                try:
                    handed = texter.hand_over(
                        decision.permit(),
                        to,
                        message.body,
                        status_callback=sms.receipt_url(
                            base_url, workspace.id, "message", message.id
                        ),
                    )
                finally:
                    texter.close()
                message.external_id = f"sms:{handed.sid}" if handed.sid else None
                message.delivery = "sent"
                message.delivery_error = None
                message.meta = {
                    **(message.meta or {}),
                    "attempts": attempts,
                    "sent_at": utcnow().isoformat(),
                    "segments": handed.segments or sms.segments(message.body),
                }
            except sms.SmsError as exc:
                not_sent(message, attempts, exc, permanent=exc.permanent)
        state = message.delivery or "queued"
        workspace_id = message.workspace_id
        payload = {"type": "conversation", "what": "delivery", "id": str(conversation.id)}
    publish(workspace_id, payload)
    return state
