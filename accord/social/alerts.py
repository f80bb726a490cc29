"""Telling the team when something is brewing: every minute each listening workspace's
last window is compared with its usual rate (``metrics.alert``). A new spike of volume or
of negative mentions is recorded once (``SocialAlert``), posted to the team's inbox as an
urgent conversation with the figures and the worst posts, and emailed to the addresses
the listening settings name (through the workspace's relay, each address asked of the
consent policy like any other email). When the window is quiet again the alert ends,
and a later spike raises a new one."""

from __future__ import annotations

import logging
import smtplib
import threading
import uuid
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from accord.channels import mailbox, mime
from accord.channels.email import transport
from accord.govern.consent.policy import may_contact
from accord.inbox import service as inbox_service
from accord.inbox.context import SYSTEM, InboxContext
from accord.inbox.intake import open_conversation
from accord.kit.signals import after_commit
from accord.kit.time import utcnow
from accord.social import metrics
from accord.social.models import Mention, SocialAlert
from accord.social.repository import AlertRepository, MentionRepository
from accord.social.settings import LISTENING

log = logging.getLogger(__name__)


def watch(session: Session, ctx: InboxContext, *, now: datetime | None = None) -> list[SocialAlert]:
    """Raise the workspace's new alerts and end the quiet ones; returns those raised."""
    now = now or utcnow()
    workspace = ctx.workspace
    current = {a.kind: a for a in metrics.alert(session, workspace, now=now)}
    repo = AlertRepository.from_session(session)
    going = repo.going(workspace.id)
    for kind, row in going.items():
        if kind not in current:
            row.ended_at = now
    raised: list[SocialAlert] = []
    settings = LISTENING.read(workspace).alerts
    for kind, alert in current.items():
        if kind in going:
            continue
        row = SocialAlert(
            id=uuid.uuid4(),
            workspace_id=workspace.id,
            kind=kind,
            message=alert.message[:500],
            mentions=alert.mentions,
            usual=alert.usual,
            negative_share=alert.negative_share,
            started_at=now,
            emailed=0,
        )
        session.add(row)
        worst = MentionRepository.from_session(session).worst_since(
            workspace.id, now - timedelta(minutes=settings.window_minutes), 5
        )
        row.conversation_id = _post(session, ctx, row, worst, now)
        row.emailed = _email(session, ctx, row, worst, settings.emails)
        raised.append(row)
    session.flush()
    return raised


def _details(row: SocialAlert, worst: list[Mention], base_url: str) -> str:
    lines = [
        f"{row.message}.",
        f"Negative share: {row.negative_share:.0%}; the usual rate for the window: "
        f"{row.usual:.1f} mentions.",
        "",
        "The most negative posts:" if worst else "",
    ]
    for m in worst:
        lines.append(
            f"- {m.author_handle} on {m.network} ({m.sentiment}, {m.followers or 0:,} "
            f"followers): {' '.join(m.text.split())[:200]}" + (f" {m.url}" if m.url else "")
        )
    lines += ["", f"The listening dashboard: {base_url}/social"]
    return "\n".join(line for line in lines if line is not None)


def _post(
    session: Session,
    ctx: InboxContext,
    row: SocialAlert,
    worst: list[Mention],
    now: datetime,
) -> uuid.UUID:
    """The alert as an urgent conversation in the team's inbox, its details a note."""
    conversation = open_conversation(
        session,
        ctx,
        channel="social",
        subject=f"Social alert: {row.message}"[:300],
        person=None,
        contact_name="Social listening",
        at=now,
        priority="urgent",
        tags=["social-alert", row.kind],
    )
    inbox_service.note(
        session, ctx, conversation, SYSTEM, _details(row, worst, ctx.base_url), at=now
    )
    return conversation.id


def _email(
    session: Session, ctx: InboxContext, row: SocialAlert, worst: list[Mention], to: list[str]
) -> int:
    """The alert by email to each address the policy allows, sent after commit; returns
    how many were asked to be sent (none without a relay)."""
    box = mailbox.of(ctx.workspace, ctx.secret_key)
    if box is None or box.relay is None or not to:
        return 0
    body = _details(row, worst, ctx.base_url)
    sends = []
    for address in to:
        decision = may_contact(session, ctx.workspace, None, "email", "service", address=address)
        if not decision.allowed:
            log.info("social alert not emailed to %s: %s", address, decision.reason)
            continue
        email = mime.build(
            from_address=box.address,
            from_name=box.name,
            to=address,
            subject=f"Social alert: {row.message}"[:200],
            body=body,
            message_id=mime.new_message_id(box.domain),
            in_reply_to=None,
            references=[],
            at=utcnow(),
            automatic=True,
        )
        sends.append((address, email, decision.permit()))

    def run() -> None:
        for address, email, permit in sends:
            try:
                transport(box, email, address, permit)
            except (OSError, smtplib.SMTPException, RuntimeError):
                log.exception("the social alert to %s could not be sent", address)

    if sends:
        after_commit(
            session,
            lambda: threading.Thread(target=run, name="accord-social-alert", daemon=True).start(),
        )
    return len(sends)
