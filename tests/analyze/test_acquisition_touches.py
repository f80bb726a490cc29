"""Each person's first, last and latest touch, on both databases: read from UTM values
(in the context or the page's URL), referrers and channels; grouped by the documented
rules; kept up to date as events arrive (the listener the app sets), through a merge
and a split, rebuilt in chunks, and gone with an erase."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition import touches
from accord.analyze.acquisition.channels import Raw, campaign_group, classify, host_of
from accord.analyze.acquisition.models import AcquisitionTouch
from accord.analyze.acquisition.schemas import CAMPAIGN_CHANNELS
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.analyze.helpers import People, at
from tests.helpers import bearer
from tests.resolve.test_identity import Api

SHOP = "https://shop.example"


def raw(**given: Any) -> Raw:
    base: dict[str, Any] = {
        "type": "page",
        "name": None,
        "channel": "web",
        "timestamp": datetime(2026, 3, 1, tzinfo=UTC),
        "campaign": {},
        "referrer": None,
        "url": f"{SHOP}/",
    }
    return Raw(**{**base, **given})


@pytest.mark.parametrize(
    ("given", "group", "source", "medium"),
    [
        ({"campaign": {"source": "Google", "medium": "CPC"}}, "paid_search", "google", "cpc"),
        ({"campaign": {"source": "facebook", "medium": "cpc"}}, "paid_social", "facebook", "cpc"),
        ({"campaign": {"source": "meta", "medium": "paid_social"}}, "paid_social", "meta", None),
        ({"campaign": {"source": "newsletter", "medium": "email"}}, "email", "newsletter", None),
        ({"campaign": {"source": "trail-mag", "medium": "print"}}, "offline", "trail-mag", None),
        ({"campaign": {"source": "qr", "medium": "poster"}}, "offline", "qr", None),
        ({"campaign": {"source": "instagram", "medium": "social"}}, "social", "instagram", None),
        ({"campaign": {"source": "partner", "medium": "affiliate"}}, "affiliate", None, None),
        ({"campaign": {"source": "gdn", "medium": "banner"}}, "display", None, None),
        ({"campaign": {"source": "odd", "medium": "carrier-pigeon"}}, "other", None, None),
        ({"url": f"{SHOP}/?utm_source=bing&utm_medium=ppc"}, "paid_search", "bing", "ppc"),
        ({"url": f"{SHOP}/?gclid=abc"}, "paid_search", "google", "cpc"),
        ({"referrer": "https://www.google.co.uk/search?q=tent"}, "organic_search", "google", None),
        ({"referrer": "https://duckduckgo.com/"}, "organic_search", "duckduckgo", "organic"),
        ({"referrer": "https://l.facebook.com/l.php"}, "social", "facebook", "social"),
        ({"referrer": "https://t.co/xyz"}, "social", "twitter", None),
        ({"referrer": "https://mail.google.com/mail/u/0"}, "email", None, "email"),
        ({"referrer": "https://gearblog.example/best-tents"}, "referral", "gearblog.example", None),
        ({"referrer": f"{SHOP}/tents"}, "direct", "(direct)", "(none)"),  # own site
        ({}, "direct", "(direct)", "(none)"),
        ({"url": None}, "direct", "(direct)", "(none)"),  # nothing read at all
        ({"channel": "store", "type": "track", "url": None}, "offline", "store", "offline"),
        ({"channel": "email", "type": "track", "url": None}, "email", "email", None),
    ],
)
def test_touches_are_grouped_by_the_documented_rules(
    given: dict[str, Any], group: str, source: str | None, medium: str | None
) -> None:
    touch = classify(raw(**given))
    assert touch.group == group
    if source is not None:
        assert touch.source == source
    if medium is not None:
        assert touch.medium == medium


def test_referrer_domains_and_campaign_channels() -> None:
    assert host_of("https://WWW.Example.com:8443/x?y") == "example.com"
    assert host_of("not a url") is None
    touch = classify(raw(referrer="https://www.gearblog.example/a", campaign={"source": "x"}))
    assert touch.referrer == "gearblog.example"
    # Every channel a campaign may run on groups its links' default medium as it says.
    for channel, (group, medium) in CAMPAIGN_CHANNELS.items():
        source = channel if group != "paid_social" else "facebook"
        assert campaign_group(source, medium) == group, channel


def row_of(session: Session, profile_id: Any) -> AcquisitionTouch:
    row = session.get(AcquisitionTouch, uuid.UUID(str(profile_id)), populate_existing=True)
    assert row is not None
    return row


def test_first_last_and_latest_touch_from_events(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    people = People(session, workspace.workspace.id)
    ws = workspace.workspace.id
    page = {"type": "page", "anonymousId": "v1"}
    people.send(
        {
            **page,
            "timestamp": at(days=40),
            "context": {"page": {"url": f"{SHOP}/", "referrer": "https://www.google.com/"}},
        },
        # Navigation inside the shop is no touch.
        {
            **page,
            "timestamp": at(days=40, minutes=-1),
            "context": {"page": {"url": f"{SHOP}/tents", "referrer": f"{SHOP}/"}},
        },
        {
            **page,
            "timestamp": at(days=20),
            "context": {
                "page": {"url": f"{SHOP}/"},
                "campaign": {"source": "Newsletter", "medium": "email", "name": "Spring-Trail"},
            },
        },
        {"type": "identify", "anonymousId": "v1", "userId": "ana", "timestamp": at(days=20)},
        # A later direct visit does not hide the campaign that brought the order.
        {**page, "timestamp": at(days=12), "context": {"page": {"url": f"{SHOP}/"}}},
        {
            "type": "track",
            "userId": "ana",
            "event": "Order Completed",
            "timestamp": at(days=10),
            "properties": {"order_id": "O-1", "total": 120},
        },
        {
            **page,
            "timestamp": at(days=2),
            "context": {"page": {"url": f"{SHOP}/?utm_source=instagram&utm_medium=social"}},
        },
        # Server-side events say nothing of how someone came.
        {"type": "track", "userId": "ana", "event": "Points Earned", "timestamp": at(days=1)},
    )
    ana = people.id("ana")
    assert touches.refresh(session, ws, [ana]) == 1
    row = row_of(session, ana)
    assert (row.first_group, row.first_source, row.first_medium) == (
        "organic_search",
        "google",
        "organic",
    )
    assert row.first_referrer == "google.com"
    assert row.first_channel == "web"
    assert row.first_at == at(days=40)
    assert (row.last_group, row.last_source, row.last_campaign) == (
        "email",
        "newsletter",
        "spring-trail",
    )
    assert row.last_at == at(days=20)
    assert row.first_order_at == at(days=10)
    assert (row.latest_group, row.latest_source, row.latest_at) == (
        "social",
        "instagram",
        at(days=2),
    )
    assert row.link_only is False

    # Someone seen only on the server has no touch; a store customer's is the store.
    people.send(
        {"type": "track", "userId": "bo", "event": "Points Earned", "timestamp": at(days=3)},
        {
            "type": "track",
            "userId": "cy",
            "event": "Order Completed",
            "timestamp": at(days=5),
            "context": {"channel": "store"},
            "properties": {"order_id": "S-1", "total": 40, "store": "Portland"},
        },
    )
    bo, cy = people.id("bo"), people.id("cy")
    touches.refresh(session, ws, [bo, cy])
    assert row_of(session, bo).first_group is None
    store = row_of(session, cy)
    assert (store.first_group, store.last_group, store.first_source) == (
        "offline",
        "offline",
        "store",
    )


def _kinds(n: int, when: datetime, user: str) -> dict[str, Any]:
    """One event of each kind a touch can be or not be, by ``n``."""
    page = {"type": "page", "userId": user, "timestamp": when}
    kinds: list[dict[str, Any]] = [
        {**page, "context": {"page": {"url": f"{SHOP}/"}}},  # direct
        {**page, "context": {"page": {"url": f"{SHOP}/t", "referrer": f"{SHOP}/"}}},  # inside
        {**page, "context": {"page": {"url": f"{SHOP}/", "referrer": "https://duckduckgo.com/"}}},
        {**page, "context": {"page": {"url": f"{SHOP}/?utm_source=x&utm_medium=cpc"}}},
        {"type": "track", "userId": user, "event": "Points Earned", "timestamp": when},
        {"type": "track", "userId": user, "event": "Link Clicked", "timestamp": when},
        {
            "type": "track",
            "userId": user,
            "event": "Visited",
            "timestamp": when,
            "context": {"channel": "store"},
        },
    ]
    return kinds[n % len(kinds)]


def _snapshot(session: Session, profile_id: uuid.UUID) -> dict[str, Any]:
    row = row_of(session, profile_id)
    return {
        c.key: getattr(row, c.key)
        for c in AcquisitionTouch.__table__.columns
        if c.key != "computed_at"
    }


@pytest.mark.parametrize("seed", range(6))
def test_new_events_advance_a_row_exactly_as_a_full_computation(
    session: Session, workspace: ProvisionedWorkspace, seed: int
) -> None:
    """Batches of events of every kind, arriving out of order (ties on time included),
    and now and then an order: after each, weighing the new events against the row's
    three chosen ones gives the row that all the person's events give."""
    import random

    from accord.collect.models import Event

    rng = random.Random(seed)
    ws = workspace.workspace.id
    people = People(session, ws)
    user = f"adv-{seed}"
    # Known first by a server event, or by a short link's click alone.
    people.send(_kinds(4 if seed % 2 else 5, at(days=50), user))
    pid = people.id(user)
    touches.refresh(session, ws, [pid])
    advanced = 0
    for batch in range(10):
        before = people.n
        sent = [
            _kinds(rng.randrange(7), at(days=rng.choice([60, 45, 30, 30, 10, 5, 1])), user)
            for _ in range(rng.randint(1, 4))
        ]
        if batch in (4, 8) and rng.random() < 0.7:
            sent.append(
                {
                    "type": "track",
                    "userId": user,
                    "event": "Order Completed",
                    "timestamp": at(days=rng.choice([40, 20])),
                    "properties": {"order_id": f"O-{seed}-{batch}", "total": 10},
                }
            )
        people.send(*sent)
        ids = set(
            session.scalars(
                select(Event.id).where(
                    Event.workspace_id == ws,
                    Event.message_id.in_([f"m-{n}" for n in range(before + 1, people.n + 1)]),
                )
            )
        )
        rest = touches.advance(session, ws, {pid: ids})
        advanced += pid not in rest
        touches.refresh(session, ws, rest)
        stepped = _snapshot(session, pid)
        touches.refresh(session, ws, [pid])
        assert stepped == _snapshot(session, pid), f"batch {batch}"
    assert advanced >= 5  # most batches advance without the whole history


