"""Webhooks on the wire: which URLs a destination may have, the signature every delivery
carries, and one signed POST with short timeouts.

The signature: ``Accord-Signature: t=<unix seconds>,v1=<hex>`` where ``<hex>`` is the
HMAC-SHA256, keyed by the destination's secret, of ``"<t>.<body>"`` (the body's exact
bytes). A receiver recomputes it, compares in constant time, and refuses a ``t`` too far
from its own clock (``verify`` does all three)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from accord import __version__
from accord.kit.errors import invalid

SIGNATURE_HEADER = "Accord-Signature"
TOLERANCE_SECONDS = 300
TIMEOUT = httpx.Timeout(5.0, connect=3.0)
MAX_URL = 2000
ERROR_TEXT = 300  # characters of a failing answer's body kept in the log


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Accord-Signature`` header's value for ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str,
    header: str,
    body: bytes,
    *,
    now: float | None = None,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: the header's HMAC matches the body and its time is recent."""
    parts: dict[str, list[str]] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = signature(secret, timestamp, body).rsplit("v1=", 1)[1]
    return any(hmac.compare_digest(expected, v) for v in parts.get("v1", []))


def _blocked(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Addresses a destination may never reach: link-local (cloud metadata services
    live at 169.254.169.254), multicast, unspecified and reserved ones."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_link_local or ip.is_multicast or ip.is_unspecified or ip.is_reserved


def check_url(raw: str) -> str:
    """A destination's URL as stored: http or https, a host, no credentials in it, and
    not an address of the machine's own network services (see ``_blocked``)."""
    url = raw.strip()
    if not url or len(url) > MAX_URL:
        raise invalid(f"The URL must be 1 to {MAX_URL} characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise invalid(f"The URL is not valid: {error}", field="url") from error
    if parts.scheme not in ("http", "https"):
        raise invalid("The URL must start with http:// or https://", field="url", code="bad_url")
    if not parts.hostname:
        raise invalid("The URL needs a host", field="url", code="bad_url")
    if parts.username or parts.password:
        raise invalid(
            "Put no credentials in the URL: deliveries are signed (Accord-Signature)",
            field="url",
            code="bad_url",
        )
    if port == 0:
        raise invalid("The URL's port must be 1 to 65535", field="url", code="bad_url")
    try:
        ip = ipaddress.ip_address(parts.hostname)
    except ValueError:
        return url
    if _blocked(ip):
        raise invalid(f"The address {ip} cannot be a destination", field="url", code="bad_url")
    return url


def _resolves_to_blocked(url: str) -> str | None:
    """At send time: the reason the URL's host now resolves somewhere it may not go."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = socket.getaddrinfo(host, parts.port or (443 if parts.scheme == "https" else 80))
    except OSError:
        return None  # the POST reports the failure to resolve
    for info in infos:
        try:
            ip = ipaddress.ip_address(info[4][0])
        except ValueError:
            continue
        if _blocked(ip):
            return f"{host} resolves to {ip}, which cannot be a destination"
    return None


@dataclass(frozen=True)
class Outcome:
    """How one attempt went: delivered (a 2xx answer), or the status and the error."""

    delivered: bool
    status_code: int | None = None
    error: str | None = None


def post(
    url: str,
    secret: str,
    body: str,
    *,
    delivery_id: str,
    event: str,
    timeout: httpx.Timeout = TIMEOUT,
) -> Outcome:
    """One signed POST of ``body``; redirects are not followed (a 3xx is a failure)."""
    blocked = _resolves_to_blocked(url)
    if blocked is not None:
        return Outcome(False, None, blocked)
    content = body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"Accord-Webhooks/{__version__}",
        SIGNATURE_HEADER: signature(secret, int(time.time()), content),
        "Accord-Event": event,
        "Accord-Delivery": delivery_id,
        "Idempotency-Key": delivery_id,
    }
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as client:
            answer = client.post(url, content=content, headers=headers)
    except httpx.TimeoutException:
        return Outcome(False, None, "timed out")
    except httpx.HTTPError as error:
        return Outcome(False, None, f"could not connect: {error}"[:ERROR_TEXT])
    if 200 <= answer.status_code < 300:
        return Outcome(True, answer.status_code)
    text = answer.text[:ERROR_TEXT].strip()
    reason = f"answered {answer.status_code} {answer.reason_phrase}".strip()
    return Outcome(False, answer.status_code, f"{reason}: {text}" if text else reason)
