"""Knowledge > Analytics in the console, on both databases: readers search, read, vote
and write to the team (through the help center's pages and its tracking functions); the
page shows the report's figures, the charts per day, the content gaps with a link to
write the missing article, the searches and articles that still led to a contact, the
least helpful and most read articles; another workspace's readers never show; a role that
neither writes articles nor reads analytics is refused, and nobody signed out sees it."""

from __future__ import annotations

import html
import re
import uuid
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlalchemy.orm import Session

from accord.govern.access.scopes import ROLE_SCOPES, Role, Scope
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter import analytics, tracking
from accord.helpcenter.models import HelpArticle, HelpRead, HelpVisit
from accord.kit.time import utcnow
from accord.web.knowledge_analytics_pages import headline, period_start
from tests.helpcenter.corpus import publish_corpus
from tests.helpers import add_user, console_login

AGENT = "agent@acme-support.com"
ANALYST = "analyst@acme-support.com"
OUTSIDER = "someone@globex.test"


@pytest.fixture
def center(client: TestClient, workspace: ProvisionedWorkspace) -> dict[str, str]:
    return publish_corpus(client, workspace.api_token)


def _readers(
    client: TestClient, session: Session, ws: ProvisionedWorkspace, center: dict[str, str]
) -> None:
    """Readers of the help center, through its pages and its tracking functions."""
    slug = ws.workspace.slug
    a, b, c = (TestClient(client.app) for _ in range(3))
    for reader in (a, b):
        reader.get(f"/help/{slug}/search?q=Quantum teleporter")
    a.get(f"/help/{slug}/search?q=zeppelin tickets")
    a.get(f"/help/{slug}/articles/warranty")
    a.post(f"/help/{slug}/articles/warranty/vote", data={"helpful": "yes"})
    b.get(f"/help/{slug}/articles/tent-repair")
    sent = b.post(
        f"/help/{slug}/contact",
        data={
            "email": "b@example.com",
            "message": "My tent is still torn",
            "article": "tent-repair",
        },
    )
    assert sent.status_code == 200, sent.text
    c.get(f"/help/{slug}/articles/tent-repair")
    for verdict, comment in (("no", "Nothing about kids' sizes"), ("no", ""), ("yes", "")):
        voter = TestClient(client.app)
        voter.get(f"/help/{slug}/articles/size-guide")
        voter.post(
            f"/help/{slug}/articles/size-guide/vote",
            data={"helpful": verdict, "comment": comment},
        )
    # A reader three days ago, who read the warranty for a minute and a half.
    workspace = session.get(Workspace, ws.workspace.id)
    article = session.get(HelpArticle, uuid.UUID(center["warranty"]))
    assert workspace is not None
    assert article is not None
    visit = tracking.visit(session, workspace.id, "reader-earlier")
    read = tracking.read(
        session, workspace, visit, article, "en", title="Our lifetime warranty", url="/x"
    )
    tracking.reading_time(session, workspace.id, read.id, 90)
    earlier = utcnow() - timedelta(days=3)
    session.execute(update(HelpRead).where(HelpRead.id == read.id).values(at=earlier))
    # Every visit is over (no page for half an hour), so it counts for deflection.
    session.execute(
        update(HelpVisit)
        .where(HelpVisit.workspace_id == workspace.id)
        .values(last_at=utcnow() - timedelta(hours=1), started_at=utcnow() - timedelta(hours=2))
    )
    session.commit()


def _figures(text: str) -> dict[str, str]:
    found = re.findall(
        r'data-figure="([a-z-]+)"><div class="label">[^<]*</div><div class="value">([^<]*)<',
        text,
    )
    return {key: html.unescape(value) for key, value in found}


