"""The social listening API on both databases: listening rules, sources with their
credentials kept secret, a signed webhook push (and refusals), an import that reports
bad rows by line and keeps the good ones, mentions with filters and pages, a person's
decision over triage, the triage queue, the metrics, and one workspace never seeing
another's mentions."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.social.sources import webhook
from tests.helpers import bearer

pytestmark = pytest.mark.usefixtures("backend")

LISTENING = {
    "brands": ["Acme"],
    "handles": ["@acmehelp"],
    "competitors": [{"name": "Globex", "terms": ["#globex"]}],
    "exclusions": ["acme anvil meme"],
}


def _listen(client: TestClient, ws: ProvisionedWorkspace) -> dict[str, str]:
    auth = bearer(ws.api_token)
    r = client.put("/api/v1/social/listening", headers=auth, json=LISTENING)
    assert r.status_code == 200, r.text
    return auth


def _hook(client: TestClient, auth: dict[str, str]) -> dict[str, Any]:
    r = client.post(
        "/api/v1/social/sources", headers=auth, json={"kind": "webhook", "name": "Tool"}
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def _push(client: TestClient, source: dict[str, Any], posts: Any, secret: str | None = None) -> Any:
    body = json.dumps(posts).encode()
    header = webhook.sign(secret or source["webhook_secret"], int(time.time()), body)
    path = source["webhook_url"].split("127.0.0.1:8000", 1)[-1]
    return client.post(
        path, content=body, headers={webhook.HEADER: header, "content-type": "application/json"}
    )


POSTS = [
    {
        "network": "twitter",
        "id": "1001",
        "text": "@acmehelp my Acme order arrived broken and nobody answers. Refund please",
        "posted_at": "2026-12-03T08:00:00Z",
        "author": "maria_r",
        "author_name": "Maria R",
        "followers": 15200,
        "url": "https://x.example/maria_r/status/1001",
    },
    {
        "network": "twitter",
        "id": "1002",
        "text": "Big thanks to Acme for the quick fix!",
        "posted_at": "2026-12-03T08:05:00Z",
        "author": "joe",
        "followers": 40,
    },
    {
        "network": "twitter",
        "id": "1003",
        "text": "nice weather today",
        "posted_at": "2026-12-03T08:06:00Z",
        "author": "x",
    },
    {"network": "twitter", "id": "1004", "text": "Acme is great", "author": "y"},
]


def test_listening_rules_are_validated_and_versioned(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = _listen(client, workspace)
    r = client.get("/api/v1/social/listening", headers=auth)
    assert r.json()["brands"] == ["Acme"]
    assert r.json()["version"] == 1
    bad = client.put(
        "/api/v1/social/listening", headers=auth, json={**LISTENING, "languages": ["english!"]}
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "languages"
    stale = client.put("/api/v1/social/listening", headers=auth, json={**LISTENING, "version": 0})
    assert stale.status_code == 409


def test_a_source_keeps_its_credentials_secret_and_checks_its_settings(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    r = client.post(
        "/api/v1/social/sources",
        headers=auth,
        json={"kind": "rss", "name": "Reviews", "settings": {"url": "ftp://reviews.example/feed"}},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "settings.url"
    r = client.post(
        "/api/v1/social/sources",
        headers=auth,
        json={"kind": "mastodon", "name": "Fedi", "settings": {"hashtags": ["acme"]}},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "settings.instance"
    r = client.post(
        "/api/v1/social/sources",
        headers=auth,
        json={
            "kind": "bluesky",
            "name": "Bluesky",
            "settings": {"mode": "search"},
            "credentials": {
                "identifier": "acme.bsky.social",
                "app_password": "abcd-efgh-ijkl-mnop",
            },
        },
    )
    assert r.status_code == 201, r.text
    made = r.json()
    assert made["has_credentials"] is True
    # Looked for by pieces that are not hex digits: an id in the answer may hold "abcd".
    assert "efgh" not in r.text
    assert "mnop" not in r.text
    listed = client.get("/api/v1/social/sources", headers=auth).text
    assert "abcd-efgh" not in listed
    r = client.post(
        "/api/v1/social/sources", headers=auth, json={"kind": "bluesky", "name": "Bluesky"}
    )
    assert r.status_code == 409
    assert r.json()["code"] == "exists"
    r = client.patch(f"/api/v1/social/sources/{made['id']}", headers=auth, json={"enabled": False})
    assert r.status_code == 200
    assert r.json()["enabled"] is False
    audit = client.get("/api/v1/audit", headers=auth).text
    assert "social.source.create" in audit
    assert "abcd-efgh" not in audit
    assert client.delete(f"/api/v1/social/sources/{made['id']}", headers=auth).status_code == 204


def test_a_signed_push_is_heard_and_a_bad_or_stale_one_refused(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = _listen(client, workspace)
    source = _hook(client, auth)
    assert source["webhook_secret"].startswith("whsec_")
    assert (
        client.get(f"/api/v1/social/sources/{source['id']}", headers=auth).json()["webhook_secret"]
        is None
    )
    r = _push(client, source, {"posts": POSTS})
    assert r.status_code == 200, r.text
    heard = r.json()
    assert (heard["received"], heard["mentions"], heard["stored"], heard["ignored"]) == (4, 2, 2, 1)
    assert heard["respond"] == 1
    assert heard["conversations"] == 1
    assert heard["errors"][0]["index"] == 3
    assert heard["errors"][0]["field"] == "posted_at"
    again = _push(client, source, {"posts": POSTS[:1]})
    assert again.json()["stored"] == 0
    assert again.json()["updated"] == 1
    wrong = _push(client, source, POSTS[:1], secret="whsec_not-the-secret")
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "bad_signature"
    body = json.dumps(POSTS[:1]).encode()
    old = webhook.sign(source["webhook_secret"], int(time.time()) - 3600, body)
    path = source["webhook_url"].split("127.0.0.1:8000", 1)[-1]
    stale = client.post(path, content=body, headers={webhook.HEADER: old})
    assert stale.status_code == 401
    assert stale.json()["code"] == "stale_signature"


def test_an_import_reports_bad_rows_by_line_and_keeps_the_good(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = _listen(client, workspace)
    r = client.post(
        "/api/v1/social/sources",
        headers=auth,
        json={"kind": "import", "name": "Old tool", "settings": {"network": "instagram"}},
    )
    source = r.json()
    csv = (
        "id,text,posted_at,author,followers\n"
        "a1,Acme shipped the wrong size again,2026-12-01T10:00:00Z,lia,300\n"
        "a2,Acme rocks,not a date,ben,10\n"
        "a3,Where can I buy Acme boots?,2026-12-02T10:00:00Z,kai,many\n"
        "a4,How do I return my Acme jacket?,2026-12-02T11:00:00Z,sol,12\n"
    )
    r = client.post(
        f"/api/v1/social/sources/{source['id']}/import",
        headers=auth,
        files={"file": ("posts.csv", csv.encode(), "text/csv")},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["stored"] == 2
    assert [(e["line"], e["field"]) for e in out["errors"]] == [(3, "posted_at"), (4, "followers")]
    mentions = client.get("/api/v1/social/mentions", headers=auth).json()["items"]
    assert {m["network"] for m in mentions} == {"instagram"}


def test_mentions_are_listed_filtered_paged_and_decided_by_a_person(
    client: TestClient, workspace: ProvisionedWorkspace, other_workspace: ProvisionedWorkspace
) -> None:
    auth = _listen(client, workspace)
    source = _hook(client, auth)
    assert _push(client, source, POSTS[:3]).status_code == 200
    page = client.get("/api/v1/social/mentions", headers=auth, params={"limit": 1}).json()
    assert len(page["items"]) == 1
    assert page["next_cursor"]
    rest = client.get(
        "/api/v1/social/mentions", headers=auth, params={"limit": 1, "cursor": page["next_cursor"]}
    ).json()
    assert rest["items"][0]["id"] != page["items"][0]["id"]
    respond = client.get(
        "/api/v1/social/mentions", headers=auth, params={"decision": "respond"}
    ).json()
    complaint = respond["items"][0]
    assert complaint["author_handle"] == "maria_r"
    assert "respond within" in complaint["reason"]
    assert complaint["conversation_id"]
    queue = client.get("/api/v1/social/queue", headers=auth).json()["data"]
    assert [m["id"] for m in queue] == [complaint["id"]]
    praise = client.get(
        "/api/v1/social/mentions", headers=auth, params={"sentiment": "positive"}
    ).json()["items"][0]
    r = client.post(
        f"/api/v1/social/mentions/{praise['id']}/decision",
        headers=auth,
        json={"decision": "respond", "reason": "a long-time fan"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "open"
    assert r.json()["conversation_id"]
    assert r.json()["reason"].endswith(": a long-time fan")
    metrics = client.get("/api/v1/social/metrics", headers=auth, params={"days": 7}).json()
    assert metrics["mentions"] == 2
    assert metrics["decisions"]["respond"] == 2
    # Another workspace sees none of it.
    theirs = bearer(other_workspace.api_token)
    assert client.get("/api/v1/social/mentions", headers=theirs).json()["items"] == []
    assert client.get(f"/api/v1/social/mentions/{praise['id']}", headers=theirs).status_code == 404
    r = client.post(
        f"/api/v1/social/mentions/{praise['id']}/decision",
        headers=theirs,
        json={"decision": "dismiss"},
    )
    assert r.status_code == 404
    # Their token cannot push to this workspace's webhook either: the secret is per source.
    path = (
        source["webhook_url"]
        .split("127.0.0.1:8000", 1)[-1]
        .replace(str(workspace.workspace.id), str(other_workspace.workspace.id))
    )
    body = json.dumps(POSTS[:1]).encode()
    r = client.post(
        path,
        content=body,
        headers={webhook.HEADER: webhook.sign(source["webhook_secret"], int(time.time()), body)},
    )
    assert r.status_code == 401


def test_a_source_on_an_internal_address_is_refused_unless_the_deployment_allows_it(
    app: Any, client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    app.state.settings = app.state.settings.model_copy(update={"social_private_hosts": False})
    for url in ("http://127.0.0.1:8080/feed.xml", "http://10.1.2.3/feed", "http://localhost/x"):
        r = client.post(
            "/api/v1/social/sources",
            headers=auth,
            json={"kind": "rss", "name": url, "settings": {"url": url}},
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == "settings.url"
        assert "internal address" in r.json()["detail"]
