"""Privacy benchmark: p50/p95/p99 of the consent check every send asks
(``may_contact``), and the time to export one person to a zip and to erase one person,
each end to end (the request by email, the work, the commits), on a large workspace
loaded straight into the database.

The data set is built as a live workspace would hold it after two years: events in the
order they arrived (a person's events spread over the table), each person with a user
id, an anonymous id, an email address and a phone number linked in the identity graph,
named traits, about ten events each on average with a long tail, orders, consent records
for three in ten people (some denying every channel, some grants expired), a suppression
list, and conversations. The heaviest people, whom the benchmark exports and erases, also
have a profile merged into them, three conversations with messages, an attachment, a chat
visitor and entries in the access log. PostgreSQL is loaded with COPY; other databases
with multi-row inserts (the test suite's tiny sizes)."""

from __future__ import annotations

import gc
import io
import os
import random
import time
import uuid
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Connection, select, text
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import cpu_seconds, percentile, vacuum_analyze
from accord.bench.privacy_people import (
    ASKED,
    CHECK_P99_MS,
    ERASE_SECONDS,
    EXPORT_SECONDS,
    PROFILE,
    SUBJECTS,
    Person,
    Progress,
    Seeded,
    _uid,
    person,
)
from accord.bench.privacy_seed import Seeder
from accord.govern.access.principal import Principal
from accord.govern.consent import rules
from accord.govern.consent.policy import may_contact
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.service import get_workspace
from accord.kit import jsonio
from accord.kit.db import read_only, transaction
from accord.kit.runtime import tune_gc
from accord.privacy import erase, export
from accord.privacy import service as requests
from accord.privacy import subject as subjects
from accord.profile.models import Profile


@dataclass
class Checks:
    label: str
    ms: list[float]
    answers: Counter[str]
    cpu_ms: list[float] = field(default_factory=list)  # this process's CPU, call by call
    server_cpu_ms: float | None = None  # the PostgreSQL backend's CPU per call (mean)

    def line(self) -> str:
        ms = self.ms
        return (
            f"consent check      p50 {percentile(ms, 50):.2f} ms, p95 {percentile(ms, 95):.2f} ms, "
            f"p99 {percentile(ms, 99):.2f} ms, max {max(ms, default=float('nan')):.2f} ms "
            f"({len(ms):,} calls; {self.label})"
        )

    def cpu_line(self) -> str:
        cpu = self.cpu_ms
        server = (
            f"; PostgreSQL backend {self.server_cpu_ms:.2f} ms per call (mean)"
            if self.server_cpu_ms is not None
            else ""
        )
        return (
            f"  cpu per call     in process p50 {percentile(cpu, 50):.2f} ms, "
            f"p99 {percentile(cpu, 99):.2f} ms, mean {sum(cpu) / max(len(cpu), 1):.2f} ms{server}"
        )


@dataclass
class Job:
    """One export or erase of one person, timed end to end."""

    person: Person
    seconds: float
    request_seconds: float
    found: dict[str, int]
    detail: str


def analyzed_tables(factory: sessionmaker[Session], names: Sequence[str]) -> str:
    """Which of these tables have statistics (PostgreSQL: by autovacuum or ANALYZE)."""
    with factory() as session:
        if session.get_bind().dialect.name != "postgresql":
            return "n/a"
        rows = session.execute(
            text(
                "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(:names) "
                "AND coalesce(last_autoanalyze, last_analyze) IS NOT NULL"
            ),
            {"names": list(names)},
        )
        done = sorted(r[0] for r in rows)
        autovacuum = session.scalar(text("SELECT current_setting('autovacuum')"))
    missing = [n for n in names if n not in done]
    return (
        f"autovacuum {autovacuum}; with statistics: {', '.join(done) or 'none'}; "
        f"without: {', '.join(missing) or 'none'}"
    )


