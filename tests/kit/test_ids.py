"""Ids are time-ordered, unique, and not repeated by a forked process."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid

import pytest

from accord.kit import ids as ids_module
from accord.kit.ids import new_id, new_ids


def test_ids_increase_and_never_repeat() -> None:
    ids = [new_id() for _ in range(20_000)]  # several refills of the random pool
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids[:100])


def test_batches_of_ids_increase_with_single_ids_between_them() -> None:
    made = [new_id(), *new_ids(500), new_id(), *new_ids(1), *new_ids(3000), new_id()]
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in made)


def test_a_batch_at_the_end_of_the_random_field_still_increases(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The last id sits 50 steps below the top of its random bits, a second ahead of the
    # clock: the batch's steps would carry into the variant bits, so it is made anew.
    millis = time.time_ns() // 1_000_000 + 1000
    last = ids_module._layout(millis, 7, (1 << 62) - 50)
    monkeypatch.setattr(ids_module, "_last", last)
    made = new_ids(300)
    assert made == sorted(made)
    assert len(set(made)) == len(made)
    assert made[0] > uuid.UUID(int=last)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in made)
    assert made[-1].int >> 80 == millis  # still that millisecond, the counter stepped on


def _child_id(queue: multiprocessing.Queue[int]) -> None:
    queue.put(new_id().int & ((1 << 62) - 1))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_process_draws_its_own_random_bits() -> None:
    new_id()  # the parent has random bits read ahead
    ctx = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[int] = ctx.Queue()
    child = ctx.Process(target=_child_id, args=(queue,))
    child.start()
    theirs = queue.get(timeout=30)
    child.join(timeout=30)
    ours = new_id().int & ((1 << 62) - 1)
    assert theirs != ours
