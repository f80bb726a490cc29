"""Campaigns and their short links: the rules of saving them (names and codes unique,
destinations http(s) only, UTM values as touches store them), the redirect a click gets,
and a click recorded as a tracked ``Link Clicked`` event through the tracking service's
own ``accept`` (resolved like any event). Services flush; the caller commits."""

from __future__ import annotations

import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy.orm import Session

from accord.analyze.acquisition.channels import campaign_group, clean
from accord.analyze.acquisition.models import Campaign, Link
from accord.analyze.acquisition.repository import CampaignRepository, LinkRepository
from accord.analyze.acquisition.schemas import (
    CAMPAIGN_CHANNELS,
    CampaignIn,
    CampaignUpdate,
    LinkIn,
    LinkUpdate,
)
from accord.collect import service as collect
from accord.collect.touch import LINK_CLICKED
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import AccordError, FieldError, conflict, invalid, not_found
from accord.kit.ids import new_id
from accord.kit.time import utcnow

CODE_ALPHABET = "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ"
CODE_LENGTH = 7
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{3,32}$")
LINK_SOURCE = "accord:links"  # the events' source (what the tracking API puts a key's label)
UTM_COLUMNS = (("utm_source", 120), ("utm_medium", 120), ("utm_term", 200), ("utm_content", 200))


# --- campaigns ----------------------------------------------------------------------------


def slug(text: str) -> str:
    """A utm_campaign value from a name: lower-cased, words joined by dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.strip().lower()).strip("-")[:200]


def group_of(campaign: Campaign) -> str:
    """The channel group the people a campaign brings fall into."""
    known = CAMPAIGN_CHANNELS.get(campaign.channel)
    return known[0] if known else campaign_group(campaign.source, campaign.medium)


def _name(session: Session, workspace_id: uuid.UUID, name: str, current: Campaign | None) -> str:
    name = name.strip()
    if not name:
        raise invalid("A campaign needs a name", field="name", code="required")
    other = CampaignRepository.from_session(session).by(workspace_id, name=name)
    if other is not None and other is not current:
        raise conflict(f"A campaign named {name!r} exists", field="name", code="campaign_exists")
    return name


def _utm_campaign(
    session: Session, workspace_id: uuid.UUID, value: str, current: Campaign | None
) -> str:
    utm = clean(value, 200)
    if not utm:
        raise invalid("utm_campaign needs letters or digits", field="utm_campaign", code="required")
    other = CampaignRepository.from_session(session).by(workspace_id, utm_campaign=utm)
    if other is not None and other is not current:
        raise conflict(
            f"The campaign {other.name!r} already uses utm_campaign {utm!r}",
            field="utm_campaign",
            code="utm_campaign_taken",
        )
    return utm


def _utm_value(value: str | None, field: str, length: int = 120) -> str:
    cleaned = clean(value, length)
    if not cleaned:
        raise invalid(f"{field} may not be blank", field=field, code="required")
    return cleaned


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


def _check_dates(row: Campaign) -> None:
    if row.starts_on and row.ends_on and row.ends_on < row.starts_on:
        raise invalid("The campaign ends before it starts", field="ends_on", code="invalid_dates")


def _facts(row: Campaign) -> dict[str, Any]:
    return {
        "name": row.name,
        "channel": row.channel,
        "utm_campaign": row.utm_campaign,
        "source": row.source,
        "medium": row.medium,
        "cost": str(row.cost),
        "currency": row.currency,
    }


def create_campaign(
    session: Session, workspace_id: uuid.UUID, body: CampaignIn, actor: Principal
) -> Campaign:
    name = _name(session, workspace_id, body.name, None)
    utm = _utm_campaign(session, workspace_id, body.utm_campaign or slug(name), None)
    default_medium = CAMPAIGN_CHANNELS[body.channel][1]
    row = Campaign(
        workspace_id=workspace_id,
        name=name,
        utm_campaign=utm,
        channel=body.channel,
        source=_utm_value(body.source or body.channel, "source"),
        medium=_utm_value(body.medium or default_medium, "medium"),
        cost=_cents(body.cost),
        currency=body.currency.upper(),
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        notes=(body.notes or "").strip() or None,
        created_by=actor.label[:200],
    )
    _check_dates(row)
    CampaignRepository.from_session(session).add(row)
    audit.record(session, actor, "campaign.create", target=str(row.id), data=_facts(row))
    return row


def update_campaign(
    session: Session, row: Campaign, body: CampaignUpdate, actor: Principal
) -> Campaign:
    given = body.model_dump(exclude_unset=True)
    if given.get("name") is not None:
        row.name = _name(session, row.workspace_id, given["name"], row)
    if given.get("utm_campaign") is not None:
        row.utm_campaign = _utm_campaign(session, row.workspace_id, given["utm_campaign"], row)
    if given.get("channel") is not None:
        row.channel = given["channel"]
    for key in ("source", "medium"):
        if given.get(key) is not None:
            setattr(row, key, _utm_value(given[key], key))
    if given.get("cost") is not None:
        row.cost = _cents(given["cost"])
    if given.get("currency") is not None:
        row.currency = given["currency"].upper()
    for key in ("starts_on", "ends_on"):
        if key in given:
            setattr(row, key, given[key])
    if "notes" in given:
        row.notes = (given["notes"] or "").strip() or None
    _check_dates(row)
    row.updated_at = utcnow()
    session.flush()
    audit.record(session, actor, "campaign.update", target=str(row.id), data=_facts(row))
    return row


def delete_campaign(session: Session, row: Campaign, actor: Principal) -> None:
    """The campaign and its links go (their codes then answer 404); the people it
    brought keep their touches."""
    audit.record(session, actor, "campaign.delete", target=str(row.id), data=_facts(row))
    CampaignRepository.from_session(session).remove(row)


def get_campaign(session: Session, workspace_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    row = CampaignRepository.from_session(session).get(workspace_id, campaign_id)
    if row is None:
        raise not_found("Campaign", field="campaign_id")
    return row


def campaigns(session: Session, workspace_id: uuid.UUID) -> list[Campaign]:
    """The workspace's campaigns, newest first."""
    return CampaignRepository.from_session(session).all(workspace_id)