def checkpoint(factory: sessionmaker[Session]) -> float | None:
    """PostgreSQL: write out what the load (or VACUUM) left dirty, so that the figures are
    those of a database at rest rather than of one flushing gigabytes to disk meanwhile (a
    load's checkpoints stall commits for seconds). None where it is not allowed (it needs
    a superuser or pg_checkpoint) or not PostgreSQL."""
    with factory() as session:
        bind = session.get_bind()
        if bind.dialect.name != "postgresql":
            return None
        allowed = session.scalar(
            text(
                "SELECT rolsuper OR pg_has_role(current_user, 'pg_checkpoint', 'MEMBER') "
                "FROM pg_roles WHERE rolname = current_user"
            )
        )
    if not allowed:
        return None
    engine = bind.engine if isinstance(bind, Connection) else bind
    t = time.perf_counter()
    with engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))
    return time.perf_counter() - t


def analyze(factory: sessionmaker[Session]) -> tuple[float, str]:
    """VACUUM (ANALYZE) of every table, as autovacuum leaves a live database."""
    return vacuum_analyze(factory)


def check_consent(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    profiles: int,
    samples: int,
    rng: random.Random,
    base: int,
    label: str,
) -> Checks:
    """``may_contact`` for random people, channels and purposes, each with the address it
    would go to (so the suppression list is asked too), timed call by call. The person is
    loaded beforehand, as a send path has them."""
    asks = [
        (
            rng.randrange(SUBJECTS, profiles) if profiles > SUBJECTS else 0,
            rng.choice(ASKED),
            rng.choice(rules.PURPOSES),
        )
        for _ in range(samples)
    ]
    ms: list[float] = []
    cpu_ms: list[float] = []
    answers: Counter[str] = Counter()
    with read_only(factory) as session:
        workspace = get_workspace(session, workspace_id)
        ids = sorted({uuid.UUID(_uid(base, PROFILE, k)) for k, _, _ in asks})
        loaded = {p.id: p for p in session.scalars(select(Profile).where(Profile.id.in_(ids)))}
        calls = []
        for k, channel, purpose in asks:
            p = person(k)
            calls.append(
                (
                    loaded[uuid.UUID(_uid(base, PROFILE, k))],
                    channel,
                    purpose,
                    p.email if channel == "email" else p.phone,
                )
            )
        for profile, channel, purpose, address in calls[:50]:  # warm caches and plans
            may_contact(session, workspace, profile, channel, purpose, address=address)
        backend = None
        if session.get_bind().dialect.name == "postgresql":
            backend = session.scalar(text("SELECT pg_backend_pid()"))
        server_before = cpu_seconds(backend) if backend else 0.0
        for profile, channel, purpose, address in calls:
            t, c = time.perf_counter(), time.process_time()
            decision = may_contact(session, workspace, profile, channel, purpose, address=address)
            ms.append((time.perf_counter() - t) * 1000)
            cpu_ms.append((time.process_time() - c) * 1000)
            answers[decision.code] += 1
        server = (cpu_seconds(backend) - server_before) * 1000 / len(calls) if backend else None
    return Checks(label, ms, answers, cpu_ms, server)


def _request(factory: sessionmaker[Session], actor: Principal, kind: str, email: str) -> uuid.UUID:
    with transaction(factory) as session:
        made = requests.create(
            session, actor, kind=kind, identifier_type="email", identifier_value=email
        )
        return made.id


