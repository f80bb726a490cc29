"""The community's SQL: members, sign-in links and sessions, questions and answers with
their authors, votes, reports and the moderation queue."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from accord.helpcenter.community.models import (
    CommunityAnswer,
    CommunityFlag,
    CommunityLink,
    CommunityMember,
    CommunityQuestion,
    CommunitySession,
    CommunityVote,
)
from accord.kit.repository import Repository


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CommunityRepository(Repository):
    # --- members, links and sessions ------------------------------------------------------

    def member(self, workspace_id: uuid.UUID, member_id: uuid.UUID) -> CommunityMember | None:
        found = self.session.get(CommunityMember, member_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    def member_by_email(self, workspace_id: uuid.UUID, email: str) -> CommunityMember | None:
        return self.session.scalars(
            select(CommunityMember).where(
                CommunityMember.workspace_id == workspace_id, CommunityMember.email == email
            )
        ).first()

    def members_by_email(
        self, workspace_id: uuid.UUID, emails: Collection[str]
    ) -> list[CommunityMember]:
        if not emails:
            return []
        stmt = select(CommunityMember).where(
            CommunityMember.workspace_id == workspace_id,
            CommunityMember.email.in_(list(emails)),
        )
        return list(self.session.scalars(stmt))

    def members(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CommunityMember]:
        if not ids:
            return {}
        rows = self.session.scalars(
            select(CommunityMember).where(CommunityMember.id.in_(list(ids)))
        )
        return {m.id: m for m in rows}

    def links_since(
        self, workspace_id: uuid.UUID, since: datetime, *, email: str | None = None,
        ip: str | None = None,
    ) -> int:  # fmt: skip
        stmt = select(func.count()).where(
            CommunityLink.workspace_id == workspace_id, CommunityLink.created_at >= since
        )
        if email is not None:
            stmt = stmt.where(CommunityLink.email == email)
        if ip is not None:
            stmt = stmt.where(CommunityLink.ip == ip)
        return int(self.session.scalar(stmt) or 0)

    def link_by_hash(self, workspace_id: uuid.UUID, token_hash: str) -> CommunityLink | None:
        return self.session.scalars(
            select(CommunityLink).where(
                CommunityLink.workspace_id == workspace_id,
                CommunityLink.token_hash == token_hash,
            )
        ).first()

    def claim_link(self, link_id: uuid.UUID, now: datetime) -> bool:
        """Mark the link used, if no one did first (one use, even for two clicks at once)."""
        result = self.session.execute(
            update(CommunityLink)
            .where(CommunityLink.id == link_id, CommunityLink.used_at.is_(None))
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0) == 1)

    def session_by_hash(
        self, workspace_id: uuid.UUID, token_hash: str
    ) -> tuple[CommunitySession, CommunityMember] | None:
        stmt = (
            select(CommunitySession, CommunityMember)
            .join(CommunityMember, CommunityMember.id == CommunitySession.member_id)
            .where(
                CommunitySession.workspace_id == workspace_id,
                CommunitySession.token_hash == token_hash,
            )
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1]) if row is not None else None

    def sessions_of(self, member_id: uuid.UUID) -> list[CommunitySession]:
        return list(
            self.session.scalars(
                select(CommunitySession).where(CommunitySession.member_id == member_id)
            )
        )

    # --- posts ----------------------------------------------------------------------------

    def question(self, workspace_id: uuid.UUID, question_id: uuid.UUID) -> CommunityQuestion | None:
        found = self.session.get(CommunityQuestion, question_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    def answer(self, workspace_id: uuid.UUID, answer_id: uuid.UUID) -> CommunityAnswer | None:
        found = self.session.get(CommunityAnswer, answer_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    def _listed(
        self, workspace_id: uuid.UUID, words: Sequence[str], unanswered: bool
    ) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [
            CommunityQuestion.workspace_id == workspace_id,
            CommunityQuestion.status == "visible",
        ]
        for word in words:
            pattern = _like(word)
            where.append(
                or_(
                    CommunityQuestion.title.ilike(pattern, escape="\\"),
                    CommunityQuestion.body.ilike(pattern, escape="\\"),
                )
            )
        if unanswered:
            where.append(CommunityQuestion.answer_count == 0)
        return where

    def questions(
        self,
        workspace_id: uuid.UUID,
        *,
        words: Sequence[str] = (),
        unanswered: bool = False,
        limit: int = 20,
        offset: int = 0,
    ) -> list[CommunityQuestion]:
        stmt = (
            select(CommunityQuestion)
            .where(*self._listed(workspace_id, words, unanswered))
            .order_by(CommunityQuestion.last_activity_at.desc(), CommunityQuestion.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(stmt))

    def count_questions(
        self, workspace_id: uuid.UUID, *, words: Sequence[str] = (), unanswered: bool = False
    ) -> int:
        stmt = select(func.count()).where(*self._listed(workspace_id, words, unanswered))
        return int(self.session.scalar(stmt) or 0)

    def answers_of(self, question_id: uuid.UUID) -> list[CommunityAnswer]:
        stmt = (
            select(CommunityAnswer)
            .where(CommunityAnswer.question_id == question_id)
            .order_by(CommunityAnswer.created_at, CommunityAnswer.id)
        )
        return list(self.session.scalars(stmt))

    def count_visible_answers(self, question_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(
            CommunityAnswer.question_id == question_id, CommunityAnswer.status == "visible"
        )
        return int(self.session.scalar(stmt) or 0)

    def posts_since(self, member_id: uuid.UUID, since: datetime) -> int:
        questions = select(func.count()).where(
            CommunityQuestion.member_id == member_id, CommunityQuestion.created_at >= since
        )
        answers = select(func.count()).where(
            CommunityAnswer.member_id == member_id, CommunityAnswer.created_at >= since
        )
        return int(self.session.scalar(questions) or 0) + int(self.session.scalar(answers) or 0)

    def bodies_since(self, member_id: uuid.UUID, since: datetime) -> list[str]:
        questions = select(CommunityQuestion.body).where(
            CommunityQuestion.member_id == member_id, CommunityQuestion.created_at >= since
        )
        answers = select(CommunityAnswer.body).where(
            CommunityAnswer.member_id == member_id, CommunityAnswer.created_at >= since
        )
        return [*self.session.scalars(questions), *self.session.scalars(answers)]

    def recent_answers_of(self, member_id: uuid.UUID, limit: int) -> list[CommunityAnswer]:
        stmt = (
            select(CommunityAnswer)
            .where(CommunityAnswer.member_id == member_id, CommunityAnswer.status == "visible")
            .order_by(CommunityAnswer.created_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def questions_by_id(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CommunityQuestion]:
        if not ids:
            return {}
        rows = self.session.scalars(
            select(CommunityQuestion).where(CommunityQuestion.id.in_(list(ids)))
        )
        return {q.id: q for q in rows}

    def pending_of(
        self, member_id: uuid.UUID
    ) -> tuple[list[CommunityQuestion], list[CommunityAnswer]]:
        held = ("pending",)
        questions = select(CommunityQuestion).where(
            CommunityQuestion.member_id == member_id, CommunityQuestion.status.in_(held)
        )
        answers = select(CommunityAnswer).where(
            CommunityAnswer.member_id == member_id, CommunityAnswer.status.in_(held)
        )
        return list(self.session.scalars(questions)), list(self.session.scalars(answers))

    # --- votes and reports ----------------------------------------------------------------

    def vote_of(
        self, member_id: uuid.UUID, *, question_id: uuid.UUID | None = None,
        answer_id: uuid.UUID | None = None,
    ) -> CommunityVote | None:  # fmt: skip
        stmt = select(CommunityVote).where(CommunityVote.member_id == member_id)
        if question_id is not None:
            stmt = stmt.where(CommunityVote.question_id == question_id)
        else:
            stmt = stmt.where(CommunityVote.answer_id == answer_id)
        return self.session.scalars(stmt).first()

    def votes_on(
        self, member_id: uuid.UUID, question_id: uuid.UUID, answer_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        """The member's votes on a question and its answers: post id -> +1 or -1."""
        conditions = [CommunityVote.question_id == question_id]
        if answer_ids:
            conditions.append(CommunityVote.answer_id.in_(list(answer_ids)))
        stmt = select(CommunityVote).where(CommunityVote.member_id == member_id, or_(*conditions))
        out = {}
        for vote in self.session.scalars(stmt):
            post = vote.question_id or vote.answer_id
            if post is not None:
                out[post] = vote.value
        return out

    def flag_of(
        self, member_id: uuid.UUID, question_id: uuid.UUID | None, answer_id: uuid.UUID | None
    ) -> CommunityFlag | None:
        stmt = select(CommunityFlag).where(CommunityFlag.member_id == member_id)
        if question_id is not None:
            stmt = stmt.where(CommunityFlag.question_id == question_id)
        else:
            stmt = stmt.where(CommunityFlag.answer_id == answer_id)
        return self.session.scalars(stmt).first()

    def resolve_flags(
        self, question_id: uuid.UUID | None, answer_id: uuid.UUID | None, now: datetime
    ) -> None:
        post = (
            CommunityFlag.question_id == question_id
            if question_id is not None
            else CommunityFlag.answer_id == answer_id
        )
        self.session.execute(
            update(CommunityFlag)
            .where(post, CommunityFlag.resolved_at.is_(None))
            .values(resolved_at=now)
            .execution_options(synchronize_session=False)
        )

    # --- the moderation queue -------------------------------------------------------------

    def held_questions(
        self, workspace_id: uuid.UUID, statuses: Sequence[str], limit: int
    ) -> list[CommunityQuestion]:
        stmt = (
            select(CommunityQuestion)
            .where(
                CommunityQuestion.workspace_id == workspace_id,
                CommunityQuestion.status.in_(list(statuses)),
            )
            .order_by(CommunityQuestion.created_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def held_answers(
        self, workspace_id: uuid.UUID, statuses: Sequence[str], limit: int
    ) -> list[CommunityAnswer]:
        stmt = (
            select(CommunityAnswer)
            .where(
                CommunityAnswer.workspace_id == workspace_id,
                CommunityAnswer.status.in_(list(statuses)),
            )
            .order_by(CommunityAnswer.created_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def open_flags(self, workspace_id: uuid.UUID, limit: int) -> list[CommunityFlag]:
        stmt = (
            select(CommunityFlag)
            .where(CommunityFlag.workspace_id == workspace_id, CommunityFlag.resolved_at.is_(None))
            .order_by(CommunityFlag.created_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def answers_by_id(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, CommunityAnswer]:
        if not ids:
            return {}
        rows = self.session.scalars(
            select(CommunityAnswer).where(CommunityAnswer.id.in_(list(ids)))
        )
        return {a.id: a for a in rows}

    def recent_questions(self, workspace_id: uuid.UUID, limit: int) -> list[CommunityQuestion]:
        stmt = (
            select(CommunityQuestion)
            .where(
                CommunityQuestion.workspace_id == workspace_id,
                and_(CommunityQuestion.status == "visible"),
            )
            .order_by(CommunityQuestion.last_activity_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))