def links_of(session: Session, campaign_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Link]]:
    """The links of these campaigns, oldest first, by campaign."""
    out: dict[uuid.UUID, list[Link]] = {c: [] for c in campaign_ids}
    for link in LinkRepository.from_session(session).of_campaigns(campaign_ids):
        out.setdefault(link.campaign_id, []).append(link)
    return out


# --- links --------------------------------------------------------------------------------


def check_destination(url: str) -> str:
    """A destination is an absolute http(s) URL with a host and without credentials."""
    value = url.strip()

    def bad(message: str) -> AccordError:
        return AccordError(
            f"destination: {message}",
            code="invalid_destination",
            status=422,
            field="destination",
            errors=[FieldError("destination", "invalid_url", message)],
        )

    if not value:
        raise bad("give the address a click should go to")
    if len(value) > 2000:
        raise bad("longer than 2000 characters")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in value):
        raise bad("an address has no spaces or control characters")
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        raise bad("not a URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise bad("only http:// and https:// addresses are allowed")
    if not host:
        raise bad("the address needs a host (https://example.com/...)")
    if parts.username is not None or parts.password is not None:
        raise bad("an address with a user name or password is not allowed")
    return value


def _code(session: Session, wanted: str | None) -> str:
    repo = LinkRepository.from_session(session)
    if wanted is not None:
        code = wanted.strip()
        if not CODE_PATTERN.match(code):
            raise invalid(
                "A code is 3 to 32 letters, digits, dashes or underscores",
                field="code",
                code="invalid_code",
            )
        if repo.code_taken(code):
            raise conflict(f"The code {code!r} is taken", field="code", code="code_taken")
        return code
    for _ in range(20):
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if not repo.code_taken(code):
            return code
    raise AccordError("No free code was found; try again", code="code_exhausted", status=503)


def _optional_utm(value: str | None, length: int) -> str | None:
    return clean(value, length)


def create_link(session: Session, campaign: Campaign, body: LinkIn, actor: Principal) -> Link:
    destination = check_destination(body.destination)
    row = Link(
        workspace_id=campaign.workspace_id,
        campaign_id=campaign.id,
        code=_code(session, body.code),
        label=(body.label or "").strip() or None,
        destination=destination,
        utm_source=_optional_utm(body.utm_source, 120),
        utm_medium=_optional_utm(body.utm_medium, 120),
        utm_term=_optional_utm(body.utm_term, 200),
        utm_content=_optional_utm(body.utm_content, 200),
        append_utm=body.append_utm,
        clicks=0,
        created_by=actor.label[:200],
    )
    LinkRepository.from_session(session).add(row)
    audit.record(
        session,
        actor,
        "campaign.link.create",
        target=str(row.id),
        data={"campaign_id": str(campaign.id), "code": row.code, "destination": destination},
    )
    return row


def update_link(session: Session, row: Link, body: LinkUpdate, actor: Principal) -> Link:
    """Anything but the code (it may be printed already)."""
    given = body.model_dump(exclude_unset=True)
    if given.get("destination") is not None:
        row.destination = check_destination(given["destination"])
    if "label" in given:
        row.label = (given["label"] or "").strip() or None
    for key, length in UTM_COLUMNS:
        if key in given:
            setattr(row, key, _optional_utm(given[key], length))
    if given.get("append_utm") is not None:
        row.append_utm = bool(given["append_utm"])
    row.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "campaign.link.update",
        target=str(row.id),
        data={"code": row.code, "destination": row.destination},
    )
    return row


