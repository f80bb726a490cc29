"""Campaigns, short links and the return report on both databases: a click on a short
link is a durable ``Link Clicked`` event with the campaign's UTM values and a first-party
cookie, answered 302 to the destination with those values; unknown codes are a plain
404; destinations are http(s) only (a field error otherwise); QR codes as SVG and PNG;
the report's figures on a small example computed by hand; scopes; one workspace never
reaches another's campaigns."""

from __future__ import annotations

import math
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.acquisition import roi, service, touches
from accord.analyze.acquisition.api import LINKS_PER_ADDRESS, VISITOR_COOKIE
from accord.analyze.acquisition.schemas import CampaignIn, LinkIn
from accord.collect.models import Event
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.profile.models import Profile
from accord.resolve import service as resolve
from tests.analyze.helpers import NOW, People, at
from tests.helpers import bearer


def post(client: TestClient, ws: ProvisionedWorkspace, path: str, body: Any) -> Any:
    return client.post(path, json=body, headers=bearer(ws.api_token))


def get(client: TestClient, ws: ProvisionedWorkspace, path: str, **params: Any) -> Any:
    return client.get(path, params=params, headers=bearer(ws.api_token))


def campaign(client: TestClient, ws: ProvisionedWorkspace, **body: Any) -> dict[str, Any]:
    made = post(client, ws, "/api/v1/campaigns", {"name": "Trail Magazine", **body})
    assert made.status_code == 201, made.text
    return dict(made.json())


def link(client: TestClient, ws: ProvisionedWorkspace, campaign_id: str, **body: Any) -> Any:
    given = {"destination": "https://shop.example/tents?color=red", **body}
    return post(client, ws, f"/api/v1/campaigns/{campaign_id}/links", given)


