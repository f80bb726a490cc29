"""Proactive triggers: saving them (console and API), firing them for a visitor's event
(frequency caps, the holdout group), and the report of each: shown, accepted, converted
within N days, and lift against the holdout."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from accord.chat import rules
from accord.chat.models import ChatTrigger, ChatTriggerShow, ChatVisitor
from accord.chat.repository import AgentRepository, TriggerRepository, VisitorRepository
from accord.chat.service import ChatContext
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.consent.policy import may_contact
from accord.kit.errors import AccordError, invalid, not_found
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.profile.queries import live_profile

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def save(
    session: Session,
    workspace_id: uuid.UUID,
    data: dict[str, Any],
    trigger_id: uuid.UUID | None = None,
    *,
    actor: Principal | None = None,
) -> ChatTrigger:
    """Create or change a trigger; it takes effect with the next visitor event. Audited
    as ``actor`` (without one, as the command line: the demo's set-up)."""
    name = str(data.get("name") or "").strip()
    if not name:
        raise invalid("Name the trigger", field="name")
    event = str(data.get("event") or "")
    event_value = str(data.get("event_value") or "").strip()[:120]
    match = str(data.get("match") or "all")
    try:
        rules.check_event(event, event_value)
        conditions = rules.parse_conditions(data.get("conditions") or [])
        action = rules.check_action(data.get("action"))
    except rules.RuleError as exc:
        raise invalid(exc.message, field=exc.field) from None
    if match not in ("all", "any"):
        raise invalid("match is all or any", field="match")
    numbers = {}
    for key, default, low, high in (
        ("max_per_visitor", 1, 1, 100),
        ("cap_hours", 24, 1, 24 * 365),
        ("holdout_percent", 0, 0, 90),
        ("convert_days", 7, 1, 365),
        ("position", 0, 0, 10_000),
    ):
        raw = data.get(key, default)
        try:
            value = int(raw if raw not in (None, "") else default)
        except (TypeError, ValueError):
            raise invalid(f"{key} must be a whole number", field=key) from None
        if not low <= value <= high:
            raise invalid(f"{key} must be between {low} and {high}", field=key)
        numbers[key] = value
    repo = TriggerRepository.from_session(session)
    if trigger_id is None:
        trigger = ChatTrigger(workspace_id=workspace_id)
        session.add(trigger)
    else:
        found = repo.get(workspace_id, trigger_id)
        if found is None:
            raise not_found("Trigger", field="trigger_id")
        trigger = found
    trigger.name = name[:120]
    trigger.enabled = bool(data.get("enabled", True))
    trigger.event, trigger.event_value, trigger.match = event, event_value, match
    trigger.conditions = [{"fact": c.fact, "op": c.op, "value": c.value} for c in conditions]
    trigger.action = action
    for key, value in numbers.items():
        setattr(trigger, key, value)
    trigger.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor or Principal.cli(workspace_id),
        "chat_trigger.updated" if trigger_id else "chat_trigger.created",
        target=trigger.name,
    )
    return trigger


def delete(
    session: Session, workspace_id: uuid.UUID, trigger_id: uuid.UUID, *, actor: Principal
) -> None:
    trigger = TriggerRepository.from_session(session).get(workspace_id, trigger_id)
    if trigger is None:
        raise not_found("Trigger", field="trigger_id")
    session.delete(trigger)
    session.flush()
    audit.record(session, actor, "chat_trigger.deleted", target=str(trigger_id))


def agents_available(session: Session, workspace_id: uuid.UUID) -> bool:
    return AgentRepository.from_session(session).available_count(workspace_id) > 0


