"""The one policy decision every send asks: :func:`may_contact`. It answers for a person
(or, when nobody is known yet, for an address), a channel and a purpose, and says why
when the answer is no. Transports accept only a :class:`Permit`, which only an allowing
decision gives, so a send that did not ask cannot reach one."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from accord.govern.consent import rules, suppression
from accord.govern.consent.repository import ConsentRepository, StateRow
from accord.govern.consent.schemas import ConsentSettings
from accord.govern.consent.settings import read as read_settings
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import AccordError, conflict
from accord.kit.time import utcnow

# The identifier type an address on each channel is (for the suppression list).
ADDRESS_TYPE = {"email": "email", "sms": "phone", "phone": "phone", "push": "device_id"}
PURPOSE_WORDS = {
    "service": "service messages",
    "marketing": "marketing",
    "personalization": "personalization",
    "surveys": "surveys",
    "advertising": "advertising",
}
SOURCE_WORDS = {
    "unsubscribe_link": "the unsubscribe link",
    "preference_center": "the preference center",
    "sms_stop": "an SMS STOP",
    "sms_start": "an SMS START",
    "agent": "an agent",
    "tracking": "the website's consent banner",
    "complaint": "a spam complaint to their mailbox provider",
}


class Subject(Protocol):
    """What the policy needs of a person (a profile is one)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    traits: dict[str, Any]


_MINT = object()


