"""The rule that says whether an event is a touch, and an attributed one, is written
twice: as SQL (picking among a person's whole history) and in Python (a batch's own
events, each context read once). Both give the same answers, on both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from accord.analyze.acquisition.weigh import TouchSql, host, weigh
from accord.collect.models import Event
from accord.collect.touch import ATTRIBUTED, LINK, TOUCH, bits
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.analyze.helpers import People, at

PAGES: list[dict[str, Any]] = [
    {},
    {"page": {"url": "https://shop.example/a"}},
    {"page": {"url": "https://shop.example/b", "referrer": "https://www.shop.example/a"}},
    {"page": {"url": "https://shop.example/b", "referrer": "https://news.example/story"}},
    {"page": {"referrer": "https://news.example/story"}},
    {"page": {"url": "https://shop.example/?utm_source=news", "referrer": ""}},
    {"page": {"url": "https://shop.example/?utmXsource=news"}},
    {"page": {"url": "https://shop.example/", "search": "?GCLID=abc"}},
    {
        "page": {
            "url": "HTTPS://WWW.Shop.Example:8443/x#top",
            "referrer": "https://shop.example:8443/",
        }
    },
    {"page": {"url": "shop.example/a", "referrer": "shop.example/b"}},
    {"page": {"url": "shop.example/a", "referrer": "news.example"}},
    {"page": {"url": "https://shop.example/a?x=1", "referrer": "https://shop.example#frag"}},
    {"campaign": {"source": "newsletter", "medium": "email"}},
    {"campaign": {"name": "spring", "term": "boots", "content": "hero"}},
    {"campaign": {"source": "", "medium": ""}},
    {"campaign": {"source": 5}},
    {"page": "not an object", "campaign": ["nor", "this"]},
]


def test_sql_and_python_weigh_every_event_alike(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    people = People(session, workspace.workspace.id)
    when = at(days=3)
    messages: list[dict[str, Any]] = []
    for i, context in enumerate(PAGES):
        for kind in ("page", "screen", "track"):
            message: dict[str, Any] = {"type": kind, "userId": f"u{i}", "timestamp": when}
            if kind == "track":
                message["event"] = "Link Clicked" if i % 2 else "Product Viewed"
            message["context"] = context
            messages.append(message)
    people.send(*messages)
    people.send(
        {"type": "track", "userId": "u0", "event": "Store Visit", "timestamp": when},
    )
    e = aliased(Event, name="e")
    attributed, touch = TouchSql(session.get_bind().dialect.name, e).parts()
    rows = session.execute(
        select(e.type, e.name, e.channel, e.context, attributed, touch, e.touch).where(
            e.workspace_id == workspace.workspace.id
        )
    ).all()
    assert len(rows) == len(messages) + 1
    seen = set()
    for type_, name, channel, context, in_sql, touch_in_sql, stored in rows:
        weighed = weigh(type_, name, channel, context)
        assert (weighed.attributed, weighed.touch) == (bool(in_sql), bool(touch_in_sql)), (
            type_,
            name,
            context,
        )
        # Weighed once more when accepted, and stored as the event's bits.
        assert stored == bits(type_, name, channel, context)
        assert (bool(stored & ATTRIBUTED), bool(stored & TOUCH)) == (
            bool(in_sql),
            bool(touch_in_sql),
        )
        assert bool(stored & LINK) == (name == "Link Clicked")
        seen.add((weighed.attributed, weighed.touch))
    assert seen == {(True, True), (False, True), (False, False)}


def test_a_hosts_name_is_read_as_the_sql_reads_it() -> None:
    assert host("https://www.Shop.example:8443/a?b#c") == "shop.example:8443"
    assert host("http://news.example?x=1") == "news.example"
    assert host("shop.example/a") == "shop.example"
