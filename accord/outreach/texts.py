"""Text messages of campaigns and journeys: a text as a person gets it (its template,
and for anything but a service message how to opt out), and the SMS provider as the
send queue's transport, each text carrying the address of its send's delivery receipt."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from accord.channels import sms
from accord.govern.consent.policy import Permit
from accord.outreach.templates import Compiled

# How a promotional text says how to stop them (added unless the text says it itself).
STOP_LINE = "Reply STOP to opt out"


def render_text(compiled: Compiled, purpose: str, context: dict[str, Any]) -> str:
    """A text message for a person: its template, and for anything but a service message
    how to opt out."""
    text = compiled.render(context).text.strip()
    if purpose != "service" and "STOP" not in text.upper():
        text = f"{text}\n{STOP_LINE}"
    return text


class Texts:
    """The SMS provider as a campaign's transport: each text reports its receipt to the
    send it is for."""

    def __init__(
        self,
        provider: sms.Provider,
        texter: Callable[[sms.Provider], sms.SmsClient],
        base_url: str,
        workspace_id: uuid.UUID,
    ) -> None:
        self.client = texter(provider)
        self.base_url = base_url
        self.workspace_id = workspace_id

    def hand_over(self, permit: Permit, to: str, text: str, send_id: uuid.UUID) -> str:
        """Text one person; returns the provider's id of the message."""
        receipt = sms.receipt_url(self.base_url, self.workspace_id, "send", send_id)
        handed = self.client.hand_over(permit, to, text, status_callback=receipt)
        return f"sms:{handed.sid}"

    def close(self) -> None:
        self.client.close()
