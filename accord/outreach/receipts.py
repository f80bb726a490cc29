"""What the SMS provider reports of a campaign's or a journey's text after it took it:
delivered (kept as ``delivered_at``; the send stays ``sent``), or not delivered: a number
that cannot receive texts is ``bounced``, any other failure ``failed``, each with the
carrier's error. Receipts arrive in any order and more than once; none moves a send
back."""

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
