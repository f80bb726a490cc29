"""Asking, answering, voting and accepting. Each post is checked before it is shown
(:func:`_decide`): a banned member cannot post, a filled-in honeypot field is spam, the
profanity filter holds or masks, too many links or the same text again wait for a
moderator, and so does a new member's first post when the workspace says so. A post
counts (the question's answers, the member's standing, the timeline) from the moment it
is visible. Services flush, never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.access.scopes import Scope
from accord.govern.workspaces.models import Workspace
from accord.helpcenter import markdown
from accord.helpcenter.community import checks, timeline
from accord.helpcenter.community.models import (
    CommunityAnswer,
    CommunityFlag,
    CommunityMember,
    CommunityQuestion,
    CommunityVote,
)
from accord.helpcenter.community.repository import CommunityRepository
from accord.helpcenter.community.settings import CommunitySettings, settings_of
from accord.kit.errors import AccordError, forbidden, invalid, not_found
from accord.kit.ids import new_id
from accord.kit.time import utcnow

REPEAT_WINDOW = timedelta(hours=24)
RATE_WINDOW = timedelta(hours=1)
UP_QUESTION, UP_ANSWER, DOWN, ACCEPTED = 5, 10, -2, 15
REPORT_REASONS = ("spam", "rude", "off_topic", "other")
Post = CommunityQuestion | CommunityAnswer


@dataclass(frozen=True)
class Decision:
    status: str  # visible, pending or spam
    held: str | None  # why it waits: first_post, links, profanity, repeated, honeypot
    body: str


def _check_member(member: CommunityMember) -> None:
    if member.banned:
        raise forbidden("This account may no longer take part in the community", "member_banned")


def _decide(
    session: Session,
    settings: CommunitySettings,
    member: CommunityMember,
    text: str,
    body: str,
    *,
    honeypot: str = "",
    editing: bool = False,
) -> Decision:
    repo = CommunityRepository.from_session(session)
    now = utcnow()
    if not editing and repo.posts_since(member.id, now - RATE_WINDOW) >= settings.posts_per_hour:
        raise AccordError(
            f"You can post {settings.posts_per_hour} times an hour; try again later",
            code="rate_limited",
            status=429,
            headers={"Retry-After": "600"},
        )
    if honeypot.strip():
        return Decision("spam", "honeypot", body)
    if settings.profanity != "off" and checks.profane(text, settings.words):
        if settings.profanity == "mask":
            body = checks.mask(body, settings.words)
        else:
            return Decision("pending", "profanity", body)
    if checks.links(text) > settings.max_links:
        return Decision("pending", "links", body)
    if not editing:
        mine = {checks.fingerprint(b) for b in repo.bodies_since(member.id, now - REPEAT_WINDOW)}
        if checks.fingerprint(body) in mine:
            return Decision("pending", "repeated", body)
    if settings.hold_first_post and not member.trusted:
        return Decision("pending", "first_post", body)
    return Decision("visible", None, body)


def _text(value: str, field: str, low: int, high: int, what: str) -> str:
    value = value.strip()
    if len(value) < low:
        raise invalid(f"{what} needs at least {low} characters", field=field, code="too_short")
    if len(value) > high:
        raise invalid(f"{what} has {high:,} characters at most", field=field, code="too_long")
    return value


def _enabled(workspace: Workspace) -> CommunitySettings:
    settings = settings_of(workspace)
    if not settings.enabled:
        raise not_found("Community")
    return settings


# --- becoming visible and leaving --------------------------------------------------------


def shown(session: Session, workspace: Workspace, post: Post) -> None:
    """``post`` has just become visible: it counts, and it goes on the timeline."""
    repo = CommunityRepository.from_session(session)
    member = repo.member(workspace.id, post.member_id)
    if member is None:
        return
    member.trusted = True
    if isinstance(post, CommunityQuestion):
        member.questions += 1
        timeline.asked(session, workspace, member, post)
        return
    member.answers += 1
    question = repo.question(workspace.id, post.question_id)
    if question is not None:
        question.answer_count += 1
        question.last_activity_at = utcnow()
        timeline.answered(session, workspace, member, question, post)


def unshown(session: Session, workspace: Workspace, post: Post) -> None:
    """``post`` was visible and is no longer: it stops counting (an accepted answer is no
    longer accepted)."""
    repo = CommunityRepository.from_session(session)
    member = repo.member(workspace.id, post.member_id)
    if isinstance(post, CommunityQuestion):
        if member is not None:
            member.questions = max(0, member.questions - 1)
        return
    if member is not None:
        member.answers = max(0, member.answers - 1)
    question = repo.question(workspace.id, post.question_id)
    if question is not None:
        question.answer_count = max(0, question.answer_count - 1)
        if question.accepted_answer_id == post.id:
            _unaccept(session, workspace, question, post)


# --- asking and answering -----------------------------------------------------------------


def ask(
    session: Session,
    workspace: Workspace,
    member: CommunityMember,
    *,
    title: str,
    body: str,
    locale: str,
    category_id: uuid.UUID | None = None,
    honeypot: str = "",
) -> CommunityQuestion:
    settings = _enabled(workspace)
    _check_member(member)
    title = _text(title, "title", 10, 200, "A question's title")
    body = _text(body, "body", 20, 20_000, "A question")
    decision = _decide(session, settings, member, f"{title}\n{body}", body, honeypot=honeypot)
    if settings.profanity == "mask":
        title = checks.mask(title, settings.words)
    now = utcnow()
    question = CommunityQuestion(
        id=new_id(),
        workspace_id=workspace.id,
        member_id=member.id,
        category_id=category_id,
        locale=locale[:16],
        title=title,
        body=decision.body,
        html=markdown.render(decision.body).html,
        status=decision.status,
        held=decision.held,
        score=0,
        answer_count=0,
        created_at=now,
        last_activity_at=now,
    )
    session.add(question)
    session.flush()
    if question.status == "visible":
        shown(session, workspace, question)
    session.flush()
    return question


def get_question(
    session: Session,
    workspace_id: uuid.UUID,
    question_id: uuid.UUID,
    viewer: CommunityMember | None = None,
) -> CommunityQuestion:
    """A question a reader may see: visible, or the viewer's own while it waits."""
    found = CommunityRepository.from_session(session).question(workspace_id, question_id)
    if found is None or not (
        found.status == "visible"
        or (viewer is not None and found.member_id == viewer.id and found.status == "pending")
    ):
        raise not_found("Question", field="question_id")
    return found


