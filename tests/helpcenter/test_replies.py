"""The knowledge base in agents' replies, on both databases: an agent finds an article
beside the reply box (an agents-only one too), puts its link or its published text into
the reply; a sent reply's links are counted for the analytics; a reply becomes a draft
article without the customer's details; another workspace's articles stay out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter import analytics
from accord.helpcenter.models import HelpReplyLink
from accord.helpcenter.replies import impersonal
from accord.kit.time import utcnow
from tests.helpcenter.corpus import publish_corpus
from tests.helpers import add_user, bearer, console_login

AGENT = "agent@acme-support.com"
ANALYST = "analyst@acme-support.com"


def _conversation(client: TestClient, ws: ProvisionedWorkspace) -> dict[str, Any]:
    r = client.post(
        "/api/v1/messages",
        headers=bearer(ws.api_token),
        json={
            "channel": "email",
            "contact": {"email": "kim.berg@example.com", "name": "Kim Berg"},
            "subject": "Sending boots back",
            "body": "Hi, how do I send back boots that don't fit? Order #48213",
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["conversation"])


def _internal(client: TestClient, ws: ProvisionedWorkspace) -> str:
    r = client.post(
        "/api/v1/help/articles",
        headers=bearer(ws.api_token),
        json={
            "slug": "refund-exceptions",
            "title": "Refund exceptions for agents",
            "body": "Boots worn outside may still be refunded once, as a goodwill gesture.",
            "visibility": "internal",
            "status": "published",
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_an_agent_finds_an_article_and_puts_its_link_or_text_into_the_reply(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    ids = publish_corpus(client, workspace.api_token)
    internal = _internal(client, workspace)
    # A newer draft of the returns article: a reply takes the published text.
    r = client.put(
        f"/api/v1/help/articles/{ids['returns-and-refunds']}/translations/en",
        headers=bearer(workspace.api_token),
        json={"title": "Returns and refunds", "body": "UNPUBLISHED DRAFT", "expected_version": 1},
    )
    assert r.status_code == 200, r.text
    add_user(session, workspace, AGENT, "agent")
    console_login(client, AGENT)

    found = client.get("/knowledge/picker", params={"q": "refunded"})
    assert found.status_code == 200
    assert f'data-article="{ids["returns-and-refunds"]}"' in found.text
    assert f'data-article="{internal}"' in found.text  # agents see agents-only answers
    assert "No article found" in client.get("/knowledge/picker", params={"q": "zzqx"}).text

    public = client.get(f"/knowledge/picker/{ids['returns-and-refunds']}").json()
    assert public["url"] == (
        f"http://127.0.0.1:8000/help/{workspace.workspace.slug}/articles/returns-and-refunds"
    )
    assert "within **30 days**" in public["text"]
    assert "UNPUBLISHED" not in public["text"]
    agents_only = client.get(f"/knowledge/picker/{internal}").json()
    assert agents_only["url"] is None  # its text may go out, never a link to it
    assert "goodwill" in agents_only["text"]


def test_a_sent_reply_counts_the_articles_it_links_to(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    publish_corpus(client, workspace.api_token)
    publish_corpus(client, other_workspace.api_token)
    add_user(session, workspace, AGENT, "agent")
    c = _conversation(client, workspace)
    csrf = console_login(client, AGENT)
    slug, other = workspace.workspace.slug, other_workspace.workspace.slug
    body = (
        f"Here is how: http://127.0.0.1:8000/help/{slug}/articles/returns-and-refunds "
        f"and the sizes: http://127.0.0.1:8000/help/{slug}/articles/size-guide "
        f"(again /help/{slug}/articles/size-guide; not ours: /help/{other}/articles/warranty)"
    )
    r = client.post(
        f"/inbox/{c['number']}/reply",
        data={"csrf_token": csrf, "body": body, "channel": "email"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert 'role="alert"' not in client.get(r.headers["location"]).text
    links = session.scalars(select(HelpReplyLink)).all()
    assert len(links) == 2
    assert {link.workspace_id for link in links} == {workspace.workspace.id}
    # A note is not a reply: its links are not counted.
    client.post(
        f"/inbox/{c['number']}/reply",
        data={"csrf_token": csrf, "body": f"see /help/{slug}/articles/warranty", "kind": "note"},
    )
    assert len(session.scalars(select(HelpReplyLink)).all()) == 2

    report = analytics.report(session, workspace.workspace.id, utcnow() - timedelta(days=1))
    assert report.replies_with_articles == 1
    assert sorted(a["slug"] for a in report.linked) == ["returns-and-refunds", "size-guide"]
    assert all(a["links"] == 1 and a["conversations"] == 1 for a in report.linked)
    elsewhere = analytics.report(
        session, other_workspace.workspace.id, utcnow() - timedelta(days=1)
    )
    assert elsewhere.linked == []
    page = client.get("/knowledge/analytics")
    assert "Returns and refunds" in page.text.split('id="ka-linked"')[1]


def test_a_reply_becomes_a_draft_article_without_the_customer(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, AGENT, "agent")
    add_user(session, workspace, ANALYST, "analyst")
    c = _conversation(client, workspace)
    csrf = console_login(client, AGENT)
    reply = (
        "Hi Kim,\n\nPrint the prepaid label from your account and drop the boots at any "
        "post office; for order #48213 the refund reaches kim.berg@example.com's card "
        "within 5 days.\n\nBest,\nTom"
    )
    client.post(
        f"/inbox/{c['number']}/reply",
        data={"csrf_token": csrf, "body": reply, "channel": "email"},
    )
    page = client.get(f"/inbox/{c['number']}").text
    assert "Make an article" in page
    message_id = page.split('name="message_id" value="')[1].split('"')[0]
    made = client.post(
        "/knowledge/from-reply",
        data={"csrf_token": csrf, "number": c["number"], "message_id": message_id},
        follow_redirects=False,
    )
    assert made.status_code == 303
    editor = client.get(made.headers["location"])
    assert "without the customer" in editor.text
    r = client.get(
        f"/api/v1/help/articles/{made.headers['location'].split('/')[2].split('?')[0]}",
        headers=bearer(workspace.api_token),
    )
    article = r.json()
    [translation] = article["translations"]
    assert translation["status"] == "draft"
    assert translation["title"] == "Sending boots back"
    text = translation["body"]
    assert text.startswith("Print the prepaid label")
    for personal in ("Kim", "kim.berg@example.com", "48213", "Tom", "Best"):
        assert personal not in text
    # The customer's question is not a reply; an analyst cannot write articles.
    inbound = page.split(f'id="m-{message_id}"')[0].rsplit('id="m-', 1)[1].split('"')[0]
    refused = client.post(
        "/knowledge/from-reply",
        data={"csrf_token": csrf, "number": c["number"], "message_id": inbound},
    )
    assert refused.status_code == 404
    client.cookies.clear()
    csrf = console_login(client, ANALYST)
    denied = client.post(
        "/knowledge/from-reply",
        data={"csrf_token": csrf, "number": c["number"], "message_id": message_id},
    )
    assert denied.status_code == 403


def test_what_is_personal_leaves_a_reply() -> None:
    text = impersonal(
        "Dear Ms Berg,\nCall us on +49 30 1234 5678 about invoice no. INV-2231.\n"
        "Kind regards\nThe team",
        ["Berg"],
    )
    assert text == "Call us on [phone number] about invoice [number]."
