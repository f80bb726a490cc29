"""The campaign composer's draft: the form's strings and the campaign's fields, one from
the other; each refusal by the field it is shown under; the person the preview is
rendered as, and the preview itself (an email's subject, HTML and text, or a text
message as the phone shows it, with its count of characters and SMS). The routes are
``outreach_composer.py``."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.orm import Session

from accord.channels import sms
from accord.govern.access.scopes import Scope
from accord.kit.errors import AccordError
from accord.outreach import service
from accord.outreach.api import deployment
from accord.outreach.models import Campaign
from accord.outreach.schemas import CampaignIn
from accord.profile.models import Profile
from accord.profile.queries import live_profile
from accord.web.auth import Console
from accord.web.forms import form_error
from accord.web.presenters import person_label

TEMPLATE_FIELDS = ("subject", "html", "text")
COMPOSER_PURPOSES = ("marketing", "service", "surveys")
CHANNELS = {"email": "An email", "sms": "A text message"}  # what the composer sends
EXAMPLE = "Alex Example (an example person)"
STARTER = {
    "name": "",
    "channel": "email",
    "segment_id": "",
    "purpose": "marketing",
    "from_name": "",
    "subject": "",
    "html": "<html><body>\n<p>Hi {{ person.first_name or 'there' }},</p>\n\n</body></html>",
    "text": "Hi {{ person.first_name or 'there' }},\n\n",
    "holdout_percent": "10",
    "goal_event": "Order Completed",
    "goal_days": "7",
    "respect_caps": "1",
    "usual_hour": "",
}


def field_errors(error: AccordError | None) -> dict[str, str]:
    """Each field's message, to show under it: a template's as "Line 2: ..." (its
    field named by where it is shown)."""
    if error is None:
        return {}
    out = {e.field: e.message for e in error.errors}
    if error.field and error.field not in out:
        out[error.field] = error.message
    for name in TEMPLATE_FIELDS:
        text = out.get(name, "")
        if text.startswith(f"{name}, "):
            rest = text[len(name) + 2 :]
            out[name] = rest[:1].upper() + rest[1:]
    return out


def channel_of(draft: dict[str, str]) -> str:
    return "sms" if draft.get("channel") == "sms" else "email"


def values_of(campaign: Campaign) -> dict[str, str]:
    """A campaign as the form's strings."""
    return {
        "name": campaign.name,
        "channel": campaign.channel,
        "segment_id": str(campaign.segment_id or ""),
        "purpose": campaign.purpose,
        "from_name": campaign.from_name or "",
        "subject": campaign.subject,
        "html": campaign.html,
        "text": campaign.text,
        "holdout_percent": str(campaign.holdout_percent),
        "goal_event": campaign.goal_event,
        "goal_days": str(campaign.goal_days),
        "respect_caps": "1" if campaign.respect_caps else "",
        "usual_hour": "1" if campaign.usual_hour else "",
        "version": str(campaign.version),
    }


def content_of(draft: dict[str, str]) -> dict[str, Any]:
    """What the campaign sends: an email's sender name, subject, HTML and text, or a text
    message's text alone (what the form holds for an email is not kept)."""
    if channel_of(draft) == "sms":
        return {"from_name": None, "subject": "", "html": "", "text": draft["text"]}
    return {
        "from_name": draft["from_name"].strip() or None,
        "subject": draft["subject"],
        "html": draft["html"],
        "text": draft["text"],
    }


def fields_of(draft: dict[str, str]) -> dict[str, Any]:
    """The form's strings as the API's campaign fields (pydantic converts the numbers);
    the channel is chosen when the campaign is made (an update does not take it)."""
    return {
        "name": draft["name"],
        "segment_id": draft["segment_id"] or None,
        "purpose": draft["purpose"] or "marketing",
        **content_of(draft),
        "holdout_percent": draft["holdout_percent"].strip() or "0",
        "goal_event": draft["goal_event"].strip(),
        "goal_days": draft["goal_days"].strip() or "7",
        "respect_caps": bool(draft["respect_caps"]),
        "usual_hour": bool(draft.get("usual_hour")),
    }


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def chosen_person(session: Session, console: Console, value: str | None) -> Profile | None:
    """The person the preview is rendered as (None: the example person, and for a
    role that may not read people)."""
    pid = _uuid(value)
    if pid is None or not console.principal.has(Scope.PROFILES_READ):
        return None
    try:
        return live_profile(session, console.principal.workspace_id, pid)
    except AccordError:
        return None


def render_preview(
    request: Request, session: Session, console: Console, draft: dict[str, str], person: Any
) -> dict[str, Any]:
    """The draft as the person (or the example person) would get it: subject, HTML and
    text (a text message: its text, its length and how many SMS it is billed as), or the
    error that keeps it from rendering with each template field's message."""
    who = EXAMPLE
    if person is not None:
        who = person_label(person)
        if person.display_name and person.email:
            who += f" ({person.email})"
    channel = channel_of(draft)
    out: dict[str, Any] = {"who": who, "channel": channel, "max_body": sms.MAX_BODY}
    try:
        body = CampaignIn.model_validate(
            {
                "name": "preview",
                "channel": channel,
                "purpose": draft["purpose"] or "marketing",
                **content_of(draft),
            }
        )
        subject, html, text = service.preview_draft(
            session,
            console.principal.workspace_id,
            body,
            person.id if person is not None else None,
            deployment(request),
        )
    except ValidationError as exc:
        error = form_error(exc)
        return {**out, "error": error, "errors": field_errors(error)}
    except AccordError as error:
        return {**out, "error": error, "errors": field_errors(error)}
    return {
        **out,
        "subject": subject,
        "html": html,
        "text": text,
        "length": len(text),
        "segments": sms.segments(text),
        "error": None,
        "errors": {},
    }
