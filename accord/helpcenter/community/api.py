"""/api/v1/help/community: moderation for agents and integrations (the queue, approving,
rejecting and hiding posts, accepting an answer, making an article of one, banning a
member) and the community's settings. Moderation takes ``knowledge:write``."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from accord.govern.access.deps import KnowledgeWriter, WorkspaceAdmin, WorkspaceReader
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter.community import members, moderation, posts
from accord.helpcenter.community.models import CommunityQuestion
from accord.helpcenter.community.settings import CommunitySettings, save_settings, settings_of
from accord.kit.deps import DbSession

router = APIRouter(prefix="/api/v1/help/community", tags=["help center community"])


class PostRead(BaseModel):
    kind: Literal["question", "answer"]
    id: uuid.UUID
    question_id: uuid.UUID
    question_title: str
    member_id: uuid.UUID
    member_name: str | None
    status: str
    held: str | None = Field(description="Why it waits: first_post, links, profanity, ...")
    body: str
    score: int
    created_at: datetime
    reports: list[str] = Field(default_factory=list, description="The reasons reported")


class QueueRead(BaseModel):
    pending: list[PostRead]
    spam: list[PostRead]
    reported: list[PostRead]


class ModerationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["approve", "reject", "spam", "hide", "restore"]


class AcceptIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accepted: bool = True


class BanIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    banned: bool = True


class QuestionStateRead(BaseModel):
    id: uuid.UUID
    status: str
    accepted_answer_id: uuid.UUID | None
    answer_count: int
    article_id: uuid.UUID | None


class MemberRead(BaseModel):
    id: uuid.UUID
    name: str
    banned: bool
    questions: int
    answers: int
    accepted: int
    reputation: int


class ArticleMadeRead(BaseModel):
    article_id: uuid.UUID
    slug: str
    locale: str
    status: str


def _read(item: moderation.QueueItem) -> PostRead:
    return PostRead(
        kind="question" if item.kind == "question" else "answer",
        id=item.post.id,
        question_id=item.question.id,
        question_title=item.question.title,
        member_id=item.post.member_id,
        member_name=item.member.name if item.member else None,
        status=item.post.status,
        held=item.post.held,
        body=item.post.body,
        score=item.post.score,
        created_at=item.post.created_at,
        reports=[f.reason for f in item.flags],
    )


def _state(question: CommunityQuestion) -> QuestionStateRead:
    return QuestionStateRead(
        id=question.id,
        status=question.status,
        accepted_answer_id=question.accepted_answer_id,
        answer_count=question.answer_count,
        article_id=question.article_id,
    )


@router.get("/queue", response_model=QueueRead, summary="Posts waiting, spam and reports")
def get_queue(session: DbSession, principal: KnowledgeWriter) -> QueueRead:
    found = moderation.queue(session, principal.workspace_id)
    return QueueRead(
        pending=[_read(i) for i in found.pending],
        spam=[_read(i) for i in found.spam],
        reported=[_read(i) for i in found.reported],
    )


@router.post(
    "/questions/{question_id}/moderation",
    response_model=QuestionStateRead,
    summary="Approve, reject, hide or restore a question",
)
def moderate_question(
    session: DbSession, principal: KnowledgeWriter, question_id: uuid.UUID, body: ModerationIn
) -> QuestionStateRead:
    post = moderation.moderate(session, principal, "question", question_id, body.action)
    assert isinstance(post, CommunityQuestion)
    return _state(post)


@router.post(
    "/answers/{answer_id}/moderation",
    response_model=PostRead,
    summary="Approve, reject, hide or restore an answer",
)
def moderate_answer(
    session: DbSession, principal: KnowledgeWriter, answer_id: uuid.UUID, body: ModerationIn
) -> PostRead:
    moderation.moderate(session, principal, "answer", answer_id, body.action)
    answer, question = posts.get_answer(session, principal.workspace_id, answer_id)
    member = members.get_member(session, principal.workspace_id, answer.member_id)
    return _read(moderation.QueueItem("answer", answer, question, member, []))


@router.post(
    "/answers/{answer_id}/accept",
    response_model=QuestionStateRead,
    summary="Accept an answer as a moderator (or take it back)",
)
def accept_answer(
    session: DbSession, principal: KnowledgeWriter, answer_id: uuid.UUID, body: AcceptIn
) -> QuestionStateRead:
    return _state(moderation.accept(session, principal, answer_id, accepted=body.accepted))


@router.post(
    "/answers/{answer_id}/article",
    response_model=ArticleMadeRead,
    status_code=201,
    summary="Make a draft article of the accepted answer",
)
def answer_to_article(
    session: DbSession, principal: KnowledgeWriter, answer_id: uuid.UUID
) -> ArticleMadeRead:
    view = moderation.to_article(session, principal, answer_id)
    translation = view.translations[0]
    return ArticleMadeRead(
        article_id=view.article.id,
        slug=view.article.slug,
        locale=translation.locale,
        status=translation.status,
    )


@router.post(
    "/members/{member_id}/ban", response_model=MemberRead, summary="Ban a member (or lift it)"
)
def ban_member(
    session: DbSession, principal: KnowledgeWriter, member_id: uuid.UUID, body: BanIn
) -> MemberRead:
    member = members.ban(session, principal, member_id, banned=body.banned)
    return MemberRead(
        id=member.id,
        name=member.name,
        banned=member.banned,
        questions=member.questions,
        answers=member.answers,
        accepted=member.accepted,
        reputation=member.reputation,
    )


@router.get("/settings", response_model=CommunitySettings, summary="The community's settings")
def get_settings(session: DbSession, principal: WorkspaceReader) -> CommunitySettings:
    return settings_of(get_workspace(session, principal.workspace_id))


@router.put("/settings", response_model=CommunitySettings, summary="Set the community's settings")
def put_settings(
    session: DbSession, principal: WorkspaceAdmin, body: CommunitySettings
) -> CommunitySettings:
    value, _version = save_settings(
        session, principal.workspace_id, body.model_dump(), actor=principal
    )
    return value
