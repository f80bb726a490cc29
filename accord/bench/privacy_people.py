"""The privacy benchmark's data set: its vocabulary, one person's identifiers and names,
and the bulk loader (COPY on PostgreSQL, multi-row inserts elsewhere)."""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, NamedTuple, cast

import orjson
from sqlalchemy import JSON, Table, Uuid, insert, text
from sqlalchemy.orm import Session, sessionmaker

from accord.kit import jsonio
from accord.kit.db import Base, transaction

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