def facts(
    session: Session,
    visitor: ChatVisitor,
    *,
    timezone: str,
    available: bool,
    now: datetime | None = None,
    event: rules.Event | None = None,
) -> dict[str, Any]:
    """Everything a condition can test, for one visitor now."""
    now = now or utcnow()
    url = visitor.current_url or ""
    try:
        local = now.astimezone(ZoneInfo(timezone or "UTC"))
    except (KeyError, ValueError):
        local = now
    on_page = (now - visitor.page_started_at).total_seconds() if visitor.page_started_at else 0
    if event is not None and event.kind == "time_on_page":
        on_page = max(on_page, event.seconds)
    out: dict[str, Any] = {
        "url": url,
        "path": urlsplit(url).path or "/",
        "title": visitor.current_title or "",
        "referrer": visitor.referrer,
        "time_on_page": round(on_page),
        "time_on_site": round((now - visitor.visit_started_at).total_seconds()),
        "visits": visitor.visits,
        "pages": visitor.visit_pages,
        "returning": visitor.visits > 1,
        "identified": bool(visitor.user_id or visitor.email),
        "verified": visitor.verified_at is not None,
        "country": visitor.country,
        "cart_value": visitor.cart_value,
        "hour": local.hour,
        "weekday": WEEKDAYS[local.weekday()],
        "agents_available": available,
    }
    for key in ("utm_source", "utm_medium", "utm_campaign"):
        out[key] = (visitor.utm or {}).get(key)
    profile = _profile(session, visitor)
    if profile is not None:
        out["profile.revenue"] = profile.revenue
        out["profile.order_count"] = profile.order_count
        for name, trait in (profile.traits or {}).items():
            out[f"profile.{name}"] = trait.get("value") if isinstance(trait, dict) else trait
    return out


def _profile(session: Session, visitor: ChatVisitor) -> Profile | None:
    profile_id = VisitorRepository.from_session(session).profile_of(
        visitor.workspace_id, visitor.anonymous_id
    )
    if profile_id is None:
        return None
    try:
        return live_profile(session, visitor.workspace_id, profile_id)
    except AccordError:
        return None


def rule_of(trigger: ChatTrigger) -> rules.Rule:
    return rules.Rule(
        event=trigger.event,
        event_value=trigger.event_value,
        match=trigger.match,
        conditions=[
            rules.Condition(str(c.get("fact")), str(c.get("op")), c.get("value"))
            for c in trigger.conditions or []
        ],
    )


def timers(session: Session, workspace_id: uuid.UUID) -> dict[str, Any]:
    """What the widget must watch for: the seconds of timed triggers, exit intent, and
    the custom trigger names."""
    out: dict[str, Any] = {"time_on_page": [], "time_on_site": [], "idle": [], "exit": False}
    for t in TriggerRepository.from_session(session).enabled(workspace_id):
        if t.event in rules.TIMED_EVENTS:
            out[t.event] = sorted({*out[t.event], rules.threshold(t.event_value)})
        elif t.event == "exit_intent":
            out["exit"] = True
    return out


@dataclass
class Fired:
    trigger: ChatTrigger
    show: ChatTriggerShow
    action: dict[str, Any]


def fire(
    session: Session,
    ctx: ChatContext,
    visitor: ChatVisitor,
    event: rules.Event,
    now: datetime | None = None,
) -> list[Fired]:
    """Run the workspace's enabled triggers (read afresh, so edits apply at once) for a
    visitor's event. Each that fires is recorded; those in the holdout are not shown. At
    most one visible message or article is shown per event; notices always go out."""
    now = now or utcnow()
    repo = TriggerRepository.from_session(session)
    candidates = [t for t in repo.enabled(ctx.workspace_id) if t.event == event.kind]
    if not candidates:
        return []
    available = agents_available(session, ctx.workspace_id)
    known = facts(
        session,
        visitor,
        timezone=ctx.inbox.workspace.timezone,
        available=available,
        now=now,
        event=event,
    )
    fired: list[Fired] = []
    shown_visible = False
    person: Profile | None = None
    asked = False
    for trigger in candidates:
        if not rule_of(trigger).fires(event, known):
            continue
        since = now - timedelta(hours=trigger.cap_hours)
        if repo.shows_since(visitor.id, trigger.id, since) >= trigger.max_per_visitor:
            continue
        action = dict(trigger.action or {})
        visible = action.get("kind") in ("message", "article")
        if visible and shown_visible:
            continue
        if visible:
            # A proactive invitation reaches out to the visitor: the consent policy
            # decides, for the purpose the trigger names (marketing unless it says
            # service), like every other send.
            if not asked:
                person, asked = _profile(session, visitor), True
            purpose = "service" if action.get("purpose") == "service" else "marketing"
            if not may_contact(session, ctx.inbox.workspace, person, "chat", purpose).allowed:
                continue
        holdout = rules.in_holdout(trigger.id, visitor.id, trigger.holdout_percent)
        message: dict[str, Any] = {}
        if action.get("kind") == "message":
            message = {
                "body": action.get("body", ""),
                "author": action.get("author") or action.get("team") or "Support",
            }
        show = ChatTriggerShow(
            workspace_id=ctx.workspace_id,
            trigger_id=trigger.id,
            visitor_id=visitor.id,
            at=now,
            holdout=holdout,
            message=message,
        )
        session.add(show)
        session.flush()
        if holdout:
            continue
        if visible:
            shown_visible = True
        if action.get("kind") == "notify":
            ctx.tell(
                session,
                {
                    "what": "notify",
                    "visitor": str(visitor.id),
                    "text": action.get("body") or f"{trigger.name}: {visitor.current_url}",
                    "trigger": trigger.name,
                },
            )
        fired.append(Fired(trigger, show, action))
    return fired


