"""What is reported of a campaign's or a journey's message after it left.

A text: the SMS provider's receipts, delivered (kept as ``delivered_at``; the send stays
``sent``), or not delivered: a number that cannot receive texts is ``bounced``, any other
failure ``failed``, each with the carrier's error. An email: a bounce or a spam complaint
that reaches the support mailbox names the message it is about (its Message-ID is the
send's id), and the send becomes ``bounced`` or ``complained`` (the person is marked and
their consent withdrawn by ``channels/email.py`` as for any report). Reports arrive in
any order and more than once; none moves a send back."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy.orm import Session

from accord.channels import sms
from accord.kit.time import utcnow
from accord.outreach.models import Send

# The carriers' errors that say the number cannot take a text (unreachable handset,
# unknown destination, a landline): like an address that bounced.
UNREACHABLE = frozenset({"30003", "30005", "30006"})


def text_receipt(
    session: Session, workspace_id: uuid.UUID, send_id: uuid.UUID, params: Mapping[str, str]
) -> str | None:
    """Apply one receipt; returns what the send became (None: nothing changed)."""
    send = session.get(Send, send_id)
    if send is None or send.workspace_id != workspace_id or send.channel != "sms":
        return None
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").lower()
    if send.status != "sent":
        return None
    if status == "delivered":
        if send.delivered_at is not None:
            return None
        send.delivered_at = utcnow()
        return "delivered"
    if status in sms.FAILED:
        code = (params.get("ErrorCode") or "").strip()
        send.status = "bounced" if code in UNREACHABLE else "failed"
        send.code = send.status
        send.reason = f"the carrier did not deliver the text ({status}" + (
            f", error {code})" if code else ")"
        )
        return send.status
    return None


def email_report(
    session: Session, workspace_id: uuid.UUID, kind: str, message_id: str, addresses: list[str]
) -> None:
    """A delivery report (``bounced``, ``complained``) about the email ``message_id``:
    the send it was, if it was one, records it."""
    local = message_id.strip().strip("<>").split("@", 1)[0]
    try:
        send_id = uuid.UUID(local)
    except ValueError:
        return  # not a campaign's message (an agent's reply, a survey)
    send = session.get(Send, send_id)
    if send is None or send.workspace_id != workspace_id or send.channel != "email":
        return
    if send.status not in ("sent", "unknown", "bounced") or send.status == kind:
        return
    send.status = kind
    send.code = kind
    who = ", ".join(addresses) or send.address or "the address"
    send.reason = (
        f"the recipient's mail server reported it undeliverable ({who})"
        if kind == "bounced"
        else f"the recipient reported it as spam ({who})"
    )
