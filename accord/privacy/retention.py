"""Retention policies: each workspace keeps each kind of data for the days its ``privacy``
settings say (none: for good), and the scheduled job (``tasks.RetentionWorker``), the CLI
and the API's dry run apply them the same way:

- ``events``: raw events received more than N days ago (ids are in time order, so they
  are read along the primary key). Events that carry traits (the golden record is
  derived from them) and order events stay: people keep their names and their orders.
- ``closed_conversations``: conversations resolved more than N days ago, with their
  messages, attachments (rows, and files no other attachment names) and logs.
- ``anonymous_profiles``: people known only by anonymous or device ids, not seen for N
  days: erased with everything they did (their conversations, if any, are left to the
  conversations' own policy).
- ``chat_visitors``: the widget's rows of browsers idle for N days (pages, cart, UTM);
  their conversations stay.

Each kind is applied in batches, each batch a transaction of its own (``apply_batch``),
so a large first pass never holds the database for long. A dry run counts the same rows
and names a few of them."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.workspaces.service import get_workspace
from accord.kit.ids import id_at
from accord.kit.time import utcnow
from accord.privacy import settings as privacy_settings
from accord.privacy import subject as subjects
from accord.privacy.erase import erase_subject, files_to_remove
from accord.privacy.erase_repository import EraseRepository
from accord.privacy.models import RetentionRun
from accord.privacy.repository import (
    RetentionRepository,
    RetentionRunRepository,
    SubjectRepository,
)
from accord.privacy.schemas import PrivacySettings, RetentionKindReport, RetentionReport

KINDS = ("events", "closed_conversations", "anonymous_profiles", "chat_visitors")
BATCH = {
    "events": 2000,
    "closed_conversations": 200,
    "anonymous_profiles": 200,
    "chat_visitors": 1000,
}
SAMPLE = 10


@dataclass
class Policy:
    kind: str
    days: int | None
    cutoff: datetime | None


@dataclass
class Batch:
    """What one batch did (or, in a dry run, found), and where the next one starts."""

    removed: dict[str, int] = field(default_factory=dict)
    found: int = 0
    sample: list[str] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    cursor: Any = None
    done: bool = False


def policies(config: PrivacySettings, now: datetime) -> list[Policy]:
    out = []
    for kind in KINDS:
        days = config.days(kind)
        out.append(Policy(kind, days, now - timedelta(days=days) if days else None))
    return out


def config_of(session: Session, workspace_id: uuid.UUID) -> PrivacySettings:
    return privacy_settings.read(get_workspace(session, workspace_id))


def apply_batch(
    session: Session,
    workspace_id: uuid.UUID,
    policy: Policy,
    cursor: Any,
    *,
    dry_run: bool,
    data_dir: Path | None,
    keep_order_totals: bool,
) -> Batch:
    """One batch of one kind from ``cursor`` (None: the start)."""
    if policy.cutoff is None:
        return Batch(done=True)
    step: Callable[..., Batch] = {
        "events": _events,
        "closed_conversations": _conversations,
        "anonymous_profiles": _anonymous,
        "chat_visitors": _visitors,
    }[policy.kind]
    return step(
        session,
        workspace_id,
        policy.cutoff,
        cursor,
        dry_run=dry_run,
        data_dir=data_dir,
        keep_order_totals=keep_order_totals,
    )


def _events(
    session: Session, workspace_id: uuid.UUID, cutoff: datetime, cursor: Any, **how: Any
) -> Batch:
    limit = BATCH["events"]
    found = RetentionRepository.from_session(session).raw_events(
        workspace_id, id_at(cutoff.timestamp()), cursor, limit
    )
    batch = Batch(found=len(found), cursor=found[-1] if found else cursor, done=len(found) < limit)
    if found and not how["dry_run"]:
        batch.removed = {"events": EraseRepository.from_session(session).events(found)}
    return batch


def _conversations(
    session: Session, workspace_id: uuid.UUID, cutoff: datetime, cursor: Any, **how: Any
) -> Batch:
    limit = BATCH["closed_conversations"]
    retention = RetentionRepository.from_session(session)
    if how["dry_run"]:  # nothing is removed: the rows are counted in one read
        return _count_conversations(retention, workspace_id, cutoff)
    rows = retention.closed_conversations(workspace_id, cutoff, limit)
    batch = Batch(found=len(rows), sample=[f"#{c.number}" for c in rows[:SAMPLE]])
    batch.done = len(rows) < limit
    if rows:
        find = SubjectRepository.from_session(session)
        erase = EraseRepository.from_session(session)
        chats = {c.id for c in rows}
        messages = find.message_ids(sorted(chats))
        digests = {a.sha256 for a in find.attachments(messages)}
        batch.removed = erase.conversations(chats, messages, [])
        batch.files = files_to_remove(erase, how["data_dir"], digests)
    return batch


def _count_conversations(
    retention: RetentionRepository, workspace_id: uuid.UUID, cutoff: datetime
) -> Batch:
    rows = retention.closed_conversations(workspace_id, cutoff, limit=100_000)
    return Batch(found=len(rows), sample=[f"#{c.number}" for c in rows[:SAMPLE]], done=True)


def _anonymous(
    session: Session, workspace_id: uuid.UUID, cutoff: datetime, cursor: Any, **how: Any
) -> Batch:
    limit = BATCH["anonymous_profiles"]
    retention = RetentionRepository.from_session(session)
    idle = retention.idle_people(workspace_id, cutoff, cursor, limit)
    batch = Batch(cursor=(idle[-1][1], idle[-1][0]) if idle else cursor, done=len(idle) < limit)
    candidates = [p for p, _ in idle]
    named = retention.named_among(candidates, ids.WEAK_TYPES)
    anonymous = [p for p in candidates if p not in named]
    batch.found = len(anonymous)
    batch.sample = [str(p) for p in anonymous[:SAMPLE]]
    if anonymous and not how["dry_run"]:
        subject = subjects.of_people(session, workspace_id, anonymous)
        erased = erase_subject(
            session,
            subject,
            keep_order_totals=how["keep_order_totals"],
            data_dir=how["data_dir"],
            conversations=False,
        )
        batch.removed = erased.counts
        batch.files = erased.files
    return batch


def _visitors(
    session: Session, workspace_id: uuid.UUID, cutoff: datetime, cursor: Any, **how: Any
) -> Batch:
    limit = BATCH["chat_visitors"]
    rows = RetentionRepository.from_session(session).idle_visitors(
        workspace_id, cutoff, 100_000 if how["dry_run"] else limit
    )
    batch = Batch(found=len(rows), sample=[str(v.id) for v in rows[:SAMPLE]])
    batch.done = how["dry_run"] or len(rows) < limit
    if rows and not how["dry_run"]:
        batch.removed = EraseRepository.from_session(session).conversations(
            [], [], [v.id for v in rows]
        )
        batch.removed = {k: v for k, v in batch.removed.items() if v}
    return batch


def kind_report(policy: Policy, count: int, sample: list[str]) -> RetentionKindReport:
    return RetentionKindReport(
        kind=policy.kind,
        days=policy.days,
        cutoff=policy.cutoff,
        count=count,
        sample=sample[:SAMPLE],
    )


def report(session: Session, workspace_id: uuid.UUID, now: datetime) -> RetentionReport:
    """The dry run: what each policy would remove now, counted without removing it."""
    config = config_of(session, workspace_id)
    kinds = []
    for policy in policies(config, now):
        count, cursor = 0, None
        sample: list[str] = []
        while policy.cutoff is not None:
            batch = apply_batch(
                session,
                workspace_id,
                policy,
                cursor,
                dry_run=True,
                data_dir=None,
                keep_order_totals=config.keep_order_totals,
            )
            count += batch.found
            sample.extend(batch.sample[: SAMPLE - len(sample)])
            cursor = batch.cursor
            if batch.done:
                break
        kinds.append(kind_report(policy, count, sample))
    return RetentionReport(
        dry_run=True, as_of=now, keep_order_totals=config.keep_order_totals, kinds=kinds
    )


def record_run(
    session: Session,
    actor: Principal,
    *,
    trigger: str,
    dry_run: bool,
    result: RetentionReport,
    removed: dict[str, dict[str, int]],
    files: int,
) -> RetentionRun:
    """Keep what a pass did (or would do); a real pass is audited."""
    summary = {
        **result.model_dump(mode="json"),
        "removed": removed,
        "files_removed": files,
    }
    run = RetentionRunRepository.from_session(session).add(
        RetentionRun(
            workspace_id=actor.workspace_id,
            trigger=trigger[:20],
            dry_run=dry_run,
            finished_at=utcnow(),
            report=summary,
        )
    )
    if not dry_run:
        audit.record(
            session,
            actor,
            "privacy.retention.applied",
            target=str(run.id),
            data={"kinds": {k.kind: k.count for k in result.kinds}, "files_removed": files},
        )
    return run


def last_run(session: Session, workspace_id: uuid.UUID) -> RetentionRun | None:
    return RetentionRunRepository.from_session(session).latest(workspace_id, dry_run=False)


def has_policies(session: Session, workspace_id: uuid.UUID) -> bool:
    config = config_of(session, workspace_id)
    return any(config.days(kind) for kind in KINDS)
