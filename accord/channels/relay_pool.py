"""Several SMTP sessions to one relay, driven by the one thread that also prepares the
messages: while the relay answers one session, the next message is being rendered, and
each answer moves its session on at the next look.

Why not a thread per session: a campaign's sender spends most of its CPU preparing
messages (consent, rules, rendering), and in one Python process a thread waiting for the
relay's answer then waits for the interpreter as well, four times a message. One thread
that looks at all its sessions between messages keeps several exchanges in flight with
no such wait.

A message goes through ``MAIL``, ``RCPT``, ``DATA`` and its body; the relay's answer to
each is read when its session's socket is readable. A relay that offers PIPELINING (RFC
2920; every common one does) is sent ``MAIL``, ``RCPT`` and ``DATA`` together and its
three answers are read in turn: two exchanges a message instead of four, which halves
the waits on a distant relay. Otherwise each command waits for the answer to the last.

A refusal ends that message with the exception :mod:`smtplib` would have raised
(``SMTPSenderRefused``, ``SMTPRecipientsRefused``, ``SMTPDataError``; a dropped
connection or a timeout as ``SMTPServerDisconnected`` or ``OSError``), and the session
is reset (``RSET``) or, when the connection is gone, opened again for its next message."""

from __future__ import annotations

import select
import selectors
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accord.channels import mailbox
from accord.govern.consent.policy import Permit

Done = Callable[[Any, BaseException | None], None]

IDLE, MAIL, RCPT, DATA, BODY, RSET = range(6)


def connect(
    relay: mailbox.Server, timeout: float, context: ssl.SSLContext | None = None
) -> smtplib.SMTP:
    """An SMTP session to a relay, greeted, secured and logged in as it is set up
    (``context``: the TLS settings, by default the system's certificate authorities)."""
    if relay.security in ("tls", "starttls"):
        context = context or ssl.create_default_context()
    if relay.security == "tls":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            relay.host, relay.port, timeout=timeout, context=context
        )
    else:
        client = smtplib.SMTP(relay.host, relay.port, timeout=timeout)
    client.ehlo()
    if relay.security == "starttls":
        client.starttls(context=context)
        client.ehlo()
    if relay.username and relay.password:
        client.login(relay.username, relay.password)
    return client


@dataclass(eq=False)
class _Session:
    client: smtplib.SMTP
    sock: Any
    state: int = IDLE
    buffer: bytes = b""
    lines: list[bytes] = field(default_factory=list)
    to: str = ""
    data: bytes = b""
    tag: Any = None
    since: float = 0.0
    pipelined: bool = False  # the relay offers PIPELINING
    error: BaseException | None = None  # the first refusal among answers sent ahead