@dataclass(frozen=True)
class Permit:
    """Leave to send one message: on this channel, for this purpose, to this person or
    address. Only :meth:`Decision.permit` makes one."""

    workspace_id: uuid.UUID
    channel: str
    purpose: str
    profile_id: uuid.UUID | None
    address: str | None
    basis: str
    token: object = field(repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        if self.token is not _MINT:
            raise TypeError("a Permit comes only from may_contact()")

    def covers(self, channel: str, address: str | None = None) -> bool:
        if self.channel != channel:
            return False
        return address is None or self.address is None or _same(self.address, address)


def _same(a: str, b: str) -> bool:
    return a.strip().lower() == b.strip().lower()


@dataclass(frozen=True)
class Decision:
    allowed: bool
    workspace_id: uuid.UUID
    channel: str
    purpose: str
    reason: str
    code: str  # allowed | no_consent | suppressed | do_not_contact | unreachable
    profile_id: uuid.UUID | None = None
    address: str | None = None
    status: str | None = None  # the recorded state that decided, if one did
    basis: str = ""

    def permit(self) -> Permit:
        if not self.allowed:
            raise self.error()
        return Permit(
            self.workspace_id,
            self.channel,
            self.purpose,
            self.profile_id,
            self.address,
            self.basis,
            token=_MINT,
        )

    def error(self) -> AccordError:
        return conflict(
            f"Cannot send by {self.channel}: {self.reason}", field="channel", code=self.code
        )


def _trait(traits: dict[str, Any] | None, name: str) -> Any:
    value = (traits or {}).get(name)
    return value.get("value") if isinstance(value, dict) and "value" in value else value


def country_of(traits: dict[str, Any] | None) -> str | None:
    # The golden record keeps an address flattened (collect/traits.py: "address.country").
    country = _trait(traits, "address.country") or _trait(traits, "country")
    if not country:
        address = _trait(traits, "address")
        if isinstance(address, dict):
            country = address.get("country")
    return str(country) if country else None


def region(workspace: Workspace, person: Subject | None) -> str:
    return rules.region_of(country_of(person.traits if person else None), workspace.default_region)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d")


def _refusal(state: StateRow, channel: str, purpose: str) -> str:
    what = PURPOSE_WORDS.get(purpose, purpose)
    how = SOURCE_WORDS.get(state.source, state.source.replace("_", " "))
    if state.status == rules.PENDING:
        return (
            f"consent to {what} by {channel} waits for the customer's confirmation (double opt-in)"
        )
    verb = "denied" if state.status == rules.DENIED else "withdrew"
    scope = "every channel" if state.channel == rules.ALL else state.channel
    about = "everything" if state.purpose == rules.ALL else PURPOSE_WORDS.get(state.purpose, what)
    return (
        f"the customer {verb} consent to {about} by {scope} on {_when(state.recorded_at)} ({how})"
    )


@dataclass(frozen=True)
class Ask:
    """One send to decide: a channel, a purpose and the address it would go to."""

    channel: str
    purpose: str
    address: str | None = None
    address_type: str | None = None

    def suppression_key(self) -> tuple[str, str] | None:
        kind = self.address_type or ADDRESS_TYPE.get(self.channel)
        if not self.address or not kind:
            return None
        value = self.address.strip()
        return (kind, value.lower() if kind == "email" else value)


def _check(asks: Sequence[Ask]) -> None:
    for ask in asks:
        if ask.channel not in rules.CHANNELS:
            raise ValueError(f"unknown channel {ask.channel!r}")
        if ask.purpose not in rules.PURPOSES:
            raise ValueError(f"unknown purpose {ask.purpose!r}")


def may_contact(
    session: Session,
    workspace: Workspace,
    person: Subject | None,
    channel: str,
    purpose: str,
    *,
    address: str | None = None,
    address_type: str | None = None,
    at: datetime | None = None,
    settings: ConsentSettings | None = None,
) -> Decision:
    """May this person (or address, when nobody is known) be contacted on ``channel`` for
    ``purpose``? Asked before a message is queued and again before it is handed to a
    transport. The order: the suppression list, the person's ``doNotContact``, a bounced
    email address, their recorded consent (a denial for every channel or purpose counts),
    then the workspace's rule for their region (opt-in or opt-out)."""
    ask = Ask(channel, purpose, address, address_type)
    return decide(session, workspace, person, [ask], at=at, settings=settings)[0]


def decide(
    session: Session,
    workspace: Workspace,
    person: Subject | None,
    asks: Sequence[Ask],
    *,
    at: datetime | None = None,
    settings: ConsentSettings | None = None,
) -> list[Decision]:
    """:func:`may_contact` for several sends to one person at once (a page that shows
    every channel): one look at the suppression list and one at the person's consent."""
    _check(asks)
    now = at or utcnow()
    keys = {k for a in asks if (k := a.suppression_key()) is not None}
    salt = suppression.salt_of(session, workspace.id) if keys else ""
    by_digest = {suppression.digest(salt, t, v): (t, v) for t, v in keys}
    held, hits = ConsentRepository.from_session(session).for_decision(
        workspace.id,
        person.id if person is not None and asks else None,
        sorted({a.channel for a in asks} | {rules.ALL}),
        sorted({a.purpose for a in asks} | {rules.ALL}),
        list(by_digest),
    )
    blocked = {by_digest[d] for d in hits}
    live = [s for s in held if s.expires_at is None or s.expires_at > now]
    config = settings
    out: list[Decision] = []
    for ask in asks:
        if config is None and ask.purpose != "service":
            config = read_settings(workspace)
        out.append(_decide_one(workspace, person, ask, blocked, live, config))
    return out


def decide_many(
    session: Session,
    workspace: Workspace,
    sends: Sequence[tuple[Subject, Ask]],
    *,
    at: datetime | None = None,
    settings: ConsentSettings | None = None,
) -> list[Decision]:
    """:func:`may_contact` for many people at once, one send each (a campaign's batch):
    the same decisions, read in two statements for the whole batch."""
    _check([ask for _, ask in sends])
    if not sends:
        return []
    now = at or utcnow()
    keys = {k for _, a in sends if (k := a.suppression_key()) is not None}
    salt = suppression.salt_of(session, workspace.id) if keys else ""
    by_digest = {suppression.digest(salt, t, v): (t, v) for t, v in keys}
    states, hits = ConsentRepository.from_session(session).for_decisions(
        workspace.id,
        sorted({p.id for p, _ in sends}, key=str),
        sorted({a.channel for _, a in sends} | {rules.ALL}),
        sorted({a.purpose for _, a in sends} | {rules.ALL}),
        list(by_digest),
    )
    blocked = {by_digest[d] for d in hits}
    config = settings
    if config is None and any(a.purpose != "service" for _, a in sends):
        config = read_settings(workspace)
    out = []
    for person, ask in sends:
        live = [s for s in states.get(person.id, []) if s.expires_at is None or s.expires_at > now]
        out.append(_decide_one(workspace, person, ask, blocked, live, config))
    return out


def _decide_one(
    workspace: Workspace,
    person: Subject | None,
    ask: Ask,
    blocked: set[tuple[str, str]],
    states: list[StateRow],
    config: ConsentSettings | None,
) -> Decision:
    channel, purpose, address = ask.channel, ask.purpose, ask.address
    pid = person.id if person is not None else None

    def no(reason: str, code: str, status: str | None = None) -> Decision:
        return Decision(False, workspace.id, channel, purpose, reason, code, pid, address, status)

    def yes(reason: str, basis: str, status: str | None = None) -> Decision:
        return Decision(
            True, workspace.id, channel, purpose, reason, "allowed", pid, address, status, basis
        )

    if ask.suppression_key() in blocked:
        return no(f"the address {address} is on the suppression list", "suppressed")
    traits = person.traits if person is not None else None
    if _trait(traits, "doNotContact"):
        return no("the customer asked not to be contacted (doNotContact)", "do_not_contact")
    if channel == "email" and _trait(traits, "emailBounced"):
        return no("the customer's email address bounced (emailBounced)", "unreachable")
    live = [
        s for s in states if s.channel in (channel, rules.ALL) and s.purpose in (purpose, rules.ALL)
    ]
    refusing = [s for s in live if s.status in rules.REFUSING]
    if refusing:
        latest = max(refusing, key=lambda s: s.recorded_at)
        return no(_refusal(latest, channel, purpose), "no_consent", latest.status)
    exact = next((s for s in live if (s.channel, s.purpose) == (channel, purpose)), None)
    if exact is not None and exact.status == rules.GRANTED:
        return yes(f"granted on {_when(exact.recorded_at)}", "consent", rules.GRANTED)
    if exact is not None and exact.status == rules.PENDING and purpose != "service":
        return no(_refusal(exact, channel, purpose), "no_consent", rules.PENDING)
    if any(s.status == rules.GRANTED for s in live):
        return yes("granted", "consent", rules.GRANTED)
    if purpose == "service":
        return yes("a service message (the customer's own request)", "contract")
    assert config is not None
    where = region(workspace, person)
    if config.mode(where, purpose) == "opt_in":
        return no(
            f"no consent to {PURPOSE_WORDS[purpose]} by {channel} is recorded "
            f"(opt-in is required in region {where})",
            "no_consent",
        )
    return yes(f"opt-out region {where} and no objection recorded", "legitimate_interest")
