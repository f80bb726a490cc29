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
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import JSON, Connection, Table, Uuid, insert, select, text
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import cpu_seconds, percentile
from accord.chat.models import ChatVisitor
from accord.collect.models import Event
from accord.govern.access.principal import Principal
from accord.govern.audit.models import AccessLogEntry
from accord.govern.consent import rules, suppression
from accord.govern.consent.models import ConsentRecord, ConsentState, Suppression
from accord.govern.consent.policy import may_contact
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.service import get_workspace
from accord.inbox.intake import attachment_path
from accord.inbox.models import Attachment, Conversation, ConversationEvent, Message
from accord.kit import jsonio
from accord.kit.db import Base, read_only, transaction
from accord.kit.runtime import tune_gc
from accord.privacy import erase, export
from accord.privacy import service as requests
from accord.privacy import subject as subjects
from accord.profile.models import Order, Profile
from accord.resolve.models import Identifier, IdentityLink, Merge

Progress = Callable[[int], None]

# The targets.
CHECK_P99_MS = 2.0
EXPORT_SECONDS = 5.0
ERASE_SECONDS = 5.0

SUBJECTS = 3  # the heaviest people: each exported, then erased
SPAN = timedelta(days=730)
CHUNK = 5000
TICK = 10_000

# Id spaces: every row's id is made from its space and a number (time-ordered within a
# run, unique across runs), so events name their person and identifiers without lookups.
PROFILE, TOMBSTONE, EVENT, LINK, ORDER, RECORD, STATE, SUPPRESSION = range(1, 9)
CONVERSATION, MESSAGE = 9, 10
IDENT = {"user_id": 16, "email": 17, "phone": 18, "anonymous_id": 19, "old_email": 20}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST = _words(
    "Ada Alan Amira Ana Ben Carla Chen David Elena Emma Farid Grace Hana Hugo Ines "
    "Ivan Jonas Julia Kai Lena Luca Maria Mateo Mei Nadia Noah Olga Omar Paula Priya "
    "Rafael Sara Sofia Tariq Tom Uma Victor Yara Yusuf Zoe"
)
LAST = _words(
    "Adams Bauer Costa Dubois Evans Fischer Garcia Hansen Ito Jensen Kowalski Lopez "
    "Moreau Muller Nakamura Novak Olsen Petrov Quinn Rossi Santos Schmidt Silva "
    "Smith Tanaka Torres Varga Weber Wilson Young"
)
DOMAINS = ("gmail.com", "outlook.com", "yahoo.com", "icloud.com", "web.de", "orange.fr")
# (country, city): about half in opt-out regions, half in opt-in ones (EU, GB, CA).
PLACES = (
    ("US", "Austin"),
    ("US", "Chicago"),
    ("US", "Denver"),
    ("US", "Seattle"),
    ("US", "Boston"),
    ("AU", "Sydney"),
    ("DE", "Berlin"),
    ("FR", "Lyon"),
    ("GB", "Leeds"),
    ("CA", "Toronto"),
    ("NL", "Utrecht"),
    ("ES", "Valencia"),
)
PAGES = ("/", "/products/1042", "/products/2210", "/category/shoes", "/cart", "/search")
PRODUCTS = ("Trail runner", "Rain jacket", "Wool socks", "Day pack", "Water bottle")
AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 Safari/605.1.15"
# What people said, by channel and purpose: the consent combinations recorded.
COMBOS = (
    ("email", "marketing"),
    ("email", "marketing"),
    ("sms", "marketing"),
    ("email", "surveys"),
    ("phone", "marketing"),
    ("push", "marketing"),
    ("all", "personalization"),
    ("ads", "advertising"),
)
SOURCES = ("form", "preference_center", "api", "import", "tracking")
# The channels a send goes out on with an address (what the suppression list is asked).
ASKED = ("email", "sms", "phone")


