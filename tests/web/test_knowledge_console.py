"""Knowledge in the console, on both databases: an agent writes an article, previews it,
publishes it, edits a second version, restores the first, searches every answer; an
analyst reads but cannot change; a save from an old version is refused with the text kept."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, console_login

AGENT = "agent@acme-support.com"
ANALYST = "analyst@acme-support.com"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def test_an_agent_writes_publishes_and_restores_an_article(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, AGENT, "agent")
    console_login(client, AGENT)
    form = client.get("/knowledge/new")
    assert form.status_code == 200
    token = _csrf(form.text)
    preview = client.post(
        "/knowledge/preview", data={"body": "## Steps\n\n**Pack** it", "csrf_token": token}
    )
    assert '<h2 id="steps">Steps</h2>' in preview.text
    assert "<strong>Pack</strong>" in preview.text
    created = client.post(
        "/knowledge/new",
        data={"title": "Returns", "body": "Within 30 days.", "csrf_token": token},
        follow_redirects=False,
    )
    assert created.status_code == 303
    editor_url = created.headers["location"].split("?")[0]
    page = client.get(editor_url + "?lang=en")
    assert 'id="kb-state"' in page.text
    assert "draft" in page.text
    published = client.post(
        editor_url,
        data={
            "lang": "en",
            "title": "Returns",
            "body": "Within 30 days.",
            "expected_version": "1",
            "then": "published",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert published.status_code == 303
    assert "notice=published" in published.headers["location"]
    assert (
        "Within 30 days." in client.get(f"/help/{workspace.workspace.slug}/articles/returns").text
    )

    second = client.post(
        editor_url,
        data={
            "lang": "en",
            "title": "Returns",
            "body": "Within 60 days.",
            "expected_version": "2",
            "note": "longer window",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert second.status_code == 303
    # A save from the version before is refused, and what was typed is still there.
    late = client.post(
        editor_url,
        data={
            "lang": "en",
            "title": "Returns",
            "body": "Typed from an old tab",
            "expected_version": "2",
            "csrf_token": token,
        },
    )
    assert late.status_code == 409
    assert 'id="knowledge-error"' in late.text
    assert "Typed from an old tab" in late.text
    restored = client.post(
        editor_url + "/versions/1/restore",
        data={"lang": "en", "csrf_token": token},
        follow_redirects=False,
    )
    assert restored.status_code == 303
    page = client.get(editor_url + "?lang=en")
    assert 'id="version-4"' in page.text
    assert "restored version 1" in page.text
    assert "longer window" in page.text

    listing = client.get("/knowledge")
    assert 'id="article-returns"' in listing.text
    found = client.get("/knowledge?q=retrns")
    assert 'id="kb-results"' in found.text
    assert "Returns" in found.text


def test_an_analyst_reads_knowledge_but_cannot_change_it(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, ANALYST, "analyst")
    token = console_login(client, ANALYST)
    listing = client.get("/knowledge")
    assert listing.status_code == 200
    assert 'id="new-article"' not in listing.text
    refused = client.post("/knowledge/new", data={"title": "X", "csrf_token": token})
    assert refused.status_code == 403


def test_a_post_without_the_csrf_token_is_refused(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, AGENT, "agent")
    console_login(client, AGENT)
    refused = client.post("/knowledge/new", data={"title": "X"})
    assert refused.status_code == 403
