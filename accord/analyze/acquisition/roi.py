"""The return on acquisition, by campaign, source or channel group: people acquired
(their first touch), those who ordered within a horizon after it, what they spent then,
against what the campaigns cost.

- acquired: live people whose first touch carries the key (people known only from
  clicks on short links are counted as clicks instead);
- customers: of them, who placed an order (not cancelled) within ``horizon_days`` of
  their first touch;
- revenue: those orders' totals less refunds, in the report's currency;
- cost: the campaigns' costs in that currency (a source's or channel group's: the sum of
  its campaigns'); campaigns costed in another currency are left out and named;
- conversion rate = customers / acquired, revenue per acquired person = revenue /
  acquired, CAC = cost / customers, ROI = (revenue - cost) / cost.

The people and orders are counted in SQL, one grouped statement; campaigns and links are
few and summed here."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from accord.analyze.acquisition import service
from accord.analyze.acquisition.channels import label as group_label
from accord.analyze.acquisition.repository import TouchRepository
from accord.analyze.acquisition.schemas import RoiReport, RoiRow
from accord.kit.errors import invalid

CENT = Decimal("0.01")
NO_KEY = {"campaign": "(no campaign)", "source": "(none)", "channel": "Unknown"}


@dataclass
class _Line:
    key: str | None
    label: str
    campaign_id: uuid.UUID | None = None
    acquired: int = 0
    customers: int = 0
    revenue: Decimal = Decimal("0")
    cost: Decimal = Decimal("0")
    clicks: int = 0
    costed: bool = False  # a campaign of the workspace is behind it


@dataclass
class _Lines:
    by: str
    lines: dict[str | None, _Line] = field(default_factory=dict)

    def of(self, key: str | None) -> _Line:
        line = self.lines.get(key)
        if line is None:
            line = self.lines[key] = _Line(key, self._label(key))
        return line

    def _label(self, key: str | None) -> str:
        if key is None:
            return NO_KEY[self.by]
        return group_label(key) if self.by == "channel" else key


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _row(line: _Line) -> RoiRow:
    revenue, cost = _money(line.revenue), _money(line.cost)
    return RoiRow(
        key=line.key,
        label=line.label,
        campaign_id=line.campaign_id,
        acquired=line.acquired,
        customers=line.customers,
        conversion_rate=round(line.customers / line.acquired, 4) if line.acquired else None,
        revenue=revenue,
        revenue_per_acquired=_money(revenue / line.acquired) if line.acquired else None,
        cost=cost,
        cac=_money(cost / line.customers) if line.customers and cost > 0 else None,
        roi=round(float((revenue - cost) / cost), 4) if cost > 0 else None,
        clicks=line.clicks,
    )


def _moment(day: date | None, *, end: bool = False) -> datetime | None:
    if day is None:
        return None
    at = datetime.combine(day, time(0), tzinfo=UTC)
    return at + timedelta(days=1) if end else at


def report(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    by: str = "campaign",
    horizon_days: int = 90,
    currency: str | None = None,
    since: date | None = None,
    until: date | None = None,
) -> RoiReport:
    """The report by ``campaign`` (utm_campaign), ``source`` or ``channel`` group, for
    people acquired from ``since`` to ``until`` (inclusive, any time when not given)."""
    if by not in NO_KEY:
        raise invalid("by is campaign, source or channel", field="by")
    found = reports(
        session,
        workspace_id,
        horizon_days=horizon_days,
        currency=currency,
        since=since,
        until=until,
        by=(by,),
    )
    return found[by]


def reports(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    horizon_days: int = 90,
    currency: str | None = None,
    since: date | None = None,
    until: date | None = None,
    by: tuple[str, ...] = tuple(NO_KEY),
) -> dict[str, RoiReport]:
    """The report along each of ``by`` from one grouped statement (each person has one
    first-touch campaign, source and channel group, so the counts add up along any)."""
    if since and until and until < since:
        raise invalid("until is before since", field="until")
    campaigns = service.campaigns(session, workspace_id)
    links = service.links_of(session, [c.id for c in campaigns])
    repo = TouchRepository.from_session(session)
    if currency:
        chosen = currency.upper()
    else:
        usual = Counter(c.currency for c in campaigns).most_common(1)
        chosen = usual[0][0] if usual else (repo.usual_currency(workspace_id) or "USD")
    counted = repo.aggregate(
        workspace_id, horizon_days, chosen, _moment(since), _moment(until, end=True)
    )
    out: dict[str, RoiReport] = {}
    for dimension in by:
        lines = _Lines(dimension)
        others: list[str] = []
        for campaign in campaigns:
            key = {
                "campaign": campaign.utm_campaign,
                "source": campaign.source,
                "channel": service.group_of(campaign),
            }[dimension]
            line = lines.of(key)
            line.costed = True
            if dimension == "campaign":
                line.label, line.campaign_id = campaign.name, campaign.id
            if campaign.currency == chosen:
                line.cost += campaign.cost
            elif campaign.cost:
                others.append(campaign.name)
            for link in links.get(campaign.id, []):
                click = service.utm_of(link, campaign)["source"] if dimension == "source" else key
                lines.of(click).clicks += link.clicks
        for found in counted:
            of_found = {"campaign": found.campaign, "source": found.source, "channel": found.group}
            line = lines.of(of_found[dimension])
            line.acquired += found.acquired
            line.customers += found.customers
            line.revenue += found.revenue
        ordered = sorted(
            lines.lines.values(),
            key=lambda x: (-x.acquired, -x.cost, x.key is None, x.label.lower()),
        )
        total = _Line(None, "Total")
        for line in ordered:
            total.acquired += line.acquired
            total.customers += line.customers
            total.revenue += line.revenue
            total.cost += line.cost
            total.clicks += line.clicks
        out[dimension] = RoiReport(
            by=dimension,
            horizon_days=horizon_days,
            currency=chosen,
            since=since,
            until=until,
            rows=[_row(line) for line in ordered],
            total=_row(total),
            other_currencies=others,
        )
    return out
