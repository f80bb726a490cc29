"""The identifier vocabulary: the standard identifier types and how a value of each is
normalized (lower-case emails, E.164 phones, platform:handle). Collect needs it first, to
read identifiers off a message; resolution and the profile use the same."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers

USER_ID = "user_id"
ANONYMOUS_ID = "anonymous_id"
EMAIL = "email"
PHONE = "phone"
DEVICE_ID = "device_id"
LOYALTY_CARD = "loyalty_card"
SOCIAL = "social"

# Weak identifiers name a browser or a device, not a person: seen with too many people,
# they stop linking (a shared family tablet, a store kiosk).
WEAK_TYPES = frozenset({ANONYMOUS_ID, DEVICE_ID})
STANDARD_TYPES = frozenset({USER_ID, ANONYMOUS_ID, EMAIL, PHONE, DEVICE_ID, LOYALTY_CARD, SOCIAL})

TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
EMAIL_SHAPE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
SOCIAL_SHAPE = re.compile(r"^([a-z][a-z0-9_.-]{0,30}):@?([^\s]{1,200})$")
MAX_VALUE = 255


class InvalidIdentifier(ValueError):
    """A value that cannot name anyone (a malformed email, an impossible phone number)."""


def normalize(type_name: str, raw: Any, *, region: str = "US") -> str:
    """The canonical form of an identifier value, or InvalidIdentifier."""
    if raw is None or isinstance(raw, (dict, list, bool)):
        raise InvalidIdentifier(f"{type_name} must be a string or a number")
    value = str(raw).strip()
    if not value:
        raise InvalidIdentifier(f"{type_name} is empty")
    if type_name == EMAIL:
        value = value.lower()
        if not EMAIL_SHAPE.match(value):
            raise InvalidIdentifier(f"{raw!r} is not an email address")
    elif type_name == PHONE:
        try:
            number = phonenumbers.parse(value, region.upper() or None)
        except phonenumbers.NumberParseException as exc:
            raise InvalidIdentifier(f"{raw!r} is not a phone number") from exc
        if not phonenumbers.is_possible_number(number):
            raise InvalidIdentifier(f"{raw!r} is not a possible phone number")
        value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    elif type_name == SOCIAL:
        match = SOCIAL_SHAPE.match(value.lower())
        if not match:
            raise InvalidIdentifier(f"{raw!r} is not platform:handle")
        value = f"{match.group(1)}:{match.group(2)}"
    if len(value) > MAX_VALUE:
        raise InvalidIdentifier(f"{type_name} is longer than {MAX_VALUE} characters")
    return value


def calling_code(region: str) -> int | None:
    """The international calling code of a region (1 for US), or None if unknown."""
    code = phonenumbers.country_code_for_region(region.upper())
    return int(code) or None


def check_type_name(name: str) -> str:
    name = name.strip().lower()
    if not TYPE_NAME.match(name):
        raise InvalidIdentifier(
            f"{name!r} is not an identifier type (lower-case letters, digits, underscores)"
        )
    return name
