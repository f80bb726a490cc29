"""Email campaigns end to end over real transports on loopback, on both databases: a
campaign to a segment goes through a real SMTP relay, personalized, with the postal
address, RFC 8058 one-click unsubscribe, a tracked link and an open pixel; the holdout
gets nothing; a person without marketing consent and one with an open service
conversation are skipped with the reason; the click comes back as an event on the
person's timeline and in the report."""

from __future__ import annotations

import re
import time
import uuid
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from accord.app import create_app
from accord.kit.db import transaction
from accord.outreach.models import Send
from tests.helpers import Committed, bearer, live_server
from tests.outreach import helpers
from tests.smtp_sink import Sink, wait_until


def _html(message: EmailMessage) -> str:
    part = message.get_body(("html",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def _text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())  # type: ignore[attr-defined]


def test_a_campaign_reaches_its_segment_with_tracking_unsubscribe_and_a_holdout(
    committed: Committed, smtp_sink: Sink
) -> None:
    ws = committed.workspace("Northwind Outdoor")
    settings = committed.settings(
        resolve_worker=False, resolve_inline=True, jobs_worker=True, imap_poll_seconds=0
    )
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        helpers.mailbox(api, smtp_sink)
        r = api.put(
            "/api/v1/outreach/settings",
            json={"postal_address": "Northwind Outdoor, 1 Harbour Road, Portland ME 04101"},
        )
        assert r.status_code == 200, r.text
        helpers.send_people(base, ws.write_key)
        denied = helpers.person_id(api, "ben@example.com")
        r = api.post(
            f"/api/v1/profiles/{denied}/consent",
            json={"channel": "email", "purpose": "marketing", "status": "denied", "source": "form"},
        )
        assert r.status_code == 201, r.text
        check = api.get(
            "/api/v1/consent/check",
            params={"profile_id": denied, "channel": "email", "purpose": "marketing"},
        ).json()
        assert check["allowed"] is False, check
        r = api.post(
            "/api/v1/messages",
            json={"channel": "email", "contact": {"email": "cho@example.com"}, "body": "Broken"},
        )
        assert r.status_code == 201, r.text
        segment_id = helpers.segment(api)
        campaign = helpers.campaign(api, segment_id, holdout_percent=20)
        assert campaign["status"] == "draft"

        r = api.post(f"/api/v1/outreach/campaigns/{campaign['id']}/launch")
        assert r.status_code == 200, r.text
        assert r.json()["audience"] == 10

        sends_url = f"/api/v1/outreach/campaigns/{campaign['id']}/sends"

        def settled() -> list[dict[str, Any]] | None:
            rows: list[dict[str, Any]] = api.get(sends_url).json()["data"]
            done = all(x["status"] not in ("queued", "sending") for x in rows)
            return rows if done else None

        rows = wait_until(settled)
        status = {x["address"]: x for x in rows}
        # Two of the ten are held out, drawn at random; of the others, Ben is refused
        # (he denied consent), Cho is held (her conversation is open), the rest are sent.
        held_out = {a for a, x in status.items() if x["status"] == "holdout"}
        assert len(held_out) == 2
        assert all(x["code"] == "holdout" for a, x in status.items() if a in held_out)
        if "ben@example.com" not in held_out:
            ben = status["ben@example.com"]
            assert (ben["status"], ben["code"]) == ("refused", "no_consent")
            assert "denied consent to marketing by email" in ben["reason"]
        if "cho@example.com" not in held_out:
            cho = status["cho@example.com"]
            assert (cho["status"], cho["code"]) == ("held", "held")
            assert "service conversation open" in cho["reason"]
        expected = set(status) - held_out - {"ben@example.com", "cho@example.com"}
        assert {a for a, x in status.items() if x["status"] == "sent"} == expected
        messages = smtp_sink.wait_for(len(expected))
        time.sleep(0.3)
        assert len(smtp_sink.messages) == len(expected)
        assert {str(m["To"]) for m in messages} == expected
        counts = api.get(f"/api/v1/outreach/campaigns/{campaign['id']}").json()["counts"]
        assert counts["sent"] == len(expected)
        assert sum(counts.values()) == 10

        first = messages[0]
        name = str(first["To"]).split("@")[0].capitalize()
        assert first["Subject"] == f"{name}, the spring sale starts today"
        assert first["From"] == "Northwind <help@northwind.example>"
        assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        html, text = _html(first), _text(first)
        assert f"Hi {name}," in html
        assert "1 Harbour Road" in html
        assert "1 Harbour Road" in text
        assert "https://shop.example/spring?ref=email" not in html  # the link is tracked
        tracked = re.search(r'href="([^"]+/r/[^"]+)"', html)
        assert tracked is not None
        pixel = re.search(r'src="([^"]+/o/[^"]+\.gif)"', html)
        assert pixel is not None

        # The click: redirected where the email said, and an event on the timeline.
        path = urlsplit(tracked.group(1)).path
        r = httpx.get(f"{base}{path}", follow_redirects=False)
        assert r.status_code == 302
        assert r.headers["location"] == "https://shop.example/spring?ref=email"
        clicker = helpers.person_id(api, str(first["To"]))

        def clicked() -> list[dict[str, Any]]:
            events = api.get(f"/api/v1/profiles/{clicker}/timeline").json()["data"]
            return [e for e in events if e.get("name") == "Email Link Clicked"]

        [event] = wait_until(clicked)
        assert event["properties"]["url"] == "https://shop.example/spring?ref=email"
        assert event["properties"]["campaign_id"] == campaign["id"]
        # An altered token redirects nowhere.
        assert httpx.get(f"{base}{path}x", follow_redirects=False).status_code == 403
        # The open pixel answers with an image whatever happens.
        r = httpx.get(f"{base}{urlsplit(pixel.group(1)).path}")
        assert r.status_code == 200
        assert r.headers["content-type"] == "image/gif"

        report = api.get(f"/api/v1/outreach/campaigns/{campaign['id']}/report").json()
        assert report["sent"] == len(expected)
        assert report["clicked"] == 1
        assert report["opened"] == 1
        assert report["holdout"] == 2
        assert report["links"] == [{"url": "https://shop.example/spring?ref=email", "clicks": 1}]

        # One click on the provider's unsubscribe button: no more marketing by email.
        unsubscribe = str(first["List-Unsubscribe"]).strip()[1:-1]
        r = httpx.post(
            f"{base}{urlsplit(unsubscribe).path}",
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert r.status_code == 200, r.text
        check = api.get(
            "/api/v1/consent/check",
            params={"profile_id": clicker, "channel": "email", "purpose": "marketing"},
        ).json()
        assert check["allowed"] is False


def test_campaigns_are_isolated_by_workspace_and_need_the_outreach_scope(
    committed: Committed, smtp_sink: Sink
) -> None:
    ws = committed.workspace("Northwind Outdoor")
    other = committed.workspace("Southwind")
    settings = committed.settings(resolve_worker=False, resolve_inline=True)
    with live_server(create_app(settings)) as base:
        api = httpx.Client(base_url=base, headers=bearer(ws.api_token), timeout=30)
        segment_id = helpers.segment(api)
        campaign = helpers.campaign(api, segment_id)
        stranger = httpx.Client(base_url=base, headers=bearer(other.api_token), timeout=30)
        r = stranger.get(f"/api/v1/outreach/campaigns/{campaign['id']}")
        assert r.status_code == 404
        assert r.json()["code"] == "not_found"
        assert (
            stranger.post(f"/api/v1/outreach/campaigns/{campaign['id']}/launch").status_code == 404
        )
        assert stranger.get("/api/v1/outreach/campaigns").json()["data"] == []
        # Another workspace's segment is no audience.
        r = stranger.post(
            "/api/v1/outreach/campaigns",
            json={"name": "Theirs", "segment_id": segment_id},
        )
        assert r.status_code == 422
        assert r.json()["field"] == "segment_id"
        assert httpx.get(f"{base}/api/v1/outreach/campaigns").status_code == 401
        # Launching without a relay: a clear error naming what is missing.
        r = api.post(f"/api/v1/outreach/campaigns/{campaign['id']}/launch")
        assert r.status_code == 409
        assert r.json()["code"] == "mail_not_configured"
        # A template that does not compile: 422 naming the field and the line.
        r = api.patch(
            f"/api/v1/outreach/campaigns/{campaign['id']}",
            json={"html": "<p>\n{{ person.first_name </p>"},
        )
        assert r.status_code == 422
        assert r.json()["field"] == "html"
        assert "line 2" in r.json()["detail"]


def test_sends_are_unique_per_campaign_and_person(committed: Committed) -> None:
    """The queue's own guarantee: planning twice makes no second message."""
    from accord.outreach.repository import SendRepository

    ws = committed.workspace("Northwind Outdoor")
    with transaction(committed.factory) as session:
        from accord.outreach.models import Campaign
        from accord.profile.models import Profile

        person = Profile(id=uuid.uuid4(), workspace_id=ws.workspace.id, traits={}, stats={})
        campaign = Campaign(id=uuid.uuid4(), workspace_id=ws.workspace.id, name="Spring")
        session.add_all([person, campaign])
        session.flush()
        row = {
            "workspace_id": ws.workspace.id,
            "source_key": f"campaign:{campaign.id}",
            "campaign_id": campaign.id,
            "profile_id": person.id,
            "channel": "email",
            "purpose": "marketing",
            "promotional": True,
            "address": "a@example.com",
            "status": "queued",
            "attempts": 0,
            "queued_at": person.created_at,
            "opens": 0,
            "clicks": 0,
            "meta": {},
        }
        repo = SendRepository.from_session(session)
        assert repo.add_many([{**row, "id": uuid.uuid4()}]) == 1
        assert repo.add_many([{**row, "id": uuid.uuid4()}]) == 0
        assert len(list(session.scalars(select(Send)))) == 1
        # A message comes from a campaign or a journey; one from neither is refused.
        with pytest.raises(IntegrityError), session.begin_nested():
            repo.add_many([{**row, "id": uuid.uuid4(), "source_key": "x", "campaign_id": None}])
