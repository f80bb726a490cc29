"""The privacy benchmark's seeder: events, people, identifiers and their links, orders,
consent and the suppression list, in set-based loads."""

from __future__ import annotations

import random
import time
from array import array
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from hashlib import sha256
from typing import Any

from accord.bench.privacy_people import (
    AGENT,
    COMBOS,
    EVENT,
    IDENT,
    LINK,
    ORDER,
    PAGES,
    PRODUCTS,
    PROFILE,
    RECORD,
    SOURCES,
    SPAN,
    STATE,
    SUBJECTS,
    SUPPRESSION,
    TICK,
    People,
    Seeded,
    _json,
    anonymous_id_of,
    person,
    user_id_of,
)
from accord.bench.privacy_rows import ServiceRows
from accord.collect.models import Event
from accord.govern.consent import rules, suppression
from accord.govern.consent.models import ConsentRecord, ConsentState, Suppression
from accord.profile.models import Order, Profile
from accord.resolve.models import Identifier, IdentityLink


class Seeder(ServiceRows):
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
