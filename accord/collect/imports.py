"""File imports: contacts, orders, events and third-party overlays from CSV or JSONL.

Each row becomes a message and goes through the same validation and storage as the
tracking API, so resolution treats it like any other touchpoint. Every bad row is
reported (line, field, reason) while the good ones load; a row's messageId is derived
from its content, so importing the same file again adds nothing."""

from __future__ import annotations

import csv
import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.collect import service as collect
from accord.collect.identifiers import InvalidIdentifier
from accord.collect.messages import Invalid
from accord.collect.service import consent_status
from accord.collect.traits import canonical_trait
from accord.govern.consent import rules
from accord.govern.workspaces.models import Workspace
from accord.kit import textcheck
from accord.kit.errors import invalid
from accord.kit.time import utcnow

KINDS = ("contacts", "orders", "events", "overlay")
IDENTIFIER_COLUMNS = {
    "user_id": ids.USER_ID,
    "userid": ids.USER_ID,
    "customer_id": ids.USER_ID,
    "anonymous_id": ids.ANONYMOUS_ID,
    "device_id": ids.DEVICE_ID,
    "loyalty_card": ids.LOYALTY_CARD,
    "loyalty_id": ids.LOYALTY_CARD,
}
TIME_COLUMNS = ("timestamp", "date", "created_at", "placed_at", "order_date", "time")
ORDER_FIELDS = {
    "order_id",
    "sku",
    "product_id",
    "name",
    "product_name",
    "quantity",
    "qty",
    "price",
    "total",
    "currency",
    "store",
    "status",
    "type",
    "channel",
    "category",
    "products",
}
REFUND_WORDS = {"refund", "refunded", "return", "returned"}


@dataclass(frozen=True)
class Target:
    kind: str  # identifier | trait | property | timestamp | event | consent | skip
    name: str


@dataclass
class Mapping:
    columns: dict[str, Target] = field(default_factory=dict)

    @classmethod
    def parse(cls, specs: Iterable[str], mapping_file: Path | None = None) -> Mapping:
        """``column=identifier:TYPE``, ``column=trait:NAME``, ``column=property:NAME``,
        ``column=timestamp``, ``column=event``, ``column=consent:CHANNEL.PURPOSE`` (yes/no,
        granted/denied/withdrawn) or ``column=skip``; a mapping file is JSON
        ``{"column": "identifier:TYPE", ...}``."""
        pairs: list[tuple[str, str]] = []
        if mapping_file is not None:
            data = json.loads(mapping_file.read_text())
            if not isinstance(data, dict):
                raise invalid("A mapping file is a JSON object", field="mapping_file")
            pairs.extend((str(k), str(v)) for k, v in data.items())
        for spec in specs:
            column, sep, target = spec.partition("=")
            if not sep:
                raise invalid(f"--map {spec!r} is not column=target", field="map")
            pairs.append((column.strip(), target.strip()))
        mapping = cls()
        for column, target in pairs:
            kind, _, name = target.partition(":")
            if kind not in (
                "identifier",
                "trait",
                "property",
                "timestamp",
                "event",
                "consent",
                "skip",
            ):
                raise invalid(f"Unknown mapping target {target!r}", field="map")
            if kind == "consent":
                channel, _, purpose = name.partition(".")
                if channel not in (*rules.CHANNELS, rules.ALL) or purpose not in (
                    *rules.PURPOSES,
                    rules.ALL,
                ):
                    raise invalid(
                        f"{target!r}: consent:CHANNEL.PURPOSE, e.g. consent:email.marketing "
                        f"(channels {', '.join(rules.CHANNELS)}; purposes "
                        f"{', '.join(rules.PURPOSES)})",
                        field="map",
                    )
            if kind == "identifier":
                try:
                    name = ids.check_type_name(name)
                except InvalidIdentifier as exc:
                    raise invalid(str(exc), field="map") from None
            elif kind in ("trait", "property") and not name:
                raise invalid(f"{target!r} needs a name, e.g. trait:firstName", field="map")
            mapping.columns[column] = Target(kind, name)
        return mapping

    def target(self, column: str, import_kind: str) -> Target:
        if column in self.columns:
            return self.columns[column]
        key = column.strip().lower().replace(" ", "_").replace("-", "_")
        if key in IDENTIFIER_COLUMNS:
            return Target("identifier", IDENTIFIER_COLUMNS[key])
        if key in TIME_COLUMNS:
            return Target("timestamp", "")
        if import_kind == "events" and key in ("event", "event_name"):
            return Target("event", "")
        if import_kind in ("orders", "events") and key in ORDER_FIELDS:
            return Target("property", key)
        trait = canonical_trait(column.strip())
        if trait in ("email", "phone"):
            return Target("identifier", trait)
        return Target("trait", trait)


@dataclass
class RowError:
    line: int
    field: str
    reason: str


