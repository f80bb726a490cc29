"""Text messages (SMS) through a provider's HTTP API, in the request format Twilio
defined and other providers copy: a message is a form ``POST`` to
``{api_url}/2010-04-01/Accounts/{account_sid}/Messages.json`` with HTTP basic auth,
and the provider calls back with a form ``POST`` (a delivery receipt, an inbound
message) signed with ``X-Twilio-Signature``: HMAC-SHA1, keyed with the auth token, of
the URL it called followed by every parameter's name and value in name order.

A workspace's provider is the settings group ``sms``, written only by :func:`save`; the
auth token is encrypted with a key derived from the server's secret key and never
returned or audited. Sending takes a consent :class:`Permit` for SMS to that number,
like every other transport."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.consent.policy import Permit
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import get_workspace
from accord.govern.workspaces.settings import SettingsGroup, invalid_settings
from accord.kit.security import decrypt, encrypt

PURPOSE = "sms-provider"  # what the auth token's encryption key is derived for
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
MAX_BODY = 1600  # the longest text a provider takes (ten concatenated segments)


class SmsSettings(BaseModel):
    """``workspace.settings["sms"]`` as stored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    provider: Literal["twilio"] = Field(
        "twilio", description="The request format of the provider's API (Twilio's first)"
    )
    api_url: str = Field(
        "https://api.twilio.com",
        max_length=300,
        description="The provider's API; another provider speaking the same format (or a "
        "test server) is its address here",
    )
    account_sid: str = Field("", max_length=64)
    from_number: str = Field("", max_length=20, description="The number texts come from (E.164)")
    messaging_service_sid: str = Field(
        "", max_length=64, description="Sends through this messaging service instead of one number"
    )
    keyword_replies: bool = Field(
        False,
        description="Accord answers STOP, START and HELP itself (leave off when the provider "
        "answers them, as Twilio's standard opt-out does)",
    )
    help_text: str = Field("", max_length=320)
    auth_token_encrypted: str | None = None

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        value = value.rstrip("/")
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("the API address must be an http(s) URL")
        return value

    @field_validator("from_number")
    @classmethod
    def _number(cls, value: str) -> str:
        value = re.sub(r"[\s().-]", "", value)
        if value and not E164.match(value):
            raise ValueError("the number must be in E.164 form, like +14155550100")
        return value


SMS = SettingsGroup("sms", SmsSettings, secret_fields=frozenset({"auth_token_encrypted"}))


@dataclass(frozen=True)
class Provider:
    """A workspace's SMS provider, ready to use (the auth token decrypted)."""

    api_url: str
    account_sid: str
    auth_token: str
    from_number: str
    messaging_service_sid: str = ""
    keyword_replies: bool = False
    help_text: str = ""

    @property
    def messages_url(self) -> str:
        return f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"


def of(workspace: Workspace, secret_key: str) -> Provider | None:
    """The workspace's provider, or None when it has none set up completely."""
    value = SMS.read(workspace)
    token = decrypt(secret_key, value.auth_token_encrypted, PURPOSE)
    if not (value.account_sid and token and (value.from_number or value.messaging_service_sid)):
        return None
    return Provider(
        api_url=value.api_url,
        account_sid=value.account_sid,
        auth_token=token,
        from_number=value.from_number,
        messaging_service_sid=value.messaging_service_sid,
        keyword_replies=value.keyword_replies,
        help_text=value.help_text,
    )


def public_form(value: SmsSettings) -> dict[str, Any]:
    """What an admin sees: never the token, only whether one is set."""
    out = value.model_dump(mode="json", exclude={"auth_token_encrypted"})
    out["auth_token_set"] = bool(value.auth_token_encrypted)
    return out


def settings(session: Session, workspace_id: uuid.UUID) -> tuple[dict[str, Any], int]:
    workspace = get_workspace(session, workspace_id)
    return public_form(SMS.read(workspace)), SMS.version(workspace)


