"""Answers before an agent: the articles offered as a customer types their question in
the chat widget or the contact form, before any conversation exists, and what came of
them. "This answered my question" makes the visit deflected; a question sent anyway is
kept among the searches that led to a contact (with how many articles it found)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.helpcenter import reading, service, tracking
from accord.helpcenter.models import HelpVisit
from accord.helpcenter.reading import Found
from accord.kit.errors import not_found

SUGGESTIONS = 3
MIN_CHARS = 4
SOURCES = ("widget", "form")


@dataclass(frozen=True)
class Suggested:
    visit_id: uuid.UUID | None
    found: list[Found]


def suggest(
    session: Session,
    workspace: Workspace,
    question: str,
    *,
    reader: str,
    source: str,
    locale: str | None,
) -> Suggested:
    """The articles that may answer ``question`` (none while it is too short, or when
    the workspace turned suggestions off). Once one is offered, the reader's visit of
    ``source`` starts (or goes on), for the analytics."""
    settings = service.settings_of(workspace)
    if not (settings.enabled and settings.suggest) or len(question.strip()) < MIN_CHARS:
        return Suggested(None, [])
    found = reading.search(
        session, workspace, question, locale, typing=True, limit=SUGGESTIONS, record=False
    ).found
    visit_id = None
    if found and reader.strip():
        visit_id = tracking.visit(session, workspace.id, reader.strip(), source).id
    return Suggested(visit_id, found)


def outcome(
    session: Session,
    workspace: Workspace,
    visit_id: uuid.UUID,
    *,
    answered: bool,
    question: str = "",
    locale: str | None = None,
) -> None:
    """What the customer did after the suggestions of visit ``visit_id``."""
    visit = session.get(HelpVisit, visit_id)
    if visit is None or visit.workspace_id != workspace.id or visit.source not in SOURCES:
        raise not_found("Visit", field="visit")
    if answered:
        tracking.answered(session, visit)
        return
    if question.strip():
        reading.search(session, workspace, question, locale, source=visit.source, visit_id=visit.id)
        tracking.searched(session, visit)
    tracking.contacted(session, visit, None)
