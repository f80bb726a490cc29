"""A seeded, realistic dataset for the demo workspace: an outdoor-gear retailer whose
customers turn up on the web, in the app, in stores, on the phone and in email with
messy, overlapping identifiers. Everything enters through the tracking API's service
(``collect.service.accept``), exactly as a client's messages would, so resolution,
profiles and every later capability work on it unchanged. Deterministic: the same seed
gives the same messages (and messageIds), so loading twice adds nothing."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from accord.demo.catalogue import (
    CALL_REASONS,
    CITIES,
    FIRST,
    LAST,
    NICK,
    PAGES,
    PRODUCTS,
    STORES,
    STREETS,
)


def _phone_formats(area: str, number: str) -> list[str]:
    local = f"{number[:3]}-{number[3:]}"
    return [
        f"({area}) {local}",
        f"+1 {area} {number[:3]} {number[3:]}",
        f"{area}.{number[:3]}.{number[3:]}",
        f"1{area}{number}",
        f"{area}{number}",
    ]


class Retail:
    """Builds the messages of one fictional retailer's customers."""

    def __init__(self, customers: int, seed: int = 7, now: datetime | None = None) -> None:
        self.customers = customers
        self.seed = seed
        self.rng = random.Random(seed)
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self._mid = 0
        self._signed: dict[int, datetime] = {}

    def _id(self, prefix: str) -> str:
        self._mid += 1
        return f"demo-{prefix}-{self._mid:07d}"

    def _when(self, days_ago_max: int = 365, after: datetime | None = None) -> datetime:
        if after is not None:
            span = max(int((self.now - after).total_seconds()), 60)
            return after + timedelta(seconds=self.rng.randint(30, span))
        return self.now - timedelta(
            days=self.rng.randint(1, days_ago_max), minutes=self.rng.randint(0, 1440)
        )

    def _msg(self, kind: str, at: datetime, **fields: Any) -> dict[str, Any]:
        return {"type": kind, "messageId": self._id(kind), "timestamp": at.isoformat(), **fields}

    def _basket(self) -> list[dict[str, Any]]:
        items = self.rng.sample(PRODUCTS, self.rng.randint(1, 3))
        return [
            {
                "product_id": sku,
                "sku": sku,
                "name": name,
                "category": cat,
                "price": price,
                "quantity": self.rng.choice([1, 1, 1, 2]),
            }
            for sku, name, cat, price in items
        ]

    def _order(
        self,
        who: dict[str, Any],
        at: datetime,
        channel: str,
        store: str | None,
        context: dict[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        basket = self._basket()
        total = round(sum(p["price"] * p["quantity"] for p in basket), 2)
        order_id = self._id("order").replace("demo-order-", "DO-")
        props: dict[str, Any] = {
            "order_id": order_id,
            "total": total,
            "currency": "USD",
            "products": basket,
        }
        if store:
            props["store"] = store
        ctx = {"channel": channel, **(context or {})}
        out = [
            self._msg("track", at, event="Order Completed", properties=props, context=ctx, **who)
        ]
        if self.rng.random() < 0.08:
            back = at + timedelta(days=self.rng.randint(3, 20))
            if back < self.now:
                out.append(
                    self._msg(
                        "track",
                        back,
                        event="Order Refunded",
                        context=ctx,
                        properties={"order_id": order_id, "total": basket[0]["price"]},
                        **who,
                    )
                )
        return out

    def _banner(self, n: int) -> dict[str, Any]:
        """What the shop's cookie banner sent at sign-up (Segment's consent categories):
        most accept marketing and personalization, fewer advertising. Drawn apart from
        the rest of the demo, so adding it changed nothing else."""
        rng = random.Random(self.seed * 1_000_003 + n)
        return {
            "categoryPreferences": {
                "Marketing": rng.random() < 0.72,
                "Advertising": rng.random() < 0.41,
                "Personalization": rng.random() < 0.83,
            }
        }

    def _browsing(self, n: int, user_id: str, web: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """This week on the shop: products viewed, some checkouts, some of them left
        unfinished (the cart abandoners). Drawn apart from the rest of the demo, so
        adding it changed nothing else."""
        rng = random.Random(self.seed * 2_000_003 + n)
        if rng.random() > 0.45:
            return
        seen = rng.sample(PRODUCTS, rng.randint(1, 3))
        last = self.now
        for sku, name, cat, price in seen:
            for _ in range(rng.randint(1, 3)):
                at = self.now - timedelta(days=rng.uniform(0.05, 9))
                last = min(last, at)
                yield self._msg(
                    "track",
                    at,
                    userId=user_id,
                    event="Product Viewed",
                    context=web,
                    properties={"product_id": sku, "name": name, "category": cat, "price": price},
                )
        if rng.random() < 0.4:
            sku, name, cat, price = seen[0]
            at = self.now - timedelta(days=rng.uniform(0.1, 6))
            yield self._msg(
                "track",
                at,
                userId=user_id,
                event="Checkout Started",
                context=web,
                properties={
                    "value": price,
                    "currency": "USD",
                    "products": [{"sku": sku, "price": price}],
                },
            )
            if rng.random() < 0.45:
                yield self._msg(
                    "track",
                    at + timedelta(minutes=rng.randint(2, 25)),
                    userId=user_id,
                    event="Order Completed",
                    context={"channel": "web", **web},
                    properties={
                        "order_id": f"DW-{n:05d}",
                        "total": price,
                        "currency": "USD",
                        "products": [
                            {
                                "sku": sku,
                                "name": name,
                                "category": cat,
                                "price": price,
                                "quantity": 1,
                            }
                        ],
                    },
                )

    def person(self, n: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        first, last = rng.choice(FIRST), rng.choice(LAST)
        city, state, postcode, area = rng.choice(CITIES)
        number = f"555{rng.randint(0, 9999):04d}"
        phone = _phone_formats(area, number)
        email = f"{first}.{last}{n}@example.com".lower()
        user_id = f"cust-{n:05d}"
        anon = f"anon-{n:05d}-{rng.randint(1000, 9999)}"
        street = f"{rng.randint(10, 9999)} {rng.choice(STREETS)}"
        traits = {
            "firstName": first,
            "lastName": last,
            "email": email,
            "phone": rng.choice(phone),
            "address": {"street": street, "city": city, "state": state, "postalCode": postcode},
            "birthday": (
                f"{rng.randint(1950, 2004)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            ),
        }
        web = {
            "library": {"name": "analytics.js", "version": "5.2.0"},
            "userAgent": "Mozilla/5.0",
            "ip": f"198.51.100.{rng.randint(1, 254)}",
        }
        # Browsing as an anonymous visitor, some from a campaign.
        start = self._when(330)
        campaign = rng.random() < 0.35
        for _ in range(rng.randint(1, 6)):
            path = rng.choice(PAGES)
            ctx = {**web, "page": {"path": path, "url": f"https://demo-outfitters.example{path}"}}
            if campaign:
                ctx["campaign"] = {
                    "source": rng.choice(["newsletter", "google", "instagram"]),
                    "medium": rng.choice(["email", "cpc", "social"]),
                    "name": "spring-trail",
                }
            start = self._when(after=start) if rng.random() < 0.5 else start + timedelta(minutes=2)
            yield self._msg(
                "page", start, anonymousId=anon, name=path, context=ctx, properties={"path": path}
            )
        kind = rng.random()
        if kind < 0.62:
            # Signs up online, later shops on the web and in the app.
            signed = start + timedelta(minutes=rng.randint(1, 30))
            self._signed[n] = signed
            if rng.random() < 0.15:
                traits["twitter"] = f"@{first.lower()}{last.lower()}{n}"
            if rng.random() < 0.3:
                traits["loyaltyCard"] = f"LC{n:07d}"
            yield self._msg(
                "identify",
                signed,
                anonymousId=anon,
                userId=user_id,
                traits=traits,
                context={**web, "consent": self._banner(n)},
            )
            yield from self._browsing(n, user_id, web)
            for _ in range(rng.randint(0, 3)):
                at = self._when(after=signed)
                yield from self._order({"userId": user_id}, at, "web", None, web)
            if rng.random() < 0.4:
                device = {"id": f"dev-{n:05d}", "type": rng.choice(["ios", "android"])}
                app_ctx = {"library": {"name": f"analytics-{device['type']}"}, "device": device}
                at = self._when(after=signed)
                yield self._msg("screen", at, userId=user_id, name="Home", context=app_ctx)
                if rng.random() < 0.5:
                    yield from self._order(
                        {"userId": user_id}, self._when(after=at), "app", None, app_ctx
                    )
                if rng.random() < 0.25:  # a second email, given in the app
                    second = f"{(NICK.get(first) or first).lower()}{n}@mail.example"
                    yield self._msg(
                        "identify",
                        self._when(after=at),
                        userId=user_id,
                        traits={"email": second},
                        context=app_ctx,
                    )
            if "loyaltyCard" in traits and city in STORES:
                at = self._when(after=signed)
                yield from self._order(
                    {"anonymousId": f"pos-{n:05d}"},
                    at,
                    "store",
                    STORES[city],
                    {"identifiers": {"loyalty_card": traits["loyaltyCard"]}},
                )
            elif city in STORES and rng.random() < 0.45:
                # A walk-in purchase paid at the till: known only by name and postcode,
                # sometimes a nickname, under the till's own customer number.
                given = NICK[first] if first in NICK and rng.random() < 0.3 else first
                walk_in: dict[str, Any] = {"firstName": given, "lastName": last}
                walk_in["address"] = {"postalCode": postcode, "city": city}
                till: dict[str, Any] = {"identifiers": {"pos_customer": f"W{n:06d}"}}
                at = self._when(after=signed)
                yield self._msg(
                    "identify",
                    at,
                    anonymousId=f"pos-{n:05d}",
                    traits=walk_in,
                    context={"channel": "store", **till},
                )
                yield from self._order(
                    {"anonymousId": f"pos-{n:05d}"}, at, "store", STORES[city], till
                )
        elif kind < 0.80 and city in STORES:
            # Store-only: known by name and postcode (and the till's own customer number).
            pos = {
                "identifiers": {"pos_customer": f"P{n:06d}"},
                "traits": {
                    "firstName": first,
                    "lastName": last,
                    "address": {"postalCode": postcode, "city": city},
                },
            }
            at = self._when(300)
            yield self._msg(
                "identify",
                at,
                anonymousId=f"pos-{n:05d}",
                traits={
                    "firstName": first,
                    "lastName": last,
                    "address": {"postalCode": postcode, "city": city},
                },
                context={"channel": "store", **pos},
            )
            yield from self._order({"anonymousId": f"pos-{n:05d}"}, at, "store", STORES[city], pos)
        if rng.random() < 0.25:
            # A call to the contact center, known by the caller's number.
            at = self._when(200)
            caller = rng.choice(phone)
            yield self._msg(
                "track",
                at,
                anonymousId=f"call-{n:05d}",
                event="Call Completed",
                properties={
                    "reason": rng.choice(CALL_REASONS),
                    "duration_seconds": rng.randint(60, 900),
                },
                context={"channel": "call_center", "traits": {"phone": caller}},
            )
        if kind < 0.62 and rng.random() < 0.5:
            for event in ("Email Opened", "Email Link Clicked")[: rng.randint(1, 2)]:
                yield self._msg(
                    "track",
                    self._when(120),
                    event=event,
                    anonymousId=f"esp-{n:05d}",
                    context={"channel": "email", "traits": {"email": email}},
                    properties={"campaign": "spring-trail"},
                )

    def showcase(self) -> Iterator[dict[str, Any]]:
        """One customer whose web, store and call-center history is one person."""
        web = {"library": {"name": "analytics.js"}, "userAgent": "Mozilla/5.0"}
        t0 = self.now - timedelta(days=40)
        anon = "anon-showcase-maria"
        for i, path in enumerate(["/", "/camping", "/camping/tents", "/checkout"]):
            yield self._msg(
                "page",
                t0 + timedelta(minutes=3 * i),
                anonymousId=anon,
                name=path,
                context={**web, "page": {"path": path}},
                properties={"path": path},
            )
        yield self._msg(
            "identify",
            t0 + timedelta(minutes=15),
            anonymousId=anon,
            userId="cust-maria",
            context=web,
            traits={
                "firstName": "Maria",
                "lastName": "Gonzalez",
                "email": "maria.gonzalez@example.com",
                "phone": "(503) 555-0142",
                "loyaltyCard": "LC-MARIA-01",
                "address": {
                    "street": "1200 NW Everett St",
                    "city": "Portland",
                    "state": "OR",
                    "postalCode": "97209",
                },
            },
        )
        yield from self._order(
            {"userId": "cust-maria"}, t0 + timedelta(minutes=18), "web", None, web
        )
        yield from self._order(
            {"anonymousId": "pos-maria"},
            t0 + timedelta(days=12),
            "store",
            "Portland Pearl District",
            {"identifiers": {"loyalty_card": "LC-MARIA-01"}},
        )
        yield self._msg(
            "track",
            t0 + timedelta(days=14),
            anonymousId="call-maria",
            event="Call Completed",
            properties={"reason": "return request", "duration_seconds": 412},
            context={"channel": "call_center", "traits": {"phone": "503.555.0142"}},
        )

    def history(self, n: int) -> Iterator[dict[str, Any]]:
        """An online customer's repeat purchases since signing up: each buys at a rate of
        their own and, after any purchase, may quietly stop buying (some soon, most
        later), so customer analytics has real history to learn from and to check itself
        against. Drawn apart from the rest of the demo, which it leaves unchanged."""
        signed = self._signed.get(n)
        if signed is None:
            return
        rng = random.Random(self.seed * 7919 + n)
        rate = rng.gammavariate(1.5, 1 / 25)  # purchases a day, while a customer
        leave = rng.betavariate(1, 7)  # chance of leaving after each purchase
        spend = rng.gammavariate(3, 0.5)  # how much bigger or smaller their baskets are
        user = f"cust-{n:05d}"
        at = signed + timedelta(days=rng.expovariate(rate) + 1)
        k = 0
        while at < self.now:
            k += 1
            items = rng.sample(PRODUCTS, rng.randint(1, 3))
            basket: list[dict[str, Any]] = [
                {
                    "product_id": sku,
                    "sku": sku,
                    "name": name,
                    "category": cat,
                    "price": price,
                    "quantity": 1,
                }
                for sku, name, cat, price in items
            ]
            total = round(sum(float(price) for _, _, _, price in items) * spend, 2)
            channel = "app" if rng.random() < 0.2 else "web"
            yield {
                "type": "track",
                "messageId": f"demo-history-{n:05d}-{k:03d}",
                "timestamp": at.isoformat(),
                "userId": user,
                "event": "Order Completed",
                "context": {"channel": channel},
                "properties": {
                    "order_id": f"DH-{n:05d}-{k:03d}",
                    "total": total,
                    "currency": "USD",
                    "products": basket,
                },
            }
            if rng.random() < leave:
                return
            at += timedelta(days=rng.expovariate(rate) + 1, minutes=rng.randint(0, 600))

    def messages(self) -> Iterator[dict[str, Any]]:
        yield from self.showcase()
        for n in range(1, self.customers + 1):
            yield from self.person(n)
            yield from self.history(n)


def load(
    send: Callable[[list[dict[str, Any]]], None],
    customers: int,
    *,
    seed: int = 7,
    batch: int = 200,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Feed the retailer's messages to ``send`` in batches; returns how many."""
    count = 0
    chunk: list[dict[str, Any]] = []
    for msg in Retail(customers, seed).messages():
        chunk.append(msg)
        if len(chunk) >= batch:
            send(chunk)
            count += len(chunk)
            if progress:
                progress(len(chunk))
            chunk = []
    if chunk:
        send(chunk)
        count += len(chunk)
        if progress:
            progress(len(chunk))
    return count
