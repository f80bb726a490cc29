"""Every kind of condition and operator of a segment, on both databases, against people
built through tracking calls and resolution: traits, location, values, computed traits,
events with counts and windows, sequences, identifiers, consent, service facts, other
segments, and the groups that combine them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.segments import computed, service
from accord.analyze.segments.repository import sample_part
from accord.analyze.segments.samples import Samples
from accord.analyze.segments.schemas import ComputedTraitIn
from accord.govern.consent import service as consent
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Conversation
from accord.kit.errors import AccordError
from accord.profile.models import Profile
from tests.analyze.helpers import NOW, People, at, members, principal, segment


@pytest.fixture
def crowd(session: Session, workspace: ProvisionedWorkspace) -> dict[str, Any]:
    """Ana (Paris, VIP, buys tents often), Ben (Boston, one old order), Cy (no traits
    but an email), and Dee (Lyon, browses and abandons her checkout)."""
    ws = workspace.workspace.id
    p = People(session, ws)
    ana = p.person(
        "ana",
        {
            "email": "ana@example.com",
            "firstName": "Ana",
            "plan": "VIP",
            "age": 34,
            "score": "7.5",
            "newsletter": True,
            "birthday": "1990-03-12",
            "timezone": "Europe/Paris",
            "address": {"city": "Paris", "country": "FR"},
        },
    )
    ben = p.person(
        "ben",
        {
            "email": "ben@example.org",
            "firstName": "Ben",
            "plan": "free",
            "age": "51",
            "birthday": "1975-03-09",
            "address": {"city": "Boston", "country": "US"},
        },
    )
    cy = p.person("cy", {"email": "cy@example.com"})
    dee = p.person(
        "dee",
        {"firstName": "Dee", "plan": "Pro", "address": {"city": "Lyon", "country": "FR"}},
    )
    for days in (1, 2, 5):
        p.track("ana", "Product Viewed", at(days=days), category="tents", price=249)
    p.track("ana", "Product Viewed", at(days=20), category="tents", price=249)
    p.track("ana", "Order Completed", at(days=3), order_id="A1", total=300, currency="USD")
    p.track("ana", "Order Completed", at(days=40), order_id="A2", total=150, currency="USD")
    p.track("ben", "Order Completed", at(days=200), order_id="B1", total=80, currency="USD")
    p.track("ben", "Product Viewed", at(days=1), category="boots", price=120)
    p.track("dee", "Product Viewed", at(days=1), category="tents", price=199)
    p.track("dee", "Checkout Started", at(hours=5), cart=199)
    p.track("ana", "Checkout Started", at(days=3, minutes=10), cart=300)
    return {"ws": ws, "people": p, "ana": ana, "ben": ben, "cy": cy, "dee": dee}


def trait(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"kind": "trait", "field": field, "op": op, "value": value}


def test_trait_operators(session: Session, crowd: dict[str, Any]) -> None:
    ws, ana, ben, cy, dee = (crowd[k] for k in ("ws", "ana", "ben", "cy", "dee"))

    def who(d: dict[str, Any]) -> set[uuid.UUID]:
        return members(session, ws, d)

    assert who(trait("plan", "eq", "vip")) == {ana}  # text compares without case
    assert who(trait("plan", "neq", "VIP")) == {ben, cy, dee}  # no value counts as "not VIP"
    assert who(trait("plan", "in", ["free", "Pro"])) == {ben, dee}
    assert who(trait("plan", "not_in", ["free", "Pro"])) == {ana, cy}
    assert who(trait("email", "contains", "@example.com")) == {ana, cy}
    assert who(trait("email", "not_contains", "example.com")) == {ben, dee}
    assert who(trait("email", "starts_with", "BE")) == {ben}
    assert who(trait("plan", "exists")) == {ana, ben, dee}
    assert who(trait("plan", "not_exists")) == {cy}
    # Numbers, sent as numbers or as numeric text; text that is no number never matches.
    assert who(trait("age", "gt", 40)) == {ben}
    assert who(trait("age", "lte", 34)) == {ana}
    assert who(trait("age", "between", [30, 60])) == {ana, ben}
    assert who(trait("score", "gte", 7)) == {ana}
    assert who(trait("plan", "gt", 1)) == set()
    assert who(trait("newsletter", "eq", True)) == {ana}
    # Dates in text compare as dates.
    assert who(trait("birthday", "lt", "1980-01-01")) == {ben}
    # Nested traits by dots; location reads the address.
    assert who(trait("address.city", "eq", "paris")) == {ana}
    assert who({"kind": "location", "field": "country", "op": "eq", "value": "FR"}) == {ana, dee}
    assert who({"kind": "location", "field": "city", "op": "in", "value": ["Lyon", "Boston"]}) == {
        ben,
        dee,
    }


def test_birthday_within_days_counts_in_the_persons_time_zone(
    session: Session, crowd: dict[str, Any]
) -> None:
    ws, ana, ben = crowd["ws"], crowd["ana"], crowd["ben"]
    cond = trait("birthday", "anniversary_within", 2)
    # 10 March 12:00 UTC: Ana's (12 March) is two days off; Ben's (9 March) has passed.
    assert members(session, ws, cond) == {ana}
    # 10 March 23:30 UTC is already 11 March in Paris (Ana: within 1 day), not in UTC.
    late = datetime(2026, 3, 10, 23, 30, tzinfo=UTC)
    assert members(session, ws, trait("birthday", "anniversary_within", 1), now=late) == {ana}
    early = datetime(2026, 3, 10, 22, 30, tzinfo=UTC)
    assert members(session, ws, trait("birthday", "anniversary_within", 1), now=early) == set()
    assert members(
        session,
        ws,
        trait("birthday", "anniversary_within", 0),
        now=datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
    ) == {ben}
    # A segment with a calendar condition is rebuilt every quarter hour.
    row = segment(session, ws, cond)
    assert row.calendar is True


def test_values_the_profile_keeps(session: Session, crowd: dict[str, Any]) -> None:
    ws, ana, ben, cy, dee = (crowd[k] for k in ("ws", "ana", "ben", "cy", "dee"))

    def value(field: str, op: str, v: Any = None) -> set[uuid.UUID]:
        return members(session, ws, {"kind": "value", "field": field, "op": op, "value": v})

    assert value("revenue", "gte", 400) == {ana}
    assert value("order_count", "eq", 1) == {ben}
    assert value("order_count", "lt", 1) == {cy, dee}
    assert value("average_order_value", "gt", 100) == {ana}
    assert value("last_order_at", "within_last", 7) == {ana}
    assert value("last_order_at", "more_than_ago", 90) == {ben}
    assert value("last_seen_at", "within_last", 2) == {ana, ben, dee}
    assert value("email", "exists") == {ana, ben, cy}


def test_events_with_counts_and_windows(session: Session, crowd: dict[str, Any]) -> None:
    ws, ana, ben, cy, dee = (crowd[k] for k in ("ws", "ana", "ben", "cy", "dee"))

    def event(**spec: Any) -> set[uuid.UUID]:
        return members(session, ws, {"kind": "event", **spec})

    tents = [{"property": "category", "op": "eq", "value": "tents"}]
    assert event(
        name="Product Viewed", where=tents, count={"op": "gte", "value": 3}, within={"days": 7}
    ) == {ana}
    assert event(
        name="Product Viewed", where=tents, count={"op": "gte", "value": 1}, within={"days": 7}
    ) == {ana, dee}
    assert event(name="Product Viewed", where=tents, count={"op": "eq", "value": 4}) == {ana}
    assert event(name="Product Viewed", count={"op": "lte", "value": 1}, within={"days": 7}) == {
        ben,
        cy,
        dee,
    }
    # "No Order Completed in 90 days", people who never ordered included.
    assert event(name="Order Completed", count={"op": "eq", "value": 0}, within={"days": 90}) == {
        ben,
        cy,
        dee,
    }
    assert event(name="Order Completed", count={"op": "eq", "value": 0}) == {cy, dee}
    prices = [{"property": "price", "op": "gt", "value": 150}]
    assert event(name="Product Viewed", where=prices, within={"hours": 36}) == {ana, dee}
    # A window moves with now.
    assert (
        members(
            session,
            ws,
            {
                "kind": "event",
                "name": "Product Viewed",
                "where": tents,
                "count": {"op": "gte", "value": 3},
                "within": {"days": 7},
            },
            now=NOW.replace(day=15),
        )
        == set()
    )


def test_a_sequence_not_followed_within_its_window(session: Session, crowd: dict[str, Any]) -> None:
    ws, dee = crowd["ws"], crowd["dee"]
    abandoned = {
        "kind": "sequence",
        "first": {"name": "Checkout Started"},
        "then": {"name": "Order Completed"},
        "within": {"hours": 1},
        "lookback": {"days": 7},
    }
    # Ana ordered ten minutes after her checkout; Dee's checkout was five hours ago.
    assert members(session, ws, abandoned) == {dee}
    # Four hours and a half earlier, Dee's hour had not run out yet.
    assert members(session, ws, abandoned, now=at(hours=4, minutes=30)) == set()


def test_identifiers_consent_service_and_other_segments(
    session: Session, crowd: dict[str, Any], workspace: ProvisionedWorkspace
) -> None:
    ws, ana, ben, cy, dee = (crowd[k] for k in ("ws", "ana", "ben", "cy", "dee"))
    assert members(session, ws, {"kind": "identifier", "type": "email"}) == {ana, ben, cy}
    assert members(session, ws, {"kind": "identifier", "type": "email", "present": False}) == {dee}

    def record(pid: uuid.UUID, channel: str, purpose: str, status: str) -> None:
        consent.record(
            session,
            ws,
            pid,
            channel=channel,
            purpose=purpose,
            status=status,
            source="api",
            at=at(days=1),
        )

    record(ana, "email", "marketing", "granted")
    record(ben, "all", "all", "granted")
    record(ben, "email", "marketing", "withdrawn")
    record(cy, "all", "marketing", "granted")
    session.flush()

    def state(status: str) -> set[uuid.UUID]:
        return members(
            session,
            ws,
            {"kind": "consent", "channel": "email", "purpose": "marketing", "status": status},
        )

    assert state("granted") == {ana, cy}
    assert state("withdrawn") == {ben}
    assert state("none") == {dee}

    now = NOW
    session.add_all(
        [
            Conversation(
                workspace_id=ws,
                number=1,
                profile_id=ana,
                status="open",
                channel="email",
                last_channel="email",
                created_at=at(days=2),
                last_message_at=at(days=2),
                updated_at=now,
            ),
            Conversation(
                workspace_id=ws,
                number=2,
                profile_id=ben,
                status="resolved",
                channel="chat",
                last_channel="chat",
                created_at=at(days=10),
                last_message_at=at(days=10),
                updated_at=now,
                csat_score=2,
                csat_at=at(days=9),
            ),
            Conversation(
                workspace_id=ws,
                number=3,
                profile_id=dee,
                status="resolved",
                channel="chat",
                last_channel="chat",
                created_at=at(days=60),
                last_message_at=at(days=60),
                updated_at=now,
                csat_score=1,
                csat_at=at(days=59),
            ),
        ]
    )
    session.flush()
    assert members(session, ws, {"kind": "service", "fact": "open_conversation"}) == {ana}
    unhappy = {"kind": "service", "fact": "csat", "op": "lte", "value": 2, "within": {"days": 30}}
    assert members(session, ws, unhappy) == {ben}
    assert members(
        session,
        ws,
        {
            "kind": "service",
            "fact": "conversations",
            "op": "gte",
            "value": 1,
            "within": {"days": 90},
        },
    ) == {ana, ben, dee}

    vip = segment(session, ws, trait("plan", "eq", "VIP"), name="VIPs")
    service.build(session, service.Engine(), vip, now=NOW)
    assert members(session, ws, {"kind": "segment", "segment_id": str(vip.id)}) == {ana}
    assert members(
        session, ws, {"kind": "segment", "segment_id": str(vip.id), "member": False}
    ) == {ben, cy, dee}


def test_groups_nest_and_negate(session: Session, crowd: dict[str, Any]) -> None:
    ws, ana, ben, cy, dee = (crowd[k] for k in ("ws", "ana", "ben", "cy", "dee"))
    tree = {
        "kind": "any",
        "conditions": [
            {
                "kind": "all",
                "conditions": [trait("address.country", "eq", "FR"), trait("plan", "eq", "Pro")],
            },
            {"kind": "not", "condition": trait("email", "exists")},
            trait("firstName", "eq", "Ben"),
        ],
    }
    assert members(session, ws, tree) == {ben, dee}
    assert members(session, ws, {"kind": "not", "condition": tree}) == {ana, cy}


def test_computed_traits(session: Session, crowd: dict[str, Any]) -> None:
    ws, ana, ben, dee = crowd["ws"], crowd["ana"], crowd["ben"], crowd["dee"]
    actor = principal(ws)

    def define(
        key: str,
        aggregate: str,
        prop: str | None = None,
        days: float | None = None,
        event: str = "Product Viewed",
    ) -> None:
        computed.create(
            session,
            ws,
            ComputedTraitIn(
                key=key, name=key, event=event, aggregate=aggregate, property=prop, window_days=days
            ),
            actor,
        )

    define("views_7d", "count", days=7)
    define("max_price", "max", "price")
    define("spent", "sum", "total", event="Order Completed")
    define("top_category", "most_frequent", "category")
    define("last_category", "last", "category")

    def comp(key: str, op: str, value: Any) -> set[uuid.UUID]:
        return members(session, ws, {"kind": "computed", "key": key, "op": op, "value": value})

    assert comp("views_7d", "gte", 3) == {ana}
    assert comp("views_7d", "eq", 0) == {crowd["cy"]}
    assert comp("max_price", "lt", 200) == {ben, dee}
    assert comp("spent", "gte", 400) == {ana}
    assert comp("top_category", "eq", "tents") == {ana, dee}
    assert comp("last_category", "eq", "boots") == {ben}
    from accord.analyze.segments import queries

    values = queries.computed_values(session, service.Engine(), ws, ana, now=NOW)
    assert values == {
        "last_category": "tents",
        "max_price": 249,
        "spent": 450,
        "top_category": "tents",
        "views_7d": 3,
    }
    segment(
        session, ws, {"kind": "computed", "key": "spent", "op": "gt", "value": 1}, name="Spenders"
    )
    with pytest.raises(AccordError) as used:
        computed.delete(session, ws, "spent", actor)
    assert used.value.code == "computed_trait_in_use"


@pytest.mark.parametrize(
    ("definition", "code"),
    [
        ({"kind": "trait", "field": "plan", "op": "like", "value": "x"}, "invalid_definition"),
        ({"kind": "trait", "field": "plan", "op": "in", "value": "VIP"}, "invalid_definition"),
        ({"kind": "value", "field": "shoe_size", "op": "eq", "value": 1}, "invalid_definition"),
        ({"kind": "event", "name": "X", "within": {"days": 0}}, "invalid_definition"),
        ({"kind": "all", "conditions": []}, "invalid_definition"),
        (
            {"kind": "consent", "channel": "fax", "purpose": "marketing", "status": "granted"},
            "invalid_definition",
        ),
        ({"kind": "segment", "segment_id": str(uuid.uuid4())}, "unknown_segment"),
    ],
)
def test_bad_definitions_are_refused_with_their_reason(
    session: Session, workspace: ProvisionedWorkspace, definition: dict[str, Any], code: str
) -> None:
    with pytest.raises(AccordError) as refused:
        segment(session, workspace.workspace.id, definition)
    assert refused.value.code == code
    assert refused.value.field == "definition"


def test_no_cycles_between_segments(session: Session, workspace: ProvisionedWorkspace) -> None:
    ws = workspace.workspace.id
    a = segment(session, ws, trait("plan", "exists"), name="A")
    b = segment(session, ws, {"kind": "segment", "segment_id": str(a.id)}, name="B")
    with pytest.raises(AccordError) as refused:
        service.save(
            session,
            ws,
            name="A",
            definition={"kind": "segment", "segment_id": str(b.id)},
            description=None,
            actor=principal(ws),
            segment=a,
        )
    assert refused.value.code == "segment_cycle"


def test_a_large_workspace_is_estimated_on_a_sample(
    backend: str, session: Session, crowd: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from accord.analyze.segments import queries

    ws = crowd["ws"]
    clock = [0.0]
    engine = service.Engine(samples=Samples(ttl=120, clock=lambda: clock[0]))
    exact = queries.estimate(session, engine, ws, trait("email", "exists"), now=NOW)
    assert (exact.size, exact.total, exact.exact) == (3, 4, True)
    # Beyond EXACT_UP_TO people, a sample: here it holds everyone, so the count is right
    # and the preview shows the people who match.
    monkeypatch.setattr(queries, "EXACT_UP_TO", 1)
    whole = queries.estimate(session, engine, ws, trait("email", "exists"), now=NOW)
    assert (whole.size, whole.total, whole.exact, whole.fraction) == (3, 4, False, 1.0)
    assert {p.id for p in whole.sample} == {crowd["ana"], crowd["ben"], crowd["cy"]}

    # More people, and a sample of about a quarter of them, chosen by a hash of their
    # ids; each condition is counted on it and scaled up.
    People(session, ws).send(
        *(
            {"type": "identify", "userId": f"many-{n}", "traits": {"plan": f"p{n % 3}"}}
            for n in range(160)
        )
    )
    live = set(session.scalars(select(Profile.id).where(Profile.workspace_id == ws)))
    monkeypatch.setattr(queries, "SAMPLE_PEOPLE", 40)
    # The sample and the count are kept a while: until then, newcomers are not counted.
    kept = queries.estimate(session, engine, ws, trait("email", "exists"), now=NOW)
    assert (kept.total, kept.size) == (4, 3)
    clock[0] += 121
    parts = -(-256 * 40 // len(live))
    sampled = queries.estimate(session, engine, ws, trait("email", "exists"), now=NOW)
    held = engine.samples.get(ws)
    assert held is not None
    chosen = set(held[1])
    assert held[0] == sampled.total == len(live)
    # 164 people, each in with a chance of parts/256 (about a quarter), by a hash.
    assert chosen < live
    assert 0.08 < len(chosen) / len(live) < 0.45
    if backend == "sqlite":
        assert chosen == {p for p in live if sample_part(p) < parts}
    viewed = {"kind": "event", "name": "Product Viewed", "within": {"days": 30}}
    for definition in (
        trait("plan", "exists"),
        viewed,  # a sub-query over events, read for the sample alone
        trait("email", "exists"),
    ):
        holders = members(session, ws, definition)
        got = queries.estimate(session, engine, ws, definition, now=NOW)
        assert got.exact is False
        assert got.fraction == len(chosen) / len(live)
        assert got.size == round(len(holders & chosen) * len(live) / len(chosen))
        # The people shown are members found in the sample.
        assert len(got.sample) == min(queries.SAMPLE, len(holders & chosen))
        assert {p.id for p in got.sample} <= holders & chosen