def export_person(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, p: Person, data_dir: Path
) -> Job:
    """A request by email, then its zip as the API streams it (into memory here), then
    the request marked exported: each its own transaction."""
    actor = Principal.cli(workspace_id)
    t = time.perf_counter()
    request_id = _request(factory, actor, "export", p.email)
    requested = time.perf_counter() - t
    with transaction(factory) as session:
        _, subject = requests.start_export(session, actor, request_id, via="cli")
    contents = export.Contents()
    out = io.BytesIO()
    with read_only(factory) as reader:
        workspace = get_workspace(reader, workspace_id)
        row = requests.get(reader, workspace_id, request_id)
        for chunk in export.stream(
            reader, workspace, row, subject, data_dir=data_dir, contents=contents
        ):
            out.write(chunk)
    with transaction(factory) as session:
        requests.complete_export(session, actor, request_id, contents.as_receipt())
    seconds = time.perf_counter() - t
    # Not timed: the zip holds what was found.
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as zf:
        data = jsonio.loads(zf.read("person.json"))
    assert len(data["events"]) == len(subject.event_ids), "the export lost events"
    c = contents.counts
    detail = (
        f"{c.get('events', 0):,} events, {c.get('orders', 0)} orders, "
        f"{c.get('conversations', 0)} conversations, {c.get('messages', 0)} messages, "
        f"{contents.files} file; zip {contents.bytes / 1e6:.1f} MB"
    )
    return Job(p, seconds, requested, requests.found_counts(subject), detail)


def erase_person(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, p: Person, data_dir: Path
) -> Job:
    """A request by email, then the erase with its receipt, committed."""
    actor = Principal.cli(workspace_id)
    t = time.perf_counter()
    request_id = _request(factory, actor, "erase", p.email)
    requested = time.perf_counter() - t
    with transaction(factory) as session:
        done = erase.erase_request(session, actor, request_id, data_dir=data_dir)
        receipt = dict(done.receipt or {})
    seconds = time.perf_counter() - t
    # Not timed: nothing of the person is found any longer.
    with read_only(factory) as session:
        left = subjects.find(session, workspace_id, ("email", p.email))
        assert not left.found, "the erase left the person behind"
    tables = receipt.get("tables") or {}
    detail = (
        f"{tables.get('events', 0):,} events, {tables.get('orders', 0)} orders, "
        f"{tables.get('messages', 0)} messages, {tables.get('identifiers', 0)} identifiers, "
        f"{tables.get('profiles', 0)} profiles, {receipt.get('files_removed', 0)} file; "
        f"{sum(tables.values()):,} rows in {len(tables)} tables"
    )
    return Job(p, seconds, requested, dict(receipt.get("found") or {}), detail)


