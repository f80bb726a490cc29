"""What became of each message handed to the relay or the SMS provider: the outcome
read from its answer (sent, tried again later with back-off, bounced, refused, failed) and
its record, committed the moment it is known (see ``sending``'s docstring for why)."""

from __future__ import annotations

import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Connection, Table, bindparam, update
from sqlalchemy.orm import Session, sessionmaker

from accord.channels.sms import SmsError
from accord.collect import service as collect
from accord.govern.consent import rules as consent_rules
from accord.govern.consent import service as consent
from accord.govern.workspaces.models import Workspace
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.outreach.models import Send

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Handed:
    """A message handed over: whose, to whom, its id, and whether it is a text."""

    workspace: Workspace
    send_id: uuid.UUID
    to: str
    message_id: str
    profile_id: uuid.UUID | None = None
    text: bool = False


def _bounce_trait(session: Session, workspace: Workspace, address: str, send_id: Any) -> None:
    """An address the relay refused for good is marked bounced on its person, as a
    delivery report would mark it (the consent policy stops every later email)."""
    now = utcnow()
    collect.accept(
        session,
        workspace_id=workspace.id,
        source="accord-outreach",
        region=workspace.default_region,
        messages=[
            {
                "type": "identify",
                "traits": {"email": address, "emailBounced": True},
                "context": {"channel": "email"},
                "timestamp": now.isoformat(),
                "messageId": f"bounce-{send_id}",
            }
        ],
        received_at=now,
        field_prefix="",
        require_sender=False,
    )


def _stopped(session: Session, sent: Handed) -> None:
    """The provider refused a text because the customer texted STOP to its number: their
    consent to texts is withdrawn here too, so nothing else asks again."""
    assert sent.profile_id is not None
    consent.record(
        session,
        sent.workspace.id,
        sent.profile_id,
        channel="sms",
        purpose=consent_rules.ALL,
        status=consent_rules.WITHDRAWN,
        source="sms_stop",
        reason="the SMS provider reports that the customer texted STOP to the sending number",
        evidence={"send_id": str(sent.send_id), "to": sent.to},
    )


def outcome_of(exc: BaseException | None, attempts: int, now: datetime) -> dict[str, Any]:
    """What a send's row becomes after the relay answered (``exc`` None: accepted)."""
    if exc is None:
        return {"status": "sent", "sent_at": now, "code": None, "reason": None}
    if isinstance(exc, SmsError):
        if exc.unsubscribed:
            return {"status": "refused", "code": "sms_stop", "reason": f"{exc} (they texted STOP)"}
        final = "bounced" if exc.unreachable else None
        return _failed(str(exc), attempts, exc.permanent, now, final)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (550, b""))
        permanent = int(code) >= 500
        why = f"the relay refused the address: {code} {reply.decode(errors='replace')}"
        return _failed(why, attempts, permanent, now, "bounced" if permanent else None)
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = int(exc.smtp_code) >= 500
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return _failed(f"the relay answered {exc.smtp_code} {text}", attempts, permanent, now, None)
    return _failed(f"the relay could not be reached: {exc}", attempts, False, now, None)


_SENDS = cast(Table, Send.__table__)
_SENT = (
    update(_SENDS)
    .where(_SENDS.c.id == bindparam("send_id"))
    .values(
        status="sent",
        sent_at=bindparam("sent_at"),
        message_id=bindparam("message_id"),
        attempts=bindparam("attempts"),
        claim_id=None,
        code=None,
        reason=None,
    )
)
_NOT_SENT = (
    update(_SENDS)
    .where(_SENDS.c.id == bindparam("send_id"))
    .values(
        status=bindparam("status"),
        code=bindparam("code"),
        reason=bindparam("reason"),
        attempts=bindparam("attempts"),
        next_attempt_at=bindparam("next_attempt_at"),
        claim_id=None,
    )
)


_SENT_PG = (
    "UPDATE outreach_sends SET status = 'sent', sent_at = %s, message_id = %s, "
    "attempts = %s, claim_id = NULL, code = NULL, reason = NULL WHERE id = %s"
)


class Recorder:
    """Records each send's outcome the moment it is known, each in a transaction of its
    own (see the module's docstring).

    On PostgreSQL: a connection of its own in autocommit, and the one statement of a
    sent message straight to the driver (prepared once by the server); it runs for
    every message, and SQLAlchemy's own work per execution would cost more than the
    statement. On SQLite (one writer at a time) each outcome is a short transaction of
    the session factory, whose connections wait their turn for the lock."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        bind = factory.kw["bind"]
        self.conn: Connection | None = None
        self.raw: Any = None
        if bind.dialect.name == "postgresql":
            self.conn = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.raw = self.conn.connection.driver_connection

    def mark(self, sent: Handed, values: dict[str, Any]) -> None:
        if self.raw is not None and values["status"] == "sent" and not sent.text:
            self.raw.execute(
                _SENT_PG,
                (values["sent_at"], sent.message_id, values["attempts"], sent.send_id),
                prepare=True,
            )
            return
        if self.conn is not None:
            self._mark(self.conn, sent, values)
        else:
            with transaction(self.factory) as session:
                self._mark(session.connection(), sent, values)
        if values["status"] == "bounced" and not sent.text:
            with transaction(self.factory) as session:
                _bounce_trait(session, sent.workspace, sent.to, sent.send_id)
        if values.get("code") == "sms_stop" and sent.profile_id is not None:
            with transaction(self.factory) as session:
                _stopped(session, sent)

    @staticmethod
    def _mark(conn: Connection, sent: Handed, values: dict[str, Any]) -> None:
        if values["status"] == "sent":
            conn.execute(
                _SENT,
                {
                    "send_id": sent.send_id,
                    "sent_at": values["sent_at"],
                    "message_id": sent.message_id,
                    "attempts": values["attempts"],
                },
            )
            return
        conn.execute(
            _NOT_SENT,
            {
                "send_id": sent.send_id,
                "status": values["status"],
                "code": values.get("code"),
                "reason": values.get("reason"),
                "attempts": values["attempts"],
                "next_attempt_at": values.get("next_attempt_at"),
            },
        )

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def _failed(
    why: str, attempts: int, permanent: bool, now: datetime, final: str | None
) -> dict[str, Any]:
    if permanent or attempts + 1 >= MAX_ATTEMPTS:
        return {"status": final or "failed", "code": final or "failed", "reason": why[:1000]}
    wait = timedelta(seconds=30 * 2 ** (attempts + 1))
    return {
        "status": "queued",
        "code": "retry",
        "reason": why[:1000],
        "next_attempt_at": now + wait,
    }
