"""Acquisition in the demo: where the retailer's visitors came from, and its campaigns.

``Variety`` gives the generated page views the sources a real shop sees (applied as the
demo's messages are sent): a visitor's first page comes from a search engine, a social
network, a gear blog or nowhere (typed in), the next ones from the shop itself; a visitor
the generator tagged with a campaign is given one of the demo's campaigns, coherently
(its source, medium and name). Drawn from the visitor's id, so every run is the same.

``ensure_acquisition`` (run by ``accord demo`` once the data is in) creates the
campaigns with what they cost (search ads, a newsletter, Instagram, a magazine page, a
store opening's flyers, a radio spot) and short links for the offline ones (pointing at
the demo shop), replays the scans that brought the magazine, flyer and radio visitors
(plus some that never reached the shop), and computes everyone's touches."""

from __future__ import annotations

import uuid
import zlib
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from accord.analyze.acquisition import service, touches
from accord.analyze.acquisition.schemas import CampaignIn, LinkIn
from accord.collect.models import Event
from accord.config import Settings
from accord.govern.access.principal import Principal
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.time import utcnow
from accord.resolve.worker import resolve_workspace

SHOP = "https://demo-outfitters.example"


@dataclass(frozen=True)
class DemoCampaign:
    name: str
    channel: str
    source: str
    medium: str
    utm: str
    cost: int
    share: int  # of the tagged visitors, in percent
    code: str | None = None  # a short link (offline campaigns)
    path: str = "/demo/"


CAMPAIGNS = (
    DemoCampaign(
        "Spring Trail search ads", "paid_search", "google", "cpc", "spring-trail", 30000, 35
    ),
    DemoCampaign(
        "Spring newsletter", "email", "newsletter", "email", "spring-newsletter", 2000, 20
    ),
    DemoCampaign(
        "Instagram gear drop", "paid_social", "instagram", "paid_social", "gear-drop", 25000, 20
    ),
    DemoCampaign(
        "Trail Magazine, April issue",
        "print",
        "trail-magazine",
        "print",
        "trail-magazine",
        45000,
        10,
        code="trailmag",
        path="/demo/tents",
    ),
    DemoCampaign(
        "Portland store opening", "event", "flyer", "qr", "store-opening", 12000, 8, code="opening"
    ),
    DemoCampaign("KXL radio spot", "radio", "kxl", "radio", "radio-kxl", 60000, 7, code="kxl"),
)
# Where untagged visitors came from (percent of them), the rest typed the address in.
REFERRERS = (
    ("https://www.google.com/", 30),
    ("https://www.bing.com/", 5),
    ("https://duckduckgo.com/", 4),
    ("https://l.facebook.com/", 8),
    ("https://l.instagram.com/", 5),
    ("https://www.pinterest.com/", 4),
    ("https://www.reddit.com/r/CampingGear/", 3),
    ("https://www.outdoorgearlab.example/best-tents", 6),
)
LINK_ONLY_SCANS = 40  # scans from phones that never opened the shop


def _draw(key: str, salt: str) -> int:
    """A number 0-99 fixed by the visitor's id."""
    return zlib.crc32(f"{salt}:{key}".encode()) % 100


def _pick(draw: int, weighted: tuple[tuple[Any, int], ...]) -> Any | None:
    total = 0
    for value, weight in weighted:
        total += weight
        if draw < total:
            return value
    return None