def delete_link(session: Session, row: Link, actor: Principal) -> None:
    audit.record(
        session, actor, "campaign.link.delete", target=str(row.id), data={"code": row.code}
    )
    LinkRepository.from_session(session).remove(row)


def get_link(session: Session, workspace_id: uuid.UUID, link_id: uuid.UUID) -> Link:
    row = LinkRepository.from_session(session).get(workspace_id, link_id)
    if row is None:
        raise not_found("Link", field="link_id")
    return row


def utm_of(link: Link, campaign: Campaign) -> dict[str, str]:
    """The UTM values of a link: its own source, medium, term and content where given,
    else the campaign's; always the campaign's utm_campaign."""
    values = {
        "source": link.utm_source or campaign.source,
        "medium": link.utm_medium or campaign.medium,
        "campaign": campaign.utm_campaign,
        "term": link.utm_term,
        "content": link.utm_content,
    }
    return {k: v for k, v in values.items() if v}


def redirect_url(link: Link, campaign: Campaign) -> str:
    """Where a click goes: the destination, with the link's UTM parameters (replacing
    any it had) when ``append_utm``."""
    if not link.append_utm:
        return link.destination
    parts = urlsplit(link.destination)
    kept = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.lower().startswith("utm_")
    ]
    added = [(f"utm_{k}", v) for k, v in utm_of(link, campaign).items()]
    return urlunsplit(parts._replace(query=urlencode(kept + added)))


def short_url(base_url: str, link: Link) -> str:
    return f"{base_url.rstrip('/')}/l/{link.code}"


# --- clicks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A link found by its code, with its campaign: where a click goes."""

    link: Link
    campaign: Campaign

    @property
    def url(self) -> str:
        return redirect_url(self.link, self.campaign)


def target(session: Session, code: str) -> Target | None:
    """The link of a code (None: no such link). Codes are of every workspace."""
    if not CODE_PATTERN.match(code):
        return None
    link = LinkRepository.from_session(session).by_code(code)
    if link is None:
        return None
    campaign = CampaignRepository.from_session(session).get(link.workspace_id, link.campaign_id)
    return Target(link, campaign) if campaign is not None else None


def record_click(
    session: Session,
    found: Target,
    *,
    anonymous_id: str,
    ip: str | None,
    user_agent: str | None,
    referrer: str | None,
    short: str,
    at: datetime | None = None,
) -> collect.Accepted:
    """A click: a ``Link Clicked`` event (the campaign's UTM values in its context, the
    browser's anonymous id, the IP and user agent as the tracking API records them),
    stored through the tracking service's ``accept`` (durable once the caller commits,
    resolved like any event), and the link's click count."""
    link, campaign = found.link, found.campaign
    when = at or utcnow()
    workspace = session.get(Workspace, link.workspace_id)
    context: dict[str, Any] = {
        "channel": "web",
        "campaign": {
            ("name" if k == "campaign" else k): v for k, v in utm_of(link, campaign).items()
        },
        "page": {"url": short},
        "library": {"name": "accord-links"},
    }
    if user_agent:
        context["userAgent"] = user_agent[:1000]
    if referrer:
        context["page"]["referrer"] = referrer[:2000]
    message = {
        "type": "track",
        "event": LINK_CLICKED,
        "messageId": f"link-{new_id()}",
        "anonymousId": anonymous_id,
        "timestamp": when.isoformat(),
        "properties": {
            "link_id": str(link.id),
            "code": link.code,
            "campaign_id": str(campaign.id),
            "campaign": campaign.name,
            "url": found.url,
        },
        "context": context,
    }
    accepted = collect.accept(
        session,
        workspace_id=link.workspace_id,
        source=LINK_SOURCE,
        region=workspace.default_region if workspace else "US",
        messages=[message],
        received_at=utcnow() if at is None else when,
        field_prefix="",
        ip=ip,
    )
    LinkRepository.from_session(session).count_click(link.id, when)
    return accepted
