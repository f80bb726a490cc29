"""What a delivery of one source's messages is made of (a campaign's, or a journey's
message step): the deployment it runs in, the job its batches share (the source, the
workspace's settings, the compiled templates, the transport), and how each of its emails
is written around its template (the tracked links, the footer with the unsubscribe and
preference links). ``sending`` claims, decides, hands over and records; this module only
describes and writes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy.orm import Session

from accord.analyze.scoring.models import CustomerScore
from accord.channels import mailbox, sms
from accord.channels.relay_pool import RelayPool
from accord.customers.preferences import preference_url, unsubscribe_url
from accord.govern.workspaces.models import Workspace
from accord.kit.time import utcnow
from accord.outreach import settings as outreach_settings
from accord.outreach.models import Campaign, Send
from accord.outreach.templates import (
    Compiled,
    Content,
    add_before_body_end,
    person_context,
    text_as_html,
    track_links,
)
from accord.outreach.tracking import Links


@dataclass(frozen=True)
class Deployment:
    """What sending needs of the deployment."""

    secret_key: str
    base_url: str
    relay: Callable[..., RelayPool] = RelayPool
    sessions: int = 4  # SMTP sessions of one delivery job (``RelayPool``)
    texter: Callable[[sms.Provider], sms.SmsClient] = sms.SmsClient


class Source(Protocol):
    """What is being sent (a campaign, a journey's email step)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def channel(self) -> str: ...
    @property
    def purpose(self) -> str: ...
    @property
    def respect_caps(self) -> bool: ...
    @property
    def from_name(self) -> str | None: ...


@dataclass(frozen=True)
class StepSource:
    """A journey's message step (an email, a text) as a source of sends."""

    id: uuid.UUID
    channel: str
    purpose: str
    respect_caps: bool = True
    from_name: str | None = None


@dataclass
class Job:
    """Messages of one source being sent (``scope`` selects its sends): what its batches
    share."""

    campaign: Source
    workspace: Workspace
    compiled: Compiled
    settings: outreach_settings.OutreachSettings
    box: mailbox.Mailbox | None  # an email's mailbox (None for texts)
    deployment: Deployment
    hold_until: datetime | None
    scope: list[Any] = field(default_factory=list)
    provider: sms.Provider | None = None  # a text's provider
    links: Links = field(init=False)

    def __post_init__(self) -> None:
        self.links = Links(self.deployment.base_url, self.deployment.secret_key)

    @property
    def promotional(self) -> bool:
        return self.campaign.purpose != "service" and self.campaign.respect_caps

    @property
    def texts(self) -> bool:
        return self.campaign.channel == "sms"


def unsubscribe_link(job: Job, person_id: uuid.UUID) -> str | None:
    """The one-click unsubscribe of this campaign's purpose (none for service mail)."""
    if job.campaign.purpose == "service":
        return None
    d = job.deployment
    return unsubscribe_url(
        d.base_url, d.secret_key, job.workspace.id, person_id, "email", job.campaign.purpose
    )


def footer(job: Job, person_id: uuid.UUID, unsubscribe: str | None = None) -> tuple[str, str]:
    """The footer every campaign email ends with (text, HTML): the workspace's words and
    postal address, and for anything but a service message the unsubscribe and
    preference links."""
    s, d = job.settings, job.deployment
    unsubscribe = unsubscribe or unsubscribe_link(job, person_id)
    prefs = preference_url(d.base_url, d.secret_key, job.workspace.id, person_id)
    lines = [x for x in (s.footer, s.postal_address) if x]
    text = "\n\n--\n" + "\n".join(lines)
    html_lines = [x.replace("&", "&amp;").replace("<", "&lt;") for x in lines]
    links = f'<a href="{prefs}">Your preferences</a>'
    if unsubscribe:
        text += f"\nUnsubscribe: {unsubscribe}"
        links = f'<a href="{unsubscribe}">Unsubscribe</a> &middot; ' + links
    text += f"\nYour preferences: {prefs}\n"
    html = (
        '<div style="margin-top:24px;font-size:12px;color:#666">'
        + "<br>".join([*html_lines, links])
        + "</div>"
    )
    return text, html


def render_email(
    job: Job,
    send_id: uuid.UUID,
    person_id: uuid.UUID,
    context: dict[str, Any],
    unsubscribe: str | None = None,
) -> Any:
    rendered = job.compiled.render(context)
    html = rendered.html or text_as_html(rendered.text)
    html = track_links(html, lambda url: job.links.click(send_id, url))
    text_footer, html_footer = footer(job, person_id, unsubscribe)
    pixel = f'<img src="{job.links.open(send_id)}" width="1" height="1" alt="">'
    html = add_before_body_end(html, html_footer + pixel)
    return rendered, rendered.text + text_footer, html


def job_context(job: Job, profile: Any, score: CustomerScore | None) -> dict[str, Any]:
    context = person_context(profile, score)
    context["workspace"] = {"name": job.workspace.name}
    return context


# --- a campaign ---------------------------------------------------------------------------


def load_job(session: Session, campaign_id: uuid.UUID, deployment: Deployment) -> Job | None:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != "sending":
        return None
    workspace = session.get(Workspace, campaign.workspace_id)
    assert workspace is not None
    settings = outreach_settings.read(workspace)
    box, provider = transport_of(workspace, campaign.channel, deployment)
    content = Content(campaign.channel, campaign.subject, campaign.html, campaign.text)
    started = campaign.started_at or utcnow()
    return Job(
        campaign,
        workspace,
        Compiled(content),
        settings,
        box,
        deployment,
        started + timedelta(days=settings.hold_days),
        [Send.campaign_id == campaign.id],
        provider,
    )


def transport_of(
    workspace: Workspace, channel: str, deployment: Deployment
) -> tuple[mailbox.Mailbox | None, sms.Provider | None]:
    """The workspace's mailbox (email) or SMS provider (texts), set up to send."""
    if channel == "sms":
        provider = sms.of(workspace, deployment.secret_key)
        if provider is None:
            raise RuntimeError("no SMS provider is set up for this workspace")
        return None, provider
    box = mailbox.of(workspace, deployment.secret_key)
    if box is None or box.relay is None:
        raise RuntimeError("no outbound email relay is configured for this workspace")
    return box, None
