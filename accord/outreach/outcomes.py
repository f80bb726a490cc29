"""What became of each message handed to the relay or the SMS provider: the outcome
read from its answer (sent, tried again later with back-off, bounced, refused, failed) and
its record, committed a small window at a time (see ``sending``'s docstring for why)."""

from __future__ import annotations

import smtplib
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
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


# Sent messages recorded together: one statement for the whole window, its values as
# arrays (one plan whatever the window's size, prepared once by the server).
_SENT_PG = (
    "UPDATE outreach_sends AS s SET status = 'sent', sent_at = v.sent_at, "
    "message_id = v.message_id, attempts = v.attempts, claim_id = NULL, code = NULL, "
    "reason = NULL FROM unnest(%s::uuid[], %s::timestamptz[], %s::text[], %s::int[]) "
    "AS v(id, sent_at, message_id, attempts) WHERE s.id = v.id"
)
_NOT_SENT_PG = (
    "UPDATE outreach_sends SET status = %(status)s, code = %(code)s, reason = %(reason)s, "
    "attempts = %(attempts)s, next_attempt_at = %(next_attempt_at)s, claim_id = NULL "
    "WHERE id = %(send_id)s"
)

# Outcomes are committed together once this many are known, by a writer thread of their
# own while the next messages go out: one window being committed, the next filling (the
# sending thread waits for the commit before it hands over the window after), and the
# messages still in flight on a delivery's SMTP sessions (at most ``MAX_SESSIONS``). So at
# most ``IN_DOUBT`` messages of a delivery are handed over without their record: what a
# crash can leave in doubt (``sending.recover_run``).
WINDOW = 24
MAX_SESSIONS = 8
IN_DOUBT = 2 * WINDOW + MAX_SESSIONS
# ... and none of them waits longer than this for its record (a slow throttle, a slow
# relay), so the progress view and a crash's doubt stay current.
RECORD_WITHIN = 0.5


class Recorder:
    """Records the outcomes of the messages handed over, a window at a time: after
    ``WINDOW`` messages, after ``RECORD_WITHIN`` seconds, and at once for an outcome
    with consequences (a bounce marks the address, a STOP withdraws consent). Each window
    is one transaction, committed by a writer thread while the sending thread goes on
    (the relay's answers are read while the database writes); the window after waits for
    it, so a crash leaves at most ``IN_DOUBT`` messages handed over without their record,
    the first ones in their claims' order still marked ``sending`` (see ``sending``'s
    docstring). A failed commit is raised in the sending thread at its next window or at
    ``close``.

    On PostgreSQL: a connection of its own, and the statements straight to the driver
    (prepared once by the server). On SQLite (one writer at a time) each window is a
    short transaction of the session factory, whose connections wait their turn for the
    lock."""

    def __init__(self, factory: sessionmaker[Session], window: int = WINDOW) -> None:
        self.factory = factory
        self.window = window
        self.pending: list[tuple[Handed, dict[str, Any]]] = []
        self.since = 0.0
        self.writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="outcomes")
        self.writing: Future[None] | None = None
        bind = factory.kw["bind"]
        self.conn: Connection | None = None
        self.raw: Any = None
        if bind.dialect.name == "postgresql":
            self.conn = bind.connect().execution_options(isolation_level="AUTOCOMMIT")
            self.raw = self.conn.connection.driver_connection

    def mark(self, sent: Handed, values: dict[str, Any]) -> None:
        if not self.pending:
            self.since = time.monotonic()
        self.pending.append((sent, values))
        if (
            len(self.pending) >= self.window
            or _consequent(sent, values)
            or time.monotonic() - self.since >= RECORD_WITHIN
        ):
            self.flush()

    def flush(self) -> None:
        """Hand the outcomes not yet recorded to the writer, once it has committed the
        window before (whose failure is raised here). With nothing pending, nothing is
        waited for."""
        if not self.pending:
            return
        self.wait()
        pending, self.pending = self.pending, []
        self.writing = self.writer.submit(self._commit, pending)

    def wait(self) -> None:
        """Until the window being written is committed."""
        writing, self.writing = self.writing, None
        if writing is not None:
            writing.result()

    def _commit(self, pending: list[tuple[Handed, dict[str, Any]]]) -> None:
        sent = [(h, v) for h, v in pending if v["status"] == "sent"]
        other = [(h, v) for h, v in pending if v["status"] != "sent"]
        not_sent = [
            {
                "send_id": h.send_id,
                "status": v["status"],
                "code": v.get("code"),
                "reason": v.get("reason"),
                "attempts": v["attempts"],
                "next_attempt_at": v.get("next_attempt_at"),
            }
            for h, v in other
        ]
        if self.raw is not None:
            with self.raw.transaction():
                if sent:
                    self.raw.execute(
                        _SENT_PG,
                        (
                            [h.send_id for h, _ in sent],
                            [v["sent_at"] for _, v in sent],
                            [h.message_id for h, _ in sent],
                            [v["attempts"] for _, v in sent],
                        ),
                        prepare=True,
                    )
                if not_sent:
                    self.raw.cursor().executemany(_NOT_SENT_PG, not_sent)
        else:
            with transaction(self.factory) as session:
                conn = session.connection()
                if sent:
                    conn.execute(
                        _SENT,
                        [
                            {
                                "send_id": h.send_id,
                                "sent_at": v["sent_at"],
                                "message_id": h.message_id,
                                "attempts": v["attempts"],
                            }
                            for h, v in sent
                        ],
                    )
                if not_sent:
                    conn.execute(_NOT_SENT, not_sent)
        for handed, values in other:
            if values["status"] == "bounced" and not handed.text:
                with transaction(self.factory) as session:
                    _bounce_trait(session, handed.workspace, handed.to, handed.send_id)
            if values.get("code") == "sms_stop" and handed.profile_id is not None:
                with transaction(self.factory) as session:
                    _stopped(session, handed)

    def close(self) -> None:
        """Record what is left and wait for it."""
        try:
            self.flush()
            self.wait()
        finally:
            self.writer.shutdown(wait=True)
            if self.conn is not None:
                self.conn.close()


def _consequent(sent: Handed, values: dict[str, Any]) -> bool:
    """An outcome that changes more than its send's row (recorded at once)."""
    return (values["status"] == "bounced" and not sent.text) or (
        values.get("code") == "sms_stop" and sent.profile_id is not None
    )


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
