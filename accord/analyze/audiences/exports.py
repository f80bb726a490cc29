"""A segment's members as a file: CSV or JSON lines (profile id, name, email, phone,
member since, and the computed traits asked for), or a hashed custom-audience file as
Google Customer Match and Meta custom audiences document them.

Every export is an audience sent out of Accord, so it holds only the people whose
consent allows advertising (``ads`` / ``advertising``: the consent policy's decision for
each person, their addresses checked against the suppression list); a suppressed address
is left blank. The hashed files also leave out people with neither an email nor a phone.
CSV and JSON lines end with the export's summary (how many were exported and left out);
the hashed files keep the platforms' format, so their summary is in the audit log and in
``POST .../export``.

Hashing (SHA-256, lower-case hex) after the platforms' normalization:

- Google Customer Match (columns ``Email``, ``Phone``): the email trimmed and lower-cased
  (Google accepts the dots of a gmail.com or googlemail.com address as they are); the
  phone in E.164, ``+`` and country code included.
- Meta (columns ``EMAIL``, ``PHONE``): the email trimmed and lower-cased; the phone as
  digits only, country code first, without ``+`` or leading zeros.

Phones are read in E.164 as collection normalizes them (the workspace's region when a
number has no country code); one that cannot be read is left out."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.audiences.repository import MemberRepository
from accord.analyze.segments.models import ComputedTrait
from accord.analyze.segments.repository import ComputedTraitRepository, SegmentRepository
from accord.analyze.segments.service import Engine, compiler
from accord.collect.identifiers import EMAIL, PHONE, InvalidIdentifier, normalize
from accord.govern.access.principal import Principal
from accord.govern.audit import access
from accord.govern.audit import service as audit
from accord.govern.consent.policy import Ask, decide
from accord.govern.consent.schemas import ConsentSettings
from accord.govern.consent.settings import read as read_consent
from accord.govern.workspaces.models import Workspace
from accord.kit import csvsafe
from accord.kit.db import read_only, transaction
from accord.kit.errors import invalid, not_found
from accord.kit.time import utcnow
from accord.profile.models import Profile

log = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl", "google", "meta")
HASHED = ("google", "meta")
MEDIA = {
    "csv": "text/csv",
    "jsonl": "application/x-ndjson",
    "google": "text/csv",
    "meta": "text/csv",
}
BATCH = 500
BASE_COLUMNS = ["profile_id", "name", "email", "phone", "since"]
HASHED_COLUMNS = {"google": ["Email", "Phone"], "meta": ["EMAIL", "PHONE"]}
ADS = "ads"
ADVERTISING = "advertising"


# --- normalization and hashing ---------------------------------------------------------


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def normal_email(raw: str | None) -> str | None:
    """Trimmed and lower-cased, or None when it is not an email address."""
    if not raw:
        return None
    try:
        return normalize(EMAIL, raw)
    except InvalidIdentifier:
        return None


def normal_phone(raw: str | None, region: str = "US") -> str | None:
    """E.164 (``+14155550142``), or None when it cannot be read as a phone number."""
    if not raw:
        return None
    try:
        return normalize(PHONE, raw, region=region)
    except InvalidIdentifier:
        return None


def google_hashes(email: str | None, phone: str | None) -> list[str]:
    """A Customer Match row from a normalized email and an E.164 phone."""
    return [sha256_hex(email) if email else "", sha256_hex(phone) if phone else ""]


def meta_hashes(email: str | None, phone: str | None) -> list[str]:
    """A Meta custom-audience row: the phone as its digits, country code first."""
    digits = "".join(c for c in phone if c.isdigit()).lstrip("0") if phone else ""
    return [sha256_hex(email) if email else "", sha256_hex(digits) if digits else ""]


# --- what an export is ----------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    workspace_id: uuid.UUID
    segment_id: uuid.UUID
    segment_name: str
    format: str
    traits: tuple[str, ...] = ()

    @property
    def columns(self) -> list[str]:
        if self.format in HASHED:
            return list(HASHED_COLUMNS[self.format])
        if self.format == "jsonl":
            return [*BASE_COLUMNS, "computed"]
        return [*BASE_COLUMNS, *self.traits]

    @property
    def filename(self) -> str:
        safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in self.segment_name)
        extension = "jsonl" if self.format == "jsonl" else "csv"
        suffix = f"-{self.format}" if self.format in HASHED else ""
        return f"{safe.strip('-') or 'segment'}{suffix}.{extension}"


@dataclass
class Tally:
    members: int = 0
    exported: int = 0
    left_out_for_consent: int = 0
    left_out_without_contact: int = 0


def prepare(
    session: Session,
    workspace_id: uuid.UUID,
    segment_id: uuid.UUID,
    fmt: str,
    traits: Sequence[str],
) -> Spec:
    """The export asked for, checked: the segment exists here, the traits are known."""
    if fmt not in FORMATS:
        raise invalid(f"format is one of {', '.join(FORMATS)}", field="format")
    segment = SegmentRepository.from_session(session).get(workspace_id, segment_id)
    if segment is None:
        raise not_found("Segment", field="segment_id")
    keys = tuple(dict.fromkeys(t.strip() for t in traits if t.strip()))
    if keys and fmt in HASHED:
        raise invalid("A hashed audience file carries no traits", field="traits")
    known = {t.key for t in ComputedTraitRepository.from_session(session).all(workspace_id)}
    unknown = [k for k in keys if k not in known]
    if unknown:
        raise invalid(
            f"No computed trait {', '.join(unknown)} in this workspace",
            field="traits",
            code="unknown_trait",
        )
    return Spec(workspace_id, segment.id, segment.name, fmt, keys)


# --- one page of members --------------------------------------------------------------


@dataclass
class Page:
    lines: str
    shown: list[uuid.UUID]
    last: uuid.UUID | None
    full: bool


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _addresses(
    session: Session, workspace: Workspace, person: Profile, settings: ConsentSettings
) -> tuple[bool, str | None, str | None, bool]:
    """The person's advertising decision: (allowed, the email and E.164 phone that may be
    used, whether they had an address at all). One look at their consent and at the
    suppression list for both addresses."""
    email = normal_email(person.email)
    phone = normal_phone(person.phone, workspace.default_region)
    asks = [Ask(ADS, ADVERTISING)]
    if email:
        asks.append(Ask(ADS, ADVERTISING, email, EMAIL))
    if phone:
        asks.append(Ask(ADS, ADVERTISING, phone, PHONE))
    decisions = iter(decide(session, workspace, person, asks, settings=settings))
    allowed = next(decisions).allowed
    usable_email = email if email and next(decisions).allowed else None
    usable_phone = phone if phone and next(decisions).allowed else None
    return allowed, usable_email, usable_phone, bool(email or phone)


def page(
    session: Session,
    engine: Engine,
    spec: Spec,
    tally: Tally,
    after: uuid.UUID | None,
    *,
    now: datetime,
    render: bool = True,
) -> Page:
    """The next members after ``after``: decided, counted and (``render``) written."""
    workspace = session.get(Workspace, spec.workspace_id)
    if workspace is None:
        raise not_found("Workspace", field="workspace_id")
    settings = read_consent(workspace)
    traits: list[ComputedTrait] = []
    if spec.traits:
        by_key = {t.key: t for t in ComputedTraitRepository.from_session(session).all(workspace.id)}
        traits = [by_key[k] for k in spec.traits if k in by_key]
    comp = compiler(session, engine, workspace.id, now)
    computed = [comp.computed_value(t).label(f"computed_{i}") for i, t in enumerate(traits)]
    rows = MemberRepository.from_session(session).page(spec.segment_id, after, BATCH, computed)
    buf = io.StringIO()
    writer = csv.writer(buf)
    shown: list[uuid.UUID] = []
    for since, person, *values in rows:
        tally.members += 1
        allowed, email, phone, reachable = _addresses(session, workspace, person, settings)
        if spec.format not in HASHED:
            # A plain export holds every member (for analysis; a send asks consent at its
            # own time); only suppressed addresses stay blank. The ad platforms' files
            # hold only those whose consent allows advertising.
            allowed = True
        if not allowed or (spec.format in HASHED and reachable and not (email or phone)):
            tally.left_out_for_consent += 1
            continue
        if spec.format in HASHED and not (email or phone):
            tally.left_out_without_contact += 1
            continue
        tally.exported += 1
        shown.append(person.id)
        if not render:
            continue
        if spec.format == "google":
            writer.writerow(google_hashes(email, phone))
        elif spec.format == "meta":
            writer.writerow(meta_hashes(email, phone))
        else:
            base = [str(person.id), person.display_name, person.email if email else None]
            base += [person.phone if phone else None, since.isoformat()]
            plain = [_plain(v) for v in values]
            if spec.format == "jsonl":
                record = dict(zip(BASE_COLUMNS, base, strict=True))
                record["computed"] = dict(zip(spec.traits, plain, strict=True))
                buf.write(json.dumps(record, default=str) + "\n")
            else:
                writer.writerow(csvsafe.row(["" if v is None else v for v in base + plain]))
    last = rows[-1][1].id if rows else None
    return Page(buf.getvalue(), shown, last, len(rows) == BATCH)


def header(spec: Spec) -> str:
    if spec.format == "jsonl":
        return ""
    buf = io.StringIO()
    csv.writer(buf).writerow(spec.columns)
    return buf.getvalue()


def summary(spec: Spec, tally: Tally) -> str:
    """The last line of a CSV (a ``#`` comment) or JSON lines (a ``summary`` object)."""
    counts = asdict(tally)
    if spec.format == "jsonl":
        return json.dumps({"summary": {"segment_id": str(spec.segment_id), **counts}}) + "\n"
    if spec.format == "csv":
        return "# summary: " + " ".join(f"{k}={v}" for k, v in counts.items()) + "\n"
    return ""


# --- the whole export -----------------------------------------------------------------


def report(session: Session, engine: Engine, spec: Spec, now: datetime | None = None) -> Tally:
    """What an export would hold now, without writing it (no personal data leaves)."""
    now = now or utcnow()
    tally, after = Tally(), None
    while True:
        got = page(session, engine, spec, tally, after, now=now, render=False)
        if not got.full:
            return tally
        after = got.last


def stream(
    factory: sessionmaker[Session], engine: Engine, actor: Principal, spec: Spec
) -> Iterator[str]:
    """The export as text, a page at a time. Each page is read in a read-only unit of
    work of its own (a slow client holds no lock), then the access log notes each person
    whose data it holds; the audit log gets the counts once it ends, complete or not."""
    now = utcnow()
    tally, after, complete = Tally(), None, False
    try:
        yield header(spec)
        while True:
            with read_only(factory) as session:
                got = page(session, engine, spec, tally, after, now=now)
            if got.shown:
                with transaction(factory) as session:
                    for profile_id in got.shown:
                        access.record(session, actor, profile_id, "export", via="api")
            if got.lines:
                yield got.lines
            if not got.full:
                break
            after = got.last
        complete = True
        yield summary(spec, tally)
    finally:
        try:
            with transaction(factory) as session:
                audit.record(
                    session,
                    actor,
                    "segment.export.finished",
                    target=str(spec.segment_id),
                    data={"format": spec.format, "complete": complete, **asdict(tally)},
                )
        except Exception:
            log.exception("recording the end of a segment export failed")


def start(session: Session, actor: Principal, spec: Spec) -> None:
    """Audit an export as it begins (in the request's transaction)."""
    audit.record(
        session,
        actor,
        "segment.export",
        target=str(spec.segment_id),
        data={"format": spec.format, "traits": list(spec.traits), "name": spec.segment_name},
    )
