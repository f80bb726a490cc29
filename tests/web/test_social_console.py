"""The Social console without a browser, on both databases: who may open what (an analyst
reads the dashboard, the queue and the mentions but decides nothing and cannot open
Settings > Social; nobody signed in is sent to sign in), a decision without the session's
CSRF token refused, another workspace's mention not found, a decision by hand from the
stream, the listening rules saved and refused beside their field, sources added (a
webhook's secret shown once, credentials never), turned off and removed, an import that
reports bad rows by line, a social reply sent as a direct message, and the 360's card."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Message
from accord.kit.time import utcnow
from accord.social.models import Mention, SocialSource
from tests.helpers import add_user, bearer, console_login, csrf_from
from tests.web.social_seed import CUSTOMER_HANDLE, mention_id, push, seed

HTML = {"accept": "text/html"}


def _seeded(client: TestClient, ws: ProvisionedWorkspace) -> dict[str, str]:
    auth = bearer(ws.api_token)
    seed(client, auth, ws.write_key, utcnow())
    return auth


def _field_error(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{field_id}-error">(.*?)</p>', html, re.S)
    assert found, f"no error beside {field_id}"
    return found.group(1)


def test_an_analyst_reads_social_but_decides_nothing_and_has_no_settings(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = _seeded(client, workspace)
    add_user(session, workspace, "ana@acme.test", "analyst")
    csrf = console_login(client, "ana@acme.test")
    home = client.get("/social")
    assert home.status_code == 200
    assert 'id="nav-social"' in home.text
    assert 'aria-current="page"' in home.text
    assert 'id="figure-mentions"' in home.text
    assert 'id="social-settings-link"' not in home.text  # admins only
    queue = client.get("/social/queue")
    assert queue.status_code == 200
    assert "maria.bsky.social" in queue.text
    assert 'class="sx-decide"' not in queue.text
    assert 'id="read-only"' in queue.text
    target = mention_id(client, auth, "maria.bsky.social")
    refused = client.post(
        f"/social/mentions/{target}/decision",
        data={"csrf_token": csrf, "decision": "dismiss"},
        headers=HTML,
    )
    assert refused.status_code == 403
    assert client.get("/settings/social", headers=HTML).status_code == 403
    saved = client.post(
        "/settings/social", data={"csrf_token": csrf, "brands": "Other"}, headers=HTML
    )
    assert saved.status_code == 403
    added = client.post(
        "/settings/social/sources",
        data={"csrf_token": csrf, "kind": "webhook", "name": "Sneaky"},
        headers=HTML,
    )
    assert added.status_code == 403
    assert session.scalar(select(SocialSource).where(SocialSource.name == "Sneaky")) is None


def test_nobody_signed_in_is_sent_to_sign_in(client: TestClient) -> None:
    for path in ("/social", "/social/queue", "/social/mentions", "/settings/social"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].startswith("/login?next=" + path)
    htmx = client.get("/social/mentions?cursor=x", headers={"hx-request": "true"})
    assert htmx.status_code == 204
    assert htmx.headers["hx-redirect"].startswith("/login")


def test_a_decision_needs_the_sessions_csrf_token(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = _seeded(client, workspace)
    add_user(session, workspace, "agnes@acme.test", "agent")
    csrf = console_login(client, "agnes@acme.test")
    target = mention_id(client, auth, "joe.bsky.social")
    for token in ("", "not-the-token"):
        r = client.post(
            f"/social/mentions/{target}/decision",
            data={"csrf_token": token, "decision": "respond"},
            headers=HTML,
        )
        assert r.status_code == 403, token
        assert "did not come from this site" in r.text
    row = session.get(Mention, uuid.UUID(target))
    assert row is not None
    assert row.decision == "dismiss"
    ok = client.post(
        f"/social/mentions/{target}/decision",
        data={"csrf_token": csrf, "decision": "respond", "reason": "a loyal fan"},
        headers={**HTML, "hx-request": "true"},
    )
    assert ok.status_code == 200, ok.text
    assert ok.text.lstrip().startswith("<article")  # the card alone, to swap in place
    assert 'data-decision="respond"' in ok.text
    assert "Respond, decided by agnes@acme.test: a loyal fan" in ok.text
    assert "Open the conversation" in ok.text
    session.expire_all()
    row = session.get(Mention, uuid.UUID(target))
    assert row is not None
    assert row.state == "open"
    assert row.conversation_id is not None
    assert 'data-action="answered"' in ok.text
    done = client.post(
        f"/social/mentions/{target}/decision",
        data={"csrf_token": csrf, "decision": "answered"},
        headers={**HTML, "hx-request": "true"},
    )
    assert done.status_code == 200, done.text
    assert 'data-state="answered"' in done.text
    assert "Marked answered outside Accord" in done.text
    assert 'data-action="answered"' not in done.text
    session.expire_all()
    row = session.get(Mention, uuid.UUID(target))
    assert row is not None
    assert row.state == "answered"
    assert row.first_response_at is not None


def test_another_workspaces_mention_is_not_found(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    auth = _seeded(client, workspace)
    theirs = mention_id(client, auth, "maria.bsky.social")
    add_user(session, other_workspace, "olga@globex.test", "admin")
    csrf = console_login(client, "olga@globex.test")
    assert client.get(f"/social/mentions/{theirs}", headers=HTML).status_code == 404
    assert client.get(f"/social/mentions/{theirs}/conversation", headers=HTML).status_code == 404
    r = client.post(
        f"/social/mentions/{theirs}/decision",
        data={"csrf_token": csrf, "decision": "dismiss"},
        headers=HTML,
    )
    assert r.status_code == 404
    stream = client.get("/social/mentions")
    assert stream.status_code == 200
    assert "maria.bsky.social" not in stream.text
    assert 'id="no-mentions"' in stream.text
    row = session.get(Mention, uuid.UUID(theirs))
    assert row is not None
    assert row.decision == "respond"


def test_the_stream_filters_and_pages(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    seeded = seed(client, bearer(workspace.api_token), workspace.write_key, utcnow())
    add_user(session, workspace, "ada@acme.test", "admin")
    console_login(client, "ada@acme.test")
    negative = client.get("/social/mentions", params={"sentiment": "negative"}).text
    cards = re.findall(r'data-mention="([0-9a-f-]+)" data-decision', negative)
    rows = session.scalars(
        select(Mention).where(
            Mention.workspace_id == workspace.workspace.id, Mention.sentiment == "negative"
        )
    ).all()
    assert len(cards) == len(rows) > 0
    dismissed = client.get("/social/mentions", params={"decision": "dismiss"}).text
    assert "deals4u.bsky.social" in dismissed
    assert "maria.bsky.social" not in dismissed
    assert 'id="clear-filters"' in dismissed
    assert (
        "No mention matches these filters"
        in client.get("/social/mentions", params={"network": "mastodon"}).text
    )
    # 30 more on Mastodon: 25 a page, the rest asked for by "load more" (HTMX).
    push(
        client,
        seeded.source,
        [
            {
                "network": "mastodon",
                "id": f"https://fedi.example/@fan{i}/{i}",
                "text": f"Acme is fine, post {i}",
                "posted_at": (utcnow() - timedelta(days=2, minutes=i)).isoformat(),
                "author": f"fan{i}@fedi.example",
            }
            for i in range(30)
        ],
    )
    first = client.get("/social/mentions", params={"network": "mastodon"}).text
    assert len(re.findall(r'<article class="sx-card', first)) == 25
    button = re.search(r'id="load-more" hx-get="([^"]+)"', first)
    assert button, "no load more button"
    url = button.group(1).replace("&amp;", "&")
    assert "network=mastodon" in url
    rest = client.get(url, headers={"hx-request": "true"})
    assert rest.status_code == 200
    assert "<html" not in rest.text  # the cards alone
    assert len(re.findall(r'<article class="sx-card', rest.text)) == 5
    assert 'id="load-more"' not in rest.text
    seen = set(re.findall(r'id="mention-([0-9a-f-]+)"', first))
    assert not seen & set(re.findall(r'id="mention-([0-9a-f-]+)"', rest.text))


def test_listening_rules_are_saved_and_a_refused_value_shown_beside_its_field(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    _seeded(client, workspace)
    add_user(session, workspace, "ada@acme.test", "admin")
    console_login(client, "ada@acme.test")
    page = client.get("/settings/social")
    assert page.status_code == 200
    assert 'id="settings-tab-social"' in page.text
    assert 'value="Globex"' in page.text
    csrf = csrf_from(page.text)
    version = re.search(r'name="version" value="(\d+)"', page.text)
    assert version
    form: dict[str, Any] = {
        "csrf_token": csrf,
        "version": version.group(1),
        "brands": "Acme\nAcme Outdoor",
        "products": "trail boots",
        "handles": "@acmehelp",
        "hashtags": "#acmeboots",
        "exclusions": "",
        "languages": "en, english!",
        "currency": "usd",
        "influencer_followers": "25,000",
        "valuable_customer": "1500",
        "engagement_growth": "20",
        "sla.urgent": "15",
        "sla.high": "60",
        "sla.normal": "240",
        "sla.low": "1440",
        "alerts.enabled": "1",
        "alerts.window_minutes": "60",
        "alerts.spike_factor": "3",
        "alerts.negative_share": "40",
        "alerts.min_mentions": "5",
        "alerts.emails": "lead@acme.test",
        "competitors.0.name": "Globex",
        "competitors.0.terms": "#globex, @globexcare",
        "competitors.1.name": "Initech",
        "competitors.1.terms": "",
    }
    bad = client.post("/settings/social", data=form, headers=HTML)
    assert bad.status_code == 422
    assert "is not a language code" in _field_error(bad.text, "languages")
    assert 'value="en, english!"' in bad.text  # as typed
    assert 'value="Initech"' in bad.text
    good = client.post(
        "/settings/social", data={**form, "languages": "en, pt-br"}, follow_redirects=False
    )
    assert good.status_code == 303, good.text
    shown = client.get(good.headers["location"]).text
    assert "Saved. The listening rules are now at version" in shown
    got = client.get("/api/v1/social/listening", headers=bearer(workspace.api_token)).json()
    assert got["brands"] == ["Acme", "Acme Outdoor"]
    assert got["languages"] == ["en", "pt-br"]
    assert got["influencer_followers"] == 25000
    assert got["currency"] == "USD"
    assert got["sla"]["urgent"] == 15
    assert got["alerts"]["negative_share"] == 0.4
    assert got["alerts"]["emails"] == ["lead@acme.test"]
    assert [c["name"] for c in got["competitors"]] == ["Globex", "Initech"]
    assert got["competitors"][0]["terms"] == ["#globex", "@globexcare"]
    # A share that is no percentage; then the version read, stale now.
    share = client.post(
        "/settings/social",
        data={**form, "languages": "", "alerts.negative_share": "150"},
        headers=HTML,
    )
    assert share.status_code == 422
    assert "A percentage above 0, at most 100" in _field_error(share.text, "alerts-negative_share")
    stale = client.post("/settings/social", data={**form, "languages": ""}, headers=HTML)
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text


def test_sources_are_added_turned_off_removed_and_an_import_reports_bad_rows(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@acme.test", "admin")
    csrf = console_login(client, "ada@acme.test")
    client.put(
        "/api/v1/social/listening",
        headers=bearer(workspace.api_token),
        json={"brands": ["Acme"]},
    )
    # Refused beside its field, credentials not shown back.
    bad = client.post(
        "/settings/social/sources",
        data={
            "csrf_token": csrf,
            "kind": "mastodon",
            "name": "Fedi",
            "mastodon.hashtags": "acme",
            "mastodon.access_token": "tok-secret-123",
        },
        headers=HTML,
    )
    assert bad.status_code == 422
    assert _field_error(bad.text, "src-mastodon-instance") == "Required for a mastodon source"
    assert "tok-secret-123" not in bad.text
    assert 'value="acme"' in bad.text
    ok = client.post(
        "/settings/social/sources",
        data={
            "csrf_token": csrf,
            "kind": "bluesky",
            "name": "Bluesky search",
            "bluesky.mode": "search",
            "bluesky.handle": "@acme.bsky.social",
            "bluesky.app_password": "abcd-efgh-ijkl-mnop",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303, ok.text
    listed = client.get(ok.headers["location"]).text
    assert "Source “Bluesky search” added" in listed
    assert "abcd-efgh" not in listed
    assert "Credentials stored" in listed
    source = session.scalar(select(SocialSource).where(SocialSource.name == "Bluesky search"))
    assert source is not None
    assert source.options["handle"] == "acme.bsky.social"
    source_id = source.id
    # A webhook: its address and secret once.
    hook = client.post(
        "/settings/social/sources",
        data={"csrf_token": csrf, "kind": "webhook", "name": "Tool"},
    )
    assert hook.status_code == 200
    secret = re.search(r'id="created-secret"[^>]*>(whsec_[^<]+)<', hook.text)
    assert secret, "no secret shown"
    again = client.get("/settings/social").text
    assert secret.group(1) not in again
    assert "/webhook/" in again
    # Off, then removed.
    off = client.post(
        f"/settings/social/sources/{source_id}/enabled",
        data={"csrf_token": csrf, "enabled": "0"},
        follow_redirects=False,
    )
    assert off.status_code == 303
    session.expire_all()
    assert session.get(SocialSource, source_id).enabled is False  # type: ignore[union-attr]
    gone = client.post(
        f"/settings/social/sources/{source_id}/remove",
        data={"csrf_token": csrf},
        follow_redirects=False,
    )
    assert gone.status_code == 303
    assert "removed=" in gone.headers["location"]
    session.expire_all()
    assert session.get(SocialSource, source_id) is None
    # An import source, and a file with two bad rows.
    client.post(
        "/settings/social/sources",
        data={"csrf_token": csrf, "kind": "import", "name": "Old tool", "import.network": "x"},
    )
    imported = session.scalar(select(SocialSource).where(SocialSource.name == "Old tool"))
    assert imported is not None
    csv = (
        "id,text,posted_at,author,followers\n"
        "a1,Acme shipped the wrong size again,2026-01-05T10:00:00Z,lia,300\n"
        "a2,Acme rocks,not a date,ben,10\n"
        "a3,Where can I buy Acme boots?,2026-01-06T10:00:00Z,kai,many\n"
        "a4,How do I return my Acme jacket?,2026-01-06T11:00:00Z,sol,12\n"
    )
    r = client.post(
        f"/settings/social/sources/{imported.id}/import",
        data={"csrf_token": csrf},
        files={"file": ("posts.csv", csv.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    assert "2 new mentions" in r.text
    errors = re.findall(r"<li>Line (\d+), <code>(\w+)</code>", r.text)
    assert errors == [("3", "posted_at"), ("4", "followers")]


def test_a_social_reply_goes_as_a_direct_message_and_the_360_lists_mentions(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = _seeded(client, workspace)
    add_user(session, workspace, "agnes@acme.test", "agent")
    csrf = console_login(client, "agnes@acme.test")
    rae = mention_id(client, auth, CUSTOMER_HANDLE)
    opened = client.get(f"/social/mentions/{rae}/conversation", follow_redirects=False)
    assert opened.status_code == 303
    path = urlsplit(opened.headers["location"]).path
    page = client.get(path).text
    assert 'id="social-post"' in page
    assert "Rae Lin" in page
    assert "Social reply on Bluesky" in page
    assert 'id="reply-private"' in page
    assert 'data-limit="300"' in page
    too_long = client.post(
        f"{path}/reply",
        data={"csrf_token": csrf, "body": "x" * 301, "channel": "social"},
        follow_redirects=False,
    )
    assert "holds%20at%20most%20300" in too_long.headers["location"]
    sent = client.post(
        f"{path}/reply",
        data={
            "csrf_token": csrf,
            "body": "Sorry Rae, we refunded the second charge.",
            "channel": "social",
            "private": "1",
        },
        follow_redirects=False,
    )
    assert sent.status_code == 303
    assert "error" not in sent.headers["location"]
    message = session.scalars(
        select(Message).where(Message.channel == "social", Message.direction == "out")
    ).one()
    assert message.meta["private"] is True
    assert message.meta["mention"] == rae
    assert "direct message" in client.get(path).text
    row = session.get(Mention, uuid.UUID(rae))
    assert row is not None
    assert row.profile_id is not None
    card = client.get(f"/customers/{row.profile_id}").text
    assert 'id="customer-social"' in card
    assert "charged twice" in card
    assert f'data-mention="{rae}"' in card
