"""The batches decided ahead of the sending, and the claims of one delivery as a run."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from accord.kit.ids import new_id
from accord.outreach import ahead, sending


def test_a_deliverys_claims_share_a_run_and_count_up() -> None:
    first, second = ahead.claim_ids(), ahead.claim_ids()
    mine = [next(first) for _ in range(3)]
    theirs = [next(second) for _ in range(2)]
    assert all(c.version == 8 and c.variant == uuid.RFC_4122 for c in mine + theirs)
    assert len({c.int >> 64 for c in mine}) == 1
    assert mine[0].int >> 64 != theirs[0].int >> 64
    stranger = new_id()  # a claim made before runs existed is a run of its own
    grouped = ahead.runs([theirs[1], mine[2], stranger, mine[0], theirs[0], mine[1]])
    assert sorted(grouped, key=len) == [[stranger], theirs, mine]


@dataclass
class Item:
    n: int

    @property
    def last(self) -> uuid.UUID:
        return uuid.UUID(int=self.n)


def test_the_next_batch_is_decided_while_one_goes_out_and_put_back_if_never_sent() -> None:
    asked: list[tuple[uuid.UUID, uuid.UUID | None]] = []
    decided_second = threading.Event()
    put_back: list[int] = []

    def decide(now: datetime, claim_id: uuid.UUID, after: uuid.UUID | None) -> Item | None:
        asked.append((claim_id, after))
        if len(asked) == 2:
            decided_second.set()
        return Item(len(asked)) if len(asked) <= 5 else None

    batches = ahead.Ahead(decide, lambda item: put_back.append(item.n), lambda: datetime.now(UTC))
    it = iter(batches)
    assert next(it).n == 1
    assert decided_second.wait(5)  # decided while the first is being sent
    batches.close()
    # Every batch decided and never handed over is released (the second, and the third
    # if it was decided before the stop).
    assert sorted(put_back) == list(range(2, min(len(asked), 5) + 1))
    assert 2 in put_back
    assert asked[0][1] is None
    assert asked[1][1] == uuid.UUID(int=1)
    assert asked[1][0].int == asked[0][0].int + 1


def test_a_failure_to_decide_is_raised_where_the_batches_are_sent() -> None:
    def decide(now: datetime, claim_id: uuid.UUID, after: uuid.UUID | None) -> Item | None:
        raise RuntimeError("the database went away")

    batches = ahead.Ahead(decide, lambda item: None, lambda: datetime.now(UTC))
    with pytest.raises(RuntimeError, match="went away"):
        list(batches)
    batches.close()


def test_a_batch_lasts_a_small_part_of_the_lease_at_the_throttles_rate() -> None:
    assert sending.batch_size(200, 200.0) == 200
    lease = sending.LEASE.total_seconds()
    slow = sending.batch_size(200, 0.2)
    assert slow >= 1
    assert slow / 0.2 <= lease / 8
    assert sending.batch_size(200, 0.001) == 1
