"""Text messages of campaigns and journeys: a text as a person gets it (its template,
and for anything but a service message how to opt out), and the SMS provider as the
send queue's transport, each text carrying the address of its send's delivery receipt."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from accord.channels import sms
from accord.govern.consent.policy import Permit

if TYPE_CHECKING:
    from accord.outreach.sending import Job


# How a promotional text says how to stop them (added unless the text says it itself).
STOP_LINE = "Reply STOP to opt out"


def render_text(job: Job, context: dict[str, Any]) -> str:
    """A text message for a person: its template, and for anything but a service message
    how to opt out."""
    text = job.compiled.render(context).text.strip()
    if job.campaign.purpose != "service" and "STOP" not in text.upper():
        text = f"{text}\n{STOP_LINE}"
    return text


class Texts:
    """The SMS provider as a campaign's transport: each text reports its receipt to the
    send it is for."""

    def __init__(self, job: Job) -> None:
        assert job.provider is not None
        self.client = job.deployment.texter(job.provider)
        self.base_url = job.deployment.base_url
        self.workspace_id = job.workspace.id

    def hand_over(self, permit: Permit, to: str, text: str, send_id: uuid.UUID) -> str:
        """Text one person; returns the provider's id of the message."""
        receipt = sms.receipt_url(self.base_url, self.workspace_id, "send", send_id)
        handed = self.client.hand_over(permit, to, text, status_callback=receipt)
        return f"sms:{handed.sid}"

    def close(self) -> None:
        self.client.close()