@dataclass
class PrivacyResult:
    backend: str
    seeded: Seeded
    before: Checks
    before_stats: str
    analyze_seconds: float
    analyze_what: str
    after: Checks
    exports: list[Job]
    erases: list[Job]
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average before and after
    gc_threshold: int = 0
    checkpoints: list[float | None] = field(default_factory=list)  # after load, after VACUUM

    def _checkpoint_line(self) -> str:
        done = [f"{sec:.0f} s" for sec in self.checkpoints if sec is not None]
        if self.backend != "postgresql":
            return "checkpoint         n/a (not PostgreSQL)"
        if len(done) < len(self.checkpoints) or not done:
            return "checkpoint         not taken (PostgreSQL superuser or pg_checkpoint only)"
        return (
            "checkpoint         CHECKPOINT after the load and after VACUUM, so that each "
            f"measurement finds the database at rest ({', '.join(done)})"
        )

    def lines(self) -> list[str]:
        s = self.seeded
        out = [
            f"backend            {self.backend}",
            f"machine            {os.cpu_count()} cores; 1-minute load average "
            f"{self.load[0]:.1f} before measuring, {self.load[1]:.1f} after; garbage "
            + (
                f"collector tuned as in the API workers (threshold {self.gc_threshold:,})"
                if self.gc_threshold > 0
                else "collector as Python sets it"
            ),
            f"loaded             {s.profiles:,} profiles, {s.events:,} events "
            f"(seeded in {s.seconds:.0f} s: "
            + ", ".join(f"{phase} {sec:.0f} s" for phase, sec in s.phases.items())
            + ")",
            f"                   {s.identifiers:,} identifiers, {s.links:,} identity links, "
            f"{s.orders:,} orders, {s.consent_records:,} consent records, "
            f"{s.suppressions:,} suppressions, {s.conversations:,} conversations, "
            f"{s.messages:,} messages",
            self._checkpoint_line(),
            f"statistics         before ANALYZE, as the load and autovacuum left them "
            f"({self.before_stats})",
            self.before.line(),
            self.before.cpu_line(),
            f"analyze            {self.analyze_what}, as autovacuum would on a live database "
            f"({self.analyze_seconds:.0f} s)",
            self.after.line(),
            self.after.cpu_line(),
            "  answers          "
            + ", ".join(f"{code} {n:,}" for code, n in self.after.answers.most_common()),
        ]
        for name, jobs in (("export", self.exports), ("erase", self.erases)):
            for job in jobs:
                out.append(
                    f"{name:<6} person {job.person.k}   {job.seconds:.2f} s end to end "
                    f"(request {job.request_seconds:.2f} s); {job.detail}"
                )
            worst = max((j.seconds for j in jobs), default=float("nan"))
            out.append(f"{name} max         {worst:.2f} s ({len(jobs)} people)")
        p99 = percentile(self.after.ms, 99)
        worst_export = max((j.seconds for j in self.exports), default=float("nan"))
        worst_erase = max((j.seconds for j in self.erases), default=float("nan"))

        def verdict(ok: bool) -> str:
            return "met" if ok else "NOT MET"

        out += [
            f"target             consent check p99 <= {CHECK_P99_MS:g} ms: "
            f"{verdict(p99 <= CHECK_P99_MS)} ({p99:.2f} ms after ANALYZE; "
            f"{percentile(self.before.ms, 99):.2f} ms before)",
            f"target             export <= {EXPORT_SECONDS:g} s: "
            f"{verdict(worst_export <= EXPORT_SECONDS)} (max {worst_export:.2f} s)",
            f"target             erase <= {ERASE_SECONDS:g} s: "
            f"{verdict(worst_erase <= ERASE_SECONDS)} (max {worst_erase:.2f} s)",
        ]
        return out


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    profiles: int,
    events: int,
    samples: int,
    gc_threshold: int = 0,
    progress: Progress | None = None,
) -> PrivacyResult:
    with transaction(factory) as session:
        provisioned = workspaces.create_workspace(session, f"bench-privacy-{uuid.uuid4().hex[:6]}")
        workspace_id = provisioned.workspace.id
        salt = provisioned.workspace.privacy_salt
    rng = random.Random(7)
    seeder = Seeder(factory, workspace_id, salt, data_dir, progress)
    seeded = seeder.run(profiles, events, rng)
    read = ["profiles", "consent_states", "suppressions", "workspaces"]
    before_stats = analyzed_tables(factory, read)
    flushed = [checkpoint(factory)]
    # Measured as in an API worker: the load's garbage collected, then the collector tuned
    # as the workers tune it at start-up.
    gc.collect()
    tune_gc(gc_threshold)
    load_before = os.getloadavg()[0]
    before = check_consent(
        factory, workspace_id, profiles, samples, random.Random(11), seeder.base, "before ANALYZE"
    )
    analyze_seconds, analyze_what = analyze(factory)
    flushed.append(checkpoint(factory))
    after = check_consent(
        factory, workspace_id, profiles, samples, random.Random(13), seeder.base, "after ANALYZE"
    )
    exports = [export_person(factory, workspace_id, p, data_dir) for p in seeded.subjects]
    erases = [erase_person(factory, workspace_id, p, data_dir) for p in seeded.subjects]
    return PrivacyResult(
        checkpoints=flushed,
        gc_threshold=gc_threshold,
        load=(load_before, os.getloadavg()[0]),
        backend=database_url.split(":", 1)[0].split("+")[0],
        seeded=seeded,
        before=before,
        before_stats=before_stats,
        analyze_seconds=analyze_seconds,
        analyze_what=analyze_what,
        after=after,
        exports=exports,
        erases=erases,
    )
