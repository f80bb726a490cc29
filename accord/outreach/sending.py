"""The send queue at work: claim a batch of due sends, decide each (consent, frequency,
holds, quiet hours), render and hand them to the transport one by one, and record each
outcome the moment it is known.

**Never twice.** A batch is claimed (status ``sending``, a claim id) in the same
transaction that records the sends decided against; then its messages go to the relay in
the order of their ids, and each is marked ``sent`` in a transaction of its own as soon
as the relay accepted it. If the process dies, its claim is found stale later
(:func:`recover`): of its sends still marked ``sending``, only the first in id order can
have been handed over without being marked, so that one is recorded ``unknown`` and the
rest are queued again. A crash therefore sends nobody a message twice, and leaves at most
one message per claim of which nobody can say whether it arrived."""

from __future__ import annotations

import logging
import smtplib
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.scoring.models import CustomerScore
from accord.channels import mailbox
from accord.channels.email import RelaySession
from accord.collect import service as collect
from accord.customers.preferences import preference_url, unsubscribe_url
from accord.govern.consent.policy import Ask, Decision, Permit, decide_many
from accord.govern.workspaces.models import Workspace
from accord.kit.db import read_only, transaction
from accord.kit.dialect import one_of
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.outreach import settings as outreach_settings
from accord.outreach.models import Campaign, Send
from accord.outreach.repository import SendRepository
from accord.outreach.rules import Rules
from accord.outreach.templates import (
    Compiled,
    Content,
    Envelope,
    add_before_body_end,
    email_bytes,
    person_context,
    text_as_html,
    track_links,
)
from accord.outreach.tracking import Links
from accord.profile.models import Profile

log = logging.getLogger(__name__)
BATCH = 200
LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 5
UNKNOWN_REASON = (
    "the sending process stopped while handing this message to the relay; it is not sent "
    "again, so that nobody receives it twice"
)


# --- throttling ---------------------------------------------------------------------------


class Throttle:
    """At most ``rate`` messages a second through one transport, shared by the threads
    of this process that send through it."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            start = max(now, self._next)
            self._next = start + 1.0 / self.rate
        if start > now:
            time.sleep(start - now)


_THROTTLES: dict[tuple[uuid.UUID, str], Throttle] = {}
_THROTTLES_LOCK = threading.Lock()


def throttle_of(workspace_id: uuid.UUID, channel: str, rate: float) -> Throttle:
    with _THROTTLES_LOCK:
        found = _THROTTLES.get((workspace_id, channel))
        if found is None or found.rate != rate:
            found = _THROTTLES[(workspace_id, channel)] = Throttle(rate)
        return found


# --- one batch ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    """What sending needs of the deployment."""

    secret_key: str
    base_url: str
    relay: Callable[[mailbox.Mailbox], RelaySession] = RelaySession


@dataclass
class Prepared:
    send_id: uuid.UUID
    profile_id: uuid.UUID
    to: str
    message_id: str
    data: bytes
    permit: Permit


@dataclass
class Tally:
    sent: int = 0
    refused: int = 0
    held: int = 0
    later: int = 0
    bounced: int = 0
    failed: int = 0
    retried: int = 0
    batches: int = 0

    def add(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


@dataclass
class Job:
    """A campaign being sent: what its batches share."""

    campaign: Campaign
    workspace: Workspace
    compiled: Compiled
    settings: outreach_settings.OutreachSettings
    box: mailbox.Mailbox
    deployment: Deployment
    hold_until: datetime | None
    links: Links = field(init=False)

    def __post_init__(self) -> None:
        self.links = Links(self.deployment.base_url, self.deployment.secret_key)

    @property
    def promotional(self) -> bool:
        return self.campaign.purpose != "service" and self.campaign.respect_caps


def unsubscribe_link(job: Job, person_id: uuid.UUID) -> str | None:
    """The one-click unsubscribe of this campaign's purpose (none for service mail)."""
    if job.campaign.purpose == "service":
        return None
    d = job.deployment
    return unsubscribe_url(
        d.base_url, d.secret_key, job.workspace.id, person_id, "email", job.campaign.purpose
    )


def footer(job: Job, person_id: uuid.UUID) -> tuple[str, str]:
    """The footer every campaign email ends with (text, HTML): the workspace's words and
    postal address, and for anything but a service message the unsubscribe and
    preference links."""
    s, d = job.settings, job.deployment
    unsubscribe = unsubscribe_link(job, person_id)
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


def render_email(job: Job, send_id: uuid.UUID, profile: Profile, context: dict[str, Any]) -> Any:
    rendered = job.compiled.render(context)
    html = rendered.html or text_as_html(rendered.text)
    html = track_links(html, lambda url: job.links.click(send_id, url))
    text_footer, html_footer = footer(job, profile.id)
    pixel = f'<img src="{job.links.open(send_id)}" width="1" height="1" alt="">'
    html = add_before_body_end(html, html_footer + pixel)
    return rendered, rendered.text + text_footer, html


def _context(job: Job, profile: Profile, score: CustomerScore | None) -> dict[str, Any]:
    context = person_context(profile, score)
    context["workspace"] = {"name": job.workspace.name}
    return context


