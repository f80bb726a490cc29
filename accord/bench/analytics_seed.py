"""The customer analytics benchmark's loader: the shop ``analytics_draw`` drew, written
into the tables (COPY on PostgreSQL, multi-row inserts elsewhere): people with their user
id, every order's events in the order they happened, the orders, the conversations and
their messages. Each person's profile agrees with their orders (count, net revenue, last
order) and events (first and last seen).

Rows are formatted in blocks from the drawn arrays and streamed. On PostgreSQL, into
tables that are still empty, the indexes are set aside during the load and built again
afterwards from their own definitions (as ``pg_restore`` does): the same indexes the
migrations made, built by sorting rather than one random insert at a time."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

import numpy as np
import orjson
from sqlalchemy import JSON, Boolean, Integer, Numeric, Table, Uuid, insert, text
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.analytics_draw import DAY, ORDER_CHANNELS, SPAN_DAYS, Plan, plan
from accord.bench.privacy_people import (
    CONVERSATION,
    EVENT,
    IDENT,
    MESSAGE,
    ORDER,
    PRODUCTS,
    PROFILE,
    _uid,
    person,
)
from accord.collect.models import Event
from accord.inbox.models import Conversation, Message
from accord.inbox.rules import CHANNELS as SERVICE_CHANNELS
from accord.kit.db import Base, UTCDateTime, transaction
from accord.profile.models import Order, Profile
from accord.resolve.models import Identifier

Progress = Callable[[int], None]

BLOCK = 20_000  # rows formatted and written at a time
STATUS = ("placed", "cancelled", "refunded", "partially_refunded")
EVENT_NAMES = ("Order Completed", "Order Cancelled", "Order Refunded")
SEEDED_TABLES = ("profiles", "identifiers", "events", "orders", "conversations", "messages")


@dataclass
class Seeded:
    customers: int
    orders: int
    events: int = 0
    cancelled: int = 0
    refunded: int = 0  # in full
    partly: int = 0
    served: int = 0  # customers with a conversation
    conversations: int = 0
    messages: int = 0
    low_csat: int = 0
    one_time: int = 0  # customers with a single order
    most_orders: int = 0
    rate_scale: float = 0.0
    first_order_at: datetime | None = None
    last_order_at: datetime | None = None
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    index_seconds: float = 0.0  # of the phases: indexes built again after the load
    indexes: str = ""  # how the indexes were written


class Loader:
    """Rows into a table as COPY's text format, a block of lines at a time: COPY on
    PostgreSQL (as a superuser with the foreign-key triggers off, as ``pg_restore
    --disable-triggers``: the rows are consistent by construction), multi-row inserts
    elsewhere (the lines read back by the columns' types). Values never hold a tab, a
    newline or a backslash; ``\\N`` is NULL."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.index_seconds = 0.0
        self.rebuilt: list[str] = []
        self.kept: list[str] = []
        with factory() as session:
            self.postgres = session.get_bind().dialect.name == "postgresql"
            self.superuser = self.postgres and bool(
                session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
            )

    def load(
        self, model: type[Base], columns: str, blocks: Iterable[tuple[int, str]], progress: Progress
    ) -> int:
        table = cast(Table, model.__table__)
        names = columns.split()
        count = 0
        with transaction(self.factory) as session:
            if not self.postgres:
                for n, block in blocks:
                    session.execute(insert(table), _parse(table, names, block))
                    count += n
                    progress(n)
                return count
            if self.superuser:
                session.execute(text("SET LOCAL session_replication_role = replica"))
            deferred = self._set_indexes_aside(session, table.name)
            raw: Any = session.connection().connection.driver_connection
            quoted = ", ".join(f'"{c}"' for c in names)
            with (
                raw.cursor() as cursor,
                cursor.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy,
            ):
                for n, block in blocks:
                    copy.write(block)
                    count += n
                    progress(n)
            if deferred:
                t = time.perf_counter()
                session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
                for definition in deferred:
                    session.execute(text(definition))
                self.index_seconds += time.perf_counter() - t
        return count

    def _set_indexes_aside(self, session: Session, table: str) -> list[str]:
        """An empty table's indexes (other than its keys' and unique constraints') are
        dropped in the load's transaction; their definitions are returned to create them
        again once it is loaded. A table that holds rows keeps them."""
        if session.scalar(text(f'SELECT EXISTS (SELECT 1 FROM "{table}")')):  # noqa: S608
            self.kept.append(table)
            return []
        rows = session.execute(
            text(
                "SELECT i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x "
                "JOIN pg_class i ON i.oid = x.indexrelid "
                "WHERE x.indrelid = CAST(:t AS regclass) AND NOT EXISTS "
                "(SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)"
            ),
            {"t": table},
        ).all()
        for name, _ in rows:
            session.execute(text(f'DROP INDEX "{name}"'))
        self.rebuilt.append(table)
        return [definition for _, definition in rows]


def _parse(table: Table, names: list[str], block: str) -> list[dict[str, Any]]:
    """COPY text lines read back into values by the columns' types (the SQLite path)."""
    readers: list[Callable[[str], Any]] = []
    for name in names:
        kind = table.c[name].type
        if isinstance(kind, UTCDateTime):
            readers.append(datetime.fromisoformat)
        elif isinstance(kind, Boolean):
            readers.append(lambda v: v == "t")
        elif isinstance(kind, Integer):
            readers.append(int)
        elif isinstance(kind, Numeric):
            readers.append(Decimal)
        elif isinstance(kind, Uuid):
            readers.append(uuid.UUID)
        elif isinstance(kind, JSON):
            readers.append(orjson.loads)
        else:
            readers.append(str)
    out = []
    for line in block.splitlines():
        values = line.split("\t")
        out.append(
            {
                n: None if v == "\\N" else read(v)
                for n, v, read in zip(names, values, readers, strict=True)
            }
        )
    return out


def _stamps(t0: int, seconds: np.ndarray) -> list[str]:
    """Times as COPY reads them (UTC), formatted by numpy."""
    text_ = np.datetime_as_string((seconds.astype(np.int64) + t0).astype("datetime64[s]"), unit="s")
    return [f"{s}+00:00" for s in text_.tolist()]


def _money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class Seeder:
    def __init__(
        self, factory: sessionmaker[Session], workspace_id: uuid.UUID, progress: Progress | None
    ) -> None:
        self.factory = factory
        self.ws = str(workspace_id)
        self.progress = progress or (lambda n: None)
        self.loader = Loader(factory)
        self.base = time.time_ns() // 1_000_000
        self.now = datetime.now(UTC).replace(microsecond=0)

    def prefix(self, space: int) -> str:
        return _uid(self.base, space, 0)[:-12]

    # --- events and orders -------------------------------------------------------------

    def _event_blocks(self, p: Plan) -> Iterator[tuple[int, str]]:
        ev, prof, ident = self.prefix(EVENT), self.prefix(PROFILE), self.prefix(IDENT["user_id"])
        ws = self.ws
        for lo in range(0, p.ev_order.size, BLOCK):
            hi = min(lo + BLOCK, p.ev_order.size)
            which = p.ev_order[lo:hi]
            lines = []
            for j, o, k, kind, cents, refund, via, at in zip(
                range(lo, hi),
                which.tolist(),
                p.owner[which].tolist(),
                p.ev_kind[lo:hi].tolist(),
                p.cents[which].tolist(),
                p.refund[which].tolist(),
                p.via[which].tolist(),
                _stamps(p.t0, p.ev_at[lo:hi]),
                strict=True,
            ):
                if kind == 0:
                    total = _money(cents)
                    props = (
                        f'{{"order_id":"o{o:09d}","total":{total},"currency":"USD",'
                        f'"products":[{{"product_id":"p{o % 97}",'
                        f'"name":"{PRODUCTS[o % len(PRODUCTS)]}","price":{total},"quantity":1}}]}}'
                    )
                elif kind == 1:
                    props = f'{{"order_id":"o{o:09d}"}}'
                else:
                    props = f'{{"order_id":"o{o:09d}","total":{_money(refund)}}}'
                lines.append(
                    f"{ev}{j:012x}\t{ws}\tev-{j:010d}\ttrack\t{EVENT_NAMES[kind]}\t"
                    f"cust-{k:08d}\t\\N\t{ORDER_CHANNELS[via]}\tbench\t"
                    f'[["user_id","cust-{k:08d}"]]\t\\N\t{props}\t\\N\t{at}\t\\N\t{at}\t'
                    f"resolved\t{prof}{k:012x}\t{ident}{k:012x}\n"
                )
            yield hi - lo, "".join(lines)

    def _order_blocks(self, p: Plan) -> Iterator[tuple[int, str]]:
        ev, prof, order = self.prefix(EVENT), self.prefix(PROFILE), self.prefix(ORDER)
        ws = self.ws
        for lo in range(0, p.owner.size, BLOCK):
            hi = min(lo + BLOCK, p.owner.size)
            stamps = _stamps(p.t0, p.at[lo:hi])
            lines = []
            for o, k, cents, refund, status, via, event, at in zip(
                range(lo, hi),
                p.owner[lo:hi].tolist(),
                p.cents[lo:hi].tolist(),
                p.refund[lo:hi].tolist(),
                p.status[lo:hi].tolist(),
                p.via[lo:hi].tolist(),
                p.order_event[lo:hi].tolist(),
                stamps,
                strict=True,
            ):
                total = _money(cents)
                items = (
                    f'[{{"product_id":"p{o % 97}","sku":"SKU-{o % 97:04d}",'
                    f'"name":"{PRODUCTS[o % len(PRODUCTS)]}","price":{total},"quantity":1}}]'
                )
                lines.append(
                    f"{order}{o:012x}\t{ws}\to{o:09d}\t{ev}{event:012x}\t{prof}{k:012x}\t{at}\t"
                    f"{ORDER_CHANNELS[via]}\t\\N\tUSD\t{total}\t{_money(refund)}\t"
                    f"{STATUS[status]}\t{items}\t{at}\n"
                )
            yield hi - lo, "".join(lines)

    # --- people --------------------------------------------------------------------------

    def _profile_blocks(self, p: Plan, facts: dict[str, np.ndarray]) -> Iterator[tuple[int, str]]:
        prof, ws = self.prefix(PROFILE), self.ws
        n = p.first.size
        for lo in range(0, n, BLOCK):
            hi = min(lo + BLOCK, n)
            firsts = _stamps(p.t0, p.first[lo:hi])
            lasts = _stamps(p.t0, facts["last_seen"][lo:hi])
            last_orders = _stamps(p.t0, facts["last_order"][lo:hi])
            first_events = facts["first_event"][lo:hi].tolist()
            lines = []
            for i, k in enumerate(range(lo, hi)):
                who = person(k)
                first, last = firsts[i], lasts[i]
                seen = f'"source":"bench","at":"{first}","event":"ev-{first_events[i]:010d}"'
                traits = (
                    f'{{"email":{{"value":"{who.email}",{seen}}},'
                    f'"firstName":{{"value":"{who.first}",{seen}}},'
                    f'"lastName":{{"value":"{who.last}",{seen}}}}}'
                )
                count, revenue = int(facts["orders"][k]), int(facts["revenue"][k])
                events = int(facts["events"][k])
                channel = ORDER_CHANNELS[p.channel[k]]
                average = f'"{_money(revenue // count)}"' if count else "null"
                last_order = f'"{last_orders[i]}"' if count else "null"
                stats = (
                    f'{{"event_count":{events},"channels":{{"{channel}":{events}}},'
                    f'"preferred_channel":"{channel}","last_order_at":{last_order},'
                    f'"average_order_value":{average}}}'
                )
                name = f"{who.first} {who.last}"
                lines.append(
                    f"{prof}{k:012x}\t{ws}\t\\N\tf\t{traits}\t{stats}\t{name}\t{name.lower()}\t"
                    f"{who.email}\t\\N\t{first}\t{last}\t{count}\t{_money(revenue)}\t{last}\t"
                    f"{first}\n"
                )
            yield hi - lo, "".join(lines)

    def _identifier_blocks(
        self, p: Plan, facts: dict[str, np.ndarray]
    ) -> Iterator[tuple[int, str]]:
        ident, prof, ev, ws = (
            self.prefix(IDENT["user_id"]),
            self.prefix(PROFILE),
            self.prefix(EVENT),
            self.ws,
        )
        n = p.first.size
        for lo in range(0, n, BLOCK):
            hi = min(lo + BLOCK, n)
            firsts = _stamps(p.t0, p.first[lo:hi])
            lasts = _stamps(p.t0, facts["last_seen"][lo:hi])
            lines = [
                f"{ident}{k:012x}\t{ws}\tuser_id\tcust-{k:08d}\t{prof}{k:012x}\tf\tbench\t"
                f"{ev}{int(facts['first_event'][k]):012x}\t{lasts[i]}\t{firsts[i]}\n"
                for i, k in enumerate(range(lo, hi))
            ]
            yield hi - lo, "".join(lines)

    def _facts(self, p: Plan) -> dict[str, np.ndarray]:
        """What each person's profile says of their orders and events."""
        n = p.first.size
        kept = p.status != 1
        last_seen = np.zeros(n, dtype=np.int64)
        np.maximum.at(last_seen, p.owner[p.ev_order], p.ev_at)
        last_order = np.zeros(n, dtype=np.int64)
        np.maximum.at(last_order, p.owner[kept], p.at[kept])
        # Events are in time order: a customer's first is where they first appear.
        owners = p.owner[p.ev_order]
        _, first_at = np.unique(owners, return_index=True)
        first_event = np.zeros(n, dtype=np.int64)
        first_event[owners[first_at]] = first_at
        return {
            "orders": np.bincount(p.owner[kept], minlength=n),
            "revenue": np.bincount(
                p.owner[kept], weights=(p.cents - p.refund)[kept], minlength=n
            ).astype(np.int64),
            "events": np.bincount(owners, minlength=n),
            "last_seen": last_seen,
            "last_order": last_order,
            "first_event": first_event,
        }

    # --- customer service ----------------------------------------------------------------

    def conversations(
        self, p: Plan, facts: dict[str, np.ndarray], rng: np.random.Generator, out: Seeded
    ) -> None:
        """Conversations of the customers who wrote in, numbered in the order they were
        opened, each with the customer's message and the answer. An unhappy customer's
        first comes within ten days of their last order, is rated 1 or 2 and often
        reopened; the others' fall anywhere in their time as customers (or up to 60 days
        after), and half of them are rated, mostly well."""
        span = SPAN_DAYS * DAY
        who = np.flatnonzero(p.served)
        count = rng.geometric(0.6, who.size)
        owner = np.repeat(who, count)
        first_of = np.ones(owner.size, dtype=bool)
        first_of[1:] = owner[1:] != owner[:-1]
        bad = p.unhappy[owner] & first_of
        start = p.first[owner].astype(np.int64)
        last = np.maximum(facts["last_order"][owner], start)
        end = np.minimum(last + 60 * DAY, span - DAY)
        at = start + (rng.random(owner.size) * np.maximum(end - start, 0)).astype(np.int64)
        at = np.where(bad, last + rng.integers(0, 10 * DAY, owner.size), at)
        at = np.minimum(at, span - 4 * 3600)  # answered and closed before now
        rated = bad | (rng.random(owner.size) < 0.5)
        low = rng.random(owner.size) < 0.1
        score = np.where(bad | low, rng.integers(1, 3, owner.size), rng.integers(3, 6, owner.size))
        reopened = rng.random(owner.size) < np.where(bad, 0.4, 0.05)
        channel = rng.integers(0, len(SERVICE_CHANNELS), owner.size)
        order = np.argsort(at, kind="stable")
        conv, msg, prof, ws = (
            self.prefix(CONVERSATION),
            self.prefix(MESSAGE),
            self.prefix(PROFILE),
            self.ws,
        )
        opened = _stamps(p.t0, at[order])
        answered = _stamps(p.t0, at[order] + 3600)
        closed = _stamps(p.t0, at[order] + 7200)
        rated_at = _stamps(p.t0, np.minimum(at[order] + DAY, span - 60))
        convs, msgs = [], []
        for n, c in enumerate(order.tolist()):
            k = int(owner[c])
            name, email = f"{person(k).first} {person(k).last}", person(k).email
            via = SERVICE_CHANNELS[int(channel[c])]
            csat = f"{int(score[c])}\t\\N\t{rated_at[n]}" if rated[c] else "\\N\t\\N\t\\N"
            convs.append(
                f"{conv}{n:012x}\t{ws}\t{n + 1}\t{prof}{k:012x}\tWhere is my order?\tresolved\t"
                f"normal\t[]\t\\N\t\\N\t{via}\t{via}\t{name}\tThanks, that solved it.\t2\t"
                f"{answered[n]}\t\\N\t{answered[n]}\t{closed[n]}\t\\N\t\\N\t\\N\t\\N\t\\N\t"
                f"{int(reopened[c])}\t{csat}\t{opened[n]}\t{closed[n]}\n"
            )
            msgs.append(
                f"{msg}{2 * n:012x}\t{ws}\t{conv}{n:012x}\tin\t{via}\t\\N\t{name}\t{email}\t"
                f"\\N\tMy order has not arrived yet; can you check where it is?\t\\N\t\\N\t\\N\t"
                f"\\N\t\\N\t\\N\t\\N\t{{}}\t{opened[n]}\n"
            )
            msgs.append(
                f"{msg}{2 * n + 1:012x}\t{ws}\t{conv}{n:012x}\tout\t{via}\t\\N\tSupport\t"
                f"{email}\t\\N\tSorry for the wait: it left the warehouse today.\t\\N\t\\N\t"
                f"\\N\t\\N\tsent\t\\N\t\\N\t{{}}\t{answered[n]}\n"
            )
        columns = (
            "id workspace_id number profile_id subject status priority tags assignee_id team_id "
            "channel last_channel contact_name preview message_count last_message_at "
            "waiting_since first_response_at resolved_at snoozed_until sla_policy_id "
            "first_response_due_at next_response_due_at resolution_due_at reopen_count "
            "csat_score csat_comment csat_at created_at updated_at"
        )
        out.conversations = self.loader.load(Conversation, columns, _blocks(convs), lambda n: None)
        columns = (
            "id workspace_id conversation_id direction channel author_id author_name address "
            "subject body body_html quoted external_id in_reply_to delivery delivery_error "
            "event_id meta created_at"
        )
        out.messages = self.loader.load(Message, columns, _blocks(msgs), lambda n: None)
        out.served = int(who.size)
        out.low_csat = int((rated & (score <= 2)).sum())

    # --- the whole load ------------------------------------------------------------------

    def run(self, customers: int, orders: int, rng: np.random.Generator) -> Seeded:
        out = Seeded(customers=customers, orders=orders)
        clock = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            out.phases[phase] = now - clock
            clock = now

        p = plan(customers, orders, rng, self.now)
        facts = self._facts(p)
        lap("drawing")
        columns = (
            "id workspace_id merged_into_id contested traits stats display_name search_name "
            "email phone first_seen_at last_seen_at order_count revenue updated_at created_at"
        )
        self.loader.load(Profile, columns, self._profile_blocks(p, facts), self.progress)
        lap("profiles")
        columns = (
            "id workspace_id type value profile_id blocked source first_event_id "
            "last_seen_at created_at"
        )
        self.loader.load(Identifier, columns, self._identifier_blocks(p, facts), lambda n: None)
        lap("identifiers")
        columns = (
            "id workspace_id message_id type name user_id anonymous_id channel source "
            "identifiers traits properties context timestamp sent_at received_at status "
            "profile_id primary_identifier_id"
        )
        out.events = self.loader.load(Event, columns, self._event_blocks(p), self.progress)
        lap("events")
        columns = (
            "id workspace_id order_id event_id profile_id placed_at channel store currency "
            "total refunded status items created_at"
        )
        self.loader.load(Order, columns, self._order_blocks(p), self.progress)
        lap("orders")
        self.conversations(p, facts, rng, out)
        lap("conversations")
        out.cancelled = int((p.status == 1).sum())
        out.refunded = int((p.status == 2).sum())
        out.partly = int((p.status == 3).sum())
        per = np.bincount(p.owner, minlength=customers)
        out.one_time = int((per == 1).sum())
        out.most_orders = int(per.max()) if per.size else 0
        out.rate_scale = p.rate_scale
        out.first_order_at = datetime.fromtimestamp(p.t0 + int(p.at[0]), UTC)
        out.last_order_at = datetime.fromtimestamp(p.t0 + int(p.at[-1]), UTC)
        out.seconds = sum(out.phases.values())
        out.index_seconds = self.loader.index_seconds
        if self.loader.rebuilt:
            out.indexes = (
                "indexes set aside while loading the empty tables and built again after "
                f"({self.loader.index_seconds:.0f} s of the above)"
            )
        if self.loader.kept:
            out.indexes += ("; " if out.indexes else "") + (
                f"indexes written row by row ({', '.join(self.loader.kept)} held rows already)"
            )
        if not self.loader.postgres:
            out.indexes = "multi-row inserts (not PostgreSQL)"
        return out


def _blocks(lines: list[str]) -> Iterator[tuple[int, str]]:
    for lo in range(0, len(lines), BLOCK):
        part = lines[lo : lo + BLOCK]
        yield len(part), "".join(part)
