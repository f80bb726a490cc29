"""Answers before an agent, on both databases: the widget and the form get articles for
the question being typed (write key, any origin); "this answered my question" makes the
visit deflected; a question sent anyway is a search that led to a contact; another
workspace's visit is not found; the workspace can turn suggestions off."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter import analytics
from accord.helpcenter.models import HelpSearch, HelpVisit
from accord.kit.time import utcnow
from tests.helpcenter.corpus import publish_corpus
from tests.helpers import bearer

QUESTION = "can I return boots I have not worn"


def _suggest(client: TestClient, key: str, q: str, **extra: str) -> dict[str, object]:
    r = client.get(
        "/v1/help/suggestions",
        params={"writeKey": key, "q": q, "visitor": "anon-1", "source": "widget", **extra},
        headers={"origin": "https://shop.example"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "*"
    assert r.headers["cache-control"] == "no-store"
    return dict(r.json())


def test_the_widget_suggests_and_a_helpful_answer_is_a_deflected_visit(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    publish_corpus(client, workspace.api_token)
    got = _suggest(client, workspace.write_key, QUESTION)
    articles = got["articles"]
    assert isinstance(articles, list)
    assert 1 <= len(articles) <= 3
    assert any(a["url"].endswith("/articles/returns-and-refunds") for a in articles)
    assert articles[0]["url"].startswith(f"http://127.0.0.1:8000/help/{workspace.workspace.slug}/")
    visit_id = got["visit"]
    assert visit_id is not None
    # Typing is not searching: nothing kept yet.
    assert session.scalars(select(HelpSearch)).all() == []

    r = client.post(
        "/v1/help/suggestions/outcome",
        json={"writeKey": workspace.write_key, "visit": visit_id, "outcome": "answered"},
    )
    assert r.status_code == 204
    visit = session.get(HelpVisit, uuid.UUID(str(visit_id)))
    assert visit is not None
    session.refresh(visit)
    assert (visit.source, visit.answered, visit.contacted) == ("widget", True, False)
    # Once the visit is over it counts as deflected.
    session.execute(
        update(HelpVisit).values(
            started_at=utcnow() - timedelta(hours=2), last_at=utcnow() - timedelta(hours=1)
        )
    )
    report = analytics.report(session, workspace.workspace.id, utcnow() - timedelta(days=1))
    assert (report.visits, report.visits_answered, report.visits_contacted) == (1, 1, 0)
    assert report.deflection_rate == 1.0


def test_a_question_sent_anyway_is_a_search_that_led_to_a_contact(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    publish_corpus(client, workspace.api_token)
    got = _suggest(client, workspace.write_key, "is my product guaranteed", source="form")
    r = client.post(
        "/v1/help/suggestions/outcome",
        headers={"authorization": f"Bearer {workspace.write_key}"},
        json={
            "visit": got["visit"],
            "outcome": "contacted",
            "question": "Is my tent guaranteed for life?",
        },
    )
    assert r.status_code == 204
    [search] = session.scalars(select(HelpSearch)).all()
    assert (search.source, search.query, search.contacted) == (
        "form",
        "Is my tent guaranteed for life?",
        True,
    )
    assert search.results >= 1
    visit = session.get(HelpVisit, uuid.UUID(str(got["visit"])))
    assert visit is not None
    session.refresh(visit)
    assert (visit.contacted, visit.answered, visit.searches) == (True, False, 1)
    report = analytics.report(session, workspace.workspace.id, utcnow() - timedelta(days=1))
    assert [g["query"] for g in report.searches_then_contact] == ["is my tent guaranteed for life"]


def test_bad_input_and_other_workspaces(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    publish_corpus(client, workspace.api_token)
    # No key, or a wrong one: 401, readable by the site's page.
    r = client.get("/v1/help/suggestions", params={"q": QUESTION})
    assert r.status_code == 401
    assert r.headers["access-control-allow-origin"] == "*"
    assert client.get(
        "/v1/help/suggestions", params={"q": QUESTION, "writeKey": "wk_nope"}
    ).status_code in (401, 403)
    # Too short to suggest anything; no visit is started for it.
    assert _suggest(client, workspace.write_key, "bo") == {"visit": None, "articles": []}
    visit = _suggest(client, workspace.write_key, QUESTION)["visit"]
    # Another workspace's key cannot touch this visit.
    r = client.post(
        "/v1/help/suggestions/outcome",
        json={"writeKey": other_workspace.write_key, "visit": visit, "outcome": "answered"},
    )
    assert r.status_code == 404
    assert r.json()["field"] == "visit"
    r = client.post(
        "/v1/help/suggestions/outcome",
        json={"writeKey": workspace.write_key, "visit": visit, "outcome": "maybe"},
    )
    assert r.status_code == 422
    r = client.post(
        "/v1/help/suggestions/outcome", json={"writeKey": workspace.write_key, "visit": visit}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "outcome"
    # Turned off: nothing is suggested.
    settings = client.get("/api/v1/help/settings", headers=bearer(workspace.api_token)).json()
    r = client.put(
        "/api/v1/help/settings",
        headers=bearer(workspace.api_token),
        json={**settings, "suggest": False},
    )
    assert r.status_code == 200, r.text
    assert _suggest(client, workspace.write_key, QUESTION) == {"visit": None, "articles": []}