@dataclass
class Report:
    trigger: ChatTrigger
    shown: int
    accepted: int
    converted: int
    holdout: int
    holdout_converted: int

    @property
    def accept_rate(self) -> float | None:
        return self.accepted / self.shown if self.shown else None

    @property
    def conversion(self) -> float | None:
        return self.converted / self.shown if self.shown else None

    @property
    def holdout_conversion(self) -> float | None:
        return self.holdout_converted / self.holdout if self.holdout else None

    @property
    def lift(self) -> float | None:
        """Relative lift of conversion over the holdout (None until both have data)."""
        shown, held = self.conversion, self.holdout_conversion
        if shown is None or held is None or held == 0:
            return None
        return (shown - held) / held

    def as_dict(self) -> dict[str, Any]:
        return {
            "trigger_id": str(self.trigger.id),
            "name": self.trigger.name,
            "shown": self.shown,
            "accepted": self.accepted,
            "converted": self.converted,
            "holdout": self.holdout,
            "holdout_converted": self.holdout_converted,
            "accept_rate": self.accept_rate,
            "conversion": self.conversion,
            "holdout_conversion": self.holdout_conversion,
            "lift": self.lift,
            "convert_days": self.trigger.convert_days,
        }


def report(session: Session, workspace_id: uuid.UUID, trigger: ChatTrigger) -> Report:
    """Counts per visitor (a visitor shown a trigger three times counts once): converted
    means an order by the visitor's person within ``convert_days`` of the first show."""
    repo = TriggerRepository.from_session(session)
    shows = repo.shows_of(workspace_id, trigger.id)
    first: dict[uuid.UUID, ChatTriggerShow] = {}
    accepted: set[uuid.UUID] = set()
    for s in shows:
        first.setdefault(s.visitor_id, s)
        if s.accepted_at is not None:
            accepted.add(s.visitor_id)
    visitors = repo.visitors(list(first))
    profiles = VisitorRepository.from_session(session).profiles_of(
        workspace_id, {v.anonymous_id for v in visitors.values()}
    )
    earliest = min((s.at for s in first.values()), default=utcnow())
    orders: dict[uuid.UUID, list[datetime]] = {}
    for pid, at in repo.orders_of(set(profiles.values()), earliest):
        orders.setdefault(pid, []).append(at)
    window = timedelta(days=trigger.convert_days)

    def converted(s: ChatTriggerShow) -> bool:
        visitor = visitors.get(s.visitor_id)
        pid = profiles.get(visitor.anonymous_id) if visitor is not None else None
        return pid is not None and any(s.at <= at <= s.at + window for at in orders.get(pid, []))

    shown = [s for s in first.values() if not s.holdout]
    held = [s for s in first.values() if s.holdout]
    return Report(
        trigger=trigger,
        shown=len(shown),
        accepted=sum(1 for s in shown if s.visitor_id in accepted),
        converted=sum(1 for s in shown if converted(s)),
        holdout=len(held),
        holdout_converted=sum(1 for s in held if converted(s)),
    )