class Variety:
    """Sources for the demo's page views, visitor by visitor (see the module)."""

    def __init__(self) -> None:
        self.last_url: dict[str, str] = {}

    def apply(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [self.one(m) for m in batch]

    def one(self, message: dict[str, Any]) -> dict[str, Any]:
        anon = message.get("anonymousId")
        context = message.get("context")
        if message.get("type") != "page" or not anon or not isinstance(context, dict):
            return message
        page = dict(context.get("page") or {})
        url = page.get("url") or f"{SHOP}{page.get('path', '/')}"
        page["url"] = url
        context = {**context, "page": page}
        if "campaign" in context:
            chosen = _pick(_draw(anon, "campaign"), tuple((c, c.share) for c in CAMPAIGNS))
            if chosen is not None:
                context["campaign"] = {
                    "source": chosen.source,
                    "medium": chosen.medium,
                    "name": chosen.utm,
                }
        previous = self.last_url.get(anon)
        if previous is not None:
            page["referrer"] = previous  # inside the shop: no new touch
        elif "campaign" not in context:
            referrer = _pick(_draw(anon, "referrer"), REFERRERS)
            if referrer:
                page["referrer"] = referrer
        self.last_url[anon] = url
        return {**message, "context": context}


def _offline_visitors(session: Any, workspace_id: uuid.UUID) -> list[tuple[str, str, Any]]:
    """(anonymous id, utm_campaign, first page time) of the visitors tagged with an
    offline campaign."""
    name = Event.context[("campaign", "name")].as_string()
    offline = [c.utm for c in CAMPAIGNS if c.code]
    stmt = (
        select(Event.anonymous_id, name, func.min(Event.timestamp))
        .where(
            Event.workspace_id == workspace_id,
            Event.type == "page",
            Event.anonymous_id.is_not(None),
            name.in_(offline),
        )
        .group_by(Event.anonymous_id, name)
        .order_by(Event.anonymous_id)
    )
    return [(str(a), str(n), t) for a, n, t in session.execute(stmt)]


def ensure_acquisition(settings: Settings, workspace_id: uuid.UUID) -> str | None:
    """The demo's campaigns, links and scans, and everyone's touches; None when the
    campaigns exist already (running the demo again changes nothing)."""
    engine = create_db_engine(settings.resolved_database_url)
    factory = create_session_factory(engine)
    actor = Principal.cli(workspace_id)
    try:
        with transaction(factory) as session:
            if service.campaigns(session, workspace_id):
                return None
            today = utcnow().date()
            targets: dict[str, service.Target] = {}
            for c in CAMPAIGNS:
                row = service.create_campaign(
                    session,
                    workspace_id,
                    CampaignIn(
                        name=c.name,
                        channel=c.channel,
                        source=c.source,
                        medium=c.medium,
                        utm_campaign=c.utm,
                        cost=Decimal(c.cost),
                        currency="USD",
                        starts_on=today - timedelta(days=330),
                        ends_on=_end(today, c),
                    ),
                    actor,
                )
                if c.code:
                    link = service.create_link(
                        session,
                        row,
                        LinkIn(
                            destination=f"{settings.base_url.rstrip('/')}{c.path}",
                            label=_label(c),
                            code=c.code,
                        ),
                        actor,
                    )
                    targets[c.utm] = service.Target(link, row)
            scans = 0
            for anon, utm, first in _offline_visitors(session, workspace_id):
                found = targets.get(utm)
                if found is not None:
                    _scan(session, settings, found, anon, first - timedelta(minutes=1))
                    scans += 1
            offline = [targets[c.utm] for c in CAMPAIGNS if c.code]
            for n in range(LINK_ONLY_SCANS):
                found = offline[n % len(offline)]
                when = utcnow() - timedelta(days=2 + (n * 7) % 300, minutes=n * 13)
                _scan(session, settings, found, f"scan-{n:03d}", when)
                scans += 1
        resolve_workspace(factory, workspace_id)
        rebuilt = touches.rebuild(factory, workspace_id)
    finally:
        engine.dispose()
    return (
        f"Demo acquisition: {len(CAMPAIGNS)} campaigns, {len(targets)} short links, "
        f"{scans} scans, {rebuilt.rows} people's first and last touch "
        "(Analytics > Acquisition)"
    )


def _end(today: date, c: DemoCampaign) -> date | None:
    return None if c.channel in ("paid_search", "paid_social") else today + timedelta(days=30)


def _label(c: DemoCampaign) -> str:
    return {
        "print": "Full page, p. 12",
        "event": "Flyers at the door",
        "radio": "Read out on air",
    }.get(c.channel, c.channel)


def _scan(session: Any, settings: Settings, found: service.Target, anon: str, when: Any) -> None:
    service.record_click(
        session,
        found,
        anonymous_id=anon,
        ip=None,
        user_agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)",
        referrer=None,
        short=service.short_url(settings.base_url, found.link),
        at=when,
    )
