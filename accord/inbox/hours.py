"""Business hours: adding working minutes to a moment and counting the working minutes
between two moments, in a team's own time zone. A schedule is
``{"timezone": "America/New_York", "days": {"mon": ["09:00", "17:00"], ...},
"holidays": ["2026-12-25"]}``; an empty schedule is around the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MAX_DAYS = 400


class InvalidSchedule(ValueError):
    pass


def _clock(value: Any) -> time:
    try:
        hh, mm = str(value).split(":")
        return time(int(hh), int(mm))
    except (ValueError, TypeError) as exc:
        raise InvalidSchedule(f"{value!r} is not a time like 09:00") from exc


@dataclass(frozen=True)
class Schedule:
    zone: ZoneInfo | None
    days: dict[int, tuple[time, time]]
    holidays: frozenset[date]

    @classmethod
    def parse(cls, spec: dict[str, Any] | None) -> Schedule:
        if not spec or not spec.get("days"):
            return cls(None, {}, frozenset())
        try:
            zone = ZoneInfo(str(spec.get("timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidSchedule(f"unknown time zone {spec.get('timezone')!r}") from exc
        days: dict[int, tuple[time, time]] = {}
        for name, span in dict(spec["days"]).items():
            if name not in DAYS:
                raise InvalidSchedule(f"{name!r} is not a day (mon..sun)")
            if not span:
                continue
            start, end = _clock(span[0]), _clock(span[1])
            if end <= start:
                raise InvalidSchedule(f"{name}: the day must end after it starts")
            days[DAYS.index(name)] = (start, end)
        try:
            holidays = frozenset(date.fromisoformat(d) for d in spec.get("holidays") or [])
        except ValueError as exc:
            raise InvalidSchedule("holidays must be dates like 2026-12-25") from exc
        return cls(zone, days, holidays)

    @property
    def always(self) -> bool:
        return self.zone is None

    def _spans(self, start: datetime) -> Any:
        """Working spans (UTC) from the day of ``start`` onwards."""
        assert self.zone is not None
        local = start.astimezone(self.zone).date()
        for offset in range(MAX_DAYS):
            day = local + timedelta(days=offset)
            hours = self.days.get(day.weekday())
            if hours is None or day in self.holidays:
                continue
            a = datetime.combine(day, hours[0], self.zone).astimezone(UTC)
            b = datetime.combine(day, hours[1], self.zone).astimezone(UTC)
            yield a, b

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment ``minutes`` working minutes after ``start``."""
        if self.always:
            return start + timedelta(minutes=minutes)
        left = timedelta(minutes=minutes)
        for a, b in self._spans(start):
            if b <= start:
                continue
            a = max(a, start)
            if b - a >= left:
                found: datetime = a + left
                return found
            left -= b - a
        return start + timedelta(days=MAX_DAYS)

    def between(self, start: datetime, end: datetime) -> float:
        """Working seconds from ``start`` to ``end``."""
        if end <= start:
            return 0.0
        if self.always:
            return (end - start).total_seconds()
        total = 0.0
        for a, b in self._spans(start):
            if a >= end:
                break
            lo, hi = max(a, start), min(b, end)
            if hi > lo:
                total += (hi - lo).total_seconds()
        return total

    def is_open(self, moment: datetime) -> bool:
        if self.always:
            return True
        assert self.zone is not None
        local = moment.astimezone(self.zone)
        hours = self.days.get(local.weekday())
        if hours is None or local.date() in self.holidays:
            return False
        return hours[0] <= local.time() < hours[1]
