"""The CDNOW data of tests/data/cdnow (see its README): loaders for the transaction logs,
with time in weeks since 1997-01-01, and the published per-customer summary."""

from __future__ import annotations

import gzip
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

from accord.analyze.scoring.lifetime import FloatArray, IntArray

DATA = Path(__file__).resolve().parents[2] / "data" / "cdnow"
START = date(1997, 1, 1)
# The paper's 39-week calibration period ends on 1997-09-30, day 272 after the start; the
# holdout ends on 1998-06-30, day 545 (week 78).
CALIBRATION_END = 272 / 7
HOLDOUT_END = 545 / 7


def _day(yyyymmdd: str) -> int:
    d = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:]))
    return (d - START).days


@cache
def sample_log() -> tuple[IntArray, FloatArray, FloatArray]:
    """The 2,357-customer sample: (customer 1..2357, time in weeks, dollar value)."""
    with gzip.open(DATA / "CDNOW_sample.txt.gz", "rt") as fh:
        rows = [line.split() for line in fh if line.strip()]
    customer = np.array([int(r[1]) for r in rows], dtype=np.int64)
    weeks = np.array([_day(r[2]) / 7 for r in rows])
    value = np.array([float(r[4]) for r in rows])
    return customer, weeks, value


@cache
def sample_master_ids() -> IntArray:
    """The full-cohort identifier of each sample customer 1..2357, in that order."""
    with gzip.open(DATA / "CDNOW_sample.txt.gz", "rt") as fh:
        pairs = {(int(r[1]), int(r[0])) for r in (line.split() for line in fh) if r}
    ordered = sorted(pairs)
    assert [s for s, _ in ordered] == list(range(1, len(ordered) + 1))
    return np.array([m for _, m in ordered], dtype=np.int64)


@cache
def master_log() -> tuple[IntArray, FloatArray, FloatArray]:
    """The full cohort of 23,570 customers: (customer, time in weeks, dollar value)."""
    with gzip.open(DATA / "CDNOW_master.txt.gz", "rt") as fh:
        rows = [line.split() for line in fh if line.strip()]
    rows = [r for r in rows if r[0].isdigit()]
    customer = np.array([int(r[0]) for r in rows], dtype=np.int64)
    weeks = np.array([_day(r[1]) / 7 for r in rows])
    value = np.array([float(r[3]) for r in rows])
    return customer, weeks, value


@cache
def published_summary() -> dict[str, FloatArray]:
    """Hardie's per-customer summary: x, t_x, T (weeks, two decimals) and zbar."""
    table = np.genfromtxt(
        DATA / "cdnow_customers_summary_with_transactions.csv", delimiter=",", names=True
    )
    return {name: np.asarray(table[name], dtype=np.float64) for name in ("x", "t_x", "T", "zbar")}
