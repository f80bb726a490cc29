"""The help center's community on both databases: a sign-in link sent over real SMTP
(single use, 30 minutes, only its hash stored) and the site's verified identity; asking,
answering and voting (never on one's own post); accepting by the asker or a moderator
only; the moderation queue (a new member's first post waits; approve, reject, ban);
the spam checks (links, the same text again, the honeypot), the profanity filter (hold
or mask, with the workspace's own words) and the rate limit per member; an accepted
answer made a draft article; workspace isolation; and the activity on the person's
timeline."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from email.message import EmailMessage
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session, sessionmaker

from accord.chat import identity
from accord.collect.models import Event
from accord.config import Settings
from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter.community import members
from accord.helpcenter.community.models import (
    CommunityAnswer,
    CommunityLink,
    CommunityMember,
    CommunityQuestion,
)
from accord.helpcenter.models import HelpTranslation
from accord.kit.security import lookup_hash
from accord.kit.time import utcnow
from accord.resolve import service as resolve
from accord.web.community_pages import COOKIE
from tests.govern.test_login_limits import make_app
from tests.helpers import bearer
from tests.smtp_sink import Sink, smtp_sink  # noqa: F401 (the fixture)

LINK = re.compile(r"(http://\S+/community/sign-in/link\?token=\S+)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
QUESTION = {
    "title": "Can I wash my rain jacket at 40 degrees?",
    "body": "The label is gone. I do not want to ruin the membrane of the jacket.",
}
ANSWER = "Yes: 30 degrees, no softener, then tumble dry low to revive the coating."


def home(ws: ProvisionedWorkspace) -> str:
    return f"/help/{ws.workspace.slug}/community"


def member_client(
    app: FastAPI, session: Session, ws: ProvisionedWorkspace, email: str, name: str = ""
) -> TestClient:
    """A browser signed in as ``email`` (a session opened as the link would)."""
    signed = members.sign_in_verified(session, ws.workspace, email=email, name=name or None)
    session.commit()
    client = TestClient(app, raise_server_exceptions=False)
    client.cookies.set(COOKIE, signed.token, path=f"/help/{ws.workspace.slug}")
    return client


def csrf(client: TestClient, ws: ProvisionedWorkspace) -> str:
    page = client.get(home(ws))
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, "no CSRF token: not signed in"
    return match.group(1)


def ask(client: TestClient, ws: ProvisionedWorkspace, **extra: str) -> httpx.Response:
    data = {**QUESTION, "csrf_token": csrf(client, ws), **extra}
    return client.post(f"{home(ws)}/ask", data=data, follow_redirects=False)


def answer(
    client: TestClient, ws: ProvisionedWorkspace, question_id: uuid.UUID, body: str = ANSWER,
    **extra: str,
) -> httpx.Response:  # fmt: skip
    data = {"body": body, "csrf_token": csrf(client, ws), **extra}
    return client.post(
        f"{home(ws)}/questions/{question_id}/answers", data=data, follow_redirects=False
    )


def open_settings(client: TestClient, ws: ProvisionedWorkspace, **values: object) -> None:
    body = {"hold_first_post": False, "profanity": "hold", **values}
    r = client.put("/api/v1/help/community/settings", headers=bearer(ws.api_token), json=body)
    assert r.status_code == 200, r.text


def latest_question(session: Session, ws: ProvisionedWorkspace) -> CommunityQuestion:
    session.expire_all()
    found = session.scalars(
        select(CommunityQuestion)
        .where(CommunityQuestion.workspace_id == ws.workspace.id)
        .order_by(CommunityQuestion.created_at.desc())
    ).first()
    assert found is not None
    return found


def latest_answer(session: Session, question_id: uuid.UUID) -> CommunityAnswer:
    session.expire_all()
    found = session.scalars(
        select(CommunityAnswer)
        .where(CommunityAnswer.question_id == question_id)
        .order_by(CommunityAnswer.created_at.desc())
    ).first()
    assert found is not None
    return found


# --- signing in ---------------------------------------------------------------------------


def link_in(message: EmailMessage) -> str:
    body = message.get_body(("plain",))
    assert body is not None
    match = LINK.search(body.get_content())
    assert match, body.get_content()
    return match.group(1)


def test_a_sign_in_link_over_smtp_works_once_and_stores_only_its_hash(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    app = make_app(settings, engine, session_factory, smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}")
    browser = TestClient(app, raise_server_exceptions=False)
    form = browser.get(f"{home(workspace)}/sign-in")
    assert form.status_code == 200
    assert 'id="sign-in-email"' in form.text
    sent = browser.post(
        f"{home(workspace)}/sign-in",
        data={"email": "Ada@Example.com", "name": "Ada L.", "next": f"{home(workspace)}/ask"},
    )
    assert sent.status_code == 200, sent.text
    assert "Check your email" in sent.text

    message = smtp_sink.wait_for(1)[0]
    assert message["To"] == "ada@example.com"
    assert "Acme community" in message["Subject"]
    link = link_in(message)
    token = link.split("token=", 1)[1]
    session.expire_all()
    (stored,) = session.scalars(
        select(CommunityLink).where(CommunityLink.workspace_id == workspace.workspace.id)
    ).all()
    assert stored.token_hash == lookup_hash(token)
    assert token not in repr([stored.email, stored.ip, stored.token_hash, stored.next_path])
    assert timedelta(minutes=29) < stored.expires_at - utcnow() <= timedelta(minutes=30)

    # The link opens a page; a mail scanner fetching it does not use it up.
    parts = urlsplit(link)
    page = browser.get(f"{parts.path}?{parts.query}")
    assert page.status_code == 200
    assert "ada@example.com" in page.text
    assert browser.get(f"{parts.path}?{parts.query}").status_code == 200
    done = browser.post(parts.path, data={"token": token}, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"{home(workspace)}/ask?notice=signed-in"
    cookie = done.headers["set-cookie"]
    assert COOKIE in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Signed in as" in browser.get(f"{home(workspace)}/ask").text
    session.expire_all()
    member = session.scalars(
        select(CommunityMember).where(CommunityMember.email == "ada@example.com")
    ).one()
    assert member.name == "Ada L."
    assert member.verified_by == "email"

    # Used: a second use is refused, with a machine-readable reason.
    again = TestClient(app, raise_server_exceptions=False)
    refused = again.post(parts.path, data={"token": token})
    assert refused.status_code == 400
    assert 'data-code="sign_in_link_used"' in refused.text
    assert COOKIE not in refused.headers.get("set-cookie", "")
    bad = again.get(f"{parts.path}?token=nonsense")
    assert 'data-code="sign_in_link_invalid"' in bad.text


def test_an_expired_link_is_refused_and_link_requests_are_limited(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
    workspace: ProvisionedWorkspace,
    smtp_sink: Sink,  # noqa: F811
) -> None:
    app = make_app(settings, engine, session_factory, smtp_url=f"smtp://127.0.0.1:{smtp_sink.port}")
    browser = TestClient(app, raise_server_exceptions=False)
    url = f"{home(workspace)}/sign-in"
    assert browser.post(url, data={"email": "bo@example.com"}).status_code == 200
    token = link_in(smtp_sink.wait_for(1)[0]).split("token=", 1)[1]
    session.execute(update(CommunityLink).values(expires_at=utcnow() - timedelta(seconds=1)))
    session.commit()
    expired = browser.post(f"{url}/link", data={"token": token})
    assert expired.status_code == 400
    assert 'data-code="sign_in_link_expired"' in expired.text

    for _ in range(members.LINKS_PER_EMAIL - 1):
        assert browser.post(url, data={"email": "bo@example.com"}).status_code == 200
    throttled = browser.post(url, data={"email": "bo@example.com"})
    assert throttled.status_code == 429
    assert "Too many sign-in links" in throttled.text
    # Without a relay, the form says so rather than pretending.
    no_mail = TestClient(make_app(settings, engine, session_factory), raise_server_exceptions=False)
    assert no_mail.post(url, data={"email": "cy@example.com"}).status_code == 503


def test_the_site_signs_its_customer_in_with_the_chat_identity_secret(
    app: FastAPI,
    client: TestClient,
    settings: Settings,
    session: Session,
    workspace: ProvisionedWorkspace,
) -> None:
    secret = identity.rotate(
        session, workspace.workspace.id, settings.resolved_secret_key,
        actor=Principal.cli(workspace.workspace.id),
    )  # fmt: skip
    session.commit()
    url = f"{home(workspace)}/sign-in/site"
    forged = client.post(
        url, data={"email": "dee@example.com", "email_hash": "0" * 64}, follow_redirects=False
    )
    assert forged.status_code == 403
    assert 'data-code="identity_not_verified"' in forged.text
    good = client.post(
        url,
        data={
            "email": "Dee@Example.com",
            "email_hash": identity.user_hash(secret, "dee@example.com"),
            "name": "Dee",
            "next": f"{home(workspace)}/ask",
        },
        follow_redirects=False,
    )
    assert good.status_code == 303, good.text
    assert good.headers["location"].startswith(f"{home(workspace)}/ask")
    session.expire_all()
    member = session.scalars(
        select(CommunityMember).where(CommunityMember.email == "dee@example.com")
    ).one()
    assert member.verified_by == "site"


# --- asking, answering, voting, accepting -------------------------------------------------


def test_ask_answer_vote_and_accept_by_the_asker_only(
    app: FastAPI, client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    open_settings(client, workspace)
    asker = member_client(app, session, workspace, "ann@example.com", "Ann")
    helper = member_client(app, session, workspace, "ben@example.com", "Ben")
    other = member_client(app, session, workspace, "cat@example.com", "Cat")
    r = ask(asker, workspace)
    assert r.status_code == 303, r.text
    question = latest_question(session, workspace)
    assert question.status == "visible"
    assert r.headers["location"] == f"{home(workspace)}/questions/{question.id}?notice=posted"

    # Anyone reads it, without signing in; the list finds it by its words.
    page = client.get(f"{home(workspace)}/questions/{question.id}")
    assert page.status_code == 200
    assert QUESTION["title"] in page.text
    assert '"@type": "QAPage"' in page.text
    listed = client.get(f"{home(workspace)}?q=membrane")
    assert QUESTION["title"] in listed.text
    assert QUESTION["title"] not in client.get(f"{home(workspace)}?q=tent").text
    unanswered = client.get(f"{home(workspace)}?filter=unanswered")
    assert QUESTION["title"] in unanswered.text

    assert answer(helper, workspace, question.id).status_code == 303
    reply = latest_answer(session, question.id)
    assert reply.status == "visible"
    assert QUESTION["title"] not in client.get(f"{home(workspace)}?filter=unanswered").text

    # Votes: one per member per post, never on one's own post.
    url = f"{home(workspace)}/answers/{reply.id}/vote"
    own = helper.post(url, data={"value": "1", "csrf_token": csrf(helper, workspace)})
    assert own.status_code == 403
    assert 'data-code="own_post"' in own.text
    for _ in range(2):
        other.post(url, data={"value": "1", "csrf_token": csrf(other, workspace)})
        asker.post(url, data={"value": "1", "csrf_token": csrf(asker, workspace)})
    session.expire_all()
    assert session.get(CommunityAnswer, reply.id).score == 0  # sent twice: taken back
    asker.post(url, data={"value": "1", "csrf_token": csrf(asker, workspace)})
    other.post(url, data={"value": "-1", "csrf_token": csrf(other, workspace)})
    other.post(url, data={"value": "1", "csrf_token": csrf(other, workspace)})
    session.expire_all()
    assert session.get(CommunityAnswer, reply.id).score == 2
    no_csrf = other.post(url, data={"value": "1"})
    assert no_csrf.status_code == 403

    # Accepting: not the answerer, not a third member, not anonymous; the asker may.
    accept = f"{home(workspace)}/answers/{reply.id}/accept"
    assert helper.post(accept, data={"csrf_token": csrf(helper, workspace)}).status_code == 403
    assert other.post(accept, data={"csrf_token": csrf(other, workspace)}).status_code == 403
    assert client.post(accept, data={}).status_code == 401
    done = asker.post(accept, data={"csrf_token": csrf(asker, workspace)}, follow_redirects=False)
    assert done.status_code == 303
    session.expire_all()
    question = session.get(CommunityQuestion, question.id)
    assert question is not None
    assert question.accepted_answer_id == reply.id
    ben = session.scalars(
        select(CommunityMember).where(CommunityMember.email == "ben@example.com")
    ).one()
    assert (ben.answers, ben.accepted, ben.reputation) == (1, 1, 2 * 10 + 15)
    shown = client.get(f"{home(workspace)}/questions/{question.id}").text
    assert "Accepted answer" in shown
    profile = client.get(f"{home(workspace)}/members/{ben.id}")
    assert profile.status_code == 200
    assert "Answers accepted" in profile.text


def test_a_moderator_accepts_and_makes_a_draft_article(
    app: FastAPI, client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    open_settings(client, workspace)
    asker = member_client(app, session, workspace, "ann@example.com")
    helper = member_client(app, session, workspace, "ben@example.com")
    ask(asker, workspace)
    question = latest_question(session, workspace)
    answer(helper, workspace, question.id)
    reply = latest_answer(session, question.id)
    api = f"/api/v1/help/community/answers/{reply.id}"
    early = client.post(f"{api}/article", headers=bearer(workspace.api_token))
    assert early.status_code == 422
    assert early.json()["code"] == "not_accepted"
    r = client.post(f"{api}/accept", headers=bearer(workspace.api_token), json={"accepted": True})
    assert r.status_code == 200, r.text
    assert r.json()["accepted_answer_id"] == str(reply.id)
    made = client.post(f"{api}/article", headers=bearer(workspace.api_token))
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"
    session.expire_all()
    translation = session.scalars(
        select(HelpTranslation).where(
            HelpTranslation.article_id == uuid.UUID(made.json()["article_id"])
        )
    ).one()
    assert translation.title == QUESTION["title"]
    assert "no softener" in translation.body
    assert translation.status == "draft"
    again = client.post(f"{api}/article", headers=bearer(workspace.api_token))
    assert again.status_code == 409
    assert again.json()["code"] == "article_exists"


# --- moderation ---------------------------------------------------------------------------


def test_a_first_post_waits_then_is_approved_or_rejected(
    app: FastAPI, client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    newcomer = member_client(app, session, workspace, "new@example.com")
    r = ask(newcomer, workspace)
    question = latest_question(session, workspace)
    assert (question.status, question.held) == ("pending", "first_post")
    assert r.headers["location"].endswith("notice=pending")
    # Only its author sees it while it waits.
    assert client.get(f"{home(workspace)}/questions/{question.id}").status_code == 404
    own = newcomer.get(f"{home(workspace)}/questions/{question.id}")
    assert own.status_code == 200
    assert "Waiting for a moderator" in own.text
    assert QUESTION["title"] not in client.get(home(workspace)).text

    token = bearer(workspace.api_token)
    queue = client.get("/api/v1/help/community/queue", headers=token).json()
    assert [(p["kind"], p["held"]) for p in queue["pending"]] == [("question", "first_post")]
    r = client.post(
        f"/api/v1/help/community/questions/{question.id}/moderation",
        headers=token,
        json={"action": "approve"},
    )
    assert r.status_code == 200, r.text
    assert client.get(f"{home(workspace)}/questions/{question.id}").status_code == 200
    # Approved once, the member is trusted: the next post is shown at once.
    ask(
        newcomer,
        workspace,
        title="Which socks for the Ridge boots in winter?",
        body="Wool or synthetic for long cold days on snowy trails?",
    )
    assert latest_question(session, workspace).status == "visible"

    # Another newcomer's answer is rejected: never shown, out of the queue.
    late = member_client(app, session, workspace, "late@example.com")
    answer(late, workspace, question.id)
    reply = latest_answer(session, question.id)
    assert reply.status == "pending"
    r = client.post(
        f"/api/v1/help/community/answers/{reply.id}/moderation",
        headers=token,
        json={"action": "reject"},
    )
    assert r.status_code == 200
    assert r.json()["status"] == "hidden"
    assert client.get("/api/v1/help/community/queue", headers=token).json()["pending"] == []
    assert ANSWER not in client.get(f"{home(workspace)}/questions/{question.id}").text
    bad = client.post(
        f"/api/v1/help/community/answers/{reply.id}/moderation",
        headers=token,
        json={"action": "delete"},
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")

    # A banned member cannot post (and their sessions ended).
    r = client.post(f"/api/v1/help/community/members/{reply.member_id}/ban", headers=token, json={})
    assert r.status_code == 200
    assert r.json()["banned"] is True
    assert late.get(home(workspace)).text.count('name="csrf_token"') == 0


def test_spam_checks_profanity_filter_and_rate_limit(
    app: FastAPI, client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    open_settings(client, workspace, max_links=1, words=["darn it"], posts_per_hour=5)
    poster = member_client(app, session, workspace, "pat@example.com")
    ask(poster, workspace, body="Look at https://a.example and https://b.example for boots.")
    assert (
        latest_question(session, workspace).status,
        latest_question(session, workspace).held,
    ) == ("pending", "links")
    ask(poster, workspace, website="http://spam.example")
    assert latest_question(session, workspace).status == "spam"
    ask(poster, workspace, title="Why is this zipper so shitty?")
    assert latest_question(session, workspace).held == "profanity"
    ask(poster, workspace, title="My tent zipper broke, darn it, what now?")
    assert latest_question(session, workspace).held == "profanity"
    # The same text again (here the first question's) waits too.
    ask(
        poster,
        workspace,
        title="Different title entirely, same body?",
        body="Look at https://a.example and https://b.example for boots.",
    )
    held = latest_question(session, workspace).held
    assert held in ("links", "repeated")
    # The sixth post within the hour is refused.
    over = ask(poster, workspace)
    assert over.status_code == 429
    assert 'data-code="rate_limited"' in over.text

    open_settings(client, workspace, profanity="mask", words=["darn it"])
    masker = member_client(app, session, workspace, "max@example.com")
    ask(masker, workspace, title="The buckle broke, darn it, is that covered?")
    masked = latest_question(session, workspace)
    assert masked.status == "visible"
    assert "darn it" not in masked.title
    assert "d****" in masked.title
    queue = client.get("/api/v1/help/community/queue", headers=bearer(workspace.api_token)).json()
    assert {p["held"] for p in queue["pending"]} >= {"links", "profanity"}
    assert [p["held"] for p in queue["spam"]] == ["honeypot"]
    bad = client.put(
        "/api/v1/help/community/settings",
        headers=bearer(workspace.api_token),
        json={"profanity": "shout"},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "profanity"


def test_another_workspace_cannot_see_or_moderate(
    app: FastAPI,
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    newcomer = member_client(app, session, workspace, "new@example.com")
    ask(newcomer, workspace)
    question = latest_question(session, workspace)
    other = bearer(other_workspace.api_token)
    assert client.get("/api/v1/help/community/queue", headers=other).json()["pending"] == []
    r = client.post(
        f"/api/v1/help/community/questions/{question.id}/moderation",
        headers=other,
        json={"action": "approve"},
    )
    assert r.status_code == 404
    assert r.json()["code"] == "not_found"
    client.post(
        f"/api/v1/help/community/questions/{question.id}/moderation",
        headers=bearer(workspace.api_token),
        json={"action": "approve"},
    )
    assert (
        client.get(
            f"/help/{other_workspace.workspace.slug}/community/questions/{question.id}"
        ).status_code
        == 404
    )
    # A session of one workspace's community is nobody in another's.
    stray = member_client(app, session, workspace, "ann@example.com")
    stray.cookies.set(
        COOKIE, stray.cookies.get(COOKIE) or "", path=f"/help/{other_workspace.workspace.slug}"
    )
    assert (
        'name="csrf_token"'
        not in stray.get(f"/help/{other_workspace.workspace.slug}/community").text
    )


def test_community_activity_reaches_the_persons_timeline(
    app: FastAPI, client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    open_settings(client, workspace)
    asker = member_client(app, session, workspace, "ann@example.com")
    helper = member_client(app, session, workspace, "ben@example.com")
    ask(asker, workspace)
    question = latest_question(session, workspace)
    answer(helper, workspace, question.id)
    reply = latest_answer(session, question.id)
    asker.post(
        f"{home(workspace)}/answers/{reply.id}/accept", data={"csrf_token": csrf(asker, workspace)}
    )
    session.expire_all()
    events = session.scalars(
        select(Event).where(
            Event.workspace_id == workspace.workspace.id, Event.source == "accord-community"
        )
    ).all()
    by_name = {e.name: e for e in events}
    assert set(by_name) == {"Question Asked", "Answer Posted", "Answer Accepted"}
    assert ["email", "ann@example.com"] in by_name["Question Asked"].identifiers
    assert ["email", "ben@example.com"] in by_name["Answer Accepted"].identifiers
    assert by_name["Question Asked"].properties["title"] == QUESTION["title"]
    # Resolved, the events belong to the person with that email.
    event = by_name["Answer Accepted"]
    profile_id = resolve.resolve_now(session, workspace.workspace.id, event)
    session.commit()
    assert profile_id is not None


@pytest.mark.parametrize("kind", ["questions", "answers"])
def test_votes_and_reports_need_a_signed_in_member(
    client: TestClient, workspace: ProvisionedWorkspace, kind: str
) -> None:
    url = f"{home(workspace)}/{kind}/{uuid.uuid4()}/vote"
    assert client.post(url, data={"value": "1"}).status_code == 401
