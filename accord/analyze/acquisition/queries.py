"""What the API and the console read of acquisition: campaigns with their links and
clicks, a link as it is shared (short URL, redirect, QR code), a person's touches."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.analyze.acquisition import service, touches
from accord.analyze.acquisition.channels import label
from accord.analyze.acquisition.models import AcquisitionTouch, Campaign, Link
from accord.analyze.acquisition.schemas import (
    AcquisitionRead,
    CampaignRead,
    LinkRead,
    TouchRead,
)


def campaign_read(campaign: Campaign, links: list[Link]) -> CampaignRead:
    return CampaignRead(
        id=campaign.id,
        name=campaign.name,
        channel=campaign.channel,
        channel_group=service.group_of(campaign),
        utm_campaign=campaign.utm_campaign,
        source=campaign.source,
        medium=campaign.medium,
        cost=campaign.cost,
        currency=campaign.currency,
        starts_on=campaign.starts_on,
        ends_on=campaign.ends_on,
        notes=campaign.notes,
        links=len(links),
        clicks=sum(link.clicks for link in links),
        created_at=campaign.created_at,
        updated_at=campaign.updated_at,
        created_by=campaign.created_by,
    )


def link_read(link: Link, campaign: Campaign, base_url: str) -> LinkRead:
    return LinkRead(
        id=link.id,
        campaign_id=link.campaign_id,
        code=link.code,
        short_url=service.short_url(base_url, link),
        redirect_url=service.redirect_url(link, campaign),
        label=link.label,
        destination=link.destination,
        utm_source=link.utm_source,
        utm_medium=link.utm_medium,
        utm_term=link.utm_term,
        utm_content=link.utm_content,
        append_utm=link.append_utm,
        clicks=link.clicks,
        last_clicked_at=link.last_clicked_at,
        created_at=link.created_at,
        qr_svg=f"/api/v1/links/{link.id}/qr?format=svg",
        qr_png=f"/api/v1/links/{link.id}/qr?format=png",
    )


def campaigns(session: Session, workspace_id: uuid.UUID) -> list[CampaignRead]:
    rows = service.campaigns(session, workspace_id)
    links = service.links_of(session, [c.id for c in rows])
    return [campaign_read(c, links.get(c.id, [])) for c in rows]


def campaign(session: Session, row: Campaign) -> CampaignRead:
    return campaign_read(row, service.links_of(session, [row.id]).get(row.id, []))


def links(session: Session, row: Campaign, base_url: str) -> list[LinkRead]:
    return [
        link_read(link, row, base_url)
        for link in service.links_of(session, [row.id]).get(row.id, [])
    ]


def link(session: Session, row: Link, base_url: str) -> LinkRead:
    owner = service.get_campaign(session, row.workspace_id, row.campaign_id)
    return link_read(row, owner, base_url)


def campaigns_with_links(
    session: Session, workspace_id: uuid.UUID, base_url: str
) -> list[tuple[CampaignRead, list[LinkRead]]]:
    """Every campaign with its links, newest campaign first (the console's list)."""
    rows = service.campaigns(session, workspace_id)
    by_campaign = service.links_of(session, [c.id for c in rows])
    return [
        (
            campaign_read(c, by_campaign.get(c.id, [])),
            [link_read(x, c, base_url) for x in by_campaign.get(c.id, [])],
        )
        for c in rows
    ]


def _touch(row: AcquisitionTouch | None, prefix: str) -> TouchRead | None:
    found = touches.touch_of(row, prefix)
    if found is None:
        return None
    return TouchRead(
        channel_group=found.group,
        channel_group_label=label(found.group),
        source=found.source,
        medium=found.medium,
        campaign=found.campaign,
        term=found.term,
        content=found.content,
        referrer=found.referrer,
        channel=found.channel,
        at=found.at,
    )


def of_profile(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> AcquisitionRead:
    """A person's acquisition (a merged person's: the survivor's)."""
    person_id, row = touches.of_profile(session, workspace_id, profile_id)
    return AcquisitionRead(
        profile_id=person_id,
        first_touch=_touch(row, "first"),
        last_touch=_touch(row, "last"),
        latest_touch=_touch(row, "latest"),
        first_order_at=row.first_order_at if row else None,
        link_only=bool(row.link_only) if row else False,
        computed_at=row.computed_at if row else None,
    )
