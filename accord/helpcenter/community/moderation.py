"""The moderators' side: the queue (posts waiting for approval, posts caught as spam,
reports of visible posts), approving, rejecting, hiding and restoring a post, and
turning an accepted answer into a draft article of the knowledge base in one step.
A moderator is a user or token of the workspace with ``knowledge:write``. Every action
is audited; services flush, never commit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.access.scopes import Scope
from accord.govern.audit import service as audit
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter import service as knowledge
from accord.helpcenter.community import posts
from accord.helpcenter.community.models import (
    CommunityAnswer,
    CommunityFlag,
    CommunityMember,
    CommunityQuestion,
)
from accord.helpcenter.community.repository import CommunityRepository
from accord.helpcenter.schemas import ArticleIn
from accord.kit.errors import conflict, invalid, not_found
from accord.kit.time import utcnow

# What each action makes of a post's status.
ACTIONS = {"approve": "visible", "reject": "hidden", "spam": "spam", "hide": "hidden",
           "restore": "visible"}  # fmt: skip
KINDS = ("question", "answer")


@dataclass
class QueueItem:
    kind: str  # question or answer
    post: CommunityQuestion | CommunityAnswer
    question: CommunityQuestion
    member: CommunityMember | None
    flags: list[CommunityFlag]


@dataclass
class Queue:
    pending: list[QueueItem]
    spam: list[QueueItem]
    reported: list[QueueItem]

    @property
    def count(self) -> int:
        return len(self.pending) + len(self.reported)


def _post(
    session: Session, workspace_id: uuid.UUID, kind: str, post_id: uuid.UUID
) -> tuple[CommunityQuestion | CommunityAnswer, CommunityQuestion]:
    repo = CommunityRepository.from_session(session)
    if kind == "question":
        question = repo.question(workspace_id, post_id)
        if question is None:
            raise not_found("Question", field="post_id")
        return question, question
    if kind == "answer":
        answer = repo.answer(workspace_id, post_id)
        if answer is not None:
            question = repo.question(workspace_id, answer.question_id)
            if question is not None:
                return answer, question
        raise not_found("Answer", field="post_id")
    raise invalid("kind must be question or answer", field="kind")


def queue(session: Session, workspace_id: uuid.UUID, limit: int = 100) -> Queue:
    repo = CommunityRepository.from_session(session)
    questions = repo.held_questions(workspace_id, ("pending", "spam"), limit)
    answers = repo.held_answers(workspace_id, ("pending", "spam"), limit)
    flags = repo.open_flags(workspace_id, limit * 3)
    flagged_answers = repo.answers_by_id({f.answer_id for f in flags if f.answer_id})
    parents = repo.questions_by_id(
        {a.question_id for a in [*answers, *flagged_answers.values()]}
        | {f.question_id for f in flags if f.question_id}
    )
    members = repo.members(
        {q.member_id for q in [*questions, *parents.values()]}
        | {a.member_id for a in [*answers, *flagged_answers.values()]}
    )
    held: list[QueueItem] = []
    for q in questions:
        held.append(QueueItem("question", q, q, members.get(q.member_id), []))
    for a in answers:
        if a.question_id in parents:
            held.append(
                QueueItem("answer", a, parents[a.question_id], members.get(a.member_id), [])
            )
    held.sort(key=lambda i: i.post.created_at)
    by_post: dict[uuid.UUID, QueueItem] = {}
    for f in flags:
        post_id = f.question_id or f.answer_id
        if post_id is None:
            continue
        if post_id not in by_post:
            if f.question_id and f.question_id in parents:
                q = parents[f.question_id]
                by_post[post_id] = QueueItem("question", q, q, members.get(q.member_id), [])
            elif f.answer_id and f.answer_id in flagged_answers:
                a = flagged_answers[f.answer_id]
                if a.question_id not in parents:
                    continue
                item = QueueItem("answer", a, parents[a.question_id], members.get(a.member_id), [])
                by_post[post_id] = item
            else:
                continue
        by_post[post_id].flags.append(f)
    reported = [i for i in by_post.values() if i.post.status == "visible"]
    return Queue(
        pending=[i for i in held if i.post.status == "pending"],
        spam=[i for i in held if i.post.status == "spam"],
        reported=reported,
    )


def moderate(
    session: Session, actor: Principal, kind: str, post_id: uuid.UUID, action: str
) -> CommunityQuestion | CommunityAnswer:
    """``approve`` (a waiting post or spam becomes visible), ``reject`` (hidden),
    ``spam``, ``hide`` (a visible post) or ``restore`` (a hidden one); the reports of
    the post are resolved."""
    actor.require(Scope.KNOWLEDGE_WRITE)
    if action not in ACTIONS:
        raise invalid(f"action must be one of {', '.join(ACTIONS)}", field="action")
    workspace = get_workspace(session, actor.workspace_id)
    post, _question = _post(session, workspace.id, kind, post_id)
    before, after = post.status, ACTIONS[action]
    if before != after:
        post.status = after
        post.held = None if after == "visible" else post.held
        if after == "visible":
            posts.shown(session, workspace, post)
        elif before == "visible":
            posts.unshown(session, workspace, post)
    repo = CommunityRepository.from_session(session)
    repo.resolve_flags(
        post.id if kind == "question" else None, post.id if kind == "answer" else None, utcnow()
    )
    session.flush()
    audit.record(
        session,
        actor,
        f"community.{kind}.{action}",
        target=str(post.id),
        data={"from": before, "to": after},
    )
    return post


def accept(
    session: Session, actor: Principal, answer_id: uuid.UUID, *, accepted: bool = True
) -> CommunityQuestion:
    actor.require(Scope.KNOWLEDGE_WRITE)
    workspace = get_workspace(session, actor.workspace_id)
    question = posts.accept(session, workspace, answer_id, actor=actor, accepted=accepted)
    audit.record(
        session,
        actor,
        "community.answer.accept" if accepted else "community.answer.unaccept",
        target=str(answer_id),
    )
    return question


def to_article(session: Session, actor: Principal, answer_id: uuid.UUID) -> knowledge.ArticleView:
    """An accepted answer becomes a draft article in the question's language and
    category: the question as its title, the answer as its text, the moderator its owner.
    Once per question (409 ``article_exists`` after that)."""
    actor.require(Scope.KNOWLEDGE_WRITE)
    workspace = get_workspace(session, actor.workspace_id)
    answer, question = _post(session, workspace.id, "answer", answer_id)
    assert isinstance(answer, CommunityAnswer)
    if not answer.accepted or question.accepted_answer_id != answer.id:
        raise invalid(
            "Only the accepted answer can become an article",
            field="answer_id",
            code="not_accepted",
        )
    if question.article_id is not None:
        raise conflict(
            "An article was already made from this question",
            field="answer_id",
            code="article_exists",
        )
    locales = knowledge.settings_of(workspace).locales
    body = f"{answer.body.strip()}\n"
    view = knowledge.create_article(
        session,
        actor,
        ArticleIn(
            title=question.title[:300],
            summary=None,
            body=body,
            locale=question.locale if question.locale in locales else None,
            category_id=question.category_id,
            owner_id=actor.user_id if actor.kind == "user" else None,
            visibility="public",
            status="draft",
        ),
    )
    question.article_id = view.article.id
    session.flush()
    audit.record(
        session,
        actor,
        "community.answer.article",
        target=str(answer.id),
        data={"article_id": str(view.article.id)},
    )
    return view


@dataclass(frozen=True)
class Standing:
    """A person's part in the community, over every member with one of their emails."""

    members: list[CommunityMember]
    questions: int
    answers: int
    accepted: int
    reputation: int
    banned: bool


