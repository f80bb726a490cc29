"""Campaigns' rules: a draft is edited freely (its templates must compile); launching
plans one send per member of its segment (the holdout chosen exactly and at random, the
same every time for the same campaign) and starts sending; a campaign may be scheduled,
paused, resumed and cancelled; a preview renders it as any person, a test send mails
(or texts) that rendering to a colleague. Services flush; the caller commits and starts the jobs."""

from __future__ import annotations

import hashlib
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from accord.analyze.segments.repository import SegmentRepository
from accord.channels import mailbox, sms
from accord.channels.email import RelaySession
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.consent.policy import Permit, may_contact
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import AccordError, conflict, invalid, not_found
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.outreach import settings as outreach_settings
from accord.outreach.job import Deployment, Job, render_email
from accord.outreach.models import Campaign
from accord.outreach.repository import CampaignRepository, SendRepository
from accord.outreach.schemas import CampaignIn, CampaignUpdate
from accord.outreach.templates import Compiled, Content, Envelope, email_bytes, person_context
from accord.outreach.texts import render_text
from accord.profile.queries import live_profile

EDITABLE = ("draft", "scheduled")
PLAN_CHUNK = 5_000


def get(session: Session, workspace_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign:
    found = CampaignRepository.from_session(session).get(workspace_id, campaign_id)
    if found is None:
        raise not_found("Campaign", field="campaign_id")
    return found


def _check(session: Session, workspace_id: uuid.UUID, campaign: Campaign) -> None:
    Compiled(Content(campaign.channel, campaign.subject, campaign.html, campaign.text))
    segments = SegmentRepository.from_session(session)
    if campaign.segment_id is not None and segments.get(workspace_id, campaign.segment_id) is None:
        raise invalid(
            f"No segment {campaign.segment_id} in this workspace",
            field="segment_id",
            code="unknown_segment",
        )
    other = CampaignRepository.from_session(session).by_name(workspace_id, campaign.name)
    if other is not None and other.id != campaign.id:
        raise conflict(
            f"A campaign named {campaign.name!r} exists", field="name", code="campaign_exists"
        )


def create(session: Session, actor: Principal, body: CampaignIn) -> Campaign:
    campaign = Campaign(
        id=new_id(),
        workspace_id=actor.workspace_id,
        created_by=actor.label,
        status="draft",
        **body.model_dump(),
    )
    campaign.name = campaign.name.strip()
    _check(session, actor.workspace_id, campaign)
    session.add(campaign)
    session.flush()
    audit.record(session, actor, "campaign.create", target=str(campaign.id), data={})
    return campaign


def update(
    session: Session, actor: Principal, campaign_id: uuid.UUID, body: CampaignUpdate
) -> Campaign:
    campaign = get(session, actor.workspace_id, campaign_id)
    if campaign.status not in EDITABLE:
        raise conflict(
            f"A campaign that is {campaign.status} cannot be changed",
            field="status",
            code="campaign_not_editable",
        )
    if body.version is not None and body.version != campaign.version:
        raise conflict(
            f"The campaign was changed by someone else (version {campaign.version}, not "
            f"{body.version}); reload it and try again",
            field="version",
            code="campaign_version_conflict",
        )
    changes = body.model_dump(exclude_unset=True, exclude={"version"})
    for key, value in changes.items():
        setattr(campaign, key, value.strip() if key == "name" and value else value)
    _check(session, actor.workspace_id, campaign)
    campaign.version += 1
    campaign.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor,
        "campaign.update",
        target=str(campaign.id),
        data={"changed": sorted(changes)},
    )
    return campaign


# --- launching ---------------------------------------------------------------------------


def _ready_to_send(session: Session, campaign: Campaign, secret_key: str) -> None:
    if campaign.segment_id is None:
        raise invalid("Choose the segment to send to", field="segment_id", code="no_segment")
    workspace = session.get(Workspace, campaign.workspace_id)
    assert workspace is not None
    if campaign.channel == "sms":
        if not campaign.text.strip():
            raise invalid("The text message is empty", field="text", code="no_content")
        if sms.of(workspace, secret_key) is None:
            raise _not_set_up("sms")
        return
    if not campaign.subject.strip():
        raise invalid("An email needs a subject", field="subject", code="no_subject")
    if not (campaign.html.strip() or campaign.text.strip()):
        raise invalid("The email has no content", field="text", code="no_content")
    box = mailbox.of(workspace, secret_key)
    if box is None or box.relay is None:
        raise _not_set_up("email")


