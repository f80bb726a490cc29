"""The listening pipeline on both databases: a batch of posts becomes mentions, each
understood and triaged; a known customer's handle lands on their profile and
conversation with their value in the reason; copies, re-heard posts, waits that turn
into respond, a person's decision over triage, and the response metrics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.context import InboxContext
from accord.inbox.models import Conversation, Message
from accord.inbox.people import accept_now
from accord.kit.time import utcnow
from accord.privacy import subject as subjects
from accord.privacy.erase import erase_subject
from accord.privacy.repository import SubjectRepository
from accord.resolve.service import resolve_pending
from accord.social import metrics, queries
from accord.social.models import Mention
from accord.social.repository import MentionRepository
from accord.social.service import SocialContext, decide_by_hand, hear, open_pending
from accord.social.settings import LISTENING, Competitor, ListeningSettings
from accord.social.sources.base import Post

pytestmark = pytest.mark.usefixtures("backend")

RULES = ListeningSettings(
    brands=["Acme"],
    hashtags=["#acmefail"],
    competitors=[Competitor(name="Globex", terms=["#globex"])],
    exclusions=["acme anvil meme"],
)


def _ctx(
    session: Session, ws: ProvisionedWorkspace, rules: ListeningSettings = RULES
) -> SocialContext:
    LISTENING.write(session, ws.workspace, rules, actor=Principal.cli(ws.workspace.id))
    inbox = InboxContext.load(
        session, ws.workspace.id, secret_key="k" * 40, base_url="http://127.0.0.1"
    )
    return SocialContext.of(inbox)


def _post(n: str, text: str, handle: str = "sam.bsky.social", **kw: Any) -> Post:
    values: dict[str, Any] = {
        "network": "bluesky",
        "external_id": f"at://did:plc:{handle}/app.bsky.feed.post/{n}",
        "text": text,
        "posted_at": utcnow() - timedelta(minutes=5),
        "author_handle": handle,
        "followers": 120,
        "url": f"https://bsky.app/profile/{handle}/post/{n}",
    }
    values.update(kw)
    return Post(**values)


def _customer(session: Session, ws: ProvisionedWorkspace, handle: str, spent: int) -> None:
    at = utcnow() - timedelta(days=30)
    accept_now(
        session,
        ws.workspace,
        [
            {
                "type": "identify",
                "userId": "rae-1",
                "messageId": "id-rae",
                "traits": {"name": "Rae Lin", "email": "rae@example.com", "bluesky": handle},
                "timestamp": at.isoformat(),
            },
            {
                "type": "track",
                "userId": "rae-1",
                "messageId": "order-rae",
                "event": "Order Completed",
                "properties": {"order_id": "A-1", "total": spent, "currency": "USD"},
                "timestamp": at.isoformat(),
            },
        ],
        source="test",
        at=at,
    )


def test_a_customers_complaint_lands_on_their_profile_and_conversation(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    _customer(session, workspace, "rae.bsky.social", 2400)
    ctx = _ctx(session, workspace)
    out = hear(
        session,
        ctx,
        [
            _post(
                "1",
                "@acme charged me twice for my order and nobody answers. Worst service.",
                "Rae.bsky.social",
                followers=12_400,
            )
        ],
    )
    assert (out.heard, out.stored, out.decisions, out.to_open) == (1, 1, {"respond": 1}, 1)
    mention = out.mentions[0]
    assert mention.conversation_id is None  # in the triage queue; the inbox follows
    assert [m.id for m in queries.queue(session, workspace.workspace.id)] == [mention.id]
    assert len(open_pending(session, ctx)) == 1
    assert mention.sentiment == "negative"
    assert mention.intent == "complaint"
    assert mention.profile_id is not None
    assert mention.customer_value == 2400.0
    assert mention.reason.endswith(
        "from a customer with USD 2,400 lifetime value and 12k followers: respond within 1 hour"
    )
    assert mention.state == "open"
    assert mention.priority == "high"
    conversation = session.get(Conversation, mention.conversation_id)
    assert conversation is not None
    assert conversation.profile_id == mention.profile_id
    assert conversation.channel == "social"
    assert conversation.priority == "high"
    message = session.scalars(
        select(Message).where(Message.conversation_id == conversation.id)
    ).one()
    assert message.body.startswith("@acme charged me twice")
    assert message.meta["mention"] == str(mention.id)
    assert message.meta["replyable"] is False  # no source that can answer heard it
    # The post is on the customer's timeline, once.
    events = session.scalars(select(Event).where(Event.profile_id == mention.profile_id)).all()
    assert [e.name for e in events].count("Social Mention") == 1


def test_a_customers_mention_with_nothing_to_answer_is_on_their_timeline(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    _customer(session, workspace, "rae.bsky.social", 300)
    ctx = _ctx(session, workspace)
    out = hear(session, ctx, [_post("1", "Wearing my Acme jacket on the ferry", "rae.bsky.social")])
    assert out.mentions[0].decision == "dismiss"
    assert out.to_open == 0
    resolve_pending(session, workspace.workspace.id)
    event = session.scalars(
        select(Event).where(
            Event.workspace_id == workspace.workspace.id, Event.name == "Social Mention"
        )
    ).one()
    assert event.profile_id == out.mentions[0].profile_id
    assert event.properties["decision"] == "dismiss"


def test_an_unknown_authors_gripe_opens_a_conversation_on_a_new_profile(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    out = hear(
        session, ctx, [_post("1", "My Acme blender stopped working after 2 days, so disappointed")]
    )
    mention = out.mentions[0]
    assert mention.decision == "respond"
    assert mention.customer_value is None
    open_pending(session, ctx)
    conversation = session.get(Conversation, mention.conversation_id)
    assert conversation is not None
    assert conversation.profile_id is not None
    assert mention.profile_id == conversation.profile_id  # the author is a contact now


def test_a_post_heard_twice_is_stored_once_and_its_engagement_updated(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    hear(session, ctx, [_post("1", "ugh, acme again", likes=1)])
    again = hear(session, ctx, [_post("1", "ugh, acme again", likes=4, reposts=1)])
    assert (again.stored, again.updated) == (0, 1)
    rows = session.scalars(
        select(Mention).where(Mention.workspace_id == workspace.workspace.id)
    ).all()
    assert len(rows) == 1
    assert (rows[0].likes, rows[0].reposts) == (4, 1)


def test_copies_are_dismissed_the_authors_own_and_one_text_from_many_accounts(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    first = hear(session, ctx, [_post("1", "Acme lost my parcel, again!")]).mentions[0]
    again = hear(session, ctx, [_post("2", "acme LOST my parcel again")]).mentions[0]
    assert first.decision == "respond"
    assert (again.decision, again.rule) == ("dismiss", "duplicate")
    ring = hear(
        session,
        ctx,
        [
            _post(
                str(i),
                "Acme gift cards for everyone today: https://gifts.example/claim",
                f"bot{i}.bsky.social",
            )
            for i in range(3)
        ],
    )
    assert [m.rule for m in ring.mentions][-1] == "spam"
    assert "the same text from 3 accounts" in ring.mentions[-1].reason


def test_a_wait_turns_into_respond_when_the_author_posts_again_or_people_pile_in(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    out = hear(
        session,
        ctx,
        [
            _post("1", "feeling blue, even acme ads cannot cheer me up", "kim.bsky.social"),
            _post("9", "so tired of seeing acme ads everywhere", "lee.bsky.social"),
        ],
    )
    kim, lee = out.mentions
    assert (kim.decision, kim.state, kim.conversation_id) == ("wait", "waiting", None)
    again = hear(session, ctx, [_post("2", "still thinking about acme today", "kim.bsky.social")])
    assert again.escalated == 1
    assert kim.decision == "respond"
    assert kim.state == "open"
    assert kim.reason.startswith("the author posted again; ")
    open_pending(session, ctx)
    assert kim.conversation_id is not None
    grown = hear(
        session,
        ctx,
        [_post("9", "so tired of seeing acme ads everywhere", "lee.bsky.social", likes=30)],
    )
    assert grown.escalated == 1
    assert lee.decision == "respond"
    assert grown.to_open == 1
    assert lee.reason.startswith("30 more people engaged with the post; ")


def test_posts_that_are_not_mentions_are_ignored(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    out = hear(
        session,
        ctx,
        [
            _post("1", "acmeville weather is nice"),
            _post("2", "that acme anvil meme lol"),
            _post("3", "Switching to #Globex, better prices"),
        ],
    )
    assert (out.ignored, out.stored) == (2, 1)
    assert out.mentions[0].about == "Globex"
    assert out.mentions[0].decision == "dismiss"


def test_a_person_decides_over_triage_and_a_respond_opens_the_conversation(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    mention = hear(session, ctx, [_post("1", "Acme is fine I guess")]).mentions[0]
    assert mention.decision == "dismiss"
    decide_by_hand(session, ctx, mention, "respond", who="ana@acme.example", why="a reporter")
    assert (mention.decision, mention.state, mention.rule) == ("respond", "open", "by hand")
    assert mention.reason == "respond, decided by ana@acme.example: a reporter"
    assert mention.conversation_id is not None
    assert mention.respond_by is not None


def test_the_response_metrics_count_time_to_first_answer_and_the_sla(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    out = hear(
        session,
        ctx,
        [
            _post("1", "Acme support never answers my emails, terrible", "a.bsky.social"),
            _post("2", "How do I reset my Acme router?", "b.bsky.social"),
            _post("3", "Loving my new Acme kettle", "c.bsky.social"),
        ],
    )
    complaint, question, _ = out.mentions
    repo = MentionRepository.from_session(session)
    repo.answered([complaint.id], complaint.received_at + timedelta(minutes=30), "r1")
    repo.answered([question.id], question.received_at + timedelta(minutes=300), "r2")
    session.expire_all()
    m = metrics.compute(session, workspace.workspace, days=7)
    assert m.mentions == 3
    assert m.decisions["respond"] == 2
    assert (m.response.to_respond, m.response.answered, m.response.rate) == (2, 2, 1.0)
    assert m.response.median_minutes == 165.0
    assert m.response.within_sla == 0.5  # the question's 4 hours were missed
    assert m.sentiment["positive"] >= 1
    assert m.sentiment["negative"] >= 1
    assert m.share_of_voice[0].name == "brand"
    assert sum(d.mentions for d in m.by_day) == 3


def test_a_workspace_never_sees_anothers_mentions(
    session: Session, workspace: ProvisionedWorkspace, other_workspace: ProvisionedWorkspace
) -> None:
    hear(session, _ctx(session, workspace), [_post("1", "Acme is down again, can't log in")])
    other = _ctx(session, other_workspace)
    out = hear(session, other, [_post("1", "Acme is down again, can't log in")])
    assert out.stored == 1  # the same post is a mention of each workspace, apart
    mine = MentionRepository.from_session(session).listing(other_workspace.workspace.id)
    assert len(mine) == 1
    assert mine[0].workspace_id == other_workspace.workspace.id
    assert metrics.compute(session, other_workspace.workspace).mentions == 1


def test_erasing_a_person_removes_their_posts_also_those_heard_before_they_were_known(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    early = hear(session, ctx, [_post("0", "Acme kettle is fine", "Rae.bsky.social")]).mentions[0]
    assert early.profile_id is None
    _customer(session, workspace, "rae.bsky.social", 120)
    later = hear(session, ctx, [_post("1", "Acme lost my parcel!!", "rae.bsky.social")])
    assert later.mentions[0].profile_id is not None
    open_pending(session, ctx)
    someone = hear(session, ctx, [_post("2", "Acme lost my parcel too", "kim.bsky.social")])
    who = subjects.find(session, workspace.workspace.id, ("email", "rae@example.com"))
    erased = erase_subject(session, who, keep_order_totals=False, data_dir=None)
    assert erased.counts.get("social_mentions", 0) >= 1
    left = session.scalars(
        select(Mention).where(Mention.workspace_id == workspace.workspace.id)
    ).all()
    assert [m.author_handle for m in left] == ["kim.bsky.social"]
    assert someone.mentions[0].id == left[0].id


def test_a_persons_export_holds_their_posts(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ctx = _ctx(session, workspace)
    hear(session, ctx, [_post("0", "Acme kettle is fine", "Rae.bsky.social")])
    _customer(session, workspace, "rae.bsky.social", 120)
    hear(session, ctx, [_post("1", "Acme lost my parcel!!", "rae.bsky.social")])
    hear(session, ctx, [_post("2", "Acme lost my parcel too", "kim.bsky.social")])
    who = subjects.find(session, workspace.workspace.id, ("email", "rae@example.com"))
    found = SubjectRepository.from_session(session).social_mentions(
        workspace.workspace.id, who.profile_ids, who.values("social")
    )
    assert [m.text for m in found] == ["Acme kettle is fine", "Acme lost my parcel!!"]
