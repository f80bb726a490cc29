"""A brand's listening, seeded through the public API as a customer would: the listening
rules (PUT /api/v1/social/listening), a known customer identified through the tracking
API with their Bluesky handle, a webhook source, and signed posts pushed to it: a
complaint from an influencer, praise, a question, spam, a competitor's mention, a known
customer's post, another negative post and older posts of the past days."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from accord.kit.time import utcnow
from accord.social.sources import webhook

LISTENING: dict[str, Any] = {
    "brands": ["Acme"],
    "products": ["trail boots"],
    "handles": ["@acmehelp"],
    "hashtags": ["#acmeboots"],
    "competitors": [{"name": "Globex", "terms": ["#globex"]}],
    "exclusions": ["acme anvil meme"],
    "influencer_followers": 10000,
    "valuable_customer": 1000,
    "alerts": {"enabled": True, "window_minutes": 60, "min_mentions": 4, "negative_share": 0.3},
}
CUSTOMER_HANDLE = "rae.bsky.social"


@dataclass
class Seeded:
    source: dict[str, Any]
    posts: dict[str, dict[str, Any]] = field(default_factory=dict)


def _post(
    key: str, text: str, author: str, at: datetime, followers: int, **extra: Any
) -> dict[str, Any]:
    return {
        "network": extra.pop("network", "bluesky"),
        "id": f"at://did:plc:{author.split('.')[0]}/app.bsky.feed.post/{key}",
        "text": text,
        "posted_at": at.isoformat().replace("+00:00", "Z"),
        "author": author,
        "followers": followers,
        "url": f"https://bsky.app/profile/{author}/post/{key}",
        **extra,
    }


def posts(now: datetime) -> dict[str, dict[str, Any]]:
    """The posts by what they are (the keys the tests use)."""
    recent = [now - timedelta(minutes=m) for m in (40, 35, 30, 25, 20, 15, 10)]
    out = {
        "influencer": _post(
            "c1",
            "@acmehelp my Acme order arrived broken and nobody answers. Refund please",
            "maria.bsky.social",
            recent[0],
            48200,
            author_name="Maria Reyes",
            likes=120,
            reposts=30,
        ),
        "praise": _post(
            "p1",
            "Big thanks to Acme for the quick fix, love these boots!",
            "joe.bsky.social",
            recent[1],
            40,
            author_name="Joe",
        ),
        "question": _post(
            "q1",
            "Does Acme ship to Canada? Thinking of ordering the trail boots",
            "kai.bsky.social",
            recent[2],
            310,
            author_name="Kai",
        ),
        "spam": _post(
            "s1",
            "Acme boots 90% off!!! Click here https://cheap-boots.example/deal buy now "
            "limited offer",
            "deals4u.bsky.social",
            recent[3],
            12,
        ),
        "competitor": _post(
            "g1",
            "Globex boots fell apart after a week, never again #globex",
            "lee.bsky.social",
            recent[4],
            900,
            author_name="Lee",
        ),
        "customer": _post(
            "r1",
            "@acmehelp I was charged twice for my Acme order A-1, can you help?",
            CUSTOMER_HANDLE,
            recent[5],
            230,
            author_name="Rae Lin",
        ),
        "watch": _post(
            "w1",
            "Acme boots feel worse than before, sad",
            "sol.bsky.social",
            recent[6],
            75,
        ),
    }
    # The days before: a little of everything, for the charts.
    older = [
        ("o1", "Loving my new Acme jacket #acmeboots", 1, 800),
        ("o2", "Acme trail boots are okay I guess", 2, 55),
        ("o3", "Acme delivery was slow this time, disappointed", 2, 120),
        ("o4", "Best hiking trip ever in my Acme trail boots!", 3, 2300),
        ("o5", "Globex has better prices than Acme honestly #globex", 4, 410),
        ("o6", "My Acme boots are great, thanks team", 5, 95),
        ("o7", "Acme support was terrible, waited forever", 6, 60),
    ]
    for key, text, days, followers in older:
        at = (now - timedelta(days=days)).replace(hour=12, minute=0, second=0, microsecond=0)
        out[key] = _post(key, text, f"fan{key}.bsky.social", at, followers)
    return out


def identify_customer(client: httpx.Client, write_key: str) -> None:
    """Rae Lin, a customer with USD 2,400 of orders, known by her Bluesky handle."""
    at = (utcnow() - timedelta(days=30)).isoformat()
    batch = [
        {
            "type": "identify",
            "userId": "rae-1",
            "messageId": "id-rae",
            "traits": {"name": "Rae Lin", "email": "rae@example.com", "bluesky": CUSTOMER_HANDLE},
            "timestamp": at,
        },
        {
            "type": "track",
            "userId": "rae-1",
            "messageId": "order-rae",
            "event": "Order Completed",
            "properties": {"order_id": "A-1", "total": 2400, "currency": "USD"},
            "timestamp": at,
        },
    ]
    r = client.post("/v1/batch", json={"batch": batch}, auth=(write_key, ""))
    assert r.status_code == 200, r.text


def push(client: httpx.Client, source: dict[str, Any], items: list[dict[str, Any]]) -> Any:
    body = json.dumps({"posts": items}).encode()
    header = webhook.sign(source["webhook_secret"], int(time.time()), body)
    r = client.post(
        urlsplit(source["webhook_url"]).path,
        content=body,
        headers={webhook.HEADER: header, "content-type": "application/json"},
    )
    assert r.status_code == 200, r.text
    return r.json()


def seed(
    client: httpx.Client, token_headers: dict[str, str], write_key: str, now: datetime
) -> Seeded:
    """Everything above, through the API; the posts pushed in one signed request."""
    r = client.put("/api/v1/social/listening", headers=token_headers, json=LISTENING)
    assert r.status_code == 200, r.text
    identify_customer(client, write_key)
    r = client.post(
        "/api/v1/social/sources",
        headers=token_headers,
        json={"kind": "webhook", "name": "Listening tool"},
    )
    assert r.status_code == 201, r.text
    source = dict(r.json())
    found = posts(now)
    heard = push(client, source, list(found.values()))
    assert heard["errors"] == [], heard["errors"]
    assert heard["stored"] == len(found), heard
    return Seeded(source, found)


def mention_id(client: httpx.Client, token_headers: dict[str, str], author: str) -> str:
    """The id of the latest mention by ``author`` (a handle)."""
    r = client.get("/api/v1/social/mentions", headers=token_headers, params={"limit": 200})
    assert r.status_code == 200, r.text
    for item in r.json()["items"]:
        if item["author_handle"] == author:
            return str(item["id"])
    raise AssertionError(f"no mention by {author}")
