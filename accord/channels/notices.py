"""Email that belongs to no conversation: the double opt-in confirmation today. Sent
from the workspace's support mailbox through its relay after the commit that asked for
it, and only with a permit from the consent policy."""

from __future__ import annotations

import logging
import smtplib
import threading

from sqlalchemy.orm import Session

from accord.channels import mailbox, mime
from accord.channels.email import transport
from accord.customers.preferences import confirm_url, preference_url
from accord.govern.consent.models import ConsentRecord
from accord.govern.consent.policy import may_contact
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import AccordError
from accord.kit.signals import after_commit
from accord.kit.time import utcnow
from accord.profile.models import Profile

log = logging.getLogger(__name__)


def send_confirmation(
    session: Session,
    workspace: Workspace,
    person: Profile,
    pending: ConsentRecord,
    *,
    to: str,
    secret_key: str,
    base_url: str,
) -> None:
    """Ask the customer to confirm a grant of email marketing (double opt-in): one email
    with the confirmation link, sent after commit. A service message: it is refused only
    when the address is suppressed or the customer asked not to be contacted at all."""
    box = mailbox.of(workspace, secret_key)
    if box is None or box.relay is None:
        raise AccordError(
            "This workspace has no outbound email set up, so the confirmation cannot be sent",
            code="mail_not_configured",
            status=503,
        )
    permit = may_contact(session, workspace, person, "email", "service", address=to).permit()
    link = confirm_url(base_url, secret_key, pending)
    prefs = preference_url(base_url, secret_key, workspace.id, person.id)
    body = (
        f"You asked to receive news and offers from {box.name} by email.\n\n"
        f"Please confirm by opening this link:\n\n{link}\n\n"
        "If you did not ask for this, ignore this email: nothing will be sent to you.\n\n"
        f"Your preferences: {prefs}\n"
    )
    email = mime.build(
        from_address=box.address,
        from_name=box.name,
        to=to,
        subject=f"Please confirm your subscription to {box.name}",
        body=body,
        message_id=mime.new_message_id(box.domain),
        in_reply_to=None,
        references=[],
        at=utcnow(),
        automatic=True,
    )

    def run() -> None:
        try:
            transport(box, email, to, permit)
        except (OSError, smtplib.SMTPException, RuntimeError):
            log.exception("the opt-in confirmation to %s could not be sent", to)

    after_commit(
        session, lambda: threading.Thread(target=run, name="accord-notice", daemon=True).start()
    )