def get_answer(
    session: Session, workspace_id: uuid.UUID, answer_id: uuid.UUID
) -> tuple[CommunityAnswer, CommunityQuestion]:
    repo = CommunityRepository.from_session(session)
    answer = repo.answer(workspace_id, answer_id)
    question = repo.question(workspace_id, answer.question_id) if answer else None
    if answer is None or question is None:
        raise not_found("Answer", field="answer_id")
    return answer, question


def answer(
    session: Session,
    workspace: Workspace,
    member: CommunityMember,
    question_id: uuid.UUID,
    *,
    body: str,
    honeypot: str = "",
) -> CommunityAnswer:
    settings = _enabled(workspace)
    _check_member(member)
    question = get_question(session, workspace.id, question_id)
    body = _text(body, "body", 10, 20_000, "An answer")
    decision = _decide(session, settings, member, body, body, honeypot=honeypot)
    row = CommunityAnswer(
        id=new_id(),
        workspace_id=workspace.id,
        question_id=question.id,
        member_id=member.id,
        body=decision.body,
        html=markdown.render(decision.body).html,
        status=decision.status,
        held=decision.held,
        score=0,
        accepted=False,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    if row.status == "visible":
        shown(session, workspace, row)
    session.flush()
    return row


def _own(member: CommunityMember, post: Post) -> None:
    _check_member(member)
    if post.member_id != member.id:
        raise forbidden("Only its author can change a post", "not_author")
    if post.status not in ("visible", "pending"):
        raise not_found("Post")


def _reconsider(
    session: Session, workspace: Workspace, post: Post, settings: CommunitySettings, text: str
) -> None:
    """An edit is checked again: a visible post edited into what the filters catch
    waits for a moderator (a post waiting keeps waiting)."""
    member = CommunityRepository.from_session(session).member(workspace.id, post.member_id)
    assert member is not None
    decision = _decide(session, settings, member, text, post.body, editing=True)
    post.body = decision.body
    post.html = markdown.render(decision.body).html
    post.edited_at = utcnow()
    if post.status == "visible" and decision.status != "visible" and decision.held != "first_post":
        post.status, post.held = decision.status, decision.held
        unshown(session, workspace, post)


def edit_question(
    session: Session, workspace: Workspace, member: CommunityMember, question_id: uuid.UUID,
    *, title: str, body: str,
) -> CommunityQuestion:  # fmt: skip
    settings = _enabled(workspace)
    question = get_question(session, workspace.id, question_id, member)
    _own(member, question)
    question.title = _text(title, "title", 10, 200, "A question's title")
    question.body = _text(body, "body", 20, 20_000, "A question")
    if settings.profanity == "mask":
        question.title = checks.mask(question.title, settings.words)
    _reconsider(session, workspace, question, settings, f"{question.title}\n{question.body}")
    session.flush()
    return question


def edit_answer(
    session: Session, workspace: Workspace, member: CommunityMember, answer_id: uuid.UUID,
    *, body: str,
) -> CommunityAnswer:  # fmt: skip
    settings = _enabled(workspace)
    row, _question = get_answer(session, workspace.id, answer_id)
    _own(member, row)
    row.body = _text(body, "body", 10, 20_000, "An answer")
    _reconsider(session, workspace, row, settings, row.body)
    session.flush()
    return row


# --- votes --------------------------------------------------------------------------------


def _visible_post(session: Session, workspace: Workspace, kind: str, post_id: uuid.UUID) -> Post:
    repo = CommunityRepository.from_session(session)
    post: Post | None = (
        repo.question(workspace.id, post_id)
        if kind == "question"
        else repo.answer(workspace.id, post_id)
        if kind == "answer"
        else None
    )
    if post is None or post.status != "visible":
        raise not_found("Question" if kind == "question" else "Answer", field="post_id")
    return post


def vote(
    session: Session, workspace: Workspace, member: CommunityMember, kind: str,
    post_id: uuid.UUID, value: int,
) -> int:  # fmt: skip
    """A member's vote on a visible post (not their own): +1, -1, or 0 to take it back.
    Returns the post's score."""
    _enabled(workspace)
    _check_member(member)
    if value not in (-1, 0, 1):
        raise invalid("A vote is 1, -1 or 0", field="value")
    post = _visible_post(session, workspace, kind, post_id)
    if post.member_id == member.id:
        raise forbidden("You cannot vote on your own post", "own_post")
    repo = CommunityRepository.from_session(session)
    is_question = isinstance(post, CommunityQuestion)
    existing = (
        repo.vote_of(member.id, question_id=post.id)
        if is_question
        else repo.vote_of(member.id, answer_id=post.id)
    )
    before = existing.value if existing is not None else 0
    if before == value:
        return post.score
    if existing is None:
        session.add(
            CommunityVote(
                id=new_id(),
                workspace_id=workspace.id,
                member_id=member.id,
                question_id=post.id if is_question else None,
                answer_id=None if is_question else post.id,
                value=value,
                at=utcnow(),
            )
        )
    elif value == 0:
        session.delete(existing)
    else:
        existing.value = value
        existing.at = utcnow()
    post.score += value - before
    author = repo.member(workspace.id, post.member_id)
    if author is not None:
        up = UP_QUESTION if is_question else UP_ANSWER

        def worth(v: int) -> int:
            return up if v > 0 else DOWN if v < 0 else 0

        author.reputation += worth(value) - worth(before)
    session.flush()
    return post.score


# --- accepting ----------------------------------------------------------------------------


def may_moderate(actor: Principal | None, workspace_id: uuid.UUID) -> bool:
    """A moderator: a user or token of this workspace that may write the knowledge base
    (agents and admins)."""
    return (
        actor is not None
        and actor.workspace_id == workspace_id
        and actor.has(Scope.KNOWLEDGE_WRITE)
    )


def accept(
    session: Session,
    workspace: Workspace,
    answer_id: uuid.UUID,
    *,
    member: CommunityMember | None = None,
    actor: Principal | None = None,
    accepted: bool = True,
) -> CommunityQuestion:
    """The asker (``member``) or a moderator (``actor``) accepts an answer (another one
    accepted before is no longer), or takes the acceptance back."""
    row, question = get_answer(session, workspace.id, answer_id)
    moderator = may_moderate(actor, workspace.id)
    if not moderator:
        if member is None or member.workspace_id != workspace.id:
            raise forbidden("Only the asker or a moderator can accept an answer", "not_asker")
        _check_member(member)
        if question.member_id != member.id:
            raise forbidden("Only the asker or a moderator can accept an answer", "not_asker")
    if row.status != "visible" or question.status != "visible":
        raise invalid(
            "Only a visible answer can be accepted", field="answer_id", code="not_visible"
        )
    if not accepted:
        if question.accepted_answer_id == row.id:
            _unaccept(session, workspace, question, row)
        session.flush()
        return question
    if question.accepted_answer_id == row.id:
        return question
    if question.accepted_answer_id is not None:
        previous = CommunityRepository.from_session(session).answer(
            workspace.id, question.accepted_answer_id
        )
        if previous is not None:
            _unaccept(session, workspace, question, previous)
    question.accepted_answer_id = row.id
    question.last_activity_at = utcnow()
    row.accepted = True
    author = CommunityRepository.from_session(session).member(workspace.id, row.member_id)
    if author is not None:
        author.accepted += 1
        if author.id != question.member_id:
            author.reputation += ACCEPTED
        timeline.accepted(session, workspace, author, question, row)
    session.flush()
    return question


def _unaccept(
    session: Session, workspace: Workspace, question: CommunityQuestion, row: CommunityAnswer
) -> None:
    question.accepted_answer_id = None
    row.accepted = False
    author = CommunityRepository.from_session(session).member(workspace.id, row.member_id)
    if author is not None:
        author.accepted = max(0, author.accepted - 1)
        if author.id != question.member_id:
            author.reputation -= ACCEPTED


# --- reports ------------------------------------------------------------------------------


def report(
    session: Session, workspace: Workspace, member: CommunityMember, kind: str,
    post_id: uuid.UUID, reason: str, note: str | None = None,
) -> CommunityFlag:  # fmt: skip
    """A member reports a visible post to the moderators (once per post)."""
    _enabled(workspace)
    _check_member(member)
    if reason not in REPORT_REASONS:
        raise invalid(f"reason must be one of {', '.join(REPORT_REASONS)}", field="reason")
    post = _visible_post(session, workspace, kind, post_id)
    repo = CommunityRepository.from_session(session)
    is_question = isinstance(post, CommunityQuestion)
    question_id = post.id if is_question else None
    answer_id = None if is_question else post.id
    found = repo.flag_of(member.id, question_id, answer_id)
    if found is not None:
        return found
    flag = CommunityFlag(
        id=new_id(),
        workspace_id=workspace.id,
        member_id=member.id,
        question_id=question_id,
        answer_id=answer_id,
        reason=reason,
        note=(note or "").strip()[:500] or None,
        created_at=utcnow(),
    )
    session.add(flag)
    session.flush()
    return flag


# --- reading ------------------------------------------------------------------------------


@dataclass
class QuestionList:
    questions: list[CommunityQuestion]
    members: dict[uuid.UUID, CommunityMember]
    total: int
    page: int
    pages: int


def list_questions(
    session: Session, workspace: Workspace, *, q: str = "", unanswered: bool = False,
    page: int = 1, per_page: int = 20,
) -> QuestionList:  # fmt: skip
    _enabled(workspace)
    repo = CommunityRepository.from_session(session)
    words = [w for w in q.split() if len(w) > 1][:8]
    total = repo.count_questions(workspace.id, words=words, unanswered=unanswered)
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    found = repo.questions(
        workspace.id, words=words, unanswered=unanswered, limit=per_page,
        offset=(page - 1) * per_page,
    )  # fmt: skip
    return QuestionList(found, repo.members({x.member_id for x in found}), total, page, pages)


@dataclass
class QuestionPage:
    question: CommunityQuestion
    asker: CommunityMember | None
    answers: list[CommunityAnswer]
    members: dict[uuid.UUID, CommunityMember]
    my_votes: dict[uuid.UUID, int] = field(default_factory=dict)
    can_accept: bool = False


def question_page(
    session: Session, workspace: Workspace, question_id: uuid.UUID,
    viewer: CommunityMember | None = None,
) -> QuestionPage:  # fmt: skip
    """A question with the answers a reader may see (visible ones, and the viewer's own
    while they wait), the accepted one first, then by score."""
    _enabled(workspace)
    question = get_question(session, workspace.id, question_id, viewer)
    repo = CommunityRepository.from_session(session)
    answers = [
        a
        for a in repo.answers_of(question.id)
        if a.status == "visible"
        or (viewer is not None and a.member_id == viewer.id and a.status == "pending")
    ]
    answers.sort(key=lambda a: (not a.accepted, -a.score, a.created_at))
    members = repo.members({question.member_id, *(a.member_id for a in answers)})
    votes = repo.votes_on(viewer.id, question.id, [a.id for a in answers]) if viewer else {}
    return QuestionPage(
        question=question,
        asker=members.get(question.member_id),
        answers=answers,
        members=members,
        my_votes=votes,
        can_accept=viewer is not None
        and viewer.id == question.member_id
        and not viewer.banned
        and question.status == "visible",
    )


@dataclass
class MemberProfile:
    member: CommunityMember
    answers: list[tuple[CommunityAnswer, CommunityQuestion]]


def member_profile(
    session: Session, workspace: Workspace, member_id: uuid.UUID, limit: int = 10
) -> MemberProfile:
    """A member's public standing: their name, questions, answers, accepted answers and
    reputation, and their latest answers to visible questions."""
    _enabled(workspace)
    repo = CommunityRepository.from_session(session)
    member = repo.member(workspace.id, member_id)
    if member is None or member.banned:
        raise not_found("Member", field="member_id")
    answers = repo.recent_answers_of(member.id, limit)
    questions = repo.questions_by_id({a.question_id for a in answers})
    return MemberProfile(
        member,
        [
            (a, questions[a.question_id])
            for a in answers
            if a.question_id in questions and questions[a.question_id].status == "visible"
        ],
    )