def _uid(base: int, space: int, n: int) -> str:
    """A version 7 id as text (what COPY reads; made millions of times): the run's start
    in milliseconds, the space, then the number."""
    ms = f"{base:012x}"
    return f"{ms[:8]}-{ms[8:]}-7{space:03x}-8{n >> 48:03x}-{n & 0xFFFFFFFFFFFF:012x}"


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


class Person(NamedTuple):
    k: int
    first: str
    last: str
    email: str
    phone: str
    user_id: str
    anonymous_id: str
    country: str
    city: str
    channel: str


def user_id_of(k: int) -> str:
    return f"cust-{k:08d}"


def anonymous_id_of(k: int) -> str:
    """A browser's id, shaped as the analytics libraries make them (a UUID)."""
    return (
        f"{(k * 2654435761) & 0xFFFFFFFF:08x}-{(k >> 8) & 0xFFFF:04x}-4{k & 0xFFF:03x}"
        f"-a{(k * 40503) & 0xFFF:03x}-{k:012x}"
    )


def person(k: int) -> Person:
    first, last = FIRST[k % len(FIRST)], LAST[(k // len(FIRST)) % len(LAST)]
    domain = DOMAINS[(k * 7) % len(DOMAINS)]
    country, city = PLACES[(k * 13) % len(PLACES)]
    return Person(
        k=k,
        first=first,
        last=last,
        email=f"{first}.{last}.{k}@{domain}".lower(),
        phone=f"+1{2002000000 + k}",
        user_id=user_id_of(k),
        anonymous_id=anonymous_id_of(k),
        country=country,
        city=city,
        channel="app" if k % 5 == 0 else "web",
    )


class Loader:
    """Bulk rows into a table: COPY on PostgreSQL, multi-row inserts elsewhere. Rows are
    tuples in the order of ``columns``; ids may come as text, JSON columns as JSON text."""

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self.factory = factory
        self.triggers_off = False
        with factory() as session:
            self.postgres = session.get_bind().dialect.name == "postgresql"
            if self.postgres:
                # As pg_restore --disable-triggers: the rows are consistent by construction,
                # and checking each row's foreign keys would double the load's time. Only a
                # superuser may; anyone else loads with the checks.
                self.triggers_off = bool(
                    session.scalar(
                        text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
                    )
                )

    def load(self, model: type[Base], columns: str, rows: Iterable[tuple[Any, ...]]) -> int:
        """Load ``rows`` into ``model``'s table; ``columns`` names theirs, space-separated."""
        table = cast(Table, model.__table__)
        names = columns.split()
        count = 0
        with transaction(self.factory) as session:
            if self.postgres:
                if self.triggers_off:
                    session.execute(text("SET LOCAL session_replication_role = replica"))
                raw: Any = session.connection().connection.driver_connection
                quoted = ", ".join(f'"{c}"' for c in names)
                with (
                    raw.cursor() as cursor,
                    cursor.copy(f"COPY {table.name} ({quoted}) FROM STDIN") as copy,
                ):
                    for row in rows:
                        copy.write_row(row)
                        count += 1
                return count
            json_at = [i for i, c in enumerate(names) if isinstance(table.c[c].type, JSON)]
            uuid_at = [i for i, c in enumerate(names) if isinstance(table.c[c].type, Uuid)]
            batch: list[dict[str, Any]] = []
            for row in rows:
                values = list(row)
                for i in json_at:
                    if values[i] is not None:
                        values[i] = jsonio.loads(values[i])
                for i in uuid_at:
                    if isinstance(values[i], str):
                        values[i] = uuid.UUID(values[i])
                batch.append(dict(zip(names, values, strict=True)))
                count += 1
                if len(batch) >= CHUNK:
                    session.execute(insert(table), batch)
                    batch = []
            if batch:
                session.execute(insert(table), batch)
        return count


@dataclass
class People:
    """What the event load learned of each person (by number), for their profile."""

    count: array[int]
    first: array[int]
    last: array[int]
    orders: array[int]
    revenue: array[float]
    orders_at: list[tuple[int, int, Decimal]] = field(default_factory=list)  # (j, k, total)


@dataclass
class Seeded:
    profiles: int
    events: int
    identifiers: int = 0
    links: int = 0
    orders: int = 0
    consent_records: int = 0
    suppressions: int = 0
    conversations: int = 0
    messages: int = 0
    seconds: float = 0.0
    phases: dict[str, float] = field(default_factory=dict)
    subjects: list[Person] = field(default_factory=list)


class Seeder:
    def __init__(
        self,
        factory: sessionmaker[Session],
        workspace_id: uuid.UUID,
        salt: str,
        data_dir: Path,
        progress: Progress | None,
    ) -> None:
        self.factory = factory
        self.ws = workspace_id
        self.salt = salt
        self.data_dir = data_dir
        self.progress = progress or (lambda n: None)
        self.loader = Loader(factory)
        self.base = time.time_ns() // 1_000_000
        self.prefixes: dict[int, str] = {}
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.t0 = self.now - SPAN

    def id(self, space: int, n: int) -> str:
        """``_uid`` for this run, with its prefix made once per space (numbers < 2**48)."""
        prefix = self.prefixes.get(space)
        if prefix is None:
            prefix = self.prefixes[space] = _uid(self.base, space, 0)[:-12]
        return f"{prefix}{n:012x}"

    def uid(self, space: int, n: int) -> uuid.UUID:
        return uuid.UUID(self.id(space, n))

    def at(self, j: int, events: int) -> datetime:
        return self.t0 + SPAN * (j / max(events, 1))

    # --- events ------------------------------------------------------------------------

    def events(self, profiles: int, events: int, rng: random.Random) -> People:
        """Events in the order they arrived. Whose each is: ``profiles * r**2`` for a
        uniform r, so the lowest numbers are the heaviest people (about 10,000 events of
        10,000,000 for the first, 4,100 for the second) and most have a few."""
        people = People(
            count=array("i", bytes(4 * profiles)),
            first=array("q", [-1]) * profiles,
            last=array("q", [-1]) * profiles,
            orders=array("i", bytes(4 * profiles)),
            revenue=array("d", bytes(8 * profiles)),
        )
        columns = (
            "id workspace_id message_id type name user_id anonymous_id channel source "
            "identifiers traits properties context timestamp sent_at received_at status "
            "profile_id primary_identifier_id"
        )
        self.loader.load(Event, columns, self._event_rows(profiles, events, rng, people))
        return people

    def _event_rows(
        self, profiles: int, events: int, rng: random.Random, people: People
    ) -> Iterator[tuple[Any, ...]]:
        """Rows as COPY takes them; written for speed (tens of millions of calls): ids and
        the JSON of the common events are formatted directly."""
        ws, rnd, step, second = self.ws, rng.random, SPAN / max(events, 1), timedelta(seconds=1)
        context = _json({"ip": "198.51.100.23", "userAgent": AGENT, "library": "analytics.js"})
        pages = [_json({"path": path, "title": "Outdoor shop"}) for path in PAGES]
        viewed = [_json({"product_id": f"p{i}", "price": 49.0}) for i in range(97)]
        count, first_j, last_j = people.count, people.first, people.last
        event, profile = self.id(EVENT, 0)[:-12], self.id(PROFILE, 0)[:-12]
        user_ident, anon_ident = (
            self.id(IDENT["user_id"], 0)[:-12],
            self.id(IDENT["anonymous_id"], 0)[:-12],
        )
        for j in range(events):
            r = rnd()
            k = int(profiles * r * r)
            at = self.t0 + step * j
            u = rnd()
            first = count[k] == 0
            count[k] += 1
            if first:
                first_j[k] = j
            last_j[k] = j
            user, anon = user_id_of(k), anonymous_id_of(k)
            traits = None
            signed_in = True
            if first or u < 0.03:
                kind, name = "identify", None
                p = person(k)
                pairs = (
                    f'[["user_id","{user}"],["email","{p.email}"],["phone","{p.phone}"],'
                    f'["anonymous_id","{anon}"]]'
                )
                traits = _json(
                    {"email": p.email, "firstName": p.first, "lastName": p.last, "phone": p.phone}
                )
                props = "{}"
            elif u < 0.05:
                kind, name = "track", "Order Completed"
                total = Decimal(f"{20 + (j * 37) % 480}.99")
                people.orders[k] += 1
                people.revenue[k] += float(total)
                people.orders_at.append((j, k, total))
                product = PRODUCTS[j % len(PRODUCTS)]
                props = _json(
                    {
                        "order_id": f"o{j:09d}",
                        "total": float(total),
                        "currency": "USD",
                        "products": [{"product_id": f"p{j % 97}", "name": product, "quantity": 1}],
                    }
                )
                pairs = f'[["user_id","{user}"],["email","{person(k).email}"]]'
            else:
                signed_in = (j & 1) == 0
                if u < 0.6:
                    kind, name = "page", PAGES[j % len(PAGES)]
                    props = pages[j % len(PAGES)]
                else:
                    kind = "track"
                    name = "Product Viewed" if u < 0.85 else "Product Added"
                    props = viewed[j % 97]
                if signed_in:
                    pairs = f'[["user_id","{user}"],["anonymous_id","{anon}"]]'
                else:
                    pairs = f'[["anonymous_id","{anon}"]]'
            yield (
                f"{event}{j:012x}",
                ws,
                f"ev-{j:09d}",
                kind,
                name,
                user if signed_in else None,
                anon,
                "app" if k % 5 == 0 else "web",
                "bench",
                pairs,
                traits,
                props,
                context,
                at,
                None,
                at + second,
                "resolved",
                f"{profile}{k:012x}",
                f"{user_ident}{k:012x}" if signed_in else f"{anon_ident}{k:012x}",
            )
            if j % TICK == TICK - 1:
                self.progress(TICK)
        self.progress(events % TICK)

    # --- people ------------------------------------------------------------------------

    def profiles(self, profiles: int, events: int, people: People) -> None:
        columns = (
            "id workspace_id merged_into_id contested traits stats display_name search_name "
            "email phone first_seen_at last_seen_at order_count revenue updated_at created_at"
        )
        self.loader.load(Profile, columns, self._profile_rows(profiles, events, people))

    def _seen(self, k: int, events: int, people: People) -> tuple[datetime, datetime]:
        if people.first[k] < 0:  # imported, never seen since
            at = self.t0 + timedelta(minutes=k % 100_000)
            return at, at
        return self.at(people.first[k], events), self.at(people.last[k], events)

    def _profile_rows(
        self, profiles: int, events: int, people: People
    ) -> Iterator[tuple[Any, ...]]:
        for k in range(profiles):
            p = person(k)
            first, last = self._seen(k, events, people)
            fj = people.first[k]
            origin = {"source": "web", "at": first.isoformat(), "event": f"ev-{fj:09d}"}
            traits: dict[str, Any] = {
                "firstName": {"value": p.first, **origin},
                "lastName": {"value": p.last, **origin},
                "email": {"value": p.email, **origin},
                "phone": {"value": p.phone, **origin},
                "address.country": {"value": p.country, **origin},
                "address.city": {"value": p.city, **origin},
                "plan": {"value": ("free", "plus", "pro")[k % 3], **origin},
            }
            if k % 200 == 11:
                traits["doNotContact"] = {"value": True, **origin}
            if k % 100 == 23:
                traits["emailBounced"] = {"value": True, **origin}
            n, orders = people.count[k], people.orders[k]
            revenue = Decimal(f"{people.revenue[k]:.2f}")
            stats: dict[str, Any] = {
                "channels": {p.channel: n} if n else {},
                "event_count": n,
                "preferred_channel": p.channel if n else None,
            }
            if orders:
                stats["average_order_value"] = f"{revenue / orders:.2f}"
            yield (
                self.id(PROFILE, k),
                self.ws,
                None,
                False,
                _json(traits),
                _json(stats),
                f"{p.first} {p.last}",
                f"{p.first} {p.last}".lower(),
                p.email,
                p.phone,
                first,
                last,
                orders,
                revenue,
                last,
                first,
            )
            if k % TICK == TICK - 1:
                self.progress(TICK)
        self.progress(profiles % TICK)

    def identifiers(self, profiles: int, events: int, people: People) -> int:
        columns = (
            "id workspace_id type value profile_id blocked source first_event_id "
            "last_seen_at created_at"
        )

        def rows() -> Iterator[tuple[Any, ...]]:
            for k in range(profiles):
                p = person(k)
                first, last = self._seen(k, events, people)
                fj = people.first[k]
                event = self.id(EVENT, fj) if fj >= 0 else None
                for type_name, value in (
                    ("user_id", p.user_id),
                    ("email", p.email),
                    ("phone", p.phone),
                    ("anonymous_id", p.anonymous_id),
                ):
                    yield (
                        self.id(IDENT[type_name], k),
                        self.ws,
                        type_name,
                        value,
                        self.id(PROFILE, k),
                        False,
                        "web",
                        event,
                        last,
                        first,
                    )

        return self.loader.load(Identifier, columns, rows())

    def links(self, profiles: int, events: int, people: People) -> int:
        """The identity graph: each identify call links its user id (the hub) to the
        email, phone and anonymous id it carried."""
        columns = "id workspace_id a_id b_id event_id message_id created_at"

        def rows() -> Iterator[tuple[Any, ...]]:
            n = 0
            for k in range(profiles):
                fj = people.first[k]
                if fj < 0:
                    continue
                hub = self.id(IDENT["user_id"], k)
                for other in ("email", "phone", "anonymous_id"):
                    b = self.id(IDENT[other], k)
                    a, b = (hub, b) if hub < b else (b, hub)
                    yield (
                        self.id(LINK, n),
                        self.ws,
                        a,
                        b,
                        self.id(EVENT, fj),
                        f"ev-{fj:09d}",
                        self.at(fj, events),
                    )
                    n += 1

        return self.loader.load(IdentityLink, columns, rows())

    def orders(self, events: int, people: People) -> int:
        columns = (
            "id workspace_id order_id event_id profile_id placed_at channel store currency "
            "total refunded status items created_at"
        )

        def rows() -> Iterator[tuple[Any, ...]]:
            for n, (j, k, total) in enumerate(people.orders_at):
                at = self.at(j, events)
                product = PRODUCTS[j % len(PRODUCTS)]
                items = [
                    {
                        "product_id": f"p{j % 97}",
                        "sku": f"SKU-{j % 97:04d}",
                        "name": product,
                        "price": float(total),
                        "quantity": 1,
                    }
                ]
                yield (
                    self.id(ORDER, n),
                    self.ws,
                    f"o{j:09d}",
                    self.id(EVENT, j),
                    self.id(PROFILE, k),
                    at,
                    person(k).channel,
                    None,
                    "USD",
                    total,
                    Decimal("0"),
                    "placed",
                    _json(items),
                    at,
                )

        return self.loader.load(Order, columns, rows())

    # --- consent and the suppression list ----------------------------------------------

    def consent(self, profiles: int, events: int, people: People, rng: random.Random) -> int:
        """Three in ten people said something: one to five records across channels and
        purposes (a later one replaces an earlier one's state); some deny everything on
        every channel, some grants have expired."""
        records: list[tuple[Any, ...]] = []
        states: list[tuple[Any, ...]] = []
        n = 0
        for k in range(profiles):
            if rng.random() >= 0.3:
                continue
            first, last = self._seen(k, events, people)
            span = (last - first).total_seconds()
            latest: dict[tuple[str, str], tuple[Any, ...]] = {}
            for _ in range(rng.randint(1, 5)):
                u = rng.random()
                channel, purpose = rng.choice(COMBOS)
                if u < 0.04:
                    channel, purpose, status = rules.ALL, rules.ALL, rules.DENIED
                elif u < 0.1:
                    channel, purpose, status = rules.ALL, "marketing", rules.DENIED
                elif u < 0.25:
                    status = rules.WITHDRAWN
                elif u < 0.3:
                    status = rules.DENIED
                elif u < 0.33:
                    status = rules.PENDING
                else:
                    status = rules.GRANTED
                at = first + timedelta(seconds=span * rng.random())
                expires = None
                if status == rules.GRANTED and rng.random() < 0.15:
                    expires = at + timedelta(days=180)  # most of these have expired
                source = rng.choice(SOURCES)
                if status == rules.WITHDRAWN:
                    source = "unsubscribe_link"
                evidence = {"form": "checkout"} if source == "form" else {}
                rid = self.id(RECORD, n)
                n += 1
                records.append(
                    (
                        rid,
                        at,
                        self.ws,
                        self.id(PROFILE, k),
                        self.id(PROFILE, k),
                        channel,
                        purpose,
                        status,
                        "consent",
                        source,
                        at,
                        expires,
                        "api",
                        None,
                        "198.51.100.23",
                        AGENT,
                        "1",
                        _json(evidence),
                        None,
                        None,
                    )
                )
                key = (channel, purpose)
                if key not in latest or latest[key][2] <= at:
                    latest[key] = (status, source, at, expires, rid)
            for (channel, purpose), (status, source, at, expires, rid) in latest.items():
                states.append(
                    (
                        self.id(STATE, len(states)),
                        self.ws,
                        self.id(PROFILE, k),
                        channel,
                        purpose,
                        status,
                        source,
                        at,
                        expires,
                        rid,
                    )
                )
        columns = (
            "id created_at workspace_id profile_id origin_profile_id channel purpose status "
            "legal_basis source recorded_at expires_at recorded_by reason ip user_agent "
            "notice_version evidence merge_id voided_at"
        )
        self.loader.load(ConsentRecord, columns, records)
        columns = (
            "id workspace_id profile_id channel purpose status source recorded_at expires_at "
            "record_id"
        )
        self.loader.load(ConsentState, columns, states)
        return len(records)

    def suppressions(self, profiles: int, rng: random.Random) -> int:
        """One person in a hundred had their email address put on the list by hand (a
        complaint); the rest of the list is the hashes of people erased before."""
        columns = "id created_at workspace_id digest kind reason request_id"
        rows: list[tuple[Any, ...]] = []
        for k in range(37, profiles, 100):
            digest = suppression.digest(self.salt, "email", person(k).email)
            rows.append(
                (
                    self.id(SUPPRESSION, len(rows)),
                    self.now,
                    self.ws,
                    digest,
                    "email",
                    "added by hand",
                    None,
                )
            )
        for i in range(max(profiles // 20, 1)):
            kind = "email" if i % 3 else "phone"
            digest = sha256(f"erased-{self.base}-{i}-{rng.random()}".encode()).hexdigest()
            rows.append(
                (self.id(SUPPRESSION, len(rows)), self.now, self.ws, digest, kind, "erased", None)
            )
        return self.loader.load(Suppression, columns, rows)

    # --- conversations ------------------------------------------------------------------

    def conversations(
        self, profiles: int, events: int, people: People, rng: random.Random, subjects: int
    ) -> tuple[int, int]:
        """One person in twenty wrote in once (four messages); each subject three times
        (twenty messages each, by email, chat and SMS)."""
        threads: list[tuple[int, str, int]] = [
            (k, channel, 20) for k in range(subjects) for channel in ("email", "chat", "sms")
        ]
        threads += [(rng.randrange(profiles), "email", 4) for _ in range(profiles // 20)]
        conv_columns = (
            "id workspace_id number profile_id subject status priority tags assignee_id team_id "
            "channel last_channel contact_name preview message_count last_message_at "
            "waiting_since first_response_at resolved_at snoozed_until sla_policy_id "
            "first_response_due_at next_response_due_at resolution_due_at reopen_count "
            "csat_score csat_comment csat_at created_at updated_at"
        )
        msg_columns = (
            "id workspace_id conversation_id direction channel author_id author_name address "
            "subject body body_html quoted external_id in_reply_to delivery delivery_error "
            "event_id meta created_at"
        )
        convs: list[tuple[Any, ...]] = []
        msgs: list[tuple[Any, ...]] = []
        for number, (k, channel, count) in enumerate(threads, start=1):
            p = person(k)
            first, last = self._seen(k, events, people)
            start = first + (last - first) * rng.random()
            end = start + timedelta(minutes=9 * count)
            cid = self.id(CONVERSATION, number)
            address = p.email if channel == "email" else p.phone if channel == "sms" else None
            convs.append(
                (
                    cid,
                    self.ws,
                    number,
                    self.id(PROFILE, k),
                    f"Question about order o{number:06d}",
                    "resolved",
                    "normal",
                    "[]",
                    None,
                    None,
                    channel,
                    channel,
                    f"{p.first} {p.last}",
                    "Thanks, that solved it.",
                    count,
                    end,
                    None,
                    start + timedelta(minutes=9),
                    end,
                    None,
                    None,
                    start + timedelta(hours=4),
                    None,
                    start + timedelta(days=2),
                    0,
                    None,
                    None,
                    None,
                    start,
                    end,
                )
            )
            for i in range(count):
                inbound = i % 2 == 0
                msgs.append(
                    (
                        self.id(MESSAGE, len(msgs)),
                        self.ws,
                        cid,
                        "in" if inbound else "out",
                        channel,
                        None,
                        f"{p.first} {p.last}" if inbound else "Support",
                        address,
                        None,
                        f"Hi, this is {p.first}. My order o{number:06d} has not arrived; "
                        f"can you check where it is? I live in {p.city}."
                        if inbound
                        else "Thanks for writing in. It left the warehouse today.",
                        None,
                        None,
                        None,
                        None,
                        None if inbound else "sent",
                        None,
                        None,
                        "{}",
                        start + timedelta(minutes=9 * i),
                    )
                )
        self.loader.load(Conversation, conv_columns, convs)
        self.loader.load(Message, msg_columns, msgs)
        return len(convs), len(msgs)

    def subject_extras(self, subjects: list[Person], events: int, people: People) -> None:
        """What else the heaviest people have: a profile merged into them (with its old
        email address), a chat visitor for their chat, an attachment with its file, the
        conversations' logs and their access log."""
        with transaction(self.factory) as session:
            for p in subjects:
                survivor = self.uid(PROFILE, p.k)
                first, _ = self._seen(p.k, events, people)
                old = self.uid(TOMBSTONE, p.k)
                session.add(
                    Profile(
                        id=old,
                        workspace_id=self.ws,
                        merged_into_id=survivor,
                        traits={},
                        stats={},
                        display_name=f"{p.first} {p.last}",
                        search_name=f"{p.first} {p.last}".lower(),
                        created_at=first - timedelta(days=30),
                    )
                )
                session.add(
                    Merge(
                        workspace_id=self.ws,
                        survivor_id=survivor,
                        absorbed_id=old,
                        rule="shared_identifier",
                        evidence={"identifier": "email"},
                        created_at=first,
                    )
                )
                session.add(
                    Identifier(
                        id=self.uid(IDENT["old_email"], p.k),
                        workspace_id=self.ws,
                        type="email",
                        value=f"old.{p.email}",
                        profile_id=survivor,
                        blocked=False,
                        source="import",
                        last_seen_at=first,
                        created_at=first - timedelta(days=30),
                    )
                )
                for action in ("view", "timeline"):
                    session.add(
                        AccessLogEntry(
                            workspace_id=self.ws,
                            profile_id=survivor,
                            actor="agent@bench.example",
                            actor_kind="user",
                            action=action,
                            via="console",
                            at=self.now - timedelta(days=3),
                        )
                    )
            session.flush()
            numbers = {
                (conv.profile_id, conv.channel): conv
                for conv in session.scalars(
                    select(Conversation).where(
                        Conversation.workspace_id == self.ws,
                        Conversation.number <= 3 * len(subjects),
                    )
                )
            }
            for p in subjects:
                survivor = self.uid(PROFILE, p.k)
                for channel in ("email", "chat", "sms"):
                    conv = numbers[(survivor, channel)]
                    for kind, at in (("created", conv.created_at), ("resolved", conv.resolved_at)):
                        session.add(
                            ConversationEvent(
                                workspace_id=self.ws,
                                conversation_id=conv.id,
                                kind=kind,
                                channel=channel,
                                data={},
                                at=at,
                            )
                        )
                chat = numbers[(survivor, "chat")]
                session.add(
                    ChatVisitor(
                        workspace_id=self.ws,
                        anonymous_id=p.anonymous_id,
                        user_id=p.user_id,
                        name=f"{p.first} {p.last}",
                        email=p.email,
                        traits={"plan": "pro"},
                        pages=[{"url": "https://shop.example/cart", "title": "Cart"}],
                        utm={},
                        country=p.country,
                        user_agent=AGENT,
                        conversation_id=chat.id,
                        cart_value=Decimal("0"),
                    )
                )
                email = numbers[(survivor, "email")]
                message = session.scalars(
                    select(Message)
                    .where(Message.conversation_id == email.id)
                    .order_by(Message.created_at)
                    .limit(1)
                ).one()
                content = (f"Invoice for {p.first} {p.last}, order o000001\n" * 800).encode()
                digest = sha256(content).hexdigest()
                path = attachment_path(self.data_dir, digest)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                session.add(
                    Attachment(
                        workspace_id=self.ws,
                        message_id=message.id,
                        filename="invoice.txt",
                        content_type="text/plain",
                        size=len(content),
                        sha256=digest,
                    )
                )

    def run(self, profiles: int, events: int, rng: random.Random) -> Seeded:
        out = Seeded(profiles=profiles, events=events)
        clock = time.perf_counter()

        def lap(phase: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            out.phases[phase] = now - clock
            clock = now

        people = self.events(profiles, events, rng)
        lap("events")
        self.profiles(profiles, events, people)
        lap("profiles")
        out.identifiers = self.identifiers(profiles, events, people)
        out.links = self.links(profiles, events, people)
        lap("identity graph")
        out.orders = self.orders(events, people)
        lap("orders")
        out.consent_records = self.consent(profiles, events, people, rng)
        out.suppressions = self.suppressions(profiles, rng)
        lap("consent")
        out.subjects = [person(k) for k in range(min(SUBJECTS, profiles))]
        out.conversations, out.messages = self.conversations(
            profiles, events, people, rng, len(out.subjects)
        )
        self.subject_extras(out.subjects, events, people)
        lap("conversations")
        out.seconds = sum(out.phases.values())
        return out


# --- measuring ---------------------------------------------------------------------------


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
    """What autovacuum does to a live database after a bulk load: VACUUM ANALYZE on
    PostgreSQL (visibility map and statistics), ANALYZE elsewhere."""
    t = time.perf_counter()
    with factory() as session:
        bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.execute(text("VACUUM (ANALYZE)"))
            what = "VACUUM (ANALYZE)"
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
            what = "ANALYZE"
    return time.perf_counter() - t, what


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
