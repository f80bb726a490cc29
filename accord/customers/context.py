"""A person's context: who they are (identifiers, golden record), what they are worth
(orders, value), what they did lately and what they allow (consent), read once for every
place an agent or a page needs it: the Customer 360, the conversation's sidebar and the
call screen pop. The conversations they have are the inbox's to add."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.govern.consent import rules
from accord.govern.consent import service as consent
from accord.govern.consent.models import ConsentRecord
from accord.govern.consent.policy import Ask, Decision, decide, region
from accord.govern.consent.settings import read as read_consent_settings
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import get_workspace
from accord.profile.models import Order, Profile
from accord.profile.queries import live_profile
from accord.profile.repository import OrderRepository, ProfileEventRepository
from accord.resolve.models import Identifier
from accord.resolve.repository import IdentifierRepository


@dataclass(frozen=True)
class ConsentView:
    """What a person allows, as the policy decides it now: the decision of ``may_contact``
    for each purpose on each channel, the rule of their region and every record of
    their consent (the newest first, voided ones included)."""

    region: str
    regional: bool  # the workspace has a rule of its own for this region (else its default)
    modes: dict[str, str]  # purpose -> opt_in | opt_out in this region (service excluded)
    double_opt_in: bool  # a grant of email marketing waits for a confirmation click here
    channels: tuple[str, ...]
    purposes: tuple[str, ...]
    decisions: dict[tuple[str, str], Decision]  # (purpose, channel) -> the decision
    history: list[ConsentRecord]

    def decision(self, purpose: str, channel: str) -> Decision:
        return self.decisions[(purpose, channel)]

    @property
    def opt_in(self) -> list[str]:
        return [p for p, mode in self.modes.items() if mode == rules.OPT_IN]

    @property
    def opt_out(self) -> list[str]:
        return [p for p, mode in self.modes.items() if mode == rules.OPT_OUT]


@dataclass(frozen=True)
class CustomerContext:
    profile: Profile
    identifiers: list[Identifier]
    orders: list[Order]  # the most recent first
    recent_events: list[Event]  # the most recent first
    consent: ConsentView | None = None

    @property
    def traits(self) -> dict[str, Any]:
        """The golden record: the winning value of each trait."""
        return {
            k: v.get("value")
            for k, v in sorted((self.profile.traits or {}).items())
            if isinstance(v, dict)
        }

    @property
    def value(self) -> dict[str, Any]:
        """The computed values kept on the profile."""
        p = self.profile
        stats = p.stats or {}
        return {
            "first_seen": p.first_seen_at,
            "last_seen": p.last_seen_at,
            "channels": sorted((stats.get("channels") or {}).keys()),
            "channel_counts": stats.get("channels") or {},
            "event_count": stats.get("event_count", 0),
            "order_count": p.order_count,
            "revenue": str(p.revenue),
            "average_order_value": stats.get("average_order_value"),
            "last_order_at": stats.get("last_order_at"),
            "preferred_channel": stats.get("preferred_channel"),
        }


def _address(profile: Profile, channel: str) -> str | None:
    """The address a channel reaches the person at, for the suppression list."""
    if channel == "email":
        return profile.email
    if channel in ("sms", "phone"):
        return profile.phone
    return None


def consent_of(
    session: Session,
    profile: Profile,
    *,
    workspace: Workspace | None = None,
    channels: Sequence[str] = rules.CHANNELS,
    purposes: Sequence[str] = rules.PURPOSES,
    history: bool = True,
) -> ConsentView:
    """What the person allows on ``channels`` for ``purposes`` (each decision is the one
    a send would get now) and, with ``history``, every record of their consent."""
    workspace = workspace or get_workspace(session, profile.workspace_id)
    settings = read_consent_settings(workspace)
    where = region(workspace, profile)
    asks = [
        Ask(channel, purpose, _address(profile, channel))
        for purpose in purposes
        for channel in channels
    ]
    decided = decide(session, workspace, profile, asks, settings=settings)
    decisions = {(a.purpose, a.channel): d for a, d in zip(asks, decided, strict=True)}
    return ConsentView(
        region=where,
        regional=where in settings.regions,
        modes={p: settings.mode(where, p) for p in rules.PURPOSES if p != "service"},
        double_opt_in=settings.needs_confirmation(where),
        channels=tuple(channels),
        purposes=tuple(purposes),
        decisions=decisions,
        history=list(reversed(consent.history(session, [profile.id]))) if history else [],
    )


def context_of(
    session: Session,
    profile: Profile,
    *,
    orders: int = 5,
    events: int = 0,
    with_consent: bool = False,
) -> CustomerContext:
    """The context of a live person already read; ``with_consent`` adds what they allow
    on every channel for every purpose, and their consent history."""
    return CustomerContext(
        profile=profile,
        identifiers=IdentifierRepository.from_session(session).of_profile(profile.id),
        orders=OrderRepository.from_session(session).recent(profile.id, orders) if orders else [],
        recent_events=(
            ProfileEventRepository.from_session(session).timeline(profile.id, limit=events)
            if events
            else []
        ),
        consent=consent_of(session, profile) if with_consent else None,
    )


def customer_context(
    session: Session,
    workspace_id: uuid.UUID,
    profile_id: uuid.UUID,
    *,
    orders: int = 5,
    events: int = 0,
) -> CustomerContext:
    """The context of the person behind ``profile_id`` (followed to the survivor of any
    merge): identifiers, the ``orders`` most recent orders and the ``events`` most recent
    events."""
    return context_of(
        session, live_profile(session, workspace_id, profile_id), orders=orders, events=events
    )


def context_by_identifier(
    session: Session,
    workspace_id: uuid.UUID,
    type_name: str,
    value: str,
    *,
    orders: int = 5,
    events: int = 0,
) -> CustomerContext | None:
    """The context of whoever holds this (normalized) identifier, or None when nobody
    does (an unknown caller)."""
    found = IdentifierRepository.from_session(session).find(workspace_id, [(type_name, value)])
    ident = found.get((type_name, value))
    if ident is None or ident.profile_id is None or ident.blocked:
        return None
    return customer_context(session, workspace_id, ident.profile_id, orders=orders, events=events)