class RelayPool:
    """Up to ``sessions`` SMTP sessions to a workspace's relay, opened as they are needed
    and kept open for many messages. ``hand_over`` starts a message on an idle session
    (first reading the answers that have come, and waiting for one only when every
    session is busy); ``drain`` waits for all. When the relay has answered a message,
    ``done(tag, error)`` is called with ``error`` None if it was accepted."""

    def __init__(
        self,
        box: mailbox.Mailbox,
        done: Done,
        sessions: int = 4,
        timeout: float = 30.0,
        context: ssl.SSLContext | None = None,
    ) -> None:
        if box.relay is None:
            raise RuntimeError("no outbound relay is configured for this workspace")
        self.box = box
        self.done = done
        self.size = max(1, sessions)
        self.timeout = timeout
        self.context = context
        self.selector = selectors.DefaultSelector()
        self.sessions: list[_Session] = []
        self.idle: list[_Session] = []
        self.busy = 0
        self._from = f"MAIL FROM:<{box.address}>\r\n".encode()

    # --- handing over ---------------------------------------------------------------------

    def hand_over(self, permit: Permit, to: str, data: bytes, tag: Any = None) -> None:
        """Start one message to ``to`` (bytes already built), only with a permit for email
        to that address; its outcome comes to ``done``."""
        if not isinstance(permit, Permit) or not permit.covers("email", to):
            raise PermissionError(f"no permit to email {to}")
        self._pump(0.0)
        while not self.idle and len(self.sessions) >= self.size:
            self._pump(self.timeout)
        try:
            session = self.idle.pop() if self.idle else self._open()
        except (smtplib.SMTPException, OSError) as exc:  # the relay could not be reached
            self.done(tag, exc)
            return
        session.to, session.data, session.tag = to, data, tag
        self.busy += 1
        if session.pipelined:
            self._send(session, self._from + _rcpt(to) + b"DATA\r\n", MAIL)
        else:
            self._send(session, self._from, MAIL)

    def drain(self) -> None:
        """Wait until the relay has answered every message started."""
        while self.busy:
            self._pump(self.timeout)

    def close(self) -> None:
        self.drain()
        for session in list(self.sessions):
            self._drop(session, quit=True)
        self.selector.close()

    # --- sessions ---------------------------------------------------------------------------

    def _open(self) -> _Session:
        relay = self.box.relay
        assert relay is not None
        client = connect(relay, self.timeout, self.context)
        assert client.sock is not None
        client.sock.settimeout(0.0)  # read when readable, without a wait of its own
        session = _Session(client, client.sock, pipelined=client.has_extn("pipelining"))
        self.sessions.append(session)
        self.selector.register(session.sock, selectors.EVENT_READ, session)
        return session

    def _drop(self, session: _Session, *, quit: bool = False) -> None:
        if session in self.sessions:
            self.sessions.remove(session)
            self.selector.unregister(session.sock)
        if session in self.idle:
            self.idle.remove(session)
        try:
            session.sock.settimeout(self.timeout)
            if quit:
                session.client.quit()
            else:
                session.client.close()
        except (smtplib.SMTPException, OSError):
            session.client.close()

    def _send(self, session: _Session, command: bytes, state: int) -> None:
        session.state = state
        session.since = time.monotonic()
        try:
            _write(session.sock, command, self.timeout)
        except OSError as exc:
            self._fail(session, smtplib.SMTPServerDisconnected(f"the relay went away: {exc}"))

    # --- answers ---------------------------------------------------------------------------

    def _pump(self, timeout: float) -> None:
        """Read what the relay has answered (waiting up to ``timeout`` for something when
        there is nothing yet) and move each session on."""
        if not self.busy:
            return
        events = self.selector.select(timeout)
        for key, _ in events:
            self._read(key.data)
        if timeout > 0:
            self._expire()

    def _expire(self) -> None:
        stale = time.monotonic() - self.timeout
        for session in list(self.sessions):
            if session.state != IDLE and session.since <= stale:
                self._fail(session, TimeoutError("the relay did not answer in time"))

    def _read(self, session: _Session) -> None:
        while True:
            try:
                chunk = session.sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                return
            except OSError as exc:
                self._fail(session, smtplib.SMTPServerDisconnected(f"the relay went away: {exc}"))
                return
            if not chunk:
                self._fail(session, smtplib.SMTPServerDisconnected("the relay closed the session"))
                return
            session.buffer += chunk
            while b"\r\n" in session.buffer and session in self.sessions:
                line, session.buffer = session.buffer.split(b"\r\n", 1)
                session.lines.append(line)
                if line[3:4] != b"-":  # the reply's last line
                    lines, session.lines = session.lines, []
                    self._answer(session, int(lines[0][:3]), b"\n".join(x[4:] for x in lines))
            pending = getattr(session.sock, "pending", None)
            if session not in self.sessions or not (pending and pending()):
                return

    def _answer(self, session: _Session, code: int, reply: bytes) -> None:
        state = session.state
        if session.pipelined and state in (MAIL, RCPT, DATA):
            self._answer_ahead(session, code, reply)
        elif state == MAIL:
            if code == 250:
                self._send(session, _rcpt(session.to), RCPT)
            else:
                self._refused(session, smtplib.SMTPSenderRefused(code, reply, self.box.address))
        elif state == RCPT:
            if code in (250, 251):
                self._send(session, b"DATA\r\n", DATA)
            else:
                self._refused(session, smtplib.SMTPRecipientsRefused({session.to: (code, reply)}))
        elif state == DATA:
            if code == 354:
                self._send(session, _stuffed(session.data), BODY)
            else:
                self._refused(session, smtplib.SMTPDataError(code, reply))
        elif state == BODY:
            if code == 250:
                self._settle(session, None)
                self._rest(session)
            else:
                self._refused(session, smtplib.SMTPDataError(code, reply))
        elif state == RSET:
            self.busy -= 1
            self._rest(session)

    def _answer_ahead(self, session: _Session, code: int, reply: bytes) -> None:
        """An answer to ``MAIL``, ``RCPT`` or ``DATA`` sent together: each is read in
        turn, and the first refusal is the message's once the answer to ``DATA`` is in."""
        state = session.state
        if state == MAIL:
            if code != 250:
                session.error = smtplib.SMTPSenderRefused(code, reply, self.box.address)
            session.state = RCPT
        elif state == RCPT:
            if code not in (250, 251) and session.error is None:
                session.error = smtplib.SMTPRecipientsRefused({session.to: (code, reply)})
            session.state = DATA
        else:
            error, session.error = session.error, None
            if error is None and code == 354:
                self._send(session, _stuffed(session.data), BODY)
            elif code == 354:
                # The relay waits for the body of a message it refused: it never gets
                # it, and the session ends rather than send an empty one.
                self._settle(session, error)
                self._drop(session)
            else:
                self._refused(session, error or smtplib.SMTPDataError(code, reply))

    def _settle(self, session: _Session, error: BaseException | None) -> None:
        tag, session.tag, session.data = session.tag, None, b""
        self.busy -= 1
        self.done(tag, error)

    def _rest(self, session: _Session) -> None:
        session.state = IDLE
        self.idle.append(session)

    def _refused(self, session: _Session, error: BaseException) -> None:
        """The relay said no to this message: its outcome, and the session reset."""
        self._settle(session, error)
        self.busy += 1  # the reset is waited for like a message
        session.tag = _RESET
        self._send(session, b"RSET\r\n", RSET)

    def _fail(self, session: _Session, error: BaseException) -> None:
        """The session is gone (or timed out): the message in flight ends with ``error``
        and the session is closed; the next message opens another."""
        in_flight = session.state != IDLE
        tag = session.tag
        self._drop(session)
        if in_flight:
            self.busy -= 1
            if tag is not _RESET:
                self.done(tag, error)


_RESET = object()


def _rcpt(to: str) -> bytes:
    return b"RCPT TO:<" + to.encode() + b">\r\n"


def _stuffed(data: bytes) -> bytes:
    """A message's body as DATA sends it: a line that starts with a dot gets a second one,
    and the body ends with a line that is a dot alone. (The search for a dot at a line's
    start is one pass in C; most messages have none and are not copied line by line.)"""
    if data[:1] == b"." or b"\n." in data:
        data = smtplib._quote_periods(data)  # type: ignore[attr-defined]
    if data[-2:] != b"\r\n":
        return data + b"\r\n.\r\n"
    return data + b".\r\n"


def _write(sock: Any, data: bytes, timeout: float) -> None:
    """All of ``data`` to a socket that does not wait: what does not fit in its buffer
    now is sent as it drains, waiting at most ``timeout`` each time."""
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except (BlockingIOError, ssl.SSLWantWriteError):
            _, writable, _ = select.select([], [sock], [], timeout)
            if not writable:
                raise TimeoutError("the relay took nothing in time") from None
