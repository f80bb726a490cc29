"""A workspace set up for outreach over real transports: people sent in through the
tracking API, a segment, the support mailbox's relay pointing at an SMTP sink on
loopback."""

from __future__ import annotations

from typing import Any

import httpx

from tests.smtp_sink import Sink

PEOPLE = [
    ("ana", "Ana", "ana@example.com"),
    ("ben", "Ben", "ben@example.com"),
    ("cho", "Cho", "cho@example.com"),
    ("dev", "Dev", "dev@example.com"),
    ("eli", "Eli", "eli@example.com"),
    ("fay", "Fay", "fay@example.com"),
    ("gus", "Gus", "gus@example.com"),
    ("hal", "Hal", "hal@example.com"),
    ("ivy", "Ivy", "ivy@example.com"),
    ("jon", "Jon", "jon@example.com"),
]


def send_people(base: str, write_key: str, people: list[tuple[str, str, str]] = PEOPLE) -> None:
    batch = [
        {
            "type": "identify",
            "userId": uid,
            "traits": {"firstName": first, "email": email, "team": "a"},
            "messageId": f"seed-{uid}",
        }
        for uid, first, email in people
    ]
    r = httpx.post(f"{base}/v1/batch", json={"batch": batch}, auth=(write_key, ""))
    assert r.status_code == 200, r.text


def track(base: str, write_key: str, user: str, event: str, **properties: Any) -> None:
    """One track call through the tracking API, as a site would send it."""
    r = httpx.post(
        f"{base}/v1/track",
        json={"userId": user, "event": event, "properties": properties},
        auth=(write_key, ""),
    )
    assert r.status_code == 200, r.text


def mailbox(api: httpx.Client, sink: Sink) -> None:
    r = api.put(
        "/api/v1/mailbox",
        json={
            "address": "help@northwind.example",
            "name": "Northwind",
            "relay": {"host": "127.0.0.1", "port": sink.port},
        },
    )
    assert r.status_code == 200, r.text


def segment(api: httpx.Client, name: str = "Team A") -> str:
    r = api.post(
        "/api/v1/segments",
        json={
            "name": name,
            "definition": {"kind": "trait", "field": "team", "op": "eq", "value": "a"},
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["segment"]["id"])


def person_id(api: httpx.Client, email: str) -> str:
    r = api.get("/api/v1/profiles/lookup", params={"email": email})
    assert r.status_code == 200, r.text
    return str(r.json()["id"])


def campaign(api: httpx.Client, segment_id: str, **fields: Any) -> dict[str, Any]:
    body = {
        "name": "Spring sale",
        "segment_id": segment_id,
        "subject": "{{ person.first_name }}, the spring sale starts today",
        "html": (
            "<html><body><p>Hi {{ person.first_name }},</p>"
            '<p><a href="https://shop.example/spring?ref=email">See the sale</a></p>'
            "</body></html>"
        ),
        "text": "Hi {{ person.first_name }}, see the sale: https://shop.example/spring",
        **fields,
    }
    r = api.post("/api/v1/outreach/campaigns", json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())