@dataclass
class Report:
    rows: int = 0
    loaded: int = 0
    duplicates: int = 0
    unmatched: int = 0
    # Rows that carried an identifier on the suppression list (an erased person's).
    suppressed: int = 0
    errors: list[RowError] = field(default_factory=list)
    declared_types: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "loaded": self.loaded,
            "duplicates": self.duplicates,
            "unmatched": self.unmatched,
            "suppressed": self.suppressed,
            "errors": [e.__dict__ for e in self.errors],
            "declared_types": self.declared_types,
        }


def _parse_json(text: str) -> Any:
    """A JSON value from a file; values nested too deep become a marker that validation
    reports (the standard library would recurse past its limit)."""
    return json.loads(textcheck.shallow(text.encode("utf-8", "surrogatepass")))


def read_rows(path: Path, fmt: str | None = None) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, row) pairs; a row that cannot be read is yielded as its error text."""
    fmt = fmt or ("jsonl" if path.suffix.lower() in (".jsonl", ".ndjson", ".json") else "csv")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        if fmt == "jsonl":
            for n, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    row = _parse_json(line)
                except json.JSONDecodeError as exc:
                    yield n, f"not valid JSON: {exc.msg}"
                    continue
                except (ValueError, RecursionError):
                    yield n, "not valid JSON"
                    continue
                yield (n, row) if isinstance(row, dict) else (n, "a line must be a JSON object")
        else:
            reader = csv.DictReader(fh)
            for row in reader:
                if None in row:
                    yield reader.line_num, "more values than the header has columns"
                    continue
                yield reader.line_num, {k: v for k, v in row.items() if k is not None}


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _message_id(kind: str, row: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps([kind, row], sort_keys=True, default=str).encode())
    return f"import-{kind}-{digest.hexdigest()[:32]}"


def row_to_message(
    kind: str, row: dict[str, Any], mapping: Mapping, line: int, default_channel: str
) -> dict[str, Any]:
    identifiers: dict[str, list[str]] = {}
    traits: dict[str, Any] = {}
    props: dict[str, Any] = {}
    timestamp: Any = None
    event_name: str | None = None
    consent: dict[str, str] = {}
    for column, raw in row.items():
        value = _clean(raw)
        if value is None:
            continue
        target = mapping.target(column, kind)
        if target.kind == "identifier":
            identifiers.setdefault(target.name, []).append(str(value))
            if target.name in ("email", "phone"):
                traits[target.name] = value
        elif target.kind == "trait":
            traits[target.name] = value
        elif target.kind == "property":
            props[target.name] = value
        elif target.kind == "timestamp":
            timestamp = value
        elif target.kind == "event":
            event_name = str(value)
        elif target.kind == "consent":
            try:
                status = consent_status(value)
            except ValueError as exc:
                raise Invalid(column, str(exc), "invalid") from None
            if status is not None:
                consent[target.name] = status
    if not identifiers:
        raise Invalid("identifier", "the row has no identifier with a value", "no_identifier")
    channel = str(props.pop("channel", None) or default_channel)
    msg: dict[str, Any] = {
        "messageId": _message_id(kind, row),
        "context": {"channel": channel, "identifiers": identifiers, "import": {"line": line}},
    }
    if consent:
        msg["context"]["consent"] = {"statuses": consent}
    if ids.USER_ID in identifiers:
        msg["userId"] = identifiers.pop(ids.USER_ID)[0]
    if timestamp is not None:
        msg["timestamp"] = timestamp
    if kind in ("contacts", "overlay"):
        msg["type"] = "identify"
        msg["traits"] = traits
    elif kind == "orders":
        refund = str(props.get("type") or props.get("status") or "").lower() in REFUND_WORDS
        msg["type"] = "track"
        msg["event"] = "Order Refunded" if refund else "Order Completed"
        msg["properties"] = props
        if traits:
            msg["context"]["traits"] = traits
    else:
        if not event_name:
            raise Invalid("event", "an events row needs an event column", "required")
        msg["type"] = "track"
        msg["event"] = event_name
        extra = {k: v for k, v in traits.items() if k not in ("email", "phone")}
        msg["properties"] = {**props, **extra}
        msg["context"]["traits"] = {k: traits[k] for k in ("email", "phone") if k in traits}
    return msg


def _group_orders(
    rows: Iterable[tuple[int, dict[str, Any] | str]],
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """CSV orders come one line item per row; rows with one order_id become one order."""
    pending: tuple[int, dict[str, Any]] | None = None
    pending_key: tuple[Any, str] | None = None
    items: list[dict[str, Any]] = []

    def flush() -> Iterator[tuple[int, dict[str, Any]]]:
        if pending is not None:
            line, head = pending
            if items and not head.get("products"):
                head = {**head, "products": json.dumps(items)}
            yield line, head

    for line, row in rows:
        if isinstance(row, str):
            yield line, row
            continue
        order_id = _clean(row.get("order_id"))
        key = (order_id, str(_clean(row.get("type") or row.get("status")) or "").lower())
        sku = _clean(row.get("sku") or row.get("product_id"))
        item = None
        if sku:
            item = {
                "sku": sku,
                "name": _clean(row.get("product_name") or row.get("name")),
                "price": _clean(row.get("price")),
                "quantity": _clean(row.get("quantity") or row.get("qty")) or 1,
            }
        if pending is not None and order_id and pending_key == key:
            if item:
                items.append(item)
            continue
        yield from flush()
        head = {
            k: v
            for k, v in row.items()
            if k not in ("sku", "product_id", "product_name", "price", "quantity", "qty")
        }
        pending, items, pending_key = (line, head), [item] if item else [], key
    yield from flush()


def _identifier_types(mapping: Mapping) -> list[str]:
    """The identifier types a mapping loads that are not standard ones."""
    names = [t.name for t in mapping.columns.values() if t.kind == "identifier"]
    return [n for n in dict.fromkeys(names) if n not in ids.STANDARD_TYPES]


# Declares identifier types first seen in an import and says which were new; resolution,
# which owns the identity rules, answers.
DeclareTypes = Callable[[list[str]], list[str]]


# Which of the (type, value) pairs given name a person already: resolution answers
# (collect sits below it and does not read the identity graph itself).
HeldIdentifiers = Callable[[uuid.UUID, list[tuple[str, str]]], set[tuple[str, str]]]


def _overlay_keep(
    held: HeldIdentifiers, workspace_id: uuid.UUID, region: str, msg: dict[str, Any]
) -> bool:
    """An overlay row enriches a person found by email or phone, and only them: it keeps
    just the identifiers that already exist, and never creates anyone."""
    declared = msg["context"]["identifiers"]
    wanted: list[tuple[str, str]] = []
    for type_name in (ids.EMAIL, ids.PHONE):
        for raw in declared.get(type_name, []):
            try:
                wanted.append((type_name, ids.normalize(type_name, raw, region=region)))
            except InvalidIdentifier:
                continue
    found = held(workspace_id, wanted) if wanted else set()
    known: dict[str, list[str]] = {}
    for type_name, value in wanted:
        if (type_name, value) in found:
            known.setdefault(type_name, []).append(value)
    if not known:
        return False
    msg["context"]["identifiers"] = known
    traits = msg.get("traits") or {}
    for type_name in (ids.EMAIL, ids.PHONE):
        if type_name not in known:
            traits.pop(type_name, None)  # kept as a fact only where it names this person
    msg.pop("userId", None)
    return True


def run_import(
    session: Session,
    *,
    workspace_id: uuid.UUID,
    kind: str,
    rows: Iterable[tuple[int, dict[str, Any] | str]],
    mapping: Mapping,
    source: str,
    channel: str | None = None,
    batch: int = 500,
    progress: Callable[[int], None] | None = None,
    on_batch: Callable[[], None] | None = None,
    held: HeldIdentifiers | None = None,
    declare: DeclareTypes | None = None,
) -> Report:
    """Load rows into events (the caller resolves them). ``on_batch`` is called after
    each stored batch so the caller may commit. An overlay import needs ``held``."""
    if kind not in KINDS:
        raise invalid(f"kind is one of {', '.join(KINDS)}", field="kind")
    if kind == "overlay" and held is None:
        raise ValueError("an overlay import needs the look-up of held identifiers")
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        raise invalid("No such workspace", field="workspace")
    other_types = _identifier_types(mapping)
    report = Report(declared_types=declare(other_types) if declare and other_types else [])
    default_channel = channel or ("store" if kind == "orders" else "import")
    source_rows = _group_orders(rows) if kind == "orders" else rows
    messages: list[dict[str, Any]] = []
    lines: list[int] = []

    def store() -> None:
        if not messages:
            return
        result = collect.accept(
            session,
            workspace_id=workspace_id,
            source=source,
            region=workspace.default_region,
            messages=messages,
            received_at=utcnow(),
            require_sender=False,
        )
        report.loaded += result.stored
        report.duplicates += result.duplicates
        report.suppressed += result.suppressed
        for err in result.errors:
            index = int(err.field.split("]", 1)[0].removeprefix("batch["))
            sub = err.field.split("].", 1)[1] if "]." in err.field else err.field
            report.errors.append(RowError(lines[index], sub, err.message))
        if progress:
            progress(len(messages))
        messages.clear()
        lines.clear()
        if on_batch:
            on_batch()

    for line, row in source_rows:
        report.rows += 1
        if isinstance(row, str):
            report.errors.append(RowError(line, "row", row))
            continue
        try:
            msg = row_to_message(kind, row, mapping, line, default_channel)
        except Invalid as exc:
            report.errors.append(RowError(line, exc.error.field, exc.error.message))
            continue
        if kind == "orders" and isinstance(msg.get("properties", {}).get("products"), str):
            try:
                msg["properties"]["products"] = _parse_json(msg["properties"]["products"])
            except (ValueError, RecursionError):
                report.errors.append(RowError(line, "products", "products is not JSON"))
                continue
        if kind == "overlay" and (
            held is None or not _overlay_keep(held, workspace_id, workspace.default_region, msg)
        ):
            report.unmatched += 1
            continue
        messages.append(msg)
        lines.append(line)
        if len(messages) >= batch:
            store()
    store()
    return report
