"""The demo shows acquisition: visitors arrive from search engines, social networks, a
blog, campaigns (coherent source, medium and name) or typed the address in, the next
pages of a visit come from the shop itself; the demo's campaigns, short links and past
scans are made once, and everyone's touches computed."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from accord.analyze.acquisition import roi
from accord.analyze.acquisition.models import AcquisitionTouch, Link
from accord.demo.acquisition import CAMPAIGNS, Variety, ensure_acquisition
from accord.demo.load import load_retail
from accord.demo.retail import Retail
from tests.helpers import Committed


def test_visits_get_sources_of_their_own() -> None:
    pages = [m for m in Retail(120, seed=7).messages() if m["type"] == "page"]
    varied = Variety().apply(pages)
    firsts: dict[str, dict[str, Any]] = {}
    for m in varied:
        firsts.setdefault(m["anonymousId"], m)
    referrers = {(m["context"]["page"].get("referrer") or "") for m in firsts.values()}
    assert any("google" in r for r in referrers)
    assert any("facebook" in r or "instagram" in r for r in referrers)
    assert "" in referrers  # some typed the address in
    names = {m["context"]["campaign"]["name"] for m in varied if "campaign" in m["context"]}
    assert names <= {c.utm for c in CAMPAIGNS}
    assert len(names) >= 3
    later = [m for m in varied if m is not firsts[m["anonymousId"]]]
    assert all(
        m["context"]["page"]["referrer"].startswith("https://demo-outfitters.example/")
        for m in later
    )
    assert Variety().apply(pages) == varied  # the same every run


def test_the_demo_campaigns_links_and_touches_are_made_once(committed: Committed) -> None:
    ws = committed.workspace("Demo Outfitters").workspace.id
    load_retail(committed.factory, ws, customers=60)
    settings = committed.settings()
    done = ensure_acquisition(settings, ws)
    assert done is not None
    assert "6 campaigns, 3 short links" in done
    with committed.factory() as session:
        clicks = session.scalar(select(func.sum(Link.clicks)).where(Link.workspace_id == ws))
        people = session.scalar(
            select(func.count()).where(
                AcquisitionTouch.workspace_id == ws, AcquisitionTouch.first_group.is_not(None)
            )
        )
        report = roi.report(session, ws, by="campaign", horizon_days=365)
    assert clicks
    assert clicks >= 40
    assert people
    assert people > 30
    assert {r.label for r in report.rows if r.campaign_id} == {c.name for c in CAMPAIGNS}
    assert report.total.cost > 0
    assert ensure_acquisition(settings, ws) is None
    with committed.factory() as session:
        again = session.scalar(select(func.sum(Link.clicks)).where(Link.workspace_id == ws))
    assert again == clicks
