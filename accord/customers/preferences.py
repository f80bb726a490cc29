"""The customer's own preference center and the links in every email: what they see
(each purpose on each channel, allowed or not, as the policy decides) and what choosing
records. A grant of email marketing waits for a confirmation click where the workspace
asks for a double opt-in; the email that asks is sent by the caller (a send path)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from accord.govern.consent import links, rules
from accord.govern.consent import service as consent
from accord.govern.consent.models import ConsentRecord
from accord.govern.consent.policy import may_contact, region
from accord.govern.consent.repository import ConsentRepository
from accord.govern.consent.settings import read as read_settings
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import not_found
from accord.profile.models import Profile
from accord.profile.queries import live_profile

Key = tuple[str, str]  # (channel, purpose)


@dataclass(frozen=True)
class Topic:
    purpose: str
    channel: str
    label: str
    channel_label: str
    allowed: bool
    status: str | None  # the recorded state, when there is one
    reason: str

    @property
    def key(self) -> str:
        return f"{self.channel}.{self.purpose}"

    @property
    def pending(self) -> bool:
        return self.status == rules.PENDING


@dataclass
class Applied:
    recorded: list[ConsentRecord] = field(default_factory=list)
    to_confirm: list[ConsentRecord] = field(default_factory=list)


@dataclass(frozen=True)
class Evidence:
    ip: str | None = None
    user_agent: str | None = None
    actor: str | None = None


def person_of_link(session: Session, link: links.Link) -> tuple[Workspace, Profile]:
    workspace = session.get(Workspace, link.workspace_id)
    profile_id = link.profile_id
    if workspace is None or profile_id is None:
        raise not_found("Person", field="token")
    return workspace, live_profile(session, workspace.id, profile_id)


def topics(session: Session, workspace: Workspace, person: Profile) -> list[Topic]:
    held = {
        (s.channel, s.purpose): s.status
        for s in ConsentRepository.from_session(session).states_of(person.id)
    }
    settings = read_settings(workspace)
    out: list[Topic] = []
    for purpose, channels in rules.CENTER:
        for channel in channels:
            asked = "email" if channel == rules.ALL else channel
            decision = may_contact(session, workspace, person, asked, purpose, settings=settings)
            status = held.get((channel, purpose))
            out.append(
                Topic(
                    purpose,
                    channel,
                    rules.PURPOSE_LABELS[purpose],
                    rules.CHANNEL_LABELS[channel],
                    decision.allowed and status != rules.PENDING,
                    status,
                    decision.reason,
                )
            )
    return out


def apply_choices(
    session: Session,
    workspace: Workspace,
    person: Profile,
    chosen: set[str],
    evidence: Evidence,
    *,
    source: str = "preference_center",
) -> Applied:
    """Record what changed between the topics shown and those the customer left ticked
    (``chosen`` holds ``channel.purpose`` keys): a grant (pending a confirmation for email
    marketing where the workspace asks for one) or a withdrawal, with the evidence."""
    settings = read_settings(workspace)
    confirm = settings.needs_confirmation(region(workspace, person))
    done = Applied()
    for topic in topics(session, workspace, person):
        want = topic.key in chosen
        if want == (topic.allowed or topic.pending):
            continue  # unchanged (a pending grant still waits for the click)
        if want and topic.status == rules.GRANTED:
            # Granted already, refused for another reason (a bounced address, a
            # suppressed one, doNotContact): saving again records nothing new.
            continue
        if want:
            pending = confirm and (topic.channel, topic.purpose) == ("email", "marketing")
            status = rules.PENDING if pending else rules.GRANTED
        else:
            status = rules.WITHDRAWN
        row = consent.record(
            session,
            workspace.id,
            person.id,
            channel=topic.channel,
            purpose=topic.purpose,
            status=status,
            source=source,
            legal_basis="consent",
            recorded_by=evidence.actor or "the customer",
            ip=evidence.ip,
            user_agent=evidence.user_agent,
            notice_version=settings.notice_version,
        )
        done.recorded.append(row)
        if status == rules.PENDING:
            done.to_confirm.append(row)
    return done


def confirm(
    session: Session, secret_key: str, token: str, evidence: Evidence
) -> tuple[Profile, ConsentRecord | None]:
    """The click on a double opt-in link: the pending grant it names becomes a grant
    (nothing when it was already confirmed or withdrawn since)."""
    link = links.read(secret_key, token, links.CONFIRM)
    workspace, person = person_of_link(session, link)
    state = {
        (s.channel, s.purpose): s
        for s in ConsentRepository.from_session(session).states_of(person.id)
    }.get((link.channel, link.purpose))
    if state is None or state.status != rules.PENDING:
        return person, None
    row = consent.record(
        session,
        workspace.id,
        person.id,
        channel=link.channel,
        purpose=link.purpose,
        status=rules.GRANTED,
        source="double_opt_in",
        legal_basis="consent",
        recorded_by="the customer",
        ip=evidence.ip,
        user_agent=evidence.user_agent,
        notice_version=read_settings(workspace).notice_version,
        evidence={"confirms": link.extra},
    )
    return person, row


def unsubscribe(
    session: Session, secret_key: str, token: str, evidence: Evidence, *, one_click: bool
) -> tuple[Profile, ConsentRecord | None]:
    """An unsubscribe link followed (or posted by the mailbox provider, RFC 8058): the
    purpose on the channel it names is withdrawn at once. Repeating it changes nothing."""
    link = links.read(secret_key, token, links.UNSUBSCRIBE)
    workspace, person = person_of_link(session, link)
    decision = may_contact(session, workspace, person, link.channel, link.purpose)
    if not decision.allowed and decision.status in rules.REFUSING:
        return person, None
    row = consent.record(
        session,
        workspace.id,
        person.id,
        channel=link.channel,
        purpose=link.purpose,
        status=rules.WITHDRAWN,
        source="unsubscribe_link",
        recorded_by="the customer",
        ip=evidence.ip,
        user_agent=evidence.user_agent,
        evidence={"one_click": one_click},
    )
    return person, row


def preference_url(
    base_url: str, secret_key: str, workspace_id: uuid.UUID, profile_id: uuid.UUID
) -> str:
    return links.url(
        base_url, secret_key, links.Link(links.PREFERENCES, workspace_id, str(profile_id))
    )


def unsubscribe_url(
    base_url: str,
    secret_key: str,
    workspace_id: uuid.UUID,
    profile_id: uuid.UUID,
    channel: str,
    purpose: str,
) -> str:
    return links.url(
        base_url,
        secret_key,
        links.Link(links.UNSUBSCRIBE, workspace_id, str(profile_id), channel, purpose),
    )


def confirm_url(base_url: str, secret_key: str, row: ConsentRecord) -> str:
    return links.url(
        base_url,
        secret_key,
        links.Link(
            links.CONFIRM,
            row.workspace_id,
            str(row.profile_id),
            row.channel,
            row.purpose,
            str(row.id),
        ),
    )