def test_the_app_keeps_touches_up_to_date_through_a_merge_and_a_split(
    client: TestClient, workspace: ProvisionedWorkspace, session_factory: sessionmaker[Session]
) -> None:
    api = Api(client, workspace)
    # An anonymous visitor from a search engine; a signed-up customer from a campaign.
    api.send(
        "page",
        anonymousId="a-1",
        timestamp="2026-02-01T10:00:00Z",
        context={"page": {"url": f"{SHOP}/", "referrer": "https://www.bing.com/"}},
    )
    api.send(
        "page",
        anonymousId="a-2",
        timestamp="2026-02-10T10:00:00Z",
        context={"page": {"url": f"{SHOP}/?utm_source=google&utm_medium=cpc&utm_campaign=tents"}},
    )
    api.send("identify", anonymousId="a-2", userId="kim", timestamp="2026-02-10T10:05:00Z")
    visitor = api.profile(anonymous_id="a-1")["id"]
    kim = api.profile(user_id="kim")["id"]
    got = api.get(f"/api/v1/profiles/{kim}/acquisition")
    assert got["first_touch"]["channel_group"] == "paid_search"
    assert got["first_touch"]["campaign"] == "tents"
    assert api.get(f"/api/v1/profiles/{visitor}/acquisition")["first_touch"]["source"] == "bing"

    # The visitor signs in as Kim: one person, whose first touch is the earlier visit.
    api.send("identify", anonymousId="a-1", userId="kim", timestamp="2026-02-12T09:00:00Z")
    survivor = api.profile(user_id="kim")["id"]
    absorbed = visitor if survivor == kim else kim
    with session_factory() as s:
        assert s.get(AcquisitionTouch, uuid.UUID(absorbed)) is None
        row = row_of(s, survivor)
        assert (row.first_group, row.first_source) == ("organic_search", "bing")
        assert row.latest_campaign == "tents"
    # The absorbed profile's id answers for the person it joined.
    assert api.get(f"/api/v1/profiles/{absorbed}/acquisition")["profile_id"] == survivor

    merges = api.merges(survivor)
    api.split(survivor, merges[0]["id"])
    with session_factory() as s:
        first = {row_of(s, p).first_source for p in (visitor, kim)}
        assert first == {"bing", "google"}


