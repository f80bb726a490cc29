"""What readers do, on both databases: an article read is counted (and reaches a known
reader's timeline as an ``Article Viewed`` event), its reading time reported, a result
opened from a search marked, votes with comments, a question written from the help center
lands in the inbox naming the article, and the analytics show content gaps, searches and
articles that still led to a contact, and deflection."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter.models import HelpArticle, HelpRead, HelpSearch, HelpVisit, HelpVote
from accord.inbox.models import Conversation
from accord.kit.time import utcnow
from tests.helpcenter.corpus import publish_corpus
from tests.helpers import bearer


@pytest.fixture
def center(client: TestClient, workspace: ProvisionedWorkspace) -> dict[str, str]:
    return publish_corpus(client, workspace.api_token)


def _rows(session: Session, model: type, workspace: ProvisionedWorkspace) -> list:
    return list(session.scalars(select(model).where(model.workspace_id == workspace.workspace.id)))


def test_an_article_read_is_counted_timed_and_on_a_known_readers_timeline(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    center: dict[str, str],
) -> None:
    slug = workspace.workspace.slug
    client.cookies.set("accord_aid", "anon-reader-7")
    page = client.get(f"/help/{slug}/articles/warranty")
    assert page.status_code == 200
    assert "accord_help" in page.cookies
    [read] = _rows(session, HelpRead, workspace)
    assert f'data-read="/help/{slug}/reads/{read.id}"' in page.text
    article = session.get(HelpArticle, read.article_id, populate_existing=True)
    assert article is not None
    assert article.views == 1
    # The page reports how long it was read; the longest report counts.
    for seconds in ("42", "12"):
        r = client.post(f"/help/{slug}/reads/{read.id}", data={"seconds": seconds})
        assert r.status_code == 204
    session.refresh(read)
    assert read.seconds == 42
    [event] = list(
        session.scalars(
            select(Event).where(
                Event.workspace_id == workspace.workspace.id, Event.name == "Article Viewed"
            )
        )
    )
    assert event.anonymous_id == "anon-reader-7"
    assert event.properties["slug"] == "warranty"


def test_a_result_opened_from_a_search_is_marked(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, center: dict[str, str]
) -> None:
    slug = workspace.workspace.slug
    page = client.get(f"/help/{slug}/search?q=waranty")
    [search] = _rows(session, HelpSearch, workspace)
    assert f"/articles/warranty?from={search.id}" in page.text
    client.get(f"/help/{slug}/articles/warranty?from={search.id}")
    session.refresh(search)
    assert str(search.clicked_article_id) == center["warranty"]
    [visit] = _rows(session, HelpVisit, workspace)  # one reader, one visit
    assert (visit.searches, visit.articles) == (1, 1)


def test_votes_with_comments_are_kept_and_thanked(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, center: dict[str, str]
) -> None:
    slug = workspace.workspace.slug
    client.get(f"/help/{slug}/articles/size-guide")
    r = client.post(
        f"/help/{slug}/articles/size-guide/vote",
        data={"helpful": "no", "comment": "Nothing about kids' sizes"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"].endswith("/articles/size-guide?voted=no#feedback")
    assert 'id="thanks"' in client.get(r.headers["location"]).text
    r = client.post(f"/help/{slug}/articles/size-guide/vote", data={"helpful": "maybe"})
    assert r.status_code == 422
    [vote] = _rows(session, HelpVote, workspace)
    assert vote.helpful is False
    assert vote.comment == "Nothing about kids' sizes"
    article = session.get(HelpArticle, vote.article_id, populate_existing=True)
    assert article is not None
    assert (article.helpful, article.unhelpful) == (0, 1)


def test_a_question_written_from_the_help_center_reaches_the_inbox(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, center: dict[str, str]
) -> None:
    slug = workspace.workspace.slug
    client.get(f"/help/{slug}/search?q=kids boots sizes")
    client.get(f"/help/{slug}/articles/size-guide")
    form = client.get(f"/help/{slug}/contact?article=size-guide&q=kids boots sizes")
    assert "Size guide for boots and jackets" in form.text
    bad = client.post(
        f"/help/{slug}/contact",
        data={"email": "nope", "message": "Which size for a 6-year-old?", "article": "size-guide"},
    )
    assert bad.status_code == 422
    assert 'id="form-error"' in bad.text
    assert "Which size for a 6-year-old?" in bad.text  # nothing typed is lost
    sent = client.post(
        f"/help/{slug}/contact",
        data={
            "email": "jo@example.com",
            "name": "Jo",
            "message": "Which size for a 6-year-old?",
            "article": "size-guide",
            "q": "kids boots sizes",
        },
    )
    assert sent.status_code == 200, sent.text
    assert 'id="sent"' in sent.text
    [conversation] = _rows(session, Conversation, workspace)
    assert conversation.channel == "web"
    assert conversation.subject == "Help center: Size guide for boots and jackets"
    [visit] = _rows(session, HelpVisit, workspace)
    assert visit.contacted is True
    assert visit.conversation_id == conversation.id
    [search] = _rows(session, HelpSearch, workspace)
    assert search.contacted is True


def test_the_analytics_show_gaps_contacts_and_deflection(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    center: dict[str, str],
) -> None:
    slug = workspace.workspace.slug
    reader_a = TestClient(client.app)
    reader_b = TestClient(client.app)
    reader_c = TestClient(client.app)
    for reader in (reader_a, reader_b):
        reader.get(f"/help/{slug}/search?q=Quantum teleporter")
    reader_a.get(f"/help/{slug}/articles/warranty")
    reader_a.post(f"/help/{slug}/articles/warranty/vote", data={"helpful": "yes"})
    reader_b.get(f"/help/{slug}/articles/tent-repair")
    reader_b.post(
        f"/help/{slug}/contact",
        data={
            "email": "b@example.com",
            "message": "My tent is still torn",
            "article": "tent-repair",
        },
    )
    reader_c.get(f"/help/{slug}/articles/tent-repair")
    # The visits are over (no page for half an hour).
    session.execute(
        update(HelpVisit)
        .where(HelpVisit.workspace_id == workspace.workspace.id)
        .values(last_at=utcnow() - timedelta(hours=1), started_at=utcnow() - timedelta(hours=2))
    )
    session.commit()
    r = client.get("/api/v1/help/analytics?days=7", headers=bearer(workspace.api_token))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["views"] == 3
    assert report["readers"] == 3
    assert report["helpful"] == 1
    assert report["searches"] == 2
    assert report["searches_without_results"] == 2
    assert report["content_gaps"][0]["query"] == "quantum teleporter"
    assert report["content_gaps"][0]["searches"] == 2
    assert [s["query"] for s in report["searches_then_contact"]] == ["quantum teleporter"]
    assert [a["slug"] for a in report["read_then_contact"]] == ["tent-repair"]
    assert report["visits"] == 3
    assert report["visits_contacted"] == 1
    assert report["deflection_rate"] == pytest.approx(2 / 3, abs=1e-3)
    assert sum(day["views"] for day in report["days"]) == 3
    # Another workspace sees none of it.
    other = client.get("/api/v1/help/analytics", headers=bearer(other_workspace.api_token))
    assert other.status_code == 200
    assert other.json()["views"] == 0
    assert other.json()["content_gaps"] == []