def _not_set_up(channel: str) -> AccordError:
    if channel == "sms":
        return AccordError(
            "This workspace has no SMS provider set up (Settings > SMS)",
            code="sms_not_configured",
            status=409,
            field="channel",
        )
    return AccordError(
        "This workspace has no outbound email set up (Settings > Inbox > Email)",
        code="mail_not_configured",
        status=409,
        field="channel",
    )


def launch(
    session: Session,
    actor: Principal,
    campaign_id: uuid.UUID,
    *,
    secret_key: str,
    at: datetime | None = None,
) -> Campaign:
    """Start sending now, or schedule it (``at`` in the future)."""
    campaign = get(session, actor.workspace_id, campaign_id)
    if campaign.status not in EDITABLE:
        raise conflict(
            f"The campaign is {campaign.status}", field="status", code="campaign_not_editable"
        )
    _ready_to_send(session, campaign, secret_key)
    now = utcnow()
    if at is not None and at > now:
        campaign.status, campaign.scheduled_at = "scheduled", at
        action = "campaign.schedule"
    else:
        start(session, campaign, now)
        action = "campaign.launch"
    campaign.version += 1
    session.flush()
    audit.record(
        session,
        actor,
        action,
        target=str(campaign.id),
        data={"audience": campaign.audience, "at": (at or now).isoformat()},
    )
    return campaign


def start(session: Session, campaign: Campaign, now: datetime) -> None:
    """Plan the sends of a campaign and mark it sending (a scheduled one when its time
    comes)."""
    campaign.status = "sending"
    campaign.started_at = campaign.started_at or now
    if campaign.planned_at is None:
        campaign.audience = plan(session, campaign, now)
        campaign.planned_at = now


def holdout_of(campaign_id: uuid.UUID, ids: list[uuid.UUID], percent: int) -> set[uuid.UUID]:
    """Exactly ``percent`` % of the people (rounded), drawn by a hash of the campaign
    and the person: random with respect to anything about them, and the same draw if
    the plan is made again."""
    if percent <= 0 or not ids:
        return set()
    k = round(len(ids) * percent / 100)

    def draw(pid: uuid.UUID) -> bytes:
        return hashlib.blake2b(campaign_id.bytes + pid.bytes, digest_size=8).digest()

    return set(sorted(ids, key=draw)[:k])


def plan(session: Session, campaign: Campaign, now: datetime) -> int:
    """One send per live member of the segment, addressed now; returns how many."""
    assert campaign.segment_id is not None
    repo = SendRepository.from_session(session)
    people = repo.audience(campaign.workspace_id, campaign.segment_id)
    held_out = holdout_of(campaign.id, [p[0] for p in people], campaign.holdout_percent)
    key = f"campaign:{campaign.id}"
    promotional = campaign.purpose != "service" and campaign.respect_caps
    rows: list[dict[str, Any]] = []
    for pid, email, phone in people:
        out = pid in held_out
        rows.append(
            {
                "id": new_id(),
                "workspace_id": campaign.workspace_id,
                "source_key": key,
                "campaign_id": campaign.id,
                "profile_id": pid,
                "channel": campaign.channel,
                "purpose": campaign.purpose,
                "promotional": promotional,
                "address": email if campaign.channel == "email" else phone,
                "status": "holdout" if out else "queued",
                "code": "holdout" if out else None,
                "reason": f"in the campaign's {campaign.holdout_percent}% holdout group"
                if out
                else None,
                "attempts": 0,
                "queued_at": now,
                "opens": 0,
                "clicks": 0,
                "meta": {},
            }
        )
    if campaign.usual_hour:
        at_hour = usual_times(session, campaign.workspace_id, [p[0] for p in people], now)
        for row in rows:
            row["next_attempt_at"] = at_hour.get(row["profile_id"])
    rows.sort(key=lambda r: r["id"])
    for i in range(0, len(rows), PLAN_CHUNK):
        repo.add_many(rows[i : i + PLAN_CHUNK])
    return len(rows)


USUAL_HOUR_DAYS = 90


