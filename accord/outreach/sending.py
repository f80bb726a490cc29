"""The send queue at work: claim a batch of due sends, decide each (consent, frequency,
holds, quiet hours), render each email as it goes out and hand it to the relay over a few
SMTP sessions at once (``channels.relay_pool``; texts one by one to the SMS provider),
and record the outcomes a small window at a time.

**Never twice.** A batch is claimed (status ``sending``, a claim id) in the same
transaction that records the sends decided against, while the batch before goes out
(``ahead``); then its messages go to the relay in the order of their people, and their
outcomes are committed together every ``outcomes.WINDOW`` answers (sooner when the relay
is slow) by a writer thread while the next messages go out; the sending thread waits for
one window's commit before it hands over the next. A batch's last messages are still in
flight when the next one starts. At any moment, the messages handed over without their
record are those of the window being committed, of the window filling and those still in
flight on the sessions: at most ``IN_DOUBT``, and, in the order the delivery made its
claims and then of their people, all before every message not yet handed over. If the
process dies, its claims are found stale later (:func:`recover`) and put back in that
order (``ahead.runs``): of the sends still marked ``sending``, the first ``IN_DOUBT`` may
have been handed over, so those are recorded ``unknown`` and the rest are queued again.
A crash therefore sends nobody a message twice, and leaves at most ``IN_DOUBT`` messages
of which nobody can say whether they arrived. (Committing each message alone, on one
session, would leave one, at the cost of a transaction a message: the database's
largest share of a campaign.)"""

from __future__ import annotations

import logging
import smtplib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.scoring.models import CustomerScore
from accord.channels import sms
from accord.channels.relay_pool import RelayPool
from accord.govern.consent.policy import Ask, Decision, Permit, decide_many
from accord.kit.db import read_only, transaction
from accord.kit.dialect import one_of
from accord.kit.threads import prompt_switching
from accord.kit.time import utcnow
from accord.outreach.ahead import Ahead, runs
from accord.outreach.job import (
    Deployment,
    Job,
    job_context,
    load_job,
    render_email,
    unsubscribe_link,
)
from accord.outreach.models import Campaign, Send
from accord.outreach.outcomes import IN_DOUBT, MAX_SESSIONS, Handed, Recorder, outcome_of
from accord.outreach.repository import Claimed, SendRepository
from accord.outreach.rules import Rules
from accord.outreach.templates import (
    Envelope,
    email_bytes,
)
from accord.outreach.texts import Texts, render_text
from accord.outreach.throttle import Throttle, throttle_of
from accord.profile.models import Profile

log = logging.getLogger(__name__)
BATCH = 200
LEASE = timedelta(minutes=5)
UNKNOWN_REASON = (
    "the sending process stopped while this message was being handed to the relay or "
    "before its outcome was recorded; it is not sent again, so that nobody receives it twice"
)


# --- one batch ----------------------------------------------------------------------------


@dataclass
class Prepared:
    """A message ready to hand over: an email's bytes, or a text."""

    send_id: uuid.UUID
    profile_id: uuid.UUID
    to: str
    message_id: str
    data: bytes | str
    permit: Permit
    attempts: int = 0


@dataclass(slots=True)
class Approved:
    """A send consent and the rules let go, with the decision (and a text, already
    rendered)."""

    send: Claimed
    decision: Decision
    prepared: Prepared | None = None


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


PERSON_COLUMNS = (
    Profile.id,
    Profile.workspace_id,
    Profile.merged_into_id,
    Profile.traits,
    Profile.stats,
    Profile.display_name,
    Profile.email,
    Profile.phone,
    Profile.first_seen_at,
    Profile.last_seen_at,
    Profile.order_count,
    Profile.revenue,
)


