"""The knowledge base on both databases: drafts are not shown, publishing and versions
(history, restore, conflicting saves), languages with the default as fallback, internal
answers, scheduled publishing, safe Markdown, and workspace isolation."""

from __future__ import annotations

import time
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter import service
from accord.helpcenter.schemas import ArticleIn
from accord.kit.time import utcnow
from tests.helpers import Committed, bearer


def _article(client: TestClient, token: str, **extra: object) -> dict:
    body = {"title": "Returns and refunds", "body": "Send it back within 30 days.", **extra}
    r = client.post("/api/v1/help/articles", headers=bearer(token), json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _page(client: TestClient, ws: ProvisionedWorkspace, slug: str, lang: str = "") -> str:
    query = f"?lang={lang}" if lang else ""
    r = client.get(f"/help/{ws.workspace.slug}/articles/{slug}{query}")
    return r.text if r.status_code == 200 else f"HTTP {r.status_code}"


def _status(client: TestClient, token: str, article_id: str, status: str, **extra: object) -> dict:
    r = client.post(
        f"/api/v1/help/articles/{article_id}/translations/en/status",
        headers=bearer(token),
        json={"status": status, **extra},
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_a_draft_is_not_shown_until_published_and_edits_wait_for_the_next_publish(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    token = workspace.api_token
    article = _article(client, token)
    slug = article["slug"]
    assert slug == "returns-and-refunds"
    assert article["translations"][0]["status"] == "draft"
    assert _page(client, workspace, slug) == "HTTP 404"
    found = client.get(f"/help/{workspace.workspace.slug}/search.json?q=returns").json()
    assert found["results"] == []

    _status(client, token, article["id"], "review")
    assert _page(client, workspace, slug) == "HTTP 404"
    live = _status(client, token, article["id"], "published")
    assert live["published_version"] == 1
    assert "Send it back within 30 days." in _page(client, workspace, slug)

    # A second version is saved: readers still see the first until it is published.
    r = client.put(
        f"/api/v1/help/articles/{article['id']}/translations/en",
        headers=bearer(token),
        json={"title": "Returns", "body": "Send it back within 60 days.", "expected_version": 1},
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2
    assert r.json()["status"] == "draft"
    assert "30 days" in _page(client, workspace, slug)
    _status(client, token, article["id"], "published")
    page = _page(client, workspace, slug)
    assert "60 days" in page
    assert "30 days" not in page

    # Restoring version 1 makes a third version with its text; history is kept.
    r = client.post(
        f"/api/v1/help/articles/{article['id']}/translations/en/versions/1/restore",
        headers=bearer(token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 3
    assert "30 days" in r.json()["body"]
    versions = client.get(
        f"/api/v1/help/articles/{article['id']}/translations/en/versions", headers=bearer(token)
    ).json()["data"]
    assert [v["number"] for v in versions] == [3, 2, 1]
    assert versions[0]["note"] == "restored version 1"

    # Archived: gone from the help center and from search.
    _status(client, token, article["id"], "archived")
    assert _page(client, workspace, slug) == "HTTP 404"
    found = client.get(f"/help/{workspace.workspace.slug}/search.json?q=returns").json()
    assert found["results"] == []


def test_a_save_from_an_old_version_is_refused_not_lost(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    token = workspace.api_token
    article = _article(client, token)
    url = f"/api/v1/help/articles/{article['id']}/translations/en"
    first = client.put(url, headers=bearer(token), json={"title": "A", "expected_version": 1})
    assert first.status_code == 200
    late = client.put(url, headers=bearer(token), json={"title": "B", "expected_version": 1})
    assert late.status_code == 409
    problem = late.json()
    assert problem["code"] == "version_conflict"
    assert problem["field"] == "expected_version"


def test_languages_fall_back_to_the_default(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    token = workspace.api_token
    r = client.put(
        "/api/v1/help/settings",
        headers=bearer(token),
        json={"locales": ["en", "de"], "default_locale": "en"},
    )
    assert r.status_code == 200, r.text
    article = _article(client, token, status="published", body="Send it back within 30 days.")
    slug = article["slug"]
    page = _page(client, workspace, slug, "de")
    assert "Send it back within 30 days." in page
    assert 'id="fallback"' in page

    url = f"/api/v1/help/articles/{article['id']}/translations/de"
    r = client.put(
        url,
        headers=bearer(token),
        json={"title": "Rücksendungen", "body": "Innerhalb von 30 Tagen zurücksenden."},
    )
    assert r.status_code == 200, r.text
    assert 'id="fallback"' in _page(client, workspace, slug, "de")  # a draft is not shown
    r = client.post(url + "/status", headers=bearer(token), json={"status": "published"})
    assert r.status_code == 200, r.text
    page = _page(client, workspace, slug, "de")
    assert "Innerhalb von 30 Tagen" in page
    assert 'id="fallback"' not in page
    assert 'hreflang="de"' in page
    assert 'hreflang="en"' in page
    # A language the help center does not have is refused, naming the field.
    r = client.put(
        f"/api/v1/help/articles/{article['id']}/translations/fr",
        headers=bearer(token),
        json={"title": "Retours"},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "locale"


def test_internal_answers_are_for_agents_only(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    token = workspace.api_token
    article = _article(
        client,
        token,
        title="Refund override procedure",
        body="Supervisors approve refunds above 500 dollars.",
        visibility="internal",
        status="published",
    )
    assert _page(client, workspace, article["slug"]) == "HTTP 404"
    public = client.get(f"/help/{workspace.workspace.slug}/search.json?q=refund override").json()
    assert public["results"] == []
    agents = client.get("/api/v1/help/search?q=refund override", headers=bearer(token)).json()
    assert [r["slug"] for r in agents["results"]] == [article["slug"]]
    assert agents["results"][0]["internal"] is True


def test_a_scheduled_publication_goes_live_at_its_time(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    token = workspace.api_token
    article = _article(client, token)
    at = utcnow() + timedelta(hours=2)
    scheduled = _status(client, token, article["id"], "published", publish_at=at.isoformat())
    assert scheduled["published_version"] is None
    assert scheduled["publish_at"] is not None
    assert _page(client, workspace, article["slug"]) == "HTTP 404"
    assert service.publish_due(session, now=utcnow()) == 0
    assert service.publish_due(session, now=at + timedelta(seconds=1)) == 1
    session.commit()
    assert "within 30 days" in _page(client, workspace, article["slug"])


def test_markdown_is_rendered_safely(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    article = _article(
        client,
        workspace.api_token,
        status="published",
        body="# Steps\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(1)) and "
        "[good](https://example.com)\n\n| a | b |\n|---|---|\n| 1 | 2 |",
    )
    page = _page(client, workspace, article["slug"])
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    assert 'href="javascript:' not in page
    assert '<h2 id="steps">Steps</h2>' in page
    assert "<table>" in page
    assert 'rel="noopener noreferrer"' in page


def test_the_help_center_of_one_workspace_shows_nothing_of_another(
    client: TestClient, workspace: ProvisionedWorkspace, other_workspace: ProvisionedWorkspace
) -> None:
    mine = _article(client, workspace.api_token, status="published")
    theirs = client.get(f"/help/{other_workspace.workspace.slug}/articles/{mine['slug']}")
    assert theirs.status_code == 404
    found = client.get(f"/help/{other_workspace.workspace.slug}/search.json?q=returns").json()
    assert found["results"] == []
    r = client.get(f"/api/v1/help/articles/{mine['id']}", headers=bearer(other_workspace.api_token))
    assert r.status_code == 404
    r = client.post(
        f"/api/v1/help/articles/{mine['id']}/translations/en/status",
        headers=bearer(other_workspace.api_token),
        json={"status": "archived"},
    )
    assert r.status_code == 404
    assert "within 30 days" in _page(client, workspace, mine["slug"])


def test_a_write_key_cannot_write_articles(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    r = client.post(
        "/api/v1/help/articles",
        headers=bearer(workspace.write_key),
        json={"title": "Spam"},
    )
    assert r.status_code in (401, 403)


def test_search_engines_get_a_sitemap_canonical_links_and_structured_data(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    article = _article(client, workspace.api_token, status="published")
    sitemap = client.get(f"/help/{workspace.workspace.slug}/sitemap.xml")
    assert sitemap.status_code == 200
    assert sitemap.headers["content-type"].startswith("application/xml")
    assert f"/help/{workspace.workspace.slug}/articles/{article['slug']}</loc>" in sitemap.text
    page = _page(client, workspace, article["slug"])
    assert '<link rel="canonical"' in page
    assert '"@type": "Article"' in page
    home = client.get(f"/help/{workspace.workspace.slug}")
    assert home.status_code == 200
    assert "Returns and refunds" in home.text


def test_the_job_engine_publishes_scheduled_answers_every_minute(committed: Committed) -> None:
    """The periodic job is registered, and run, it publishes what is due."""
    from accord.helpcenter import tasks
    from accord.helpcenter.models import HelpTranslation
    from accord.jobs import build

    jobs, _engine = build(committed.settings(), committed.factory)
    assert "helpcenter.publish_due" in jobs.names()
    ws = committed.workspace("Scheduled")
    actor = Principal.cli(ws.workspace.id)
    with committed.factory() as session:
        view = service.create_article(session, actor, ArticleIn(title="Opening hours", body="9-5"))
        service.set_status(
            session, actor, view.article.id, "en", "published", utcnow() + timedelta(seconds=1)
        )
        session.commit()
        translation_id = view.translations[0].id
    time.sleep(1.1)
    tasks.publish_due(committed.factory)
    with committed.factory() as session:
        live = session.get(HelpTranslation, translation_id)
        assert live is not None
        assert live.published_version == 1


def test_an_owner_is_a_member_of_the_workspace(
    client: TestClient, workspace: ProvisionedWorkspace, other_workspace: ProvisionedWorkspace
) -> None:
    token = workspace.api_token
    stranger = "23e6e58e-8edb-3849-b259-88b98218bcb2"
    r = client.post(
        "/api/v1/help/articles",
        headers=bearer(token),
        json={"title": "Returns", "owner_id": stranger},
    )
    assert r.status_code == 404
    assert r.json()["field"] == "owner_id"
    article = _article(client, token)
    r = client.patch(
        f"/api/v1/help/articles/{article['id']}",
        headers=bearer(token),
        json={"owner_id": stranger},
    )
    assert r.status_code == 404
    assert r.json()["field"] == "owner_id"
