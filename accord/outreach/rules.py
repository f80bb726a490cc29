"""What a workspace's outreach settings decide for a batch of sends, besides consent:
frequency caps, holds for customers in the middle of a service issue, quiet hours. Each
answer carries its reason, which the send keeps and the report shows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from accord.outreach.repository import SendRepository
from accord.outreach.settings import OutreachSettings, QuietHours
from accord.outreach.templates import value_of

HOLD_RECHECK = timedelta(hours=1)


@dataclass(frozen=True)
class Verdict:
    """``send``; ``refused`` (final); ``held`` (a service issue; asked again later);
    ``later`` (quiet hours; queued until ``until``)."""

    action: str
    code: str = ""
    reason: str = ""
    until: datetime | None = None


SEND = Verdict("send")


def _zone(name: Any) -> ZoneInfo | None:
    if not isinstance(name, str) or not name:
        return None
    try:
        return ZoneInfo(name)
    except (ValueError, OSError):
        return None


def zone_of(traits: dict[str, Any] | None, default: str) -> ZoneInfo:
    for key in ("timezone", "timeZone"):
        zone = _zone(value_of((traits or {}).get(key)))
        if zone is not None:
            return zone
    return _zone(default) or ZoneInfo("UTC")


def quiet_until(quiet: QuietHours, zone: ZoneInfo, now: datetime) -> datetime | None:
    """When quiet hours end for a person, if ``now`` is inside them."""
    local = now.astimezone(zone)
    t = local.time().replace(tzinfo=None)
    start, end = quiet.start, quiet.end
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=zone).astimezone(now.tzinfo)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass
class Rules:
    """The settings of one workspace, applied to batches of one channel."""

    session: Session
    settings: OutreachSettings
    timezone: str
    now: datetime

    def judge(
        self,
        people: Sequence[tuple[uuid.UUID, dict[str, Any]]],
        channel: str,
        *,
        promotional: bool,
        hold_until: datetime | None,
    ) -> dict[uuid.UUID, Verdict]:
        """A verdict for each person (id and traits) of a batch; only promotional
        messages are capped, held and kept out of quiet hours."""
        out: dict[uuid.UUID, Verdict] = {}
        if not promotional:
            return {pid: SEND for pid, _ in people}
        ids = [pid for pid, _ in people]
        repo = SendRepository.from_session(self.session)
        for pid, reason in self._capped(repo, ids, channel).items():
            out[pid] = Verdict("refused", "capped", reason)
        held = self._held(repo, [p for p in ids if p not in out])
        for pid, reason in held.items():
            if hold_until is not None and self.now + HOLD_RECHECK <= hold_until:
                out[pid] = Verdict("held", "held", reason, self.now + HOLD_RECHECK)
            else:
                out[pid] = Verdict(
                    "refused", "held", f"{reason}, and the message's time to wait for it ran out"
                )
        quiet = self.settings.quiet_hours
        for pid, traits in people:
            if pid in out:
                continue
            if quiet is not None and channel in quiet.channels:
                until = quiet_until(quiet, zone_of(traits, self.timezone), self.now)
                if until is not None:
                    out[pid] = Verdict(
                        "later",
                        "quiet_hours",
                        f"quiet hours ({quiet.start:%H:%M}-{quiet.end:%H:%M}) in the "
                        "customer's time zone",
                        until,
                    )
                    continue
            out[pid] = SEND
        return out

    def _capped(
        self, repo: SendRepository, ids: list[uuid.UUID], channel: str
    ) -> dict[uuid.UUID, str]:
        out: dict[uuid.UUID, str] = {}
        for cap in self.settings.caps:
            if cap.channel not in ("all", channel):
                continue
            subject = [p for p in ids if p not in out]
            if cap.segment_id is not None:
                members = repo.members_of(cap.segment_id, subject)
                subject = [p for p in subject if p in members]
            if not subject:
                continue
            counts = repo.promotions_since(
                subject,
                self.now - timedelta(days=cap.days),
                None if cap.channel == "all" else cap.channel,
            )
            where = "" if cap.channel == "all" else f" by {cap.channel}"
            who = " for this segment's members" if cap.segment_id else ""
            for pid in subject:
                n = counts.get(pid, 0)
                if n >= cap.limit:
                    out[pid] = (
                        f"frequency cap{who}: already sent {_plural(n, 'promotional message')}"
                        f"{where} in the last {_plural(cap.days, 'day')} (at most {cap.limit})"
                    )
        return out

    def _held(self, repo: SendRepository, ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
        out: dict[uuid.UUID, str] = {}
        if self.settings.hold_on_open_conversation:
            for pid in repo.open_conversations(ids):
                out[pid] = "held from promotions: the customer has a service conversation open"
        at_most = self.settings.hold_on_csat_at_most
        if at_most is not None:
            since = self.now - timedelta(days=self.settings.hold_csat_days)
            for pid in repo.unhappy([p for p in ids if p not in out], at_most, since):
                out[pid] = (
                    f"held from promotions: the customer rated a conversation {at_most} or "
                    f"less in the last {_plural(self.settings.hold_csat_days, 'day')}"
                )
        return out
