"""The customer analytics benchmark's shop, drawn with numpy: two years of a
buy-till-you-die process.

- Every person is a customer. Their first order falls uniformly in the last two years;
  from then on they buy at a rate of their own (gamma distributed across customers) and,
  after each repeat purchase, leave for good with a probability of their own (beta
  distributed): BG/NBD's story, whose parameters the lifetime model should find again. The
  rate's scale is set so that the orders number what was asked, and the few orders left
  over or missing are taken from or given to random customers.
- Each order's value is drawn from a gamma whose scale is the customer's own (the
  Gamma-Gamma model's story): some people spend more per order than others.
- Every order has its ``Order Completed`` event; 1.5% were cancelled, 2% refunded in full
  and 1.5% in part, each with its ``Order Cancelled`` or ``Order Refunded`` event a little
  later.
- One customer in 25 wrote to customer service; three in ten of them had a bad
  experience and leave soon after (``unhappy``): the service history tells something
  about churn.

Everything is held as arrays of 32-bit numbers (about 40 bytes an order), orders and
events in the order they happened."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

import numpy as np

DAY = 86_400
SPAN_DAYS = 730  # first orders spread over two years
# Purchase rates (a day) ~ gamma(RATE_SHAPE, scale fitted to the orders asked for);
# dropout after each repeat purchase ~ beta(DROP_A, DROP_B).
RATE_SHAPE = 0.75
DROP_A, DROP_B = 1.2, 8.0
# Order values: ~ gamma(SPEND_P, 1/nu), nu ~ gamma(SPEND_Q, 1/SPEND_GAMMA): $60 on average.
SPEND_P, SPEND_Q, SPEND_GAMMA = 6.0, 4.0, 30.0
CANCELLED, REFUNDED, PARTLY = 0.015, 0.02, 0.015
SERVED, UNHAPPY = 0.04, 0.3
ORDER_CHANNELS = ("web", "app", "store")


@dataclass
class Plan:
    """Everything drawn, as arrays: customers (by number), orders and events in the
    order they happened. Times are whole seconds after ``t0``."""

    t0: int  # epoch seconds two years before now
    first: np.ndarray  # customer -> their first order's time
    channel: np.ndarray  # customer -> preferred channel (index of ORDER_CHANNELS)
    unhappy: np.ndarray  # customer -> leaves after a bad service experience
    served: np.ndarray  # customer -> wrote to customer service
    owner: np.ndarray  # order -> customer
    at: np.ndarray  # order -> time
    cents: np.ndarray  # order -> total in cents
    refund: np.ndarray  # order -> refunded cents
    status: np.ndarray  # order -> 0 placed, 1 cancelled, 2 refunded, 3 partially refunded
    via: np.ndarray  # order -> index of ORDER_CHANNELS
    ev_order: np.ndarray  # event -> its order
    ev_kind: np.ndarray  # event -> 0 Order Completed, 1 Order Cancelled, 2 Order Refunded
    ev_at: np.ndarray  # event -> time
    order_event: np.ndarray  # order -> its Order Completed event
    rate_scale: float


def _calibrate(rates: np.ndarray, window: np.ndarray, leave: np.ndarray, mean: float) -> float:
    """The scale of the purchase rates that gives ``mean`` orders a customer (one first
    order and the repeat purchases made before leaving or now), found by bisection on a
    sample with common random numbers."""
    m = min(rates.size, 200_000)
    lo, hi = 1e-6, 50.0
    for _ in range(45):
        mid = math.sqrt(lo * hi)
        made = np.random.default_rng(11).poisson(rates[:m] * mid * window[:m])
        if 1 + float(np.minimum(made, leave[:m]).mean()) < mean:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


def _adjust(rng: np.random.Generator, repeats: np.ndarray, made: np.ndarray, wanted: int) -> None:
    """Repeat purchases taken from (or given to) random customers until there are
    ``wanted`` in all; a customer given one more stayed a purchase longer."""
    diff = wanted - int(repeats.sum())
    while diff < 0:
        having = np.flatnonzero(repeats > 0)
        chosen = rng.choice(having, size=min(-diff, having.size), replace=False)
        repeats[chosen] -= 1
        diff += chosen.size
    while diff > 0:
        chosen = rng.choice(repeats.size, size=min(diff, repeats.size), replace=False)
        repeats[chosen] += 1
        diff -= chosen.size
    np.maximum(made, repeats, out=made)


def _repeat_times(
    rng: np.random.Generator, repeats: np.ndarray, made: np.ndarray, window: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For customers with ``made`` purchases of a Poisson process in their ``window``
    after the first order, of which the first ``repeats`` happened before they left: whose
    each repeat purchase is and when (a share of the window). The first k of n uniform
    order statistics are S_j / (S_k + G), S the sums of k standard exponentials and G a
    gamma(n - k + 1): two draws per purchase, none for the purchases never made."""
    total = int(repeats.sum())
    owner = np.repeat(np.arange(repeats.size), repeats)
    if total == 0:
        return owner, np.zeros(0)
    sums = np.cumsum(rng.exponential(size=total))
    ends = np.cumsum(repeats)
    starts = ends - repeats
    before = np.where(starts > 0, sums[np.maximum(starts - 1, 0)], 0.0)
    within = sums - np.repeat(before, repeats)
    last = np.zeros(repeats.size)
    has = repeats > 0
    last[has] = within[ends[has] - 1]
    rest = rng.gamma(made - repeats + 1.0)
    return owner, within / (last + rest)[owner] * window[owner]