@dataclass
class Batch:
    """A claimed batch being decided: its people, and the outcomes of the sends that
    will not go out now."""

    job: Job
    sends: Sequence[Send]
    profiles: dict[uuid.UUID, Profile]
    scores: dict[uuid.UUID, CustomerScore]
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    asking: list[Send] = field(default_factory=list)

    @classmethod
    def load(cls, session: Session, job: Job, sends: Sequence[Send]) -> Batch:
        ids = [s.profile_id for s in sends]
        profiles = {
            p.id: p
            for p in session.scalars(select(Profile).where(one_of(session, Profile.id, ids)))
        }
        scores = {
            s.profile_id: s
            for s in session.scalars(
                select(CustomerScore).where(one_of(session, CustomerScore.profile_id, ids))
            )
        }
        batch = cls(job, sends, profiles, scores)
        for send in sends:
            profile = profiles.get(send.profile_id)
            if profile is None or profile.merged_into_id is not None:
                batch.refuse(send, "merged", "the person was merged into another before the send")
            elif not send.address:
                batch.refuse(send, "no_address", f"the customer has no {send.channel} address")
            else:
                batch.asking.append(send)
        return batch

    def refuse(self, send: Send, code: str, reason: str) -> None:
        self.outcomes.append(
            {
                "id": send.id,
                "status": "refused",
                "code": code,
                "reason": reason[:1000],
                "claim_id": None,
            }
        )
        self.tally.add("refused")

    def asks(self) -> list[tuple[Profile, Ask]]:
        c = self.job.campaign
        return [
            (self.profiles[s.profile_id], Ask(c.channel, c.purpose, s.address)) for s in self.asking
        ]

    def ready(
        self, session: Session, decisions: Sequence[Decision], now: datetime
    ) -> list[Prepared]:
        """The messages to hand over, in id order, once consent decided and the rules
        (caps, holds, quiet hours) judged; the others get their outcome."""
        job = self.job
        allowed: list[tuple[Send, Decision]] = []
        for send, decision in zip(self.asking, decisions, strict=True):
            if decision.allowed:
                allowed.append((send, decision))
            else:
                self.refuse(send, decision.code, decision.reason)
        rules = Rules(session, job.settings, job.workspace.timezone, now)
        verdicts = rules.judge(
            [(s.profile_id, self.profiles[s.profile_id].traits) for s, _ in allowed],
            job.campaign.channel,
            promotional=job.promotional,
            hold_until=job.hold_until,
        )
        out: list[Prepared] = []
        for send, decision in allowed:
            verdict = verdicts[send.profile_id]
            if verdict.action == "refused":
                self.refuse(send, verdict.code, verdict.reason)
            elif verdict.action in ("held", "later"):
                self.outcomes.append(
                    {
                        "id": send.id,
                        "status": "held" if verdict.action == "held" else "queued",
                        "code": verdict.code,
                        "reason": verdict.reason,
                        "next_attempt_at": verdict.until,
                        "claim_id": None,
                    }
                )
                self.tally.add(verdict.action)
            else:
                out.append(self.prepare(send, decision.permit(), now))
        return out

    def prepare(self, send: Send, permit: Permit, now: datetime) -> Prepared:
        job = self.job
        profile = self.profiles[send.profile_id]
        context = _context(job, profile, self.scores.get(send.profile_id))
        rendered, text, html = render_email(job, send.id, profile, context)
        message_id = f"<{send.id}@{job.box.domain or 'accord.local'}>"
        envelope = Envelope(
            sender=job.settings.from_address or job.box.address,
            sender_name=job.campaign.from_name or job.box.name,
            to=send.address or "",
            subject=rendered.subject,
            message_id=message_id,
            at=now,
            unsubscribe=unsubscribe_link(job, profile.id),
            headers={"X-Accord-Send": str(send.id)},
        )
        data = email_bytes(envelope, text, html)
        return Prepared(send.id, profile.id, send.address or "", message_id, data, permit)


# --- the transport and each outcome -------------------------------------------------------


def _bounce_trait(session: Session, workspace: Workspace, address: str, send_id: Any) -> None:
    """An address the relay refused for good is marked bounced on its person, as a
    delivery report would mark it (the consent policy stops every later email)."""
    now = utcnow()
    collect.accept(
        session,
        workspace_id=workspace.id,
        source="accord-outreach",
        region=workspace.default_region,
        messages=[
            {
                "type": "identify",
                "traits": {"email": address, "emailBounced": True},
                "context": {"channel": "email"},
                "timestamp": now.isoformat(),
                "messageId": f"bounce-{send_id}",
            }
        ],
        received_at=now,
        field_prefix="",
        require_sender=False,
    )


def outcome_of(exc: BaseException | None, attempts: int, now: datetime) -> dict[str, Any]:
    """What a send's row becomes after the relay answered (``exc`` None: accepted)."""
    if exc is None:
        return {"status": "sent", "sent_at": now, "code": None, "reason": None}
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()), (550, b""))
        permanent = int(code) >= 500
        why = f"the relay refused the address: {code} {reply.decode(errors='replace')}"
        return _failed(why, attempts, permanent, now, "bounced" if permanent else None)
    if isinstance(exc, smtplib.SMTPResponseException):
        permanent = int(exc.smtp_code) >= 500
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return _failed(f"the relay answered {exc.smtp_code} {text}", attempts, permanent, now, None)
    return _failed(f"the relay could not be reached: {exc}", attempts, False, now, None)


