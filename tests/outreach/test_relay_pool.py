"""Several SMTP sessions driven by one thread (``channels.relay_pool``), against a real
SMTP server on loopback that refuses, drops and stalls as a relay may: each message ends
once, with the error smtplib would have raised, and a session goes on after a refusal."""

from __future__ import annotations

import asyncio
import ipaddress
import smtplib
import socketserver
import ssl
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from accord.channels.mailbox import Mailbox, Server
from accord.channels.relay_pool import RelayPool
from accord.govern.consent.policy import Decision, Permit
from tests.helpers import free_port

WS = uuid.uuid4()


def permit(to: str) -> Permit:
    return Decision(True, WS, "email", "marketing", "allowed", "allowed", address=to).permit()


@dataclass
class Relay:
    """Accepts mail, but: refuses ``bounce*`` (550) and ``later*`` (451) at RCPT,
    rejects a body holding ``X-Reject`` (554), closes the connection at RCPT of
    ``drop*``, and takes its time over ``slow*``. With ``pipelining`` it offers
    PIPELINING, and notes each ``MAIL`` that came with its ``RCPT`` and ``DATA``."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    connections: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)
    pipelining: bool = False
    sent_ahead: int = 0

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.pipelining:
            return [*responses[:-1], "250-PIPELINING", responses[-1]]
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        # What the client sent after MAIL and the relay has not read yet.
        waiting = bytes(server._reader._buffer)
        if b"RCPT TO:" in waiting and b"DATA\r\n" in waiting:
            with self.lock:
                self.sent_ahead += 1
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        with self.lock:
            self.connections.add(id(session))
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        if address.startswith("later"):
            return "451 4.3.0 Try again later"
        if address.startswith("drop"):
            server.transport.close()
            return "421 closing"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        to = envelope.rcpt_tos[0]
        if to.startswith("slow"):
            await asyncio.sleep(1.5)
        if b"X-Reject" in envelope.original_content:
            return "554 5.7.1 Message refused"
        with self.lock:
            self.bodies[to] = envelope.original_content
        return "250 OK"


@pytest.fixture(params=["pipelining", "one command at a time"])
def relay(request: pytest.FixtureRequest) -> Iterator[tuple[Relay, Mailbox]]:
    handler = Relay(pipelining=request.param == "pipelining")
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield (
            handler,
            Mailbox(address="news@shop.example", name="Shop", relay=Server("127.0.0.1", port)),
        )
    finally:
        controller.stop()


def message(to: str, body: str = "Hello") -> bytes:
    return f"From: news@shop.example\r\nTo: {to}\r\nSubject: Hi\r\n\r\n{body}\r\n".encode()


def test_many_messages_over_a_few_sessions_each_arrive_once(
    relay: tuple[Relay, Mailbox],
) -> None:
    handler, box = relay
    outcomes: list[tuple[Any, BaseException | None]] = []
    pool = RelayPool(box, lambda tag, error: outcomes.append((tag, error)), sessions=3)
    addresses = [f"p{i:03d}@example.com" for i in range(60)]
    for to in addresses:
        body = message(to, f"For {to}\r\n.a line that starts with a dot")
        pool.hand_over(permit(to), to, body, to)
    pool.close()
    assert sorted(tag for tag, _ in outcomes) == addresses  # each answered once
    assert all(error is None for _, error in outcomes)
    assert set(handler.bodies) == set(addresses)
    # Dot-stuffed on the way, as it was written on arrival.
    assert b"\r\n.a line that starts with a dot" in handler.bodies["p007@example.com"]
    assert len(handler.connections) <= 3
    # Offered PIPELINING, every message's MAIL, RCPT and DATA went together.
    assert handler.sent_ahead == (len(addresses) if handler.pipelining else 0)


def test_refusals_end_their_message_and_the_session_goes_on(
    relay: tuple[Relay, Mailbox],
) -> None:
    handler, box = relay
    outcomes: dict[str, BaseException | None] = {}
    pool = RelayPool(box, lambda tag, error: outcomes.__setitem__(tag, error), sessions=1)
    cases = {
        "bounce@example.com": message("bounce@example.com"),
        "ok1@example.com": message("ok1@example.com"),
        "later@example.com": message("later@example.com"),
        "reject@example.com": message("reject@example.com", "X-Reject: yes"),
        "ok2@example.com": message("ok2@example.com"),
    }
    for to, data in cases.items():
        pool.hand_over(permit(to), to, data, to)
    pool.close()
    bounced = outcomes["bounce@example.com"]
    assert isinstance(bounced, smtplib.SMTPRecipientsRefused)
    assert bounced.recipients["bounce@example.com"][0] == 550
    later = outcomes["later@example.com"]
    assert isinstance(later, smtplib.SMTPRecipientsRefused)
    assert later.recipients["later@example.com"][0] == 451
    rejected = outcomes["reject@example.com"]
    assert isinstance(rejected, smtplib.SMTPDataError)
    assert rejected.smtp_code == 554
    assert outcomes["ok1@example.com"] is None
    assert outcomes["ok2@example.com"] is None
    assert set(handler.bodies) == {"ok1@example.com", "ok2@example.com"}
    assert len(handler.connections) == 1  # one session throughout, reset after each refusal


def test_a_dropped_session_fails_its_message_and_the_next_opens_another(
    relay: tuple[Relay, Mailbox],
) -> None:
    handler, box = relay
    outcomes: dict[str, BaseException | None] = {}
    pool = RelayPool(box, lambda tag, error: outcomes.__setitem__(tag, error), sessions=1)
    for to in ("a@example.com", "drop@example.com", "b@example.com"):
        pool.hand_over(permit(to), to, message(to), to)
    pool.close()
    assert outcomes["a@example.com"] is None
    assert isinstance(outcomes["drop@example.com"], smtplib.SMTPServerDisconnected)
    assert outcomes["b@example.com"] is None
    assert set(handler.bodies) == {"a@example.com", "b@example.com"}
    assert len(handler.connections) == 2


def test_a_relay_that_does_not_answer_in_time_fails_that_message_only(
    relay: tuple[Relay, Mailbox],
) -> None:
    handler, box = relay
    outcomes: dict[str, BaseException | None] = {}
    pool = RelayPool(
        box, lambda tag, error: outcomes.__setitem__(tag, error), sessions=2, timeout=0.5
    )
    for to in ("slow@example.com", "c@example.com", "d@example.com"):
        pool.hand_over(permit(to), to, message(to), to)
    pool.close()
    assert isinstance(outcomes["slow@example.com"], TimeoutError)
    assert outcomes["c@example.com"] is None
    assert outcomes["d@example.com"] is None
    assert {"c@example.com", "d@example.com"} <= set(handler.bodies)


def test_no_message_goes_without_a_permit_for_its_address(relay: tuple[Relay, Mailbox]) -> None:
    handler, box = relay
    pool = RelayPool(box, lambda tag, error: None)
    with pytest.raises(PermissionError):
        pool.hand_over(permit("someone@example.com"), "other@example.com", message("x"))
    with pytest.raises(PermissionError):
        pool.hand_over(object(), "x@example.com", message("x"))  # type: ignore[arg-type]
    pool.close()
    assert handler.bodies == {}


def test_an_unreachable_relay_fails_each_message_with_the_reason() -> None:
    box = Mailbox(address="news@shop.example", name="Shop", relay=Server("127.0.0.1", free_port()))
    outcomes: list[BaseException | None] = []
    pool = RelayPool(box, lambda tag, error: outcomes.append(error), timeout=2.0)
    pool.hand_over(permit("a@example.com"), "a@example.com", message("a@example.com"))
    pool.close()
    assert len(outcomes) == 1
    assert isinstance(outcomes[0], OSError)


def _certificate(tmp: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp / "relay.pem", tmp / "relay.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_sessions_secured_by_tls_carry_many_messages(tmp_path: Path, security: str) -> None:
    cert_file, key_file = _certificate(tmp_path)
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert_file, key_file)
    trusting = ssl.create_default_context(cafile=str(cert_file))
    handler = Relay()
    port = free_port()
    if security == "tls":
        controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=server_side)
    else:
        controller = Controller(
            handler,
            hostname="127.0.0.1",
            port=port,
            tls_context=server_side,
            require_starttls=True,
        )
    controller.start()
    try:
        box = Mailbox(
            address="news@shop.example",
            name="Shop",
            relay=Server("127.0.0.1", port, security=security),
        )
        outcomes: dict[str, BaseException | None] = {}
        pool = RelayPool(
            box,
            lambda tag, error: outcomes.__setitem__(tag, error),
            sessions=2,
            context=trusting,
        )
        addresses = [f"t{i:02d}@example.com" for i in range(20)] + ["bounce@example.com"]
        for to in addresses:
            pool.hand_over(permit(to), to, message(to, ("x" * 76 + "\r\n") * 300), to)
        pool.close()
    finally:
        controller.stop()
    assert set(outcomes) == set(addresses)
    assert isinstance(outcomes.pop("bounce@example.com"), smtplib.SMTPRecipientsRefused)
    assert all(error is None for error in outcomes.values()), outcomes
    assert set(handler.bodies) == set(outcomes)
    assert len(handler.connections) <= 2


class _Lenient(socketserver.StreamRequestHandler):
    """A relay that offers PIPELINING but answers ``DATA`` with 354 even when it has
    refused every recipient (as RFC 2920 says it should not): it records the bodies it
    is given, per connection."""

    server: _LenientServer

    def handle(self) -> None:
        bodies: list[bytes] = []
        self.server.connections.append(bodies)
        self.wfile.write(b"220 lenient\r\n")
        while line := self.rfile.readline():
            command = line[:4].upper()
            if command == b"EHLO":
                self.wfile.write(b"250-lenient\r\n250-PIPELINING\r\n250 HELP\r\n")
            elif command == b"RCPT":
                self.wfile.write(b"550 no\r\n" if b"bounce" in line else b"250 OK\r\n")
            elif command == b"DATA":
                self.wfile.write(b"354 go ahead\r\n")
                body = b""
                while (part := self.rfile.readline()) not in (b".\r\n", b""):
                    body += part
                if part == b"":  # the client went away: no message
                    return
                bodies.append(body)
                self.wfile.write(b"250 OK\r\n")
            elif command == b"QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:  # MAIL, RSET
                self.wfile.write(b"250 OK\r\n")


class _LenientServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    connections: list[list[bytes]]


def test_a_refused_message_is_never_sent_to_a_relay_that_asks_for_its_body_anyway() -> None:
    server = _LenientServer(("127.0.0.1", 0), _Lenient)
    server.connections = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        box = Mailbox(
            address="news@shop.example",
            name="Shop",
            relay=Server("127.0.0.1", server.server_address[1]),
        )
        outcomes: dict[str, BaseException | None] = {}
        pool = RelayPool(box, lambda tag, error: outcomes.__setitem__(tag, error), sessions=1)
        for to in ("bounce@example.com", "ok@example.com"):
            pool.hand_over(permit(to), to, message(to), to)
        pool.close()
    finally:
        server.shutdown()
        server.server_close()
    refused = outcomes["bounce@example.com"]
    assert isinstance(refused, smtplib.SMTPRecipientsRefused)
    assert refused.recipients["bounce@example.com"][0] == 550
    assert outcomes["ok@example.com"] is None
    # The refused message's session ended without a body; the next went on another.
    first, second = server.connections
    assert first == []
    (body,) = second
    assert b"To: ok@example.com" in body
