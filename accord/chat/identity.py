"""Who a chat visitor is. What a visitor types (the pre-chat form, an address for an
offline answer) and what page script passes to ``accord.identify`` is a claim: agents see
it and answers go to it, but it never joins the visitor to the person's other
conversations and never links identifiers in the identity graph. Only an identity the
site's own server vouches for does: an HMAC-SHA256 of the user id (``userHash``; of the
email when there is no user id) or of the email (``emailHash``), keyed with the
workspace's identity secret. Even then a chat continues only a conversation that
already holds a message from a vouched identity (an email from that address, a chat
vouched for the same user), never one reached through links the public tracking API can
make. The secret is stored encrypted (the settings group ``chat_identity``, written only
by :func:`rotate` and :func:`turn_off`); it is shown when generated and can be rotated."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from accord.chat.models import ChatVisitor
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import get_workspace
from accord.govern.workspaces.settings import SettingsGroup
from accord.inbox.people import Contact
from accord.kit.security import constant_time_equals, decrypt, encrypt, random_token
from accord.kit.time import utcnow

PURPOSE = "chat-identity"


def user_hash(secret: str, value: str) -> str:
    """What the site's server computes for its signed-in user and hands the widget."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()


def verifies(secret: str | None, given: Any, value: str | None) -> bool:
    """Whether ``given`` is the site's hash of ``value`` under the workspace's secret."""
    if not secret or not value or not isinstance(given, str) or not given:
        return False
    return constant_time_equals(user_hash(secret, value), given.strip().lower())


class IdentitySecret(BaseModel):
    """The settings group ``chat_identity``: the secret, encrypted, and when it was set."""

    model_config = ConfigDict(extra="ignore")

    secret_encrypted: str | None = None
    set_at: str | None = None


IDENTITY = SettingsGroup(
    "chat_identity", IdentitySecret, secret_fields=frozenset({"secret_encrypted"})
)


def rotate(
    session: Session,
    workspace_id: uuid.UUID,
    secret_key: str,
    *,
    actor: Principal,
    expected_version: int | None = None,
    now: datetime | None = None,
) -> str:
    """A new secret (the old one stops verifying at once), stored encrypted and audited
    without it; returned in clear, once."""
    secret = "cis_" + random_token(32)
    value = IdentitySecret(
        secret_encrypted=encrypt(secret_key, secret, PURPOSE),
        set_at=(now or utcnow()).isoformat(),
    )
    workspace = get_workspace(session, workspace_id)
    IDENTITY.write(session, workspace, value, actor=actor, expected_version=expected_version)
    return secret


def turn_off(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> None:
    """Verification off: every identity the widget gives is a claim."""
    workspace = get_workspace(session, workspace_id)
    IDENTITY.write(
        session, workspace, IdentitySecret(), actor=actor, expected_version=expected_version
    )


def secret_of(workspace: Workspace, secret_key: str) -> str | None:
    return decrypt(secret_key, IDENTITY.read(workspace).secret_encrypted, PURPOSE)


def status(workspace: Workspace) -> dict[str, Any]:
    value = IDENTITY.read(workspace)
    return {
        "enabled": bool(value.secret_encrypted),
        "set_at": value.set_at,
        "version": IDENTITY.version(workspace),
    }


def identify(
    visitor: ChatVisitor,
    user_id: Any,
    traits: Any,
    *,
    user_hash: Any = None,
    email_hash: Any = None,
    secret: str | None = None,
    now: datetime | None = None,
) -> bool:
    """What the site (``accord.identify``) or the visitor (the pre-chat form) says about
    who this is. A claim, unless a hash proves the site's server vouches for it:
    ``user_hash`` for the user id (or for the email when there is no user id),
    ``email_hash`` for the email (see :mod:`accord.chat.identity`). Returns whether the
    visitor is verified now."""
    said_id = str(user_id).strip()[:255] if isinstance(user_id, str | int) else ""
    said_email = ""
    if isinstance(traits, dict):
        kept = {
            str(k)[:60]: v
            for k, v in list(traits.items())[:30]
            if isinstance(v, str | int | float | bool)
        }
        visitor.traits = {**(visitor.traits or {}), **kept}
        if isinstance(traits.get("email"), str):
            said_email = traits["email"].strip()[:320]
        if isinstance(traits.get("name"), str):
            visitor.name = traits["name"].strip()[:200] or visitor.name
    if said_id:
        visitor.user_id = said_id
    if said_email:
        visitor.email = said_email
    id_ok = bool(said_id) and verifies(secret, user_hash, said_id)
    # An email's hash counts whether the site hashed it as given or lower-cased.
    emails = {said_email, said_email.lower()} if said_email else set()
    email_ok = any(
        verifies(secret, email_hash, e) or (not said_id and verifies(secret, user_hash, e))
        for e in emails
    )
    if id_ok or email_ok:
        visitor.verified_at = now or utcnow()
        visitor.verified_user_id = said_id if id_ok else None
        visitor.verified_email = said_email.lower() if email_ok else None
    elif said_id and said_id != visitor.verified_user_id:
        _unverify(visitor)  # someone else now, and nobody vouched for them
    elif said_email and visitor.verified_email and said_email.lower() != visitor.verified_email:
        if visitor.verified_user_id:
            visitor.verified_email = None  # the same user; their new email is a claim
        else:
            _unverify(visitor)
    return visitor.verified_at is not None


def _unverify(visitor: ChatVisitor) -> None:
    visitor.verified_at = None
    visitor.verified_user_id = None
    visitor.verified_email = None


def vouched(visitor: ChatVisitor) -> frozenset[str]:
    """The identities the site's server vouched for, as ``type:value``."""
    if visitor.verified_at is None:
        return frozenset()
    out = set()
    if visitor.verified_user_id:
        out.add(f"user_id:{visitor.verified_user_id}")
    if visitor.verified_email:
        out.add(f"email:{visitor.verified_email}")
    return frozenset(out)


def contact_of(visitor: ChatVisitor) -> Contact:
    """The sender of the visitor's messages. Verified: what the site vouched for (user id,
    email) is linked in the identity graph, and the chat may continue a conversation
    that already holds a message from one of those identities. Otherwise only the
    browser's anonymous id is linked; the name and email the visitor gave are shown and
    answered to, never linked, and the chat joins no other conversation."""
    sure = vouched(visitor)
    said = visitor.email if (visitor.email or "").lower() != visitor.verified_email else None
    if sure:
        return Contact(
            user_id=visitor.verified_user_id,
            email=visitor.verified_email,
            name=visitor.name,
            anonymous_id=visitor.anonymous_id,
            said_email=said,
            vouched=sure,
        )
    return Contact(
        name=visitor.name,
        anonymous_id=visitor.anonymous_id,
        said_email=visitor.email,
        verified=False,
    )