def plan(customers: int, orders: int, rng: np.random.Generator, now: datetime) -> Plan:
    span = SPAN_DAYS * DAY
    t0 = int(now.timestamp()) - span
    first = rng.integers(0, span, customers)
    window = (span - first) / DAY  # days from the first order to now
    rates = rng.gamma(RATE_SHAPE, 1.0, customers)
    leave = rng.geometric(rng.beta(DROP_A, DROP_B, customers))  # repeats before leaving
    served = rng.random(customers) < SERVED
    unhappy = served & (rng.random(customers) < UNHAPPY)
    leave = np.where(unhappy, np.minimum(leave, rng.geometric(0.5, customers)), leave)
    scale = _calibrate(rates, window, leave, orders / customers)
    made = rng.poisson(rates * scale * window)
    repeats = np.minimum(made, leave)
    _adjust(rng, repeats, made, orders - customers)
    owners, ats = [np.arange(customers, dtype=np.int32)], [first.astype(np.int64)]
    step = 100_000
    for lo in range(0, customers, step):
        hi = min(lo + step, customers)
        who, share = _repeat_times(rng, repeats[lo:hi], made[lo:hi], window[lo:hi] * DAY)
        owners.append((who + lo).astype(np.int32))
        ats.append(first[lo:hi][who] + share.astype(np.int64))
    owner, at = np.concatenate(owners), np.concatenate(ats)
    del owners, ats
    order = np.argsort(at, kind="stable")
    owner, at = owner[order], at[order].astype(np.int32)  # seconds in two years fit
    del order
    nu = rng.gamma(SPEND_Q, 1.0 / SPEND_GAMMA, customers)
    cents = np.maximum(np.rint(rng.gamma(SPEND_P, 1.0 / nu[owner]) * 100), 100).astype(np.int32)
    u = rng.random(orders)
    status = np.zeros(orders, dtype=np.int8)
    status[u < CANCELLED + REFUNDED + PARTLY] = 3
    status[u < CANCELLED + REFUNDED] = 2
    status[u < CANCELLED] = 1
    del u
    refund = np.zeros(orders, dtype=np.int32)
    refund[status == 2] = cents[status == 2]
    partly = status == 3
    refund[partly] = np.rint(cents[partly] * rng.uniform(0.1, 0.6, int(partly.sum())))
    channel = rng.choice(3, size=customers, p=[0.6, 0.25, 0.15]).astype(np.int8)
    via = channel[owner]
    elsewhere = rng.random(orders) < 0.2
    via[elsewhere] = rng.integers(0, 3, int(elsewhere.sum()))
    del elsewhere
    # Events: every order's, then its cancellation or refund a little later.
    later = np.flatnonzero(status > 0)
    after = np.minimum(at[later] + rng.integers(3600, 20 * DAY, later.size), span - 1)
    ev_order = np.concatenate([np.arange(orders, dtype=np.int32), later.astype(np.int32)])
    ev_kind = np.concatenate(
        [np.zeros(orders, np.int8), np.where(status[later] == 1, 1, 2).astype(np.int8)]
    )
    ev_at = np.concatenate([at, after.astype(np.int32)])
    order = np.argsort(ev_at, kind="stable")
    ev_order, ev_kind, ev_at = ev_order[order], ev_kind[order], ev_at[order]
    del order
    order_event = np.empty(orders, dtype=np.int32)
    placed = np.flatnonzero(ev_kind == 0)
    order_event[ev_order[placed]] = placed
    del placed
    return Plan(
        t0=t0,
        first=first.astype(np.int32),
        channel=channel,
        unhappy=unhappy,
        served=served,
        owner=owner,
        at=at,
        cents=cents,
        refund=refund,
        status=status,
        via=via,
        ev_order=ev_order,
        ev_kind=ev_kind,
        ev_at=ev_at,
        order_event=order_event,
        rate_scale=scale,
    )
