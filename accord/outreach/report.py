"""A campaign's results: how many were sent, refused (and why), opened and clicked, and
whether it worked. The holdout group was drawn at random and sent nothing, so the
difference between the people sent the campaign and the holdout in reaching the goal
(and in revenue) within the goal's days is the campaign's lift, given with its 95%
confidence interval."""

from __future__ import annotations

import math
from collections.abc import Sequence

from sqlalchemy.orm import Session

from accord.outreach.models import Campaign
from accord.outreach.repository import SendRepository
from accord.outreach.schemas import Lift, ReportRead

Z95 = 1.959964


def wilson(hits: int, n: int) -> tuple[float, float]:
    """Wilson's score interval of a proportion (95%)."""
    p = hits / n
    denominator = 1 + Z95**2 / n
    centre = (p + Z95**2 / (2 * n)) / denominator
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def proportion_lift(hits_t: int, n_t: int, hits_c: int, n_c: int) -> Lift | None:
    """Difference of two proportions with Newcombe's interval (from the Wilson interval
    of each; it stays within -1..1 and holds for small groups and rates near 0 or 1,
    where the plain normal interval does not). None without both groups."""
    if n_t == 0 or n_c == 0:
        return None
    pt, pc = hits_t / n_t, hits_c / n_c
    lt, ut = wilson(hits_t, n_t)
    lc, uc = wilson(hits_c, n_c)
    diff = pt - pc
    low = diff - math.sqrt((pt - lt) ** 2 + (uc - pc) ** 2)
    high = diff + math.sqrt((ut - pt) ** 2 + (pc - lc) ** 2)
    return Lift(treatment=pt, control=pc, difference=diff, low=low, high=high)


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, var


def mean_lift(treatment: Sequence[float], control: Sequence[float]) -> Lift | None:
    """Difference of two means with Welch's standard error (None without both groups)."""
    if not treatment or not control:
        return None
    mt, vt = _mean_var(treatment)
    mc, vc = _mean_var(control)
    se = math.sqrt(vt / len(treatment) + vc / len(control))
    diff = mt - mc
    return Lift(
        treatment=mt, control=mc, difference=diff, low=diff - Z95 * se, high=diff + Z95 * se
    )


def report(session: Session, campaign: Campaign) -> ReportRead:
    repo = SendRepository.from_session(session)
    counts = repo.counts(campaign.id)
    opened, clicked = repo.engagement(campaign.id)
    rows = repo.outcomes(campaign, campaign.goal_days) if campaign.started_at else []
    sent_rows = [r for r in rows if r[0] == "sent"]
    held_rows = [r for r in rows if r[0] == "holdout"]
    converted = sum(1 for r in sent_rows if r[1])
    holdout_converted = sum(1 for r in held_rows if r[1])
    sent = counts.get("sent", 0)
    return ReportRead(
        campaign_id=campaign.id,
        counts=counts,
        recipients=sum(counts.values()),
        sent=sent,
        opened=opened,
        clicked=clicked,
        open_rate=opened / sent if sent else None,
        click_rate=clicked / sent if sent else None,
        holdout=counts.get("holdout", 0),
        goal_event=campaign.goal_event,
        goal_days=campaign.goal_days,
        converted=converted,
        holdout_converted=holdout_converted,
        conversion=proportion_lift(converted, len(sent_rows), holdout_converted, len(held_rows)),
        revenue_per_person=mean_lift([r[2] for r in sent_rows], [r[2] for r in held_rows]),
        revenue=sum(r[2] for r in sent_rows),
        links=[
            {"url": url, "clicks": n}
            for url, n in repo.link_clicks(campaign.workspace_id, campaign.id)
        ],
    )
