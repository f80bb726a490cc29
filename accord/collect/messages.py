"""Turning a Segment-spec message into an event row: validation with the field at fault,
clock-skew correction, channel, traits and the identifiers the message carries."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from accord.collect import identifiers as ids
from accord.collect.identifiers import InvalidIdentifier
from accord.collect.orders import OrderProblem, check_order, order_kind
from accord.collect.traits import normalize_traits
from accord.kit.errors import FieldError
from accord.kit.textcheck import find_bad

TYPES = ("identify", "track", "page", "screen", "group", "alias")
MAX_MESSAGE_BYTES = 32 * 1024
MAX_BATCH_BYTES = 500 * 1024
ALIAS_PREVIOUS = "alias_previous"
SOCIAL_TRAITS = (
    "twitter",
    "instagram",
    "facebook",
    "tiktok",
    "linkedin",
    "youtube",
    "x",
    "bluesky",
    "mastodon",
    "reddit",
    "threads",
)
CHANNELS = (
    "web",
    "app",
    "store",
    "call_center",
    "email",
    "sms",
    "chat",
    "social",
    "api",
    "import",
)
MAX_FUTURE = timedelta(days=1)
# Traits the person's display columns are made of, and their sizes (Profile).
TRAIT_LENGTHS = {"email": 255, "firstName": 200, "lastName": 200, "name": 200}


class Invalid(Exception):
    def __init__(self, field: str, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.error = FieldError(field=field, code=code, message=message)


@dataclass
class Incoming:
    """A validated message, ready to be stored."""

    message_id: str
    type: str
    name: str | None
    user_id: str | None
    anonymous_id: str | None
    channel: str
    identifiers: list[list[str]]
    traits: dict[str, Any] | None
    properties: dict[str, Any] | None
    context: dict[str, Any]
    timestamp: datetime
    sent_at: datetime | None
    received_at: datetime
    consent: dict[str, Any] | None = None


def parse_time(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            dt = datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)
        except (OverflowError, ValueError, OSError):
            raise Invalid(field, f"{value!r} is not a time in range", "invalid_time") from None
    elif isinstance(value, str):
        try:
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise Invalid(
                field, f"{value[:40]!r} is not an ISO 8601 time", "invalid_time"
            ) from None
    else:
        raise Invalid(field, "must be an ISO 8601 time", "invalid_time")
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    if dt.tzinfo is UTC:
        return dt
    try:
        return dt.astimezone(UTC)  # in UTC here: year 1 at +05:00 is not a year
    except OverflowError:
        raise Invalid(field, f"{value!r} is not a time in range", "invalid_time") from None


def corrected_timestamp(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime
) -> datetime:
    """Segment's clock-skew correction: the device's clock is off by (sentAt - receivedAt),
    so the event happened at receivedAt - (sentAt - timestamp)."""
    if timestamp is None:
        return received_at
    corrected = received_at - (sent_at - timestamp) if sent_at is not None else timestamp
    return min(corrected, received_at + MAX_FUTURE)


def _corrected(
    timestamp: datetime | None, sent_at: datetime | None, received_at: datetime, prefix: str
) -> datetime:
    try:
        return corrected_timestamp(timestamp, sent_at, received_at)
    except OverflowError:
        raise Invalid(
            f"{prefix}timestamp",
            "timestamp and sentAt are too far apart to correct for the device's clock",
            "invalid_time",
        ) from None


def _str_field(msg: dict[str, Any], key: str, field: str, max_len: int = 255) -> str | None:
    value = msg.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Invalid(field, f"{key} must be a string", "invalid_type")
    text = str(value).strip()
    if len(text) > max_len:
        raise Invalid(field, f"{key} is longer than {max_len} characters", "too_long")
    return text or None


def _dict_field(msg: dict[str, Any], key: str, field: str) -> dict[str, Any] | None:
    value = msg.get(key)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise Invalid(field, f"{key} must be an object", "invalid_type")
    return value


def channel_of(msg_type: str, msg: dict[str, Any], context: dict[str, Any]) -> str:
    explicit = context.get("channel") or msg.get("channel")
    if isinstance(explicit, str):
        value = explicit.strip().lower().replace("-", "_").replace(" ", "_")
        mapped = {"browser": "web", "mobile": "app", "server": "api", "phone": "call_center"}
        value = mapped.get(value, value)
        if value in CHANNELS:
            return value
    if msg_type == "page":
        return "web"
    if msg_type == "screen":
        return "app"
    library = context.get("library")
    lib_name = str(library.get("name", "")).lower() if isinstance(library, dict) else ""
    if any(s in lib_name for s in ("ios", "android", "react-native", "flutter", "swift")):
        return "app"
    if "analytics.js" in lib_name or "accord-widget" in lib_name:
        return "web"
    return "api"


def extract_identifiers(
    msg_type: str,
    user_id: str | None,
    anonymous_id: str | None,
    traits: dict[str, Any],
    context: dict[str, Any],
    previous_id: str | None,
    region: str,
) -> list[list[str]]:
    """Every identifier a message carries, typed and normalized. Malformed values (a
    broken email) are not identifiers; the trait itself is kept as given."""
    out: list[list[str]] = []
    seen: set[tuple[str, str]] = set()

    def add(type_name: str, raw: Any) -> None:
        try:
            value = ids.normalize(type_name, raw, region=region)
        except InvalidIdentifier:
            return
        if (type_name, value) not in seen:
            seen.add((type_name, value))
            out.append([type_name, value])

    if user_id:
        add(ids.USER_ID, user_id)
    if previous_id:
        add(ALIAS_PREVIOUS, previous_id)
    context_traits = context.get("traits")
    for source in (traits, context_traits):
        if not source or not isinstance(source, dict):
            continue
        if source is context_traits:
            source = normalize_traits(source)
        if source.get("email"):
            add(ids.EMAIL, source["email"])
        if source.get("phone"):
            add(ids.PHONE, source["phone"])
        for key in ("loyaltyCard", "loyalty_card", "loyaltyId"):
            if source.get(key):
                add(ids.LOYALTY_CARD, source[key])
        for platform in SOCIAL_TRAITS:
            handle = source.get(platform)
            if isinstance(handle, str) and handle.strip():
                add(ids.SOCIAL, f"{'twitter' if platform == 'x' else platform}:{handle}")
    device = context.get("device")
    if isinstance(device, dict) and device.get("id"):
        add(ids.DEVICE_ID, device["id"])
    external = context.get("externalIds")
    if isinstance(external, list):
        for item in external:
            if isinstance(item, dict) and item.get("id") and item.get("type"):
                try:
                    type_name = ids.check_type_name(str(item["type"]))
                except InvalidIdentifier:
                    continue
                add(type_name, item["id"])
    declared = context.get("identifiers")
    if isinstance(declared, dict):
        for type_name, values in declared.items():
            try:
                type_name = ids.check_type_name(str(type_name))
            except InvalidIdentifier:
                continue
            for value in values if isinstance(values, list) else [values]:
                add(type_name, value)
    if anonymous_id:
        add(ids.ANONYMOUS_ID, anonymous_id)
    return out


def _check_traits(traits: dict[str, Any], prefix: str) -> None:
    """Traits the person's columns are made of must fit them (the golden record would
    keep them, the columns could not)."""
    for key, length in TRAIT_LENGTHS.items():
        value = traits.get(key)
        if value is not None and not isinstance(value, bool) and len(str(value)) > length:
            raise Invalid(f"{prefix}{key}", f"{key} is longer than {length} characters", "too_long")


def _check_order(properties: dict[str, Any] | None, prefix: str) -> None:
    if not properties:
        return
    try:
        check_order(properties)
    except OrderProblem as problem:
        raise Invalid(f"{prefix}properties.{problem.field}", str(problem), problem.code) from None


def message_id_for(msg: dict[str, Any]) -> str:
    """A stable id for a message sent without one, so an identical retry is a duplicate."""
    body = {k: v for k, v in msg.items() if k not in ("sentAt", "writeKey")}
    digest = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    return "accord-" + digest[:40]


def parse_message(
    msg: Any,
    *,
    field: str,
    received_at: datetime,
    region: str,
    forced_type: str | None = None,
    defaults: dict[str, Any] | None = None,
    require_sender: bool = True,
    small_body: bool = False,
    scan: bool = True,
) -> Incoming:
    """Validate one message. ``scan`` walks every string for NUL characters, lone
    surrogates and values nested too deep; a caller that saw none could be in the raw
    body (``kit.textcheck.suspicious``) leaves it off."""
    if not isinstance(msg, dict):
        raise Invalid(field or "body", "a message must be a JSON object", "invalid_type")
    prefix = f"{field}." if field else ""
    if defaults:
        msg = {**defaults, **msg}
        if isinstance(defaults.get("context"), dict) and isinstance(msg.get("context"), dict):
            msg["context"] = {**defaults["context"], **msg["context"]}
    if scan and (bad := find_bad(msg, field)) is not None:
        raise Invalid(bad.field or "body", bad.message, bad.code)
    # A body under the message limit cannot hold a message over it: skip the measuring.
    size = 0 if small_body else len(json.dumps(msg, default=str).encode())
    if size > MAX_MESSAGE_BYTES:
        raise Invalid(
            field or "body",
            f"the message is {size} bytes; the limit is {MAX_MESSAGE_BYTES} (32 KB)",
            "message_too_large",
        )
    msg_type = forced_type or msg.get("type")
    if msg_type not in TYPES:
        raise Invalid(f"{prefix}type", f"type must be one of {', '.join(TYPES)}", "invalid_type")
    user_id = _str_field(msg, "userId", f"{prefix}userId")
    anonymous_id = _str_field(msg, "anonymousId", f"{prefix}anonymousId")
    previous_id = None
    if msg_type == "alias":
        previous_id = _str_field(msg, "previousId", f"{prefix}previousId")
        if not previous_id:
            raise Invalid(f"{prefix}previousId", "alias needs a previousId", "required")
        if not user_id:
            raise Invalid(f"{prefix}userId", "alias needs a userId", "required")
    elif require_sender and not user_id and not anonymous_id:
        raise Invalid(f"{prefix}userId", "a message needs a userId or an anonymousId", "required")
    context = _dict_field(msg, "context", f"{prefix}context") or {}
    traits_raw = _dict_field(msg, "traits", f"{prefix}traits")
    properties = _dict_field(msg, "properties", f"{prefix}properties")
    name: str | None = None
    if msg_type == "track":
        name = _str_field(msg, "event", f"{prefix}event", 200)
        if not name:
            raise Invalid(f"{prefix}event", "track needs an event name", "required")
    elif msg_type in ("page", "screen"):
        name = _str_field(msg, "name", f"{prefix}name", 200)
    elif msg_type == "group":
        name = _str_field(msg, "groupId", f"{prefix}groupId", 200)
        if not name:
            raise Invalid(f"{prefix}groupId", "group needs a groupId", "required")
    sent_at = parse_time(msg.get("sentAt"), f"{prefix}sentAt")
    timestamp = parse_time(msg.get("timestamp"), f"{prefix}timestamp") or parse_time(
        msg.get("originalTimestamp"), f"{prefix}originalTimestamp"
    )
    message_id = _str_field(msg, "messageId", f"{prefix}messageId", 200) or message_id_for(msg)
    traits = normalize_traits(traits_raw) if msg_type in ("identify", "group") else {}
    if msg_type == "identify":
        _check_traits(traits, f"{prefix}traits.")
        if isinstance(context.get("traits"), dict):
            from_context = normalize_traits(context["traits"])
            _check_traits(from_context, f"{prefix}context.traits.")
            traits = {**from_context, **traits}
    if order_kind(msg_type, name) is not None:
        _check_order(properties, prefix)
    identifiers = extract_identifiers(
        msg_type,
        user_id,
        anonymous_id,
        traits if msg_type == "identify" else {},
        context,
        previous_id,
        region,
    )
    if not identifiers:
        raise Invalid(
            f"{prefix}userId", "the message carries no usable identifier", "no_identifier"
        )
    if msg_type == "group":
        properties = {**(properties or {}), "groupTraits": traits}
        traits = {}
    return Incoming(
        message_id=message_id,
        type=msg_type,
        name=name,
        user_id=user_id,
        anonymous_id=anonymous_id,
        channel=channel_of(msg_type, msg, context),
        identifiers=identifiers,
        traits=traits or None,
        properties=properties,
        context=context,
        timestamp=_corrected(timestamp, sent_at, received_at, prefix),
        sent_at=sent_at,
        received_at=received_at,
    )