def usual_times(
    session: Session, workspace_id: uuid.UUID, ids: list[uuid.UUID], now: datetime
) -> dict[uuid.UUID, datetime]:
    """When each person's message should go: the next time the hour of the day comes at
    which they were most often active (their events of the last 90 days; the minutes
    spread by a hash so a whole hour's people do not go at once). People with no events
    are left out (sent at once)."""
    repo = SendRepository.from_session(session)
    since = now - timedelta(days=USUAL_HOUR_DAYS)
    out: dict[uuid.UUID, datetime] = {}
    for i in range(0, len(ids), PLAN_CHUNK):
        for pid, hour in repo.usual_hours(workspace_id, ids[i : i + PLAN_CHUNK], since).items():
            minute = pid.bytes[-1] % 60
            at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            out[pid] = at if at > now else at + timedelta(days=1)
    return out


def _transition(
    session: Session, actor: Principal, campaign_id: uuid.UUID, allowed: tuple[str, ...], to: str
) -> Campaign:
    campaign = get(session, actor.workspace_id, campaign_id)
    if campaign.status not in allowed:
        raise conflict(
            f"A campaign that is {campaign.status} cannot be {to}",
            field="status",
            code="campaign_state",
        )
    return campaign


def pause(session: Session, actor: Principal, campaign_id: uuid.UUID) -> Campaign:
    campaign = _transition(session, actor, campaign_id, ("sending",), "paused")
    campaign.status = "paused"
    session.flush()
    audit.record(session, actor, "campaign.pause", target=str(campaign.id), data={})
    return campaign


def resume(session: Session, actor: Principal, campaign_id: uuid.UUID) -> Campaign:
    campaign = _transition(session, actor, campaign_id, ("paused",), "resumed")
    campaign.status = "sending"
    session.flush()
    audit.record(session, actor, "campaign.resume", target=str(campaign.id), data={})
    return campaign


def cancel(session: Session, actor: Principal, campaign_id: uuid.UUID) -> Campaign:
    """Stop for good: what was not sent is recorded refused (``cancelled``)."""
    campaign = _transition(
        session, actor, campaign_id, ("draft", "scheduled", "sending", "paused"), "cancelled"
    )
    campaign.status = "cancelled"
    campaign.finished_at = utcnow()
    n = SendRepository.from_session(session).cancel_waiting(
        campaign.id, f"the campaign was cancelled by {actor.label}"
    )
    session.flush()
    audit.record(session, actor, "campaign.cancel", target=str(campaign.id), data={"unsent": n})
    return campaign


def finish_if_done(session: Session, campaign_id: uuid.UUID) -> bool:
    """A sending campaign with nothing left waiting is sent."""
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != "sending":
        return False
    if SendRepository.from_session(session).waiting(campaign_id):
        return False
    campaign.status = "sent"
    campaign.finished_at = utcnow()
    session.flush()
    return True


# --- preview and test sends --------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A person to render as when none is chosen."""

    id: uuid.UUID
    traits: dict[str, Any]
    display_name: str = "Alex Example"
    email: str = "alex@example.com"
    phone: str = ""
    stats: dict[str, Any] | None = None
    revenue: float = 120.0
    order_count: int = 2
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    merged_into_id: uuid.UUID | None = None
    workspace_id: uuid.UUID | None = None


def _person(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID | None) -> Any:
    if profile_id is None:
        return Example(
            id=uuid.UUID(int=0),
            traits={"firstName": "Alex", "lastName": "Example", "email": "alex@example.com"},
            workspace_id=workspace_id,
        )
    person = live_profile(session, workspace_id, profile_id)
    if person is None:
        raise not_found("Person", field="profile_id")
    return person


def _job(session: Session, campaign: Campaign, deployment: Deployment) -> Job:
    """The campaign as a job to render (its mailbox or provider when set up)."""
    workspace = session.get(Workspace, campaign.workspace_id)
    assert workspace is not None
    texts = campaign.channel == "sms"
    box = None
    if not texts:
        box = mailbox.of(workspace, deployment.secret_key) or mailbox.Mailbox(
            address="outreach@accord.local", name=workspace.name
        )
    return Job(
        campaign,
        workspace,
        Compiled(Content(campaign.channel, campaign.subject, campaign.html, campaign.text)),
        outreach_settings.read(workspace),
        box,
        deployment,
        None,
        provider=sms.of(workspace, deployment.secret_key) if texts else None,
    )


