"""Tuning of long-running processes (``kit/runtime.py``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from accord.config import Settings
from accord.kit.runtime import tune_gc


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_the_collector_runs_less_often_and_skips_what_start_up_made(collector: None) -> None:
    made_at_start_up = [[i] for i in range(100)]
    before = gc.get_threshold()
    tune_gc(50_000)
    assert gc.get_threshold() == (50_000, before[1], before[2])
    # Everything alive when the process tuned itself is frozen, out of the collector's walks.
    assert gc.get_freeze_count() >= len(made_at_start_up)


def test_zero_leaves_the_collector_as_python_sets_it(collector: None) -> None:
    before = gc.get_threshold()
    tune_gc(0)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_long_running_processes_tune_it_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ACCORD_GC_THRESHOLD", raising=False)
    assert Settings().gc_threshold == 50_000
    monkeypatch.setenv("ACCORD_GC_THRESHOLD", "0")
    assert Settings().gc_threshold == 0


def test_the_import_and_resolve_commands_tune_it_as_the_server_does(
    collector: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from accord.cli import context

    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("ACCORD_GC_THRESHOLD", "40000")
    before = gc.get_threshold()
    assert context.bulk_settings().gc_threshold == 40_000
    assert gc.get_threshold() == (40_000, before[1], before[2])