def record(factory: sessionmaker[Session], job: Job, p: Prepared, values: dict[str, Any]) -> None:
    """One send's outcome, committed at once (see the module's docstring)."""
    with transaction(factory) as session:
        SendRepository.from_session(session).settle([dict(values)])
        if values.get("status") == "bounced":
            _bounce_trait(session, job.workspace, p.to, p.send_id)


def _failed(
    why: str, attempts: int, permanent: bool, now: datetime, final: str | None
) -> dict[str, Any]:
    if permanent or attempts + 1 >= MAX_ATTEMPTS:
        return {"status": final or "failed", "code": final or "failed", "reason": why[:1000]}
    wait = timedelta(seconds=30 * 2 ** (attempts + 1))
    return {
        "status": "queued",
        "code": "retry",
        "reason": why[:1000],
        "next_attempt_at": now + wait,
    }


# --- a campaign ---------------------------------------------------------------------------


def load_job(session: Session, campaign_id: uuid.UUID, deployment: Deployment) -> Job | None:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None or campaign.status != "sending":
        return None
    workspace = session.get(Workspace, campaign.workspace_id)
    assert workspace is not None
    settings = outreach_settings.read(workspace)
    box = mailbox.of(workspace, deployment.secret_key)
    if box is None or box.relay is None:
        raise RuntimeError("no outbound email relay is configured for this workspace")
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
    )


def send_batch(
    factory: sessionmaker[Session],
    job: Job,
    relay: RelaySession,
    gate: Throttle,
    now: datetime,
    size: int = BATCH,
) -> Tally | None:
    """Claim, decide and send one batch of a campaign; None when nothing is due. Consent
    is asked for the whole batch (``decide_many``) moments before its messages go out,
    and each transport call carries the permit of its decision."""
    with transaction(factory) as session:
        repo = SendRepository.from_session(session)
        sends = repo.claim(job.campaign.id, new_id(), size, now)
        if not sends:
            return None
        attempts = {s.id: s.attempts for s in sends}
        batch = Batch.load(session, job, sends)
        decisions = decide_many(session, job.workspace, batch.asks(), at=now)
        ready = batch.ready(session, decisions, now)
        repo.settle(batch.outcomes)
    tally = batch.tally
    tally.batches = 1
    for p in ready:
        gate.wait()
        error: BaseException | None = None
        try:
            relay.hand_over(p.permit, p.to, p.data)
        except (smtplib.SMTPException, OSError) as exc:
            error = exc
        values = outcome_of(error, attempts[p.send_id], utcnow())
        values.update(id=p.send_id, claim_id=None, attempts=attempts[p.send_id] + 1)
        if values["status"] == "sent":
            values["message_id"] = p.message_id
        record(factory, job, p, values)
        tally.add("retried" if values["status"] == "queued" else str(values["status"]))
    return tally


def deliver(
    factory: sessionmaker[Session],
    campaign_id: uuid.UUID,
    deployment: Deployment,
    *,
    batch: int = BATCH,
    clock: Callable[[], datetime] = utcnow,
    throttle: Throttle | None = None,
) -> Tally:
    """Send every due send of a campaign, a batch at a time, until none is due."""
    with read_only(factory) as session:
        job = load_job(session, campaign_id, deployment)
        if job is not None:
            session.expunge_all()
    total = Tally()
    if job is None:
        return total
    gate = throttle or throttle_of(job.workspace.id, "email", job.settings.email_per_second)
    relay = deployment.relay(job.box)
    try:
        while (tally := send_batch(factory, job, relay, gate, clock(), batch)) is not None:
            for name, value in vars(tally).items():
                setattr(total, name, getattr(total, name) + value)
    finally:
        relay.close()
    return total


def recover(factory: sessionmaker[Session], now: datetime | None = None) -> list[uuid.UUID]:
    """Claims whose worker stopped (older than the lease): the first send still marked
    ``sending`` of each may have been handed over and is recorded ``unknown``; the rest
    are queued again. Returns the campaigns concerned."""
    before = (now or utcnow()) - LEASE
    touched: set[uuid.UUID] = set()
    with transaction(factory) as session:
        repo = SendRepository.from_session(session)
        for claim_id in repo.stale_claims(before):
            sends = repo.of_claim(claim_id)
            if not sends:
                continue
            first, rest = sends[0], sends[1:]
            outcomes: list[dict[str, Any]] = [
                {
                    "id": first.id,
                    "status": "unknown",
                    "code": "interrupted",
                    "reason": UNKNOWN_REASON,
                    "claim_id": None,
                }
            ]
            outcomes += [{"id": s.id, "status": "queued", "claim_id": None} for s in rest]
            repo.settle(outcomes)
            touched.update(s.campaign_id for s in sends if s.campaign_id is not None)
    return sorted(touched, key=str)