def _visitors(people: People, count: int, prefix: str, referrer: str) -> None:
    """``count`` anonymous visitors, each one page view from ``referrer`` on a day of
    their own."""
    for n in range(count):
        people.send(
            {
                "type": "page",
                "anonymousId": f"{prefix}-{n}",
                "timestamp": at(days=n + 1),
                "context": {"page": {"url": f"{SHOP}/", "referrer": referrer}},
            }
        )


def test_a_rebuild_computes_every_person_a_chunk_at_a_time(
    session: Session, session_factory: sessionmaker[Session], workspace: ProvisionedWorkspace
) -> None:
    _visitors(People(session, workspace.workspace.id), 7, "r", "https://reddit.com/r/x")
    session.commit()
    done = touches.rebuild(session_factory, workspace.workspace.id, chunk=3)
    assert (done.people, done.rows) == (7, 7)
    with session_factory() as s:
        groups = s.scalars(
            select(AcquisitionTouch.first_group).where(
                AcquisitionTouch.workspace_id == workspace.workspace.id
            )
        ).all()
    assert groups == ["social"] * 7


def test_an_erase_removes_the_persons_touches(
    client: TestClient, workspace: ProvisionedWorkspace, session_factory: sessionmaker[Session]
) -> None:
    api = Api(client, workspace)
    api.send(
        "identify",
        userId="zoe",
        traits={"email": "zoe@example.com"},
        context={"page": {"url": f"{SHOP}/", "referrer": "https://news.example/"}},
    )
    zoe = api.profile(email="zoe@example.com")["id"]
    assert api.get(f"/api/v1/profiles/{zoe}/acquisition")["first_touch"]["source"] == "news.example"
    with session_factory() as s:
        assert row_of(s, zoe).first_group == "referral"
    auth = bearer(workspace.api_token)
    made = client.post(
        "/api/v1/privacy/requests",
        headers=auth,
        json={"kind": "erase", "identifier_type": "email", "identifier_value": "zoe@example.com"},
    )
    assert made.status_code == 201, made.text
    done = client.post(f"/api/v1/privacy/requests/{made.json()['id']}/erase", headers=auth)
    assert done.status_code == 200, done.text
    assert done.json()["receipt"]["tables"]["acquisition_touches"] == 1
    with session_factory() as s:
        left = s.scalar(
            select(func.count()).where(AcquisitionTouch.workspace_id == workspace.workspace.id)
        )
    assert left == 0


def test_accord_acquisition_rebuild_computes_everyone(
    fresh_db_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from accord.cli.main import app as cli
    from accord.kit import migrate
    from accord.kit.db import create_db_engine, create_session_factory
    from tests.helpers import provision

    migrate.upgrade(fresh_db_url)
    monkeypatch.setenv("ACCORD_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    engine = create_db_engine(fresh_db_url)
    try:
        with create_session_factory(engine)() as session:
            ws = provision(session, "Acme")
            _visitors(People(session, ws.workspace.id), 5, "cli", "https://bing.com/")
            session.commit()  # resolved without the listener: no touches yet
            assert session.scalar(select(func.count()).select_from(AcquisitionTouch)) == 0
        done = CliRunner().invoke(cli, ["acquisition", "rebuild", "--workspace", ws.workspace.slug])
        assert done.exit_code == 0, done.output
        assert "Computed the touches of 5 people: 5 live." in done.output
        with create_session_factory(engine)() as session:
            groups = session.scalars(select(AcquisitionTouch.first_group)).all()
        assert groups == ["organic_search"] * 5
        missing = CliRunner().invoke(cli, ["acquisition", "rebuild", "--workspace", "nope"])
        assert missing.exit_code != 0
    finally:
        engine.dispose()