def save(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    secret_key: str,
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[dict[str, Any], int]:
    """Set a workspace's provider (the API and the console come here): the auth token
    encrypted (left out, the stored one stays; an empty string removes it), at
    ``expected_version`` when given, audited without the token."""
    workspace = get_workspace(session, workspace_id)
    before = SMS.read(workspace)
    stored = {k: v for k, v in raw.items() if k != "auth_token"}
    token = raw.get("auth_token")
    if token:
        stored["auth_token_encrypted"] = encrypt(secret_key, str(token), PURPOSE)
    elif token is None:
        stored["auth_token_encrypted"] = before.auth_token_encrypted
    try:
        value = SmsSettings.model_validate(stored)
    except ValidationError as exc:
        raise invalid_settings(exc) from None
    written = SMS.write(session, workspace, value, actor=actor, expected_version=expected_version)
    return public_form(written), SMS.version(workspace)


# --- sending -------------------------------------------------------------------------------

# The provider's error codes that say the number will never take a text from this sender.
UNSUBSCRIBED = 21610  # the customer texted STOP to this sender
NOT_A_NUMBER = frozenset({21211, 21214, 21217, 21401, 21614, 21612, 21408})


class SmsError(Exception):
    """The provider did not take a message: ``permanent`` when trying again cannot help
    (a number that is not one, a customer who texted STOP), else it may later (a rate
    limit, the provider down)."""

    def __init__(self, message: str, *, status: int, code: int | None, permanent: bool) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.permanent = permanent

    @property
    def unsubscribed(self) -> bool:
        return self.code == UNSUBSCRIBED

    @property
    def unreachable(self) -> bool:
        return self.code in NOT_A_NUMBER


@dataclass(frozen=True)
class Handed:
    """What the provider said when it took a message: its id and state."""

    sid: str
    status: str
    segments: int | None = None


def _error(response: httpx.Response) -> SmsError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    code = body.get("code") if isinstance(body, dict) else None
    text = body.get("message") if isinstance(body, dict) else None
    message = f"the SMS provider answered {response.status_code}" + (f": {text}" if text else "")
    if code:
        message += f" (error {code})"
    status = response.status_code
    permanent = status < 500 and status not in (408, 409, 429)
    number = int(str(code)) if str(code).isdigit() else None
    return SmsError(message, status=status, code=number, permanent=permanent)


class SmsClient:
    """One HTTP connection to the provider kept for many messages (a campaign's batch).
    ``hand_over`` sends one text, only with a :class:`Permit` for SMS to that number."""

    def __init__(
        self,
        provider: Provider,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.provider = provider
        self._http = httpx.Client(
            auth=(provider.account_sid, provider.auth_token),
            timeout=timeout,
            transport=transport,
            headers={"User-Agent": "Accord"},
        )

    def hand_over(
        self, permit: Permit, to: str, body: str, *, status_callback: str | None = None
    ) -> Handed:
        if not isinstance(permit, Permit) or not permit.covers("sms", to):
            raise PermissionError(f"no permit to text {to}")
        form = {"To": to, "Body": body[:MAX_BODY]}
        if self.provider.messaging_service_sid:
            form["MessagingServiceSid"] = self.provider.messaging_service_sid
        else:
            form["From"] = self.provider.from_number
        if status_callback:
            form["StatusCallback"] = status_callback
        try:
            response = self._http.post(self.provider.messages_url, data=form)
        except httpx.HTTPError as exc:
            why = f"the SMS provider could not be reached: {exc}"
            raise SmsError(why, status=0, code=None, permanent=False) from exc
        if response.status_code >= 300:
            raise _error(response)
        data = response.json()
        segments = data.get("num_segments")
        return Handed(
            sid=str(data.get("sid") or ""),
            status=str(data.get("status") or "queued"),
            segments=int(segments) if str(segments).isdigit() else None,
        )

    def close(self) -> None:
        self._http.close()


def segments(body: str) -> int:
    """How many messages a text is billed as: 160 characters of the GSM alphabet (its
    extension characters count twice; 153 each when split), else 70 UTF-16 code units (67
    each when split)."""
    if all(c in _GSM or c in _GSM_EXTENDED for c in body):
        single, part = 160, 153
        n = len(body) + sum(1 for c in body if c in _GSM_EXTENDED)
    else:
        single, part = 70, 67
        n = len(body.encode("utf-16-le")) // 2
    return 1 if n <= single else -(-n // part)


_GSM = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    "ÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("^{}\\[~]|€\f")


# --- callbacks -----------------------------------------------------------------------------


def signature(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The ``X-Twilio-Signature`` of a request to ``url`` with these form parameters."""
    data = url + "".join(f"{k}{v}" for k, v in sorted(params, key=lambda kv: (kv[0], kv[1])))
    digest = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def signed_by(provider: Provider, url: str, params: list[tuple[str, str]], given: str) -> bool:
    expected = signature(provider.auth_token, url, params)
    return bool(given) and hmac.compare_digest(expected.encode(), given.encode())


# What a customer's whole text means when it is one of these words (the carriers'
# keywords for opting out, back in, and asking for help).
STOP_WORDS = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"}
)
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
Keyword = Literal["stop", "start", "help"]


def keyword_of(body: str) -> Keyword | None:
    word = re.sub(r"[\s.!]+$", "", " ".join(body.split())).upper()
    if word in STOP_WORDS:
        return "stop"
    if word in START_WORDS:
        return "start"
    if word in HELP_WORDS:
        return "help"
    return None


def receipt_url(base_url: str, workspace_id: uuid.UUID, kind: str, item_id: uuid.UUID) -> str:
    """Where the provider reports what became of a message: an inbox ``message`` or an
    outreach ``send``."""
    return f"{base_url.rstrip('/')}/v1/sms/{workspace_id}/receipts/{kind}/{item_id}"


# The receipts' states of a text that did not reach the phone.
FAILED = frozenset({"undelivered", "failed"})


def twiml(message: str | None = None) -> str:
    """The answer to an inbound message: empty, or one text back to the sender."""
    if not message:
        return '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
    safe = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<?xml version="1.0" encoding="UTF-8"?><Response><Message>{safe}</Message></Response>'