def standing(session: Session, workspace_id: uuid.UUID, emails: list[str]) -> Standing | None:
    found = CommunityRepository.from_session(session).members_by_email(
        workspace_id, {e.strip().lower() for e in emails if e}
    )
    if not found:
        return None
    return Standing(
        members=found,
        questions=sum(m.questions for m in found),
        answers=sum(m.answers for m in found),
        accepted=sum(m.accepted for m in found),
        reputation=sum(m.reputation for m in found),
        banned=any(m.banned for m in found),
    )


def workspace_of(session: Session, workspace_id: uuid.UUID) -> Workspace:
    return get_workspace(session, workspace_id)


@dataclass
class QuestionDetail:
    question: CommunityQuestion
    answers: list[CommunityAnswer]
    members: dict[uuid.UUID, CommunityMember]


def question_detail(
    session: Session, workspace_id: uuid.UUID, question_id: uuid.UUID
) -> QuestionDetail:
    """A question with every answer whatever its state, for the moderators."""
    repo = CommunityRepository.from_session(session)
    question = repo.question(workspace_id, question_id)
    if question is None:
        raise not_found("Question", field="question_id")
    answers = repo.answers_of(question.id)
    answers.sort(key=lambda a: (not a.accepted, -a.score, a.created_at))
    members = repo.members({question.member_id, *(a.member_id for a in answers)})
    return QuestionDetail(question, answers, members)


def latest_questions(
    session: Session, workspace_id: uuid.UUID, limit: int = 20
) -> tuple[list[CommunityQuestion], dict[uuid.UUID, CommunityMember]]:
    repo = CommunityRepository.from_session(session)
    found = repo.recent_questions(workspace_id, limit)
    return found, repo.members({q.member_id for q in found})
