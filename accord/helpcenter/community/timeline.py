"""Community activity on the person's timeline: ``Question Asked``, ``Answer Posted``
and ``Answer Accepted`` (the answerer's answer was accepted) go through the collection
service like any event, naming the member by their email, so resolution puts them on
the timeline of the person with that email. Sent when a post becomes visible (at once,
or when a moderator approves it): what waits or is rejected is not activity."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from accord.collect import service as collect
from accord.govern.workspaces.models import Workspace
from accord.helpcenter.community.members import community_path
from accord.helpcenter.community.models import CommunityAnswer, CommunityMember, CommunityQuestion
from accord.kit.time import utcnow

SOURCE = "accord-community"
QUESTION_ASKED = "Question Asked"
ANSWER_POSTED = "Answer Posted"
ANSWER_ACCEPTED = "Answer Accepted"


def _send(
    session: Session,
    workspace: Workspace,
    member: CommunityMember,
    event: str,
    message_id: str,
    properties: dict[str, Any],
) -> None:
    now = utcnow()
    message: dict[str, Any] = {
        "type": "track",
        "event": event,
        "messageId": message_id,
        "timestamp": now.isoformat(),
        "properties": properties,
        "context": {"channel": "web", "traits": {"email": member.email}},
    }
    collect.accept(
        session,
        workspace_id=workspace.id,
        source=SOURCE,
        region=workspace.default_region,
        messages=[message],
        received_at=now,
        field_prefix="",
        require_sender=False,
    )


def _url(workspace: Workspace, question: CommunityQuestion) -> str:
    return f"{community_path(workspace)}/questions/{question.id}"


def asked(
    session: Session, workspace: Workspace, member: CommunityMember, question: CommunityQuestion
) -> None:
    _send(
        session,
        workspace,
        member,
        QUESTION_ASKED,
        f"community-question-{question.id}",
        {
            "question_id": str(question.id),
            "title": question.title,
            "url": _url(workspace, question),
        },
    )


def answered(
    session: Session,
    workspace: Workspace,
    member: CommunityMember,
    question: CommunityQuestion,
    answer: CommunityAnswer,
) -> None:
    _send(
        session,
        workspace,
        member,
        ANSWER_POSTED,
        f"community-answer-{answer.id}",
        {
            "question_id": str(question.id),
            "answer_id": str(answer.id),
            "title": question.title,
            "url": _url(workspace, question),
        },
    )


def accepted(
    session: Session,
    workspace: Workspace,
    member: CommunityMember,
    question: CommunityQuestion,
    answer: CommunityAnswer,
) -> None:
    # One event per acceptance of this answer (accepted again after a change: the same).
    _send(
        session,
        workspace,
        member,
        ANSWER_ACCEPTED,
        f"community-accepted-{answer.id}",
        {
            "question_id": str(question.id),
            "answer_id": str(answer.id),
            "title": question.title,
            "url": _url(workspace, question),
        },
    )
