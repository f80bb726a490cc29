"""Who a chat visitor is. What a visitor types (the pre-chat form, an address for an
offline answer) and what page script passes to ``accord.identify`` is a claim: agents see
it and answers go to it, but it never joins the visitor to the person's other
conversations and never links identifiers in the identity graph. Only an identity the
site's own server vouches for does: an HMAC-SHA256 of the user id (or of the email when
there is no user id), keyed with the workspace's identity secret, passed as ``userHash``.
The secret is stored encrypted; it is shown when generated and can be rotated."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

from accord.govern.workspaces.models import Workspace
from accord.kit.security import constant_time_equals, decrypt, encrypt, random_token
from accord.kit.time import utcnow

SETTING = "chat_identity"
PURPOSE = "chat-identity"


def user_hash(secret: str, value: str) -> str:
    """What the site's server computes for its signed-in user and hands the widget."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def verifies(secret: str | None, given: Any, user_id: str | None, email: str | None) -> bool:
    """Whether ``given`` is the hash of the user id, or of the email when there is no id."""
    value = user_id or email
    if not secret or not value or not isinstance(given, str) or not given:
        return False
    return constant_time_equals(user_hash(secret, value), given.strip().lower())


def generate(workspace: Workspace, secret_key: str, now: datetime | None = None) -> str:
    """A new secret (the old one stops verifying at once); returned in clear once."""
    secret = "cis_" + random_token(32)
    workspace.settings = {
        **(workspace.settings or {}),
        SETTING: {
            "secret_encrypted": encrypt(secret_key, secret, PURPOSE),
            "set_at": (now or utcnow()).isoformat(),
        },
    }
    return secret


def clear(workspace: Workspace) -> None:
    """Verification off: every identity the widget gives is a claim."""
    workspace.settings = {k: v for k, v in (workspace.settings or {}).items() if k != SETTING}


def secret_of(workspace: Workspace, secret_key: str) -> str | None:
    raw = (workspace.settings or {}).get(SETTING) or {}
    return decrypt(secret_key, raw.get("secret_encrypted"), PURPOSE)


def status(workspace: Workspace) -> dict[str, Any]:
    raw = (workspace.settings or {}).get(SETTING) or {}
    return {"enabled": bool(raw.get("secret_encrypted")), "set_at": raw.get("set_at")}
