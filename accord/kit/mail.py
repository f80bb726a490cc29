"""Accord's own email (password reset links), sent through the one relay of the server,
``ACCORD_SMTP_URL``: ``smtp://`` upgrades with STARTTLS when the relay offers it (and
refuses to send a password in clear to any host but loopback), ``smtps://`` speaks TLS
from the start. The workspaces' support mail has relays of its own (``channels``)."""

from __future__ import annotations

import ipaddress
import logging
import smtplib
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 30.0


class MailError(Exception):
    """The relay could not be used as configured."""


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Relay:
    host: str
    port: int
    tls: bool  # smtps://: TLS from the first byte
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Relay:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise MailError("the SMTP URL must be smtp://host[:port] or smtps://host[:port]")
        tls = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if tls else 587),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def send(relay: Relay, message: EmailMessage, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Hand one message to the relay (its From and To headers say who and to whom)."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if relay.tls:
        client = smtplib.SMTP_SSL(relay.host, relay.port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(relay.host, relay.port, timeout=timeout)
    with client:
        client.ehlo()
        if not relay.tls:
            if client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif relay.username and not _loopback(relay.host):
                raise MailError(
                    f"{relay.host} offers no STARTTLS; its password is not sent in clear "
                    "(use smtps:// or a relay that offers STARTTLS)"
                )
        if relay.username:
            client.login(relay.username, relay.password or "")
        client.send_message(message)


def send_in_background(relay: Relay, message: EmailMessage) -> None:
    """Send from a thread of its own, so how long the relay takes shows in no response;
    a failure is logged."""

    def run() -> None:
        try:
            send(relay, message)
        except (OSError, smtplib.SMTPException, MailError):
            log.exception("could not send email to %s", message["To"])

    threading.Thread(target=run, name="accord-mail", daemon=True).start()
