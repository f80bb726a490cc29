"""Posts pushed by another listening tool to Accord's generic webhook, signed.

The sender signs each request with a secret it shares with the workspace: the header
``X-Accord-Signature: t=<unix seconds>,v1=<hex>`` where the hex is the HMAC-SHA256, keyed
with the secret, of ``f"{t}."`` followed by the raw body. While a secret is being
rotated the sender signs with both (several ``v1`` values); any one that matches is
enough. :func:`verify` refuses a bad signature and a timestamp further than the
tolerance from now, either way (a replayed or a post-dated request).

The body is JSON: one post object, a list of them, or ``{"posts": [...]}``, each with
the fields :mod:`accord.social.sources.imports` reads. :func:`parse` keeps the good posts
and reports each bad one by its index."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Literal

from accord.social.sources.base import Post
from accord.social.sources.imports import RowError, take_all

HEADER = "X-Accord-Signature"
TOLERANCE = 300  # seconds a signature's time may be from now
MAX_SIGNATURES = 8  # v1 values read from one header

SignatureCode = Literal["bad_signature", "stale_signature"]


class SignatureError(Exception):
    """A request whose signature does not hold. ``code`` is ``bad_signature`` (missing,
    malformed or not matching) or ``stale_signature`` (signed too long ago, or in the
    future, beyond the tolerance)."""

    def __init__(self, code: SignatureCode, message: str) -> None:
        super().__init__(message)
        self.code: SignatureCode = code
        self.message = message


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of ``f"{timestamp}."`` and ``body``, keyed with ``secret``."""
    return hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secrets: str | list[str], timestamp: int, body: bytes) -> str:
    """The header's value a sender puts on ``body`` (one ``v1`` per secret)."""
    keys = [secrets] if isinstance(secrets, str) else secrets
    return ",".join([f"t={timestamp}", *(f"v1={signature(k, timestamp, body)}" for k in keys)])


def verify(secret: str, header: str, body: bytes, now: float, tolerance: int = TOLERANCE) -> None:
    """Nothing when ``header`` signs ``body`` with ``secret`` within ``tolerance``
    seconds of ``now``; else :class:`SignatureError`. Every ``v1`` value is compared in
    constant time."""
    if not secret:
        raise ValueError("a webhook secret cannot be empty")
    timestamp: int | None = None
    given: list[bytes] = []
    for part in (header or "").split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        if key == "t" and value.strip().isdigit():
            timestamp = int(value.strip())
        elif key == "v1" and len(given) < MAX_SIGNATURES:
            given.append(value.strip().lower().encode("utf-8", "replace"))
    if timestamp is None:
        raise SignatureError("bad_signature", f"the {HEADER} header has no t=<unix seconds>")
    if not given:
        raise SignatureError("bad_signature", f"the {HEADER} header has no v1=<signature>")
    expected = signature(secret, timestamp, body).encode()
    matched = False
    for candidate in given:
        matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureError("bad_signature", "the signature does not match the body")
    drift = now - timestamp
    if abs(drift) > tolerance:
        when = f"{int(drift)} seconds ago" if drift > 0 else f"{int(-drift)} seconds ahead"
        message = f"the request was signed {when}, beyond the {tolerance} seconds allowed"
        raise SignatureError("stale_signature", message)


def parse(body: bytes) -> tuple[list[Post], list[RowError]]:
    """The posts of a webhook's body, and an error per bad post (by its index; a body
    that is not JSON, or not posts, is one error without an index)."""
    try:
        data = json.loads(body)
    except ValueError as exc:  # not JSON, or not UTF-8
        why = getattr(exc, "msg", None) or str(exc)
        return [], [RowError(f"the body is not JSON: {why}", code="not_json")]
    except RecursionError:
        return [], [RowError("the body is nested too deeply to read", code="not_json")]
    if isinstance(data, dict) and "posts" in data:
        data = data["posts"]
        if not isinstance(data, list):
            return [], [RowError("posts must be a list", field="posts", code="invalid")]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list):
        message = "the body must be a post, a list of posts or {'posts': [...]}"
        return [], [RowError(message, code="not_object")]
    return take_all(data, "webhook")
