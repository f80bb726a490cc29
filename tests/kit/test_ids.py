"""Ids are time-ordered, unique, and not repeated by a forked process."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from accord.kit.ids import new_id


def test_ids_increase_and_never_repeat() -> None:
    ids = [new_id() for _ in range(20_000)]  # several refills of the random pool
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids[:100])


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