@dataclass(slots=True)
class Person:
    """What sending reads of a person (the consent policy's subject, a template's
    context), read as plain rows for a whole batch."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    merged_into_id: uuid.UUID | None
    traits: dict[str, Any]
    stats: dict[str, Any]
    display_name: str | None
    email: str | None
    phone: str | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    order_count: int
    revenue: Any


@dataclass
class Batch:
    """A claimed batch being decided: its people, and the outcomes of the sends that
    will not go out now."""

    job: Job
    sends: Sequence[Claimed]
    profiles: dict[uuid.UUID, Person]
    scores: dict[uuid.UUID, CustomerScore]
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    tally: Tally = field(default_factory=Tally)
    asking: list[Claimed] = field(default_factory=list)

    @classmethod
    def load(cls, session: Session, job: Job, sends: Sequence[Claimed]) -> Batch:
        ids = [s.profile_id for s in sends]
        profiles = {
            p.id: p
            for p in (
                Person(*row)
                for row in session.execute(
                    select(*PERSON_COLUMNS).where(one_of(session, Profile.id, ids))
                )
            )
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

    def refuse(self, send: Claimed, code: str, reason: str) -> None:
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

    def asks(self) -> list[tuple[Person, Ask]]:
        c = self.job.campaign
        return [
            (self.profiles[s.profile_id], Ask(c.channel, c.purpose, s.address)) for s in self.asking
        ]

    def ready(
        self, session: Session, decisions: Sequence[Decision], now: datetime
    ) -> list[Approved]:
        """The messages to hand over, in the claim's order, once consent decided and the rules
        (caps, holds, quiet hours) judged; the others get their outcome. A text is
        rendered here (one too long for a provider is refused); an email when it goes
        out."""
        job = self.job
        allowed: list[tuple[Claimed, Decision]] = []
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
        out: list[Approved] = []
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
            elif not job.texts:  # rendered as it goes out (``send_batch``)
                out.append(Approved(send, decision))
            else:
                prepared = self.prepare(send, decision.permit(), now)
                if isinstance(prepared.data, str) and len(prepared.data) > sms.MAX_BODY:
                    self.refuse(
                        send,
                        "too_long",
                        f"the text is {len(prepared.data):,} characters as written for this "
                        f"person; a provider takes at most {sms.MAX_BODY:,}",
                    )
                else:
                    out.append(Approved(send, decision, prepared))
        return out

    def prepare(self, send: Claimed, permit: Permit, now: datetime) -> Prepared:
        job = self.job
        profile = self.profiles[send.profile_id]
        context = job_context(job, profile, self.scores.get(send.profile_id))
        if job.texts:
            text = render_text(job.compiled, job.campaign.purpose, context)
            return Prepared(
                send.id, profile.id, send.address or "", "", text, permit, send.attempts
            )
        assert job.box is not None
        unsubscribe = unsubscribe_link(job, profile.id)
        rendered, text, html = render_email(job, send.id, profile.id, context, unsubscribe)
        message_id = f"<{send.id}@{job.box.domain or 'accord.local'}>"
        envelope = Envelope(
            sender=job.settings.from_address or job.box.address,
            sender_name=job.campaign.from_name or job.box.name,
            to=send.address or "",
            subject=rendered.subject,
            message_id=message_id,
            at=now,
            unsubscribe=unsubscribe,
            headers={"X-Accord-Send": str(send.id)},
        )
        data = email_bytes(envelope, text, html, send.id)
        return Prepared(
            send.id, profile.id, send.address or "", message_id, data, permit, send.attempts
        )


class Finished:
    """Where a delivery's answers go: each message's outcome, to the recorder and the
    job's tally (the relay calls it as each answer comes, whichever batch it was of)."""

    def __init__(self, job: Job, recorder: Recorder, tally: Tally) -> None:
        self.job = job
        self.recorder = recorder
        self.tally = tally

    def __call__(self, p: Prepared, error: BaseException | None) -> None:
        values = outcome_of(error, p.attempts, utcnow())
        values["attempts"] = p.attempts + 1
        job = self.job
        handed = Handed(job.workspace, p.send_id, p.to, p.message_id, p.profile_id, job.texts)
        self.recorder.mark(handed, values)
        self.tally.add("retried" if values["status"] == "queued" else str(values["status"]))


@dataclass
class Decided:
    """A batch claimed and decided: what goes out, and its last person."""

    batch: Batch
    ready: list[Approved]
    last: uuid.UUID
    now: datetime


def decide_batch(
    factory: sessionmaker[Session],
    job: Job,
    now: datetime,
    claim_id: uuid.UUID,
    size: int = BATCH,
    after: uuid.UUID | None = None,
) -> Decided | None:
    """Claim and decide one batch (consent for the whole batch with ``decide_many``, then
    the rules), recording what will not go out; None when nothing is due, or when the
    campaign was paused or cancelled meanwhile (the batch decided before that still goes
    out)."""
    with transaction(factory) as session:
        repo = SendRepository.from_session(session)
        if isinstance(job.campaign, Campaign) and not repo.campaign_sending(job.campaign.id):
            return None
        sends = repo.claim(job.scope, claim_id, size, now, after)
        if not sends:
            return None
        batch = Batch.load(session, job, sends)
        decisions = decide_many(session, job.workspace, batch.asks(), at=now)
        ready = batch.ready(session, decisions, now)
        repo.settle(batch.outcomes)
    batch.tally.batches = 1
    return Decided(batch, ready, sends[-1].profile_id, now)


def send_batch(
    decided: Decided, relay: RelayPool | Texts, finished: Finished, gate: Throttle
) -> Tally:
    """Hand over a decided batch, each message with the permit of its decision (asked
    for the batch moments before, while the batch before went out). The emails are left
    in flight on the relay's sessions when the batch ends; their outcomes come to
    ``finished``. Returns what was decided without sending (refused, held, later)."""
    batch = decided.batch
    for a in decided.ready:
        if isinstance(relay, Texts):
            p = a.prepared  # a text is rendered, with its permit, as it is decided
            assert p is not None
            assert isinstance(p.data, str)
            gate.wait()
            error: BaseException | None = None
            try:
                p.message_id = relay.hand_over(p.permit, p.to, p.data, p.send_id)
            except (smtplib.SMTPException, OSError, sms.SmsError) as exc:
                error = exc
            finished(p, error)
        else:
            p = batch.prepare(a.send, a.decision.permit(), decided.now)
            assert isinstance(p.data, bytes)
            gate.wait()
            relay.hand_over(p.permit, p.to, p.data, p)
    finished.recorder.flush()
    return batch.tally


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
    if job is None:
        return Tally()
    return run_job(factory, job, batch=batch, clock=clock, throttle=throttle)