def test_a_campaign_and_its_link_through_the_api(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    made = campaign(
        client,
        workspace,
        channel="print",
        source="Trail-Mag",
        cost="1200.50",
        currency="usd",
        starts_on="2026-03-01",
        ends_on="2026-04-30",
        notes="Full page, April issue",
    )
    assert made["utm_campaign"] == "trail-magazine"
    assert (made["source"], made["medium"], made["channel_group"]) == (
        "trail-mag",
        "print",
        "offline",
    )
    assert (made["cost"], made["currency"]) == ("1200.50", "USD")
    cid = made["id"]

    created = link(client, workspace, cid, label="Page 12", utm_content="full-page")
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["short_url"] == f"http://127.0.0.1:8000/l/{body['code']}"
    assert len(body["code"]) == 7
    query = parse_qs(urlsplit(body["redirect_url"]).query)
    assert query == {
        "color": ["red"],
        "utm_source": ["trail-mag"],
        "utm_medium": ["print"],
        "utm_campaign": ["trail-magazine"],
        "utm_content": ["full-page"],
    }
    assert [
        x["id"] for x in get(client, workspace, f"/api/v1/campaigns/{cid}/links").json()["data"]
    ] == [body["id"]]
    changed = client.patch(
        f"/api/v1/links/{body['id']}",
        json={"destination": "https://shop.example/boots", "append_utm": False},
        headers=bearer(workspace.api_token),
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["redirect_url"] == "https://shop.example/boots"

    renamed = client.patch(
        f"/api/v1/campaigns/{cid}", json={"cost": "1500"}, headers=bearer(workspace.api_token)
    )
    assert renamed.json()["cost"] == "1500.00"
    listed = get(client, workspace, "/api/v1/campaigns").json()["data"]
    assert [(c["name"], c["links"]) for c in listed] == [("Trail Magazine", 1)]

    # Vanity codes are unique; a name or utm_campaign in use is a conflict.
    assert link(client, workspace, cid, code="radio").status_code == 201
    taken = link(client, workspace, cid, code="RADIO")
    assert (taken.status_code, taken.json()["code"], taken.json()["field"]) == (
        409,
        "code_taken",
        "code",
    )
    again = post(client, workspace, "/api/v1/campaigns", {"name": "Trail Magazine"})
    assert (again.status_code, again.json()["field"]) == (409, "name")
    same_utm = post(
        client, workspace, "/api/v1/campaigns", {"name": "Other", "utm_campaign": "Trail-Magazine"}
    )
    assert (same_utm.status_code, same_utm.json()["code"]) == (409, "utm_campaign_taken")
    dates = post(
        client,
        workspace,
        "/api/v1/campaigns",
        {"name": "Odd", "starts_on": "2026-05-01", "ends_on": "2026-04-01"},
    )
    assert (dates.status_code, dates.json()["field"]) == (422, "ends_on")

    assert (
        client.delete(f"/api/v1/campaigns/{cid}", headers=bearer(workspace.api_token)).status_code
        == 204
    )
    assert get(client, workspace, f"/api/v1/links/{body['id']}").status_code == 404


def test_a_bad_destination_is_refused_with_the_field(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    cid = campaign(client, workspace)["id"]
    for bad in (
        "javascript:alert(1)",
        "ftp://files.example/x",
        "shop.example/tents",
        "https://user:secret@shop.example/",
        "https:///nohost",
        "https://shop.example/a b",
    ):
        refused = link(client, workspace, cid, destination=bad)
        assert refused.status_code == 422, bad
        problem = refused.json()
        assert problem["code"] == "invalid_destination"
        assert problem["field"] == "destination"
        assert problem["errors"][0]["field"] == "destination"
    bad_code = link(client, workspace, cid, code="no spaces")
    assert (bad_code.status_code, bad_code.json()["field"]) == (422, "code")


def test_a_click_is_a_durable_event_with_the_campaign_and_a_redirect(
    client: TestClient, workspace: ProvisionedWorkspace, session: Session
) -> None:
    cid = campaign(client, workspace, channel="event", source="expo")["id"]
    made = link(client, workspace, cid).json()
    code = made["code"]
    first = client.get(
        f"/l/{code}",
        follow_redirects=False,
        headers={"user-agent": "PhoneScanner/1.0", "referer": "https://expo.example/map"},
    )
    assert first.status_code == 302
    assert first.headers["location"] == made["redirect_url"]
    assert first.headers["cache-control"] == "no-store"
    visitor = first.cookies.get(VISITOR_COOKIE)
    assert visitor
    assert "httponly" in first.headers["set-cookie"].lower()

    # The same browser again: the same anonymous id, no new cookie.
    client.cookies.set(VISITOR_COOKIE, visitor)
    second = client.get(f"/l/{code}", follow_redirects=False)
    assert second.status_code == 302
    assert VISITOR_COOKIE not in second.headers.get("set-cookie", "")

    # A link preview asking where it leads (HEAD) is no click.
    head = client.head(f"/l/{code}", follow_redirects=False)
    assert head.status_code == 302

    events = session.scalars(
        select(Event).where(
            Event.workspace_id == workspace.workspace.id, Event.name == "Link Clicked"
        )
    ).all()
    assert len(events) == 2
    event = events[0]
    assert event.anonymous_id == visitor
    assert event.status == "resolved"  # resolved as any event (inline in tests)
    assert event.source == "accord:links"
    assert event.context is not None
    assert event.context["campaign"] == {
        "source": "expo",
        "medium": "event",
        "name": "trail-magazine",
    }
    assert event.context["ip"] == "testclient"
    assert event.context["userAgent"] == "PhoneScanner/1.0"
    assert event.context["page"]["referrer"] == "https://expo.example/map"
    assert event.properties is not None
    assert event.properties["code"] == code
    assert {e.profile_id for e in events} == {event.profile_id}

    read = get(client, workspace, f"/api/v1/links/{made['id']}").json()
    assert read["clicks"] == 2
    assert read["last_clicked_at"] is not None
    acquired = get(client, workspace, f"/api/v1/profiles/{event.profile_id}/acquisition").json()
    assert acquired["first_touch"]["channel_group"] == "offline"
    assert acquired["first_touch"]["campaign"] == "trail-magazine"
    assert acquired["link_only"] is True


def test_an_unknown_code_is_a_plain_404_and_clicks_are_rate_limited(
    client: TestClient, workspace: ProvisionedWorkspace, app: Any
) -> None:
    missing = client.get("/l/nothing-here", follow_redirects=False)
    assert missing.status_code == 404
    assert "Link not found" in missing.text
    assert "console" not in missing.text.lower()
    assert client.get("/l/%00bad", follow_redirects=False).status_code in (404, 422)

    cid = campaign(client, workspace)["id"]
    made = link(client, workspace, cid).json()
    limiter = app.state.rate_limiter
    limiter.clock = lambda: 1_000_000.0  # one window for the whole test
    limiter.scale = 0.1  # as ACCORD_RATE_LIMIT_SCALE would: 12 a minute
    allowed = math.ceil(LINKS_PER_ADDRESS.count * limiter.scale)
    for _ in range(allowed):
        assert client.get(f"/l/{made['code']}", follow_redirects=False).status_code == 302
    # Over the limit the visitor still gets where they were going, unrecorded...
    over = client.get(f"/l/{made['code']}", follow_redirects=False)
    assert over.status_code == 302
    assert get(client, workspace, f"/api/v1/links/{made['id']}").json()["clicks"] == allowed
    # ...while guessing codes is refused.
    guessed = client.get("/l/guess-1", follow_redirects=False)
    assert guessed.status_code == 429
    assert "retry-after" in guessed.headers


def test_qr_codes_as_svg_and_png(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    cid = campaign(client, workspace)["id"]
    made = link(client, workspace, cid).json()
    svg = get(client, workspace, made["qr_svg"].split("?")[0], format="svg")
    assert svg.status_code == 200
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert f'filename="qr-{made["code"]}.svg"' in svg.headers["content-disposition"]
    assert b"<svg" in svg.content
    assert made["short_url"].encode() in svg.content
    png = get(client, workspace, f"/api/v1/links/{made['id']}/qr", format="png", scale=4)
    assert png.status_code == 200
    assert png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert get(client, workspace, f"/api/v1/links/{made['id']}/qr", format="gif").status_code == 422


def _order(people: People, user: str, order_id: str, total: float, when: Any, **extra: Any) -> None:
    people.send(
        {
            "type": "track",
            "userId": user,
            "event": "Order Completed",
            "timestamp": when,
            "properties": {"order_id": order_id, "total": total, **extra},
        }
    )


def test_the_return_report_on_a_small_example(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    """Trail Magazine (print, 1,000) brought Pia and Quinn, and a scan that never
    reached the shop; Spring Ads (Google, 300) brought Rae; Sol came from a search.

    Pia orders 200 five days in, 100 on day 60 with 50 refunded (and 70 in EUR, and
    Quinn's 999 is cancelled: neither counts); Rae orders 500 on day 100; Sol 80 on day 1.
    """
    ws = workspace.workspace.id
    cli = Principal.cli(ws)
    trail = service.create_campaign(
        session, ws, CampaignIn(name="Trail Magazine", channel="print", cost=Decimal(1000)), cli
    )
    service.create_campaign(
        session,
        ws,
        CampaignIn(name="Spring Ads", channel="paid_search", source="google", cost=Decimal(300)),
        cli,
    )
    service.create_campaign(
        session,
        ws,
        CampaignIn(name="Euro fair", channel="event", cost=Decimal(90), currency="EUR"),
        cli,
    )
    people = People(session, ws)
    day0 = at(days=200)

    def visit(user: str, url: str, referrer: str | None = None) -> None:
        page: dict[str, Any] = {"url": url}
        if referrer:
            page["referrer"] = referrer
        people.send(
            {
                "type": "page",
                "anonymousId": f"anon-{user}",
                "timestamp": day0,
                "context": {"page": page},
            },
            {"type": "identify", "anonymousId": f"anon-{user}", "userId": user, "timestamp": day0},
        )

    tagged = "https://shop.example/?utm_source={}&utm_medium={}&utm_campaign={}"
    visit("pia", tagged.format("trail-magazine", "print", "trail-magazine"))
    visit("quinn", tagged.format("print", "print", "Trail-Magazine"))
    visit("rae", tagged.format("google", "cpc", "spring-ads"))
    visit("sol", "https://shop.example/", "https://www.google.com/")
    _order(people, "pia", "P-1", 200, day0 + timedelta(days=5))
    _order(people, "pia", "P-2", 100, day0 + timedelta(days=60))
    people.send(
        {
            "type": "track",
            "userId": "pia",
            "event": "Order Refunded",
            "timestamp": day0 + timedelta(days=61),
            "properties": {"order_id": "P-2", "total": 50},
        }
    )
    _order(people, "pia", "P-3", 70, day0 + timedelta(days=2), currency="EUR")
    _order(people, "quinn", "Q-1", 999, day0 + timedelta(days=3))
    people.send(
        {
            "type": "track",
            "userId": "quinn",
            "event": "Order Cancelled",
            "timestamp": day0 + timedelta(days=4),
            "properties": {"order_id": "Q-1"},
        }
    )
    _order(people, "rae", "R-1", 500, day0 + timedelta(days=100))
    _order(people, "sol", "S-1", 80, day0 + timedelta(days=1))
    # The scan: a click on the magazine's short link, from a phone never seen again.
    trail_link = service.create_link(
        session, trail, LinkIn(destination="https://shop.example/"), cli
    )
    found = service.target(session, trail_link.code)
    assert found is not None
    service.record_click(
        session,
        found,
        anonymous_id="phone-1",
        ip=None,
        user_agent=None,
        referrer=None,
        short="http://x/l/" + trail_link.code,
        at=day0,
    )
    resolve.resolve_pending(session, ws, limit=1000)
    ids = list(session.scalars(select(Profile.id).where(Profile.workspace_id == ws)))
    touches.refresh(session, ws, ids)
    session.commit()

    def rows(horizon: int, by: str = "campaign") -> dict[str | None, Any]:
        got = roi.report(session, ws, by=by, horizon_days=horizon)
        assert got.currency == "USD"
        return {r.key: r for r in got.rows} | {"TOTAL": got.total}

    thirty = rows(30)
    t = thirty["trail-magazine"]
    assert (t.label, t.campaign_id) == ("Trail Magazine", trail.id)
    assert (t.acquired, t.customers, t.revenue, t.cost, t.clicks) == (
        2,
        1,
        Decimal("200.00"),
        Decimal("1000.00"),
        1,
    )
    assert t.conversion_rate == 0.5
    assert t.revenue_per_acquired == Decimal("100.00")
    assert t.cac == Decimal("1000.00")
    assert t.roi == -0.8
    s = thirty["spring-ads"]
    assert (s.acquired, s.customers, s.revenue, s.cost, s.cac, s.roi) == (
        1,
        0,
        Decimal("0.00"),
        Decimal("300.00"),
        None,
        -1.0,
    )
    none = thirty[None]
    assert (none.label, none.acquired, none.customers, none.revenue, none.cost, none.roi) == (
        "(no campaign)",
        1,
        1,
        Decimal("80.00"),
        Decimal("0.00"),
        None,
    )
    assert "euro-fair" in thirty  # a campaign with nobody yet is listed, without its EUR cost
    assert thirty["euro-fair"].cost == Decimal("0.00")
    total = thirty["TOTAL"]
    assert (total.acquired, total.customers, total.revenue, total.cost) == (
        4,
        2,
        Decimal("280.00"),
        Decimal("1300.00"),
    )

    ninety = rows(90)
    assert (ninety["trail-magazine"].revenue, ninety["trail-magazine"].customers) == (
        Decimal("250.00"),
        1,
    )
    assert ninety["spring-ads"].customers == 0
    year = rows(365)
    assert (year["spring-ads"].customers, year["spring-ads"].revenue) == (1, Decimal("500.00"))
    assert year["spring-ads"].cac == Decimal("300.00")
    assert year["spring-ads"].roi == 0.6667

    by_source = rows(365, "source")
    assert (by_source["google"].acquired, by_source["google"].customers) == (2, 2)
    assert by_source["google"].revenue == Decimal("580.00")
    assert by_source["google"].cost == Decimal("300.00")
    by_channel = rows(30, "channel")
    assert by_channel["offline"].acquired == 2
    assert by_channel["offline"].label == "Offline / QR"
    assert by_channel["paid_search"].acquired == 1
    assert by_channel["organic_search"].acquired == 1

    report = get(client, workspace, "/api/v1/acquisition/roi", by="campaign", horizon=30).json()
    assert report["currency"] == "USD"
    assert report["other_currencies"] == ["Euro fair"]
    assert report["total"]["revenue"] == "280.00"
    eur = get(client, workspace, "/api/v1/acquisition/roi", horizon=30, currency="eur").json()
    assert (eur["currency"], eur["total"]["revenue"], eur["total"]["cost"]) == (
        "EUR",
        "70.00",
        "90.00",
    )
    later = get(client, workspace, "/api/v1/acquisition/roi", since=NOW.date().isoformat()).json()
    assert later["total"]["acquired"] == 0
    bad = get(client, workspace, "/api/v1/acquisition/roi", by="weather")
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")


def test_scopes_and_workspaces(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    ws = workspace.workspace.id

    def token(*scopes: str) -> dict[str, str]:
        _, plain = access.create_key(
            session,
            workspace_id=ws,
            kind="token",
            name="-".join(scopes) or "none",
            actor=Principal.cli(ws),
            scopes=list(scopes),
        )
        session.commit()
        return bearer(plain)

    cid = campaign(client, workspace)["id"]
    made = link(client, workspace, cid).json()
    reader = token("analytics:read")
    writer = token("analytics:read", "campaigns:write")
    profiles_only = token("profiles:read")
    reads = [
        "/api/v1/campaigns",
        f"/api/v1/campaigns/{cid}",
        f"/api/v1/campaigns/{cid}/links",
        f"/api/v1/links/{made['id']}",
        f"/api/v1/links/{made['id']}/qr",
        "/api/v1/acquisition/roi",
    ]
    for path in reads:
        assert client.get(path, headers=reader).status_code == 200, path
        refused = client.get(path, headers=profiles_only)
        assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope"), path
    body = {"name": "By reader"}
    refused = client.post("/api/v1/campaigns", json=body, headers=reader)
    assert (refused.status_code, refused.json()["code"]) == (403, "insufficient_scope")
    assert (
        client.post(
            f"/api/v1/campaigns/{cid}/links",
            json={"destination": "https://a.example"},
            headers=reader,
        ).status_code
        == 403
    )
    assert client.delete(f"/api/v1/links/{made['id']}", headers=reader).status_code == 403
    assert client.post("/api/v1/acquisition/rebuild", headers=reader).status_code == 403
    assert client.post("/api/v1/campaigns", json=body, headers=writer).status_code == 201
    assert client.post("/api/v1/acquisition/rebuild", headers=writer).status_code == 202

    # Another workspace sees none of it, as if it did not exist.
    other = bearer(other_workspace.api_token)
    assert client.get("/api/v1/campaigns", headers=other).json()["data"] == []
    for path in reads[1:5]:
        missing = client.get(path, headers=other)
        assert (missing.status_code, missing.json()["code"]) == (404, "not_found"), path
    assert (
        client.patch(f"/api/v1/campaigns/{cid}", json={"cost": "1"}, headers=other).status_code
        == 404
    )
    assert client.delete(f"/api/v1/links/{made['id']}", headers=other).status_code == 404
    assert (
        client.post(
            f"/api/v1/campaigns/{cid}/links",
            json={"destination": "https://a.example"},
            headers=other,
        ).status_code
        == 404
    )
    stranger = str(uuid.uuid4())
    assert (
        client.get(
            f"/api/v1/profiles/{stranger}/acquisition", headers=bearer(workspace.api_token)
        ).status_code
        == 404
    )
