"""Send benchmark (``accord bench send``): a campaign to a segment of N people, through
a real SMTP sink on loopback in a process of its own, end to end (the send queue's
claims, consent for every batch, frequency caps and holds, rendering the personalized
template, MIME, SMTP, each outcome recorded), beside the limit: the same sink fed
pre-rendered messages over the same number of SMTP sessions with nothing else.

The people are seeded directly (profiles with a first name, an email and a plan; 1% who
denied email marketing, 0.5% suppressed addresses, 0.5% addresses the relay refuses),
the segment built by the segment engine, the campaign created and launched through the
outreach service. Every recipient must be accounted for: sent, refused with a reason or
bounced, and the sink must have received each sent message exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.segments import service as segment_service
from accord.bench.common import cpu_of, cpu_since, free_port, postgres_pids
from accord.channels import mailbox
from accord.channels.relay_pool import RelayPool
from accord.govern.access.principal import Principal
from accord.govern.consent import service as consent
from accord.govern.consent import suppression
from accord.govern.consent.policy import may_contact
from accord.govern.consent.repository import SuppressionRepository
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.models import Workspace
from accord.jobs import segment_engine
from accord.kit.db import transaction, written
from accord.kit.dialect import copy_rows
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.outreach import sending, service
from accord.outreach import settings as outreach_settings
from accord.outreach.job import Deployment
from accord.outreach.models import Send
from accord.outreach.schemas import CampaignIn
from accord.outreach.templates import Envelope, email_bytes
from accord.profile.models import Profile

NAME = "bench-send"
TARGET_SHARE = 0.70
TARGET_RATE = 500.0
FIRST = ["Ana", "Ben", "Cho", "Dev", "Eli", "Fay", "Gus", "Hal", "Ivy", "Jon", "Kai", "Lea"]
HTML = """<html><body>
<h1>Hello {{ person.first_name | default('there') }},</h1>
<p>Our spring sale starts today{% if values.orders %}, and as one of our customers
with {{ values.orders }} orders you get early access{% endif %}.</p>
<p><a href="https://shop.example/spring?utm_source=email">See the sale</a> or
<a href="https://shop.example/new">what is new</a>.</p>
</body></html>"""
TEXT = "Hello {{ person.first_name }}, our spring sale starts today: https://shop.example/spring"


@dataclass
class SendResult:
    recipients: int
    senders: int
    sessions: int
    seconds_plan: float = 0.0
    limit_messages: int = 0
    limit_seconds: float = 0.0
    limit_again_seconds: float = 0.0  # the same, measured again after the campaign
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    sink: dict[str, int] = field(default_factory=dict)
    cpu_us: float = 0.0
    limit_cpu_us: float = 0.0
    sink_cpu_us: float = 0.0
    db_cpu_us: float = 0.0
    rss_mb: float = 0.0
    peak_mb: float = 0.0
    accounted: bool = False

    @property
    def limit_rate(self) -> float:
        """The faster of the two measures: this machine's speed drifts, and the share
        is taken of the higher limit."""
        fastest = min(x for x in (self.limit_seconds, self.limit_again_seconds) if x > 0)
        return self.limit_messages / fastest if fastest else 0.0

    @property
    def handled(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "holdout")

    @property
    def rate(self) -> float:
        return self.handled / self.seconds if self.seconds else 0.0

    def lines(self) -> list[str]:
        share = self.rate / self.limit_rate if self.limit_rate else 0.0
        met = share >= TARGET_SHARE and self.rate >= TARGET_RATE
        return [
            f"recipients: {self.recipients:,}; delivery jobs: {self.senders}, each with "
            f"{self.sessions} SMTP sessions",
            f"planning the sends: {self.seconds_plan:.1f} s",
            f"limit (the campaign's messages pre-rendered, SMTP only): {self.limit_messages:,} in "
            f"{self.limit_seconds:.1f} s before the campaign, {self.limit_again_seconds:.1f} s "
            f"after: {self.limit_rate:,.0f} messages/s at the faster",
            f"end to end (claim, consent, caps, holds, render, SMTP, outcome): "
            f"{self.handled:,} recipients in {self.seconds:.1f} s = {self.rate:,.0f} messages/s "
            f"({share:.0%} of the limit; target >= {TARGET_SHARE:.0%} and >= "
            f"{TARGET_RATE:.0f}/s: {'MET' if met else 'NOT MET'})",
            f"CPU of the sending process per message: {self.cpu_us:.0f} µs end to end, "
            f"{self.limit_cpu_us:.0f} µs for the limit; the SMTP sink {self.sink_cpu_us:.0f} µs, "
            f"the database {self.db_cpu_us:.0f} µs (end to end)",
            "outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.counts.items())),
            f"sink: {self.sink.get('campaign_messages', 0):,} campaign messages, "
            f"{self.sink.get('duplicates', 0)} duplicates",
            f"every recipient accounted for: {'yes' if self.accounted else 'NO'}",
            f"memory: {self.rss_mb:.0f} MB resident after sending, peak {self.peak_mb:.0f} MB",
        ]


def _memory() -> tuple[float, float]:
    rss = peak = 0.0
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("VmHWM:"):
                peak = int(line.split()[1]) / 1024
    return rss, peak


class Sink:
    """The SMTP sink process."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.out = data_dir / f"sink-{self.port}.json"
        self.proc = subprocess.Popen(  # noqa: S603 - this interpreter, a module of ours
            [sys.executable, "-m", "accord.bench.smtp_sink", str(self.port), str(self.out)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        if self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("the SMTP sink did not start")

    def counts(self) -> dict[str, int]:
        self.out.unlink(missing_ok=True)
        self.proc.send_signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while not self.out.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the SMTP sink did not answer")
            time.sleep(0.05)
        time.sleep(0.05)
        return dict(json.loads(self.out.read_text()))

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.out.unlink(missing_ok=True)


def seed(
    factory: sessionmaker[Session], n: int, port: int, secret_key: str
) -> tuple[uuid.UUID, uuid.UUID]:
    """The workspace, its people, their consent and suppressions, the segment; returns
    the workspace and segment ids."""
    with transaction(factory) as session:
        old = session.scalar(select(Workspace).where(Workspace.slug == NAME))
        if old is not None:
            session.delete(old)
            session.flush()
        ws = workspaces.create_workspace(session, NAME).workspace
        actor = Principal.cli(ws.id)
        mailbox.save(
            session,
            ws.id,
            {
                "address": "news@bench-send.example",
                "name": "Bench Outdoor",
                "relay": {"host": "127.0.0.1", "port": port},
            },
            secret_key,
            actor=actor,
        )
        outreach_settings.save(
            session,
            ws.id,
            {
                "postal_address": "Bench Outdoor, 1 Harbour Road, Portland ME 04101",
                "email_per_second": 10_000,
            },
            actor=actor,
        )
        now = utcnow()
        people: list[tuple[Any, ...]] = []
        states: list[tuple[Any, ...]] = []
        suppressed: list[str] = []
        salt = suppression.salt_of(session, ws.id)
        for i in range(n):
            pid = new_id()
            first = FIRST[i % len(FIRST)]
            kind = "bounce" if i % 200 == 7 else "p"
            email = f"{kind}{i:07d}@example.com"
            traits = {
                "firstName": {"value": first},
                "email": {"value": email},
                "plan": {"value": "news"},
            }
            people.append((pid, email, first, traits, i % 5))
            if i % 100 == 3:
                states.append((pid, "denied"))
            if i % 200 == 11:
                suppressed.append(suppression.digest(salt, "email", email))
        table = Profile.__table__
        assert isinstance(table, Table)
        copy_rows(
            session,
            table,
            (
                tuple(
                    {
                        "id": pid,
                        "created_at": now,
                        "workspace_id": ws.id,
                        "merged_into_id": None,
                        "contested": False,
                        "traits": traits,
                        "stats": {},
                        "display_name": first,
                        "search_name": first.lower(),
                        "email": email,
                        "phone": None,
                        "first_seen_at": now,
                        "last_seen_at": now,
                        "order_count": orders,
                        "revenue": 0,
                        "updated_at": now,
                    }[c.name]
                    for c in written(table)
                )
                for pid, email, first, traits, orders in people
            ),
        )
        for pid, status in states:
            consent.record(
                session,
                ws.id,
                pid,
                channel="email",
                purpose="marketing",
                status=status,
                source="form",
            )
        SuppressionRepository.from_session(session).add_many(
            ws.id, {d: "email" for d in suppressed}, reason="bench", request_id=None
        )
        segment = segment_service.save(
            session,
            ws.id,
            name="Newsletter",
            definition={"kind": "trait", "field": "plan", "op": "eq", "value": "news"},
            description=None,
            actor=actor,
        )
        session.flush()
        segment_service.build(session, segment_engine(), segment)
        return ws.id, segment.id


def prerender(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    campaign_id: uuid.UUID,
    deployment: Deployment,
    messages: int,
) -> list[tuple[str, bytes]]:
    """The campaign's own messages, rendered for its first people as a send would be
    (personalized, links tracked, footer, MIME), addressed to stand-in recipients so that
    the sink does not count the campaign's later messages as second copies."""
    out: list[tuple[str, bytes]] = []
    with transaction(factory) as session:
        campaign = service.get(session, workspace_id, campaign_id)
        people = list(
            session.scalars(
                select(Profile.id)
                .where(Profile.workspace_id == workspace_id)
                .order_by(Profile.id)
                .limit(messages)
            )
        )
        box = mailbox.of(service.workspace_of(session, workspace_id), deployment.secret_key)
        assert box is not None
        now = utcnow()
        for i in range(messages):
            subject, html, text = service.render_as(
                session, campaign, people[i % len(people)], deployment
            )
            to = f"limit{i:07d}@example.com"
            envelope = Envelope(
                sender=box.address,
                sender_name=box.name,
                to=to,
                subject=subject,
                message_id=f"<limit-{i}@{box.domain}>",
                at=now,
                unsubscribe="https://bench.example/unsubscribe/x",
            )
            out.append((to, email_bytes(envelope, text, html)))
    return out


def _accepted(tag: Any, error: BaseException | None) -> None:
    if error is not None:
        raise error


def limit(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    secret_key: str,
    messages: list[tuple[str, bytes]],
    senders: int,
    sessions: int,
) -> tuple[float, float]:
    """Seconds the sink takes for these pre-rendered messages through the transport a
    campaign uses (``senders`` threads, each with ``sessions`` SMTP sessions), nothing
    else done, and the CPU seconds this process spent meanwhile."""
    with transaction(factory) as session:
        ws = session.get(Workspace, workspace_id)
        assert ws is not None
        box = mailbox.of(ws, secret_key)
        assert box is not None
        permits = {
            to: may_contact(session, ws, None, "email", "service", address=to).permit()
            for to, _ in messages
        }
    shares = [messages[i::senders] for i in range(senders)]

    def run(share: list[tuple[str, bytes]]) -> None:
        relay = RelayPool(box, _accepted, sessions=sessions)
        try:
            for to, data in share:
                relay.hand_over(permits[to], to, data)
        finally:
            relay.close()

    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    cpu = time.process_time()
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - started, time.process_time() - cpu


def run(
    factory: sessionmaker[Session],
    url: str,
    data_dir: Path,
    *,
    recipients: int,
    senders: int,
    sessions: int,
    limit_messages: int,
    secret_key: str,
    progress: Callable[[int], None],
) -> SendResult:
    result = SendResult(recipients=recipients, senders=senders, sessions=sessions)
    sink = Sink(data_dir)
    try:
        workspace_id, segment_id = seed(factory, recipients, sink.port, secret_key)
        actor = Principal.cli(workspace_id)
        deployment = Deployment(
            secret_key=secret_key, base_url="https://bench.example", sessions=sessions
        )
        with transaction(factory) as session:
            campaign = service.create(
                session,
                actor,
                CampaignIn(
                    name="Spring sale",
                    segment_id=segment_id,
                    subject="{{ person.first_name }}, our spring sale starts today",
                    html=HTML,
                    text=TEXT,
                ),
            )
            campaign_id = campaign.id
        ready = prerender(factory, workspace_id, campaign_id, deployment, limit_messages)
        result.limit_messages = limit_messages
        result.limit_seconds, cpu_used = limit(
            factory, workspace_id, secret_key, ready, senders, sessions
        )
        result.limit_cpu_us = cpu_used / limit_messages * 1e6
        del ready
        before = sink.counts()
        started = time.perf_counter()
        with transaction(factory) as session:
            service.launch(session, actor, campaign_id, secret_key=secret_key)
        result.seconds_plan = time.perf_counter() - started
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                sending.deliver(factory, campaign_id, deployment)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=deliver) for _ in range(senders)]
        db_pids = postgres_pids()
        sink_cpu, db_cpu = cpu_of([sink.proc.pid]), cpu_of(db_pids)
        cpu = time.process_time()
        started = time.perf_counter()
        finished = threading.Event()

        def watch() -> None:
            for t in threads:
                t.join()
            finished.set()

        for t in threads:
            t.start()
        threading.Thread(target=watch, daemon=True).start()
        done = 0
        ended: float | None = None
        while ended is None:
            # As often as the console's progress view asks; the end is taken the moment
            # the last sender stops, not at the next look.
            if finished.wait(2.0):
                ended = time.perf_counter()
            with transaction(factory) as session:
                now_done = int(
                    session.scalar(
                        select(func.count()).where(
                            Send.campaign_id == campaign_id,
                            Send.status.not_in(("queued", "sending")),
                        )
                    )
                    or 0
                )
            progress(now_done - done)
            done = now_done
        result.seconds = ended - started
        result.cpu_us = (time.process_time() - cpu) / max(recipients, 1) * 1e6
        sink_used = cpu_since(sink_cpu, cpu_of([sink.proc.pid]))
        db_used = cpu_since(db_cpu, cpu_of(postgres_pids()))
        result.sink_cpu_us = sink_used / max(recipients, 1) * 1e6
        result.db_cpu_us = db_used / max(recipients, 1) * 1e6
        if errors:
            raise errors[0]
        with transaction(factory) as session:
            service.finish_if_done(session, campaign_id)
            rows = session.execute(
                select(Send.status, func.count())
                .where(Send.campaign_id == campaign_id)
                .group_by(Send.status)
            )
            result.counts = {s: int(n) for s, n in rows}
            unexplained = session.scalar(
                select(func.count()).where(
                    Send.campaign_id == campaign_id,
                    Send.status.in_(("refused", "bounced", "failed")),
                    Send.reason.is_(None),
                )
            )
        after = sink.counts()
        result.sink = {
            "campaign_messages": after["messages"] - before["messages"],
            "duplicates": after["duplicates"] - before["duplicates"],
        }
        result.rss_mb, result.peak_mb = _memory()  # the campaign's, before the limit again
        again = prerender(factory, workspace_id, campaign_id, deployment, limit_messages)
        result.limit_again_seconds, _ = limit(
            factory, workspace_id, secret_key, again, senders, sessions
        )
        del again
        sent = result.counts.get("sent", 0)
        final = {"sent", "refused", "bounced"}
        result.accounted = (
            sum(result.counts.values()) == recipients
            and set(result.counts) <= final
            and not unexplained
            and result.sink["campaign_messages"] == sent
            and result.sink["duplicates"] == 0
        )
    finally:
        sink.stop()
    return result
