"""Erasing a person everywhere, irreversibly: their profiles (those merged into them too),
identifiers and identity links, the merges, separations and match candidates that name
them, every event that carries one of their identifiers, their orders (or, where the
workspace keeps order totals as legally required records, the orders anonymized), their
conversations with messages, attachments (rows and files) and logs, their chat visitors
and what triggers showed them, consent records and states, the access log, the audit
events about them, their names in the matching model's term frequencies, and the rows of
any other table whose foreign key names one of these (or whose column declares that it
names one, where a key was dropped for its cost). Their identifiers then go on the
suppression list (as salted hashes), so a later tracking call or import carrying one
creates nobody.

``erase_subject`` is the set-based core, shared with retention (people known only by
anonymous ids); ``erase_request`` runs an erase request and writes its receipt, which
counts what went per table and never holds a clear identifier."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.consent import suppression
from accord.govern.workspaces.service import get_workspace
from accord.inbox.intake import attachment_path
from accord.kit.db import checkpoint_wal
from accord.kit.errors import conflict
from accord.kit.signals import after_commit
from accord.kit.time import utcnow
from accord.match import names
from accord.privacy import settings as privacy_settings
from accord.privacy import subject as subjects
from accord.privacy.erase_repository import EraseRepository
from accord.privacy.models import OPEN, PrivacyRequest
from accord.privacy.repository import PrivacyRequestRepository, SubjectRepository
from accord.privacy.service import found_counts, get
from accord.privacy.subject import Subject
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository
from accord.profile.service import ProfileContext, recompute
from accord.resolve.repository import IdentifierRepository

log = logging.getLogger(__name__)
NAME_TRAITS = {"first_name": "firstName", "last_name": "lastName", "postcode": "address.postalCode"}


@dataclass
class Erased:
    counts: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    visitor_ids: list[uuid.UUID] = field(default_factory=list)
    orders_kept: int = 0

    def add(self, counts: dict[str, int]) -> None:
        for table, n in counts.items():
            self.counts[table] = self.counts.get(table, 0) + n


def erase_subject(
    session: Session,
    subject: Subject,
    *,
    keep_order_totals: bool,
    data_dir: Path | None,
    conversations: bool = True,
) -> Erased:
    """Delete (or, for kept orders, anonymize) everything of the subject; files to remove
    are listed, not removed (that waits for the commit). Without ``conversations`` their
    conversations stay (retention leaves them to their own policy), without the person."""
    session.flush()
    ws = subject.workspace_id
    people = list(subject.profile_ids)
    idents = list(subject.identifier_ids)
    find = SubjectRepository.from_session(session)
    repo = EraseRepository.from_session(session)
    out = Erased()
    names_of = _names(find.profiles(people[:1])) if people else set()

    orders = find.orders_of(people, sorted(subject.event_ids))
    events = set(subject.event_ids)
    if keep_order_totals and orders:
        out.orders_kept = repo.keep_orders(orders)
        events -= {o.event_id for o in orders}
    else:
        out.add({"orders": repo.orders([o.id for o in orders])})

    chats = find.conversation_ids(ws, people) if conversations else set()
    visitors = find.visitors(ws, subject.values(ids.ANONYMOUS_ID), sorted(chats))
    if conversations:
        chats |= {v.conversation_id for v in visitors if v.conversation_id is not None}
    out.visitor_ids = [v.id for v in visitors]
    messages = find.message_ids(sorted(chats))
    digests = {a.sha256 for a in find.attachments(messages)}
    out.add(repo.conversations(chats, messages, out.visitor_ids))
    out.files = files_to_remove(repo, data_dir, digests)

    out.add(repo.profile_rows(ws, people))
    out.add(repo.graph(ws, people, idents))
    others = set(subject.others)
    out.add({"events": repo.events(events)})
    out.add({"identifiers": repo.identifiers(idents)})
    out.add({"social_mentions": repo.social_mentions(ws, subject.values(ids.SOCIAL))})
    out.add({"audit_events": repo.audit_events(ws, [str(p) for p in people])})
    out.add(
        repo.referencing(
            {
                "profiles": people,
                "identifiers": idents,
                "events": events,
                "conversations": chats,
                "messages": messages,
                "chat_visitors": out.visitor_ids,
            }
        )
    )
    out.add({"profiles": repo.profiles(people)})
    out.add({"match_runs": _scrub_term_frequencies(repo, ws, names_of)})
    session.flush()
    _forget(session)
    if others:
        _recompute(session, ws, others)
    out.counts = {k: v for k, v in sorted(out.counts.items()) if v}
    return out


def files_to_remove(repo: EraseRepository, data_dir: Path | None, digests: set[str]) -> list[Path]:
    """The stored files of these hashes that no attachment names any longer (a file is
    stored once for everyone who sent it)."""
    if data_dir is None or not digests:
        return []
    kept = repo.still_stored(digests)
    return [p for d in sorted(digests - kept) if (p := attachment_path(data_dir, d)).exists()]


def _names(profiles: list[Profile]) -> set[tuple[str, str]]:
    """(column, value) of the person's names and postcode as the matching model keeps
    them in its term frequencies."""
    out: set[tuple[str, str]] = set()
    for p in profiles:
        for column, trait in NAME_TRAITS.items():
            entry = (p.traits or {}).get(trait)
            value = entry.get("value") if isinstance(entry, dict) else None
            if not isinstance(value, str) or not value.strip():
                continue
            clean = names.clean_postcode if column == "postcode" else names.clean_name
            for form in (value, value.strip().lower(), clean(value)):
                if isinstance(form, str) and form:
                    out.add((column, form))
    return out


def _scrub_term_frequencies(
    repo: EraseRepository, workspace_id: uuid.UUID, found: set[tuple[str, str]]
) -> int:
    """The matching model keeps how common each name is: the person's go (a value no
    longer listed counts as a rare one)."""
    if not found:
        return 0
    changed = 0
    for run in repo.match_runs(workspace_id):
        report = dict(run.report or {})
        tf = report.get("tf")
        if not isinstance(tf, dict):
            continue
        new_tf = {
            column: {k: v for k, v in values.items() if (column, k) not in found}
            if isinstance(values, dict)
            else values
            for column, values in tf.items()
        }
        if new_tf != tf:
            run.report = {**report, "tf": new_tf}
            changed += 1
    return changed


def _forget(session: Session) -> None:
    """The deleted rows' objects leave the session (nothing may write them back)."""
    for obj in list(session.identity_map.values()):
        if not isinstance(obj, PrivacyRequest):
            session.expunge(obj)


