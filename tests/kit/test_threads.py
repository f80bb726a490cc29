"""The base of the background loops: woken by a kick or the interval, alive after a
failed step (tried again after a back-off that grows), stopped with a join."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from accord.kit.threads import PeriodicWorker


class Counting(PeriodicWorker):
    """Counts its steps; ``fail`` steps raise before the first that succeeds."""

    name = "counting"

    def __init__(self, *, fail: int = 0, hold: threading.Event | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.fail = fail
        self.hold = hold
        self.calls: list[float] = []
        self.done = 0
        self.stepped = threading.Event()

    def step(self) -> None:
        self.calls.append(time.monotonic())
        self.stepped.set()
        if self.hold is not None:
            self.hold.wait(10)
        if len(self.calls) <= self.fail:
            raise RuntimeError("the database went away")
        self.done += 1


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


@pytest.fixture
def stopped() -> Iterator[list[PeriodicWorker]]:
    """Workers a test started; stopped at its end whatever happened."""
    workers: list[PeriodicWorker] = []
    yield workers
    for worker in workers:
        worker.stop(timeout=5)


def test_a_kick_wakes_it_at_once(stopped: list[PeriodicWorker]) -> None:
    worker = Counting(interval=60)
    stopped.append(worker)
    worker.start()
    time.sleep(0.05)
    assert worker.calls == []  # nothing before the interval or a kick
    kicked = time.monotonic()
    worker.kick()
    wait_for(lambda: worker.done == 1, timeout=2)
    assert worker.calls[0] - kicked < 1


def test_a_kick_during_a_step_takes_another_step_after_it(
    stopped: list[PeriodicWorker],
) -> None:
    hold = threading.Event()
    worker = Counting(interval=60, hold=hold)
    stopped.append(worker)
    worker.start()
    worker.kick()
    assert worker.stepped.wait(2)
    worker.kick()  # work committed while the step runs
    hold.set()
    wait_for(lambda: worker.done == 2, timeout=2)


def test_it_steps_every_interval_without_kicks(stopped: list[PeriodicWorker]) -> None:
    worker = Counting(interval=0.02)
    stopped.append(worker)
    worker.start()
    wait_for(lambda: worker.done >= 3)


def test_the_first_step_can_come_at_start(stopped: list[PeriodicWorker]) -> None:
    worker = Counting(interval=60, run_at_start=True)
    stopped.append(worker)
    worker.start()
    wait_for(lambda: worker.done == 1, timeout=2)


def test_a_failed_step_is_tried_again_after_the_back_off(
    stopped: list[PeriodicWorker], caplog: pytest.LogCaptureFixture
) -> None:
    worker = Counting(interval=60, backoff=0.1, fail=2)
    stopped.append(worker)
    with caplog.at_level(logging.ERROR, logger=__name__):
        worker.start()
        worker.kick()
        wait_for(lambda: worker.done == 1)
    first, second, third = worker.calls
    # Tried again without a kick, after 0.1 s and then 0.2 s (the back-off doubles).
    assert 0.09 <= second - first < 5
    assert 0.19 <= third - second < 5
    assert worker.running
    assert worker.failures == 0  # reset by the step that succeeded
    failed = [r for r in caplog.records if "counting failed" in r.getMessage()]
    assert [r.getMessage() for r in failed] == [
        "counting failed (1 in a row); trying again in 0.10 s",
        "counting failed (2 in a row); trying again in 0.20 s",
    ]
    assert all(r.exc_info for r in failed)
    # Still alive: the next kick takes another step.
    worker.kick()
    wait_for(lambda: worker.done == 2, timeout=2)


def test_kicks_do_not_cut_the_back_off_short(stopped: list[PeriodicWorker]) -> None:
    worker = Counting(interval=60, backoff=0.3, fail=1)
    stopped.append(worker)
    worker.start()
    worker.kick()
    wait_for(lambda: len(worker.calls) == 1, timeout=2)
    for _ in range(5):
        worker.kick()
        time.sleep(0.01)
    wait_for(lambda: worker.done == 1)
    assert worker.calls[1] - worker.calls[0] >= 0.29


def test_the_back_off_doubles_up_to_its_limit() -> None:
    worker = Counting(interval=0.5, max_backoff=3)
    assert [worker.backoff_after(n) for n in range(1, 6)] == [0.5, 1, 2, 3, 3]
    assert worker.backoff_after(10_000) == 3
    assert Counting(interval=60).backoff_after(1) == 60  # the limit never cuts the first


def test_stop_waits_for_the_step_under_way_and_joins() -> None:
    ended = threading.Event()

    class Long(PeriodicWorker):
        name = "long"

        def step(self) -> None:
            while not self.stopping.wait(0.01):  # a long step ends early when told
                pass
            ended.set()

    worker = Long(interval=0.01, name="long-step")
    worker.start()
    assert worker.running
    thread = next(t for t in threading.enumerate() if t.name == "accord-long-step")
    time.sleep(0.05)
    assert worker.stop(timeout=5)
    assert ended.is_set()
    assert not thread.is_alive()
    assert not worker.running


def test_stop_interrupts_the_wait_and_the_back_off() -> None:
    idle = Counting(interval=60)
    idle.start()
    failing = Counting(interval=60, backoff=60, fail=1, run_at_start=True)
    failing.start()
    wait_for(lambda: len(failing.calls) == 1, timeout=2)
    started = time.monotonic()
    assert idle.stop(timeout=5)
    assert failing.stop(timeout=5)
    assert time.monotonic() - started < 2
    assert not idle.running
    assert not failing.running


def test_stop_says_when_the_thread_did_not_end_in_time() -> None:
    hold = threading.Event()
    worker = Counting(interval=60, hold=hold, run_at_start=True)
    worker.start()
    assert worker.stepped.wait(2)
    assert not worker.stop(timeout=0.05)  # the step ignores ``stopping``
    hold.set()
    assert worker.stop(timeout=5)


def test_stop_before_start_and_start_twice() -> None:
    worker = Counting(interval=60)
    assert worker.stop()
    worker.start()
    first = worker._thread
    worker.start()  # already running: the same thread
    assert worker._thread is first
    assert worker.stop(timeout=5)
