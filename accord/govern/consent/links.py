"""Signed links a customer follows without logging in: the preference center, the
one-click unsubscribe of an email and the confirmation of a double opt-in. A link names
what it acts on and carries an HMAC of it under the deployment's secret key; it does not
expire (an unsubscribe link must keep working as long as the email is kept)."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass

from accord.kit.errors import forbidden
from accord.kit.security import constant_time_equals, sign

PREFERENCES = "pref"
UNSUBSCRIBE = "unsub"
CONFIRM = "confirm"
SEPARATOR = "|"


@dataclass(frozen=True)
class Link:
    kind: str
    workspace_id: uuid.UUID
    subject: str  # a profile id, or for an address-only unsubscribe the address
    channel: str = ""
    purpose: str = ""
    extra: str = ""  # a confirmation's pending record id

    @property
    def profile_id(self) -> uuid.UUID | None:
        try:
            return uuid.UUID(self.subject)
        except ValueError:
            return None


def mint(secret_key: str, link: Link) -> str:
    parts = [
        link.kind,
        str(link.workspace_id),
        link.subject,
        link.channel,
        link.purpose,
        link.extra,
    ]
    payload = SEPARATOR.join(parts)
    body = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{body}.{sign(secret_key, payload)[:32]}"


def read(secret_key: str, token: str, kind: str) -> Link:
    """The link a token names, once its signature is checked (403 ``bad_link`` when the
    token was altered, is of another kind or is not one)."""
    body, _, mac = (token or "").partition(".")
    try:
        payload = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        parts = payload.split(SEPARATOR)
        if len(parts) != 6:
            raise ValueError(payload)
        workspace_id = uuid.UUID(parts[1])
    except (ValueError, UnicodeDecodeError):
        raise forbidden("This link is not valid", code="bad_link") from None
    if not constant_time_equals(sign(secret_key, payload)[:32], mac) or parts[0] != kind:
        raise forbidden("This link is not valid", code="bad_link")
    return Link(parts[0], workspace_id, parts[2], parts[3], parts[4], parts[5])


def url(base_url: str, secret_key: str, link: Link) -> str:
    path = {PREFERENCES: "preferences", UNSUBSCRIBE: "unsubscribe", CONFIRM: "consent/confirm"}
    return f"{base_url.rstrip('/')}/{path[link.kind]}/{mint(secret_key, link)}"