def _recompute(session: Session, workspace_id: uuid.UUID, people: set[uuid.UUID]) -> None:
    """Others whose events carried the person's identifiers lose those events: their
    golden record and values are rebuilt from what is left."""
    ctx = ProfileContext.of(get_workspace(session, workspace_id))
    profiles = ProfileRepository.from_session(session)
    for profile_id in sorted(people):
        profile = profiles.get(workspace_id, profile_id)
        if profile is None or profile.merged_into_id is not None:
            continue
        recompute(session, profile, ctx)
        for ident in IdentifierRepository.from_session(session).of_profile(profile.id):
            if ident.type == ids.EMAIL and not profile.email:
                profile.email = ident.value
            elif ident.type == ids.PHONE and not profile.phone:
                profile.phone = ident.value
    session.flush()


def remove_files(paths: list[Path]) -> Callable[[], None]:
    def run() -> None:
        for path in paths:
            try:
                path.unlink(missing_ok=True)
            except OSError:
                log.exception("could not remove an erased person's file %s", path)

    return run


def forget_in_redis(redis_url: str | None, visitor_ids: list[uuid.UUID]) -> Callable[[], None]:
    """The rate limiter counts a chat visitor's uploads in Redis for two minutes: their
    counters go too."""

    def run() -> None:
        if not redis_url or not visitor_ids:
            return
        try:
            import redis

            client = redis.Redis.from_url(redis_url, socket_timeout=2)
            try:
                for visitor_id in visitor_ids:
                    for key in client.scan_iter(match=f"accord:ratelimit:*:{visitor_id}:*"):
                        client.delete(key)
            finally:
                client.close()
        except Exception:
            log.exception("could not remove an erased visitor's counters from Redis")

    return run


def erase_request(
    session: Session,
    actor: Principal,
    request_id: uuid.UUID,
    *,
    data_dir: Path | None,
    redis_url: str | None = None,
) -> PrivacyRequest:
    """Run an erase request: erase the person, put their identifiers on the suppression
    list, and keep on the request only the receipt and the identifier's hash and mask.
    Files and Redis counters go once the transaction has committed."""
    started = utcnow()
    request = PrivacyRequestRepository.from_session(session).lock(
        get(session, actor.workspace_id, request_id)
    )
    if request.kind != "erase":
        raise conflict(
            "Only an erase request erases; this one asks for a copy of the data",
            field="kind",
            code="wrong_kind",
        )
    if request.status not in OPEN or request.identifier_value is None:
        raise conflict(
            f"This request is {request.status.replace('_', ' ')} already",
            field="status",
            code=f"request_{request.status}",
        )
    workspace = get_workspace(session, actor.workspace_id)
    config = privacy_settings.read(workspace)
    pair = (request.identifier_type, request.identifier_value)
    subject = subjects.find(session, actor.workspace_id, pair)
    found = found_counts(subject)
    erased = erase_subject(
        session, subject, keep_order_totals=config.keep_order_totals, data_dir=data_dir
    )
    salt = workspace.privacy_salt
    suppressed = suppression.suppress(
        session, actor.workspace_id, sorted(subject.pairs), reason="erased", request_id=request.id
    )
    digests = {suppression.digest(salt, t, v) for t, v in subject.pairs}
    others = EraseRepository.from_session(session).requests_by(
        actor.workspace_id, digests, request.id
    )
    erased.add({"privacy_requests": others} if others else {})
    now = utcnow()
    receipt: dict[str, Any] = {
        "found": found,
        "erased_at": now.isoformat(),
        "erased_by": actor.label,
        "identifier": request.identifier_hint,
        "profiles": len(subject.profile_ids),
        "tables": erased.counts,
        "files_removed": len(erased.files),
        "orders_kept_anonymized": erased.orders_kept,
        "identifiers_suppressed": len(subject.pairs),
        "suppressions_added": suppressed,
        "redis": "cleared" if redis_url and erased.visitor_ids else "not used",
        "seconds": round((now - started).total_seconds(), 3),
    }
    request.status = "completed"
    request.completed_at = now
    request.completed_by = actor.label[:200]
    request.identifier_value = None
    request.note = None
    request.receipt = receipt
    request.updated_at = now
    audit.record(
        session,
        actor,
        "privacy.erase.completed",
        target=str(request.id),
        data={
            "identifier": request.identifier_hint,
            "profiles": len(subject.profile_ids),
            "tables": erased.counts,
            "files_removed": len(erased.files),
        },
    )
    session.flush()
    after_commit(session, remove_files(erased.files))
    after_commit(session, forget_in_redis(redis_url, erased.visitor_ids))
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    after_commit(session, partial(checkpoint_wal, engine))
    return request