def test_the_page_shows_the_reports_figures_charts_and_tables(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    center: dict[str, str],
) -> None:
    _readers(client, session, workspace, center)
    add_user(session, workspace, AGENT, "agent")
    console_login(client, AGENT)
    listing = client.get("/knowledge")
    assert 'href="/knowledge/analytics" id="knowledge-analytics"' in listing.text

    r = client.get("/knowledge/analytics?days=7")
    assert r.status_code == 200, r.text
    text = r.text
    report = analytics.report(session, workspace.workspace.id, period_start(7))
    shown = _figures(text)
    assert shown == {f["id"]: f["value"] for f in headline(report)}
    assert shown["views"] == "7"  # 3 on the pages, 3 voters, 1 three days ago
    assert shown["readers"] == "7"
    assert shown["reading-time"] == "1m 30s"
    assert shown["helpful"] == "50%"  # 2 of 4 votes
    assert shown["searches"] == "3"
    assert shown["no-result"] == "3"
    assert shown["deflection"] == "86%"  # 6 of 7 visits ended without a contact
    assert "6 of 7 visits, no contact" in text
    assert 'aria-current="page">7 days</a>' in text

    # The charts: SVG images with their titles, a point for each day of the period.
    for key, title in (
        ("views", "Article views per day"),
        ("searches", "Searches per day"),
        ("failed-share", "Share of searches that found nothing"),
        ("contacts", "Searches followed by a contact per day"),
    ):
        figure = text.split(f'id="chart-{key}"', 1)[1].split("</figure>", 1)[0]
        assert 'role="img"' in figure
        assert f'<title id="chart-{key}-title">{html.escape(title, quote=False)}</title>' in figure
    views = text.split('id="chart-views"', 1)[1].split("</figure>", 1)[0]
    assert (
        len(re.findall(r"<g><title>[^<]*, Views: ", views)) == 7
    )  # every day of the 7, today the last
    assert re.search(r"<g><title>[^<]*, Views: 6</title>", views)
    csv = client.get("/knowledge/analytics?days=7&export=views&format=csv")
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    assert sum(int(line.rsplit(",", 1)[1]) for line in csv.text.splitlines()[1:]) == 7

    # The content gaps, grouped by query, each with a link to write the article.
    gaps = text.split('id="ka-gaps"', 1)[1].split("</section>", 1)[0]
    assert [g["query"] for g in report.content_gaps] == ["quantum teleporter", "zeppelin tickets"]
    assert re.findall(r'<tr data-query="([^"]+)"><th scope="row" class="ka-query">', gaps) == [
        "quantum teleporter",
        "zeppelin tickets",
    ]
    row = gaps.split('data-query="quantum teleporter"', 1)[1].split("</tr>", 1)[0]
    assert re.findall(r'<td class="num">(\d+)</td>', row) == ["2", "2"]
    assert 'data-write="quantum teleporter"' in row
    assert 'href="/knowledge/new' in row
    # What still led to a contact.
    contacts = text.split('id="ka-search-contacts"', 1)[1].split("</section>", 1)[0]
    assert "quantum teleporter" in contacts
    assert "zeppelin tickets" not in contacts
    read_then = text.split('id="ka-read-contacts"', 1)[1].split("</section>", 1)[0]
    assert f'href="/knowledge/{center["tent-repair"]}"' in read_then
    assert "Repairing a torn tent" in read_then
    # The least helpful: the size guide, 1 of 3 helpful.
    least = text.split('id="ka-least-helpful"', 1)[1].split("</section>", 1)[0]
    assert "Size guide for boots and jackets" in least
    assert '<td class="num">33%</td><td class="num">3</td>' in least
    # The most read: the size guide (3 reads), then the warranty and tent repair (2 each).
    top = text.split('id="ka-top"', 1)[1].split("</section>", 1)[0]
    assert report.top_articles[0]["slug"] == "size-guide"
    for a in report.top_articles:
        assert f'href="/knowledge/{a["article_id"]}"' in top
    # Linked from replies: shown once the report counts them, nothing otherwise.
    assert ('id="ka-linked"' in text) == ("linked" in report.as_dict())


def test_the_period_and_an_empty_help_center(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, ANALYST, "analyst")
    console_login(client, ANALYST)
    r = client.get("/knowledge/analytics")
    assert r.status_code == 200
    assert 'aria-current="page">30 days</a>' in r.text  # the default
    assert _figures(r.text)["views"] == "0"
    assert _figures(r.text)["deflection"] == "\u2013"
    assert "Every search found an answer in this period." in r.text
    assert "No data yet" in r.text  # the charts say so rather than draw nothing
    assert 'id="ka-gaps"' in r.text
    assert 'data-write="' not in r.text  # an analyst does not write articles
    ninety = client.get("/knowledge/analytics?days=90")
    assert 'aria-current="page">90 days</a>' in ninety.text
    # A period the page does not offer reads as the default.
    odd = client.get("/knowledge/analytics?days=5000")
    assert 'aria-current="page">30 days</a>' in odd.text
    unknown = client.get("/knowledge/analytics?export=nope&format=csv")
    assert unknown.status_code == 404


def test_another_workspace_sees_none_of_it(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    center: dict[str, str],
) -> None:
    _readers(client, session, workspace, center)
    add_user(session, other_workspace, OUTSIDER, "admin")
    console_login(client, OUTSIDER)
    r = client.get("/knowledge/analytics?days=90")
    assert r.status_code == 200
    figures = _figures(r.text)
    assert figures["views"] == "0"
    assert figures["searches"] == "0"
    for theirs in ("quantum teleporter", "Size guide", "Repairing a torn tent", "warranty"):
        assert theirs not in r.text
    csv = client.get("/knowledge/analytics?days=90&export=views&format=csv")
    assert all(line.endswith(",0") for line in csv.text.splitlines()[1:])


def test_a_role_without_access_is_refused_and_signed_out_is_sent_to_sign_in(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signed_out = client.get("/knowledge/analytics", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"].startswith("/login")
    # A role that neither writes articles nor reads analytics.
    narrow = ROLE_SCOPES[Role.AGENT] - {Scope.KNOWLEDGE_WRITE}
    monkeypatch.setitem(ROLE_SCOPES, Role.AGENT, narrow)
    add_user(session, workspace, AGENT, "agent")
    console_login(client, AGENT)
    refused = client.get("/knowledge/analytics")
    assert refused.status_code == 403
    assert "Knowledge analytics" not in refused.text
    assert client.get("/knowledge/analytics?export=views&format=csv").status_code == 403


def test_the_least_helpful_show_what_their_voters_wrote_and_linked_articles_have_a_place(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    center: dict[str, str],
) -> None:
    """The voters' comments on the least helpful articles (escaped), and the section of
    articles linked from replies even before any reply linked one (the replies' own test
    fills it: tests/helpcenter/test_replies.py)."""
    _readers(client, session, workspace, center)
    add_user(session, workspace, AGENT, "agent")
    console_login(client, AGENT)
    text = client.get("/knowledge/analytics").text
    least = text.split('id="ka-least-helpful"', 1)[1].split("</section>", 1)[0]
    assert "Size guide" in least
    assert "“Nothing about kids&#39; sizes”" in least
    assert '<td class="num">33%</td><td class="num">3</td>' in least
    linked = text.split('id="ka-linked"', 1)[1].split("</section>", 1)[0]
    assert "No reply linked an article in this period." in linked