def preview(
    session: Session,
    workspace_id: uuid.UUID,
    campaign_id: uuid.UUID,
    profile_id: uuid.UUID | None,
    deployment: Deployment,
) -> tuple[str, str, str]:
    """The campaign as this person would get it: subject, HTML and text, footer
    included (its links are tracked as they would be)."""
    return render_as(session, get(session, workspace_id, campaign_id), profile_id, deployment)


def preview_draft(
    session: Session,
    workspace_id: uuid.UUID,
    body: CampaignIn,
    profile_id: uuid.UUID | None,
    deployment: Deployment,
) -> tuple[str, str, str]:
    """A campaign being written and not saved (the console's live preview) as this person
    would get it; a template that does not compile is ``bad_template`` naming its field."""
    campaign = Campaign(
        id=uuid.UUID(int=0), workspace_id=workspace_id, status="draft", **body.model_dump()
    )
    return render_as(session, campaign, profile_id, deployment)


def render_as(
    session: Session, campaign: Campaign, profile_id: uuid.UUID | None, deployment: Deployment
) -> tuple[str, str, str]:
    """Subject, HTML and text of ``campaign`` rendered for a person (an example person
    without ``profile_id``)."""
    workspace_id = campaign.workspace_id
    job = _job(session, campaign, deployment)
    person = _person(session, workspace_id, profile_id)
    context = person_context(person)
    context["workspace"] = {"name": job.workspace.name}
    if job.texts:
        return "", "", render_text(job.compiled, campaign.purpose, context)
    rendered, text, html = render_email(job, uuid.UUID(int=0), person.id, context)
    return rendered.subject, html, text


def test_send(
    session: Session,
    actor: Principal,
    campaign_id: uuid.UUID,
    address: str,
    profile_id: uuid.UUID | None,
    deployment: Deployment,
) -> str:
    """Mail (or text) the campaign, rendered as a person, to a colleague (``[Test]``
    before it); returns the message id. Asks the policy for the test address as a
    service message (a suppressed address is never sent to, not even a test)."""
    campaign = get(session, actor.workspace_id, campaign_id)
    job = _job(session, campaign, deployment)
    address = address.strip()
    texts = job.texts
    if texts and not sms.E164.match(address):
        raise invalid("Not a phone number in E.164 form (+14155550100)", field="address")
    if not texts and "@" not in address:
        raise invalid("Not an email address", field="address")
    if (job.provider if texts else job.box and job.box.relay) is None:
        raise _not_set_up(campaign.channel)
    decision = may_contact(
        session, job.workspace, None, campaign.channel, "service", address=address
    )
    permit: Permit = decision.permit()
    person = _person(session, actor.workspace_id, profile_id)
    context = person_context(person)
    context["workspace"] = {"name": job.workspace.name}
    audit.record(
        session, actor, "campaign.test_send", target=str(campaign.id), data={"to": address}
    )
    if job.provider is not None:
        texter = deployment.texter(job.provider)
        try:
            handed = texter.hand_over(
                permit, address, f"[Test] {render_text(job.compiled, campaign.purpose, context)}"
            )
        except sms.SmsError as exc:
            raise AccordError(
                f"The SMS provider did not take the test: {exc}", code="sms_error", status=502
            ) from None
        finally:
            texter.close()
        return f"sms:{handed.sid}"
    assert job.box is not None
    rendered, text, html = render_email(job, uuid.UUID(int=0), person.id, context)
    message_id = f"<test-{new_id()}@{job.box.domain or 'accord.local'}>"
    envelope = Envelope(
        sender=job.settings.from_address or job.box.address,
        sender_name=campaign.from_name or job.box.name,
        to=address,
        subject=f"[Test] {rendered.subject}",
        message_id=message_id,
        at=utcnow(),
    )
    relay = RelaySession(job.box)  # one message: one session, answered before returning
    try:
        relay.hand_over(permit, address, email_bytes(envelope, text, html))
    except (smtplib.SMTPException, OSError) as exc:
        raise AccordError(
            f"The relay did not take the test email: {exc}", code="relay_error", status=502
        ) from None
    finally:
        relay.close()
    return message_id


def workspace_of(session: Session, workspace_id: uuid.UUID) -> Workspace:
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise not_found("Workspace", field="workspace_id")
    return workspace