def run_job(
    factory: sessionmaker[Session],
    job: Job,
    *,
    batch: int = BATCH,
    clock: Callable[[], datetime] = utcnow,
    throttle: Throttle | None = None,
) -> Tally:
    """Send every due send of a job's scope, a batch at a time, until none is due."""
    total = Tally()
    deployment = job.deployment
    recorder = Recorder(factory)
    finished = Finished(job, recorder, total)
    relay: RelayPool | Texts | None = None
    try:
        if job.texts:
            rate = job.settings.sms_per_second
            assert job.provider is not None
            relay = Texts(job.provider, deployment.texter, deployment.base_url, job.workspace.id)
        else:
            assert job.box is not None
            rate = job.settings.email_per_second
            sessions = min(deployment.sessions, MAX_SESSIONS)
            relay = deployment.relay(job.box, finished, sessions=sessions)
        gate = throttle or throttle_of(job.workspace.id, job.campaign.channel, rate)
        size = batch_size(batch, rate)

        def decide(now: datetime, claim_id: uuid.UUID, after: uuid.UUID | None) -> Decided | None:
            return decide_batch(factory, job, now, claim_id, size, after)

        ahead = Ahead(decide, partial(put_back, factory), clock)
        try:
            with prompt_switching():
                for decided in ahead:
                    tally = send_batch(decided, relay, finished, gate)
                    for name, value in vars(tally).items():
                        setattr(total, name, getattr(total, name) + value)
        finally:
            ahead.close()
    finally:
        try:
            if relay is not None:
                relay.close()
        finally:
            recorder.close()
    return total


def batch_size(most: int, rate: float) -> int:
    """A batch small enough to go out within an eighth of the lease at the throttle's
    rate: a delivery holds two claims at a time (the one going out, the one decided
    ahead), and a few deliveries may share a workspace's rate, so no live claim ever
    looks stale to the sweep (``recover``)."""
    return max(1, min(most, int(rate * LEASE.total_seconds() / 8)))


def put_back(factory: sessionmaker[Session], decided: Decided) -> None:
    """A batch decided and never handed over: its sends queued again, claim released."""
    with transaction(factory) as session:
        SendRepository.from_session(session).settle(
            [{"id": a.send.id, "status": "queued", "claim_id": None} for a in decided.ready]
        )


def recover_run(repo: SendRepository, claims: Sequence[uuid.UUID]) -> None:
    """The stale claims of one delivery, in the order it made them (``ahead.runs``): of
    their sends still marked ``sending``, in that order and then their people's, the
    first ``IN_DOUBT`` may have been handed over and are recorded ``unknown``; the rest
    are queued again."""
    sends = [s for claim_id in claims for s in repo.of_claim(claim_id)]
    outcomes: list[dict[str, Any]] = [
        {
            "id": s.id,
            "status": "unknown",
            "code": "interrupted",
            "reason": UNKNOWN_REASON,
            "claim_id": None,
        }
        for s in sends[:IN_DOUBT]
    ]
    outcomes += [{"id": s.id, "status": "queued", "claim_id": None} for s in sends[IN_DOUBT:]]
    repo.settle(outcomes)


def recover_stale(
    repo: SendRepository, scope: Sequence[ColumnElement[bool]], before: datetime
) -> bool:
    """Recover the claims of a campaign or journey (``scope``) older than ``before``,
    delivery by delivery; whether there were any."""
    claims = repo.stale_claims(scope, before)
    for run in runs(claims):
        recover_run(repo, run)
    return bool(claims)


def recover(factory: sessionmaker[Session], now: datetime | None = None) -> list[uuid.UUID]:
    """Campaigns' claims whose worker stopped (older than the lease), recovered
    (``recover_stale``; what a cancelled campaign had queued is refused). Returns the
    campaigns concerned."""
    before = (now or utcnow()) - LEASE
    touched: list[uuid.UUID] = []
    with transaction(factory) as session:
        repo = SendRepository.from_session(session)
        for campaign_id in repo.unfinished():
            if recover_stale(repo, [Send.campaign_id == campaign_id], before):
                touched.append(campaign_id)
                campaign = session.get(Campaign, campaign_id)
                if campaign is not None and campaign.status == "cancelled":
                    repo.cancel_waiting(campaign_id, "the campaign was cancelled")
    return touched
