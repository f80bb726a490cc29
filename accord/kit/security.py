"""Secrets: argon2 for passwords, SHA-256 lookup hashes for high-entropy tokens, HMAC for
CSRF tokens. Plain secrets are shown once and never stored; the few Accord must use again
are encrypted (Fernet) with a key derived from the server's secret key."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from cryptography.fernet import Fernet, InvalidToken

_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = 10


@functools.cache
def _dummy_hash() -> str:
    # Verified against when the email is unknown, so a wrong email costs as much as a wrong
    # password and response time does not reveal which accounts exist.
    return _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def lookup_hash(token: str) -> str:
    """Deterministic hash for looking up a high-entropy token by index."""
    return hashlib.sha256(token.encode()).hexdigest()


def sign(secret_key: str, value: str) -> str:
    mac = _keyed(secret_key).copy()
    mac.update(value.encode())
    return mac.hexdigest()


@functools.lru_cache(maxsize=8)
def _keyed(secret_key: str) -> hmac.HMAC:
    """HMAC-SHA256 with the key already taken in (copied for each value: a campaign
    signs several links in every message)."""
    return hmac.new(secret_key.encode(), digestmod=hashlib.sha256)


def constant_time_equals(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _fernet(secret_key: str, purpose: str) -> Fernet:
    key = hashlib.sha256(f"accord-{purpose}:{secret_key}".encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(secret_key: str, value: str, purpose: str = "mailbox") -> str:
    """A secret Accord must use again (a relay password, an identity-verification key),
    encrypted with a key derived from the server's secret key and what it is for."""
    return _fernet(secret_key, purpose).encrypt(value.encode()).decode()


def decrypt(secret_key: str, value: str | None, purpose: str = "mailbox") -> str | None:
    if not value:
        return None
    try:
        return _fernet(secret_key, purpose).decrypt(value.encode()).decode()
    except InvalidToken:
        return None
