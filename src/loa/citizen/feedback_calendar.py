"""The Vietnamese working calendar of feedback deadlines: Monday to Friday, in the office hours of
``LOA_WORKING_HOURS`` (07:30-11:30 and 13:00-17:00 by default, Asia/Ho_Chi_Minh), less the public holidays and plus
the swapped working days of :class:`~loa.citizen.models.CalendarDay` (seeded with 2026, editable).

``add_working_hours(start, 8)`` is the moment 8 working hours after ``start``: a feedback sent on Friday at 16:00
is due to be acknowledged on Monday at 14:30, and one sent before Tết waits until the office opens after it.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.conf import settings

from loa.citizen.models import CalendarDay

DEFAULT_HOURS = (("07:30", "11:30"), ("13:00", "17:00"))
MAX_DAYS = 400  # a deadline further than this many calendar days away is a misconfiguration


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _windows() -> list[tuple[dt.time, dt.time]]:
    hours = getattr(settings, "LOA_WORKING_HOURS", DEFAULT_HOURS)
    return [(dt.time.fromisoformat(a), dt.time.fromisoformat(b)) for a, b in hours]


class Calendar:
    """Working days between two dates, read from the database once."""

    def __init__(self, first: dt.date, last: dt.date) -> None:
        self.overrides = dict(
            CalendarDay.objects.filter(date__gte=first, date__lte=last).values_list("date", "is_working")
        )

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return bool(self.overrides[day])
        return day.weekday() < 5


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """The moment ``hours`` working hours after ``start`` (aware; the answer is in UTC)."""
    zone = _zone()
    local = start.astimezone(zone)
    remaining = dt.timedelta(hours=hours)
    calendar = Calendar(local.date(), local.date() + dt.timedelta(days=MAX_DAYS))
    day = local.date()
    for _ in range(MAX_DAYS):
        if calendar.is_working_day(day):
            for opens, closes in _windows():
                begin = dt.datetime.combine(day, opens, zone)
                end = dt.datetime.combine(day, closes, zone)
                begin = max(begin, local)
                if begin >= end:
                    continue
                if end - begin >= remaining:
                    return (begin + remaining).astimezone(dt.UTC)
                remaining -= end - begin
        day += dt.timedelta(days=1)
    raise ValueError(f"no {hours} working hours within {MAX_DAYS} days of {start}")


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """How many working hours lie between ``start`` and ``end`` (0 when ``end`` is not after ``start``)."""
    if end <= start:
        return 0.0
    zone = _zone()
    a, b = start.astimezone(zone), end.astimezone(zone)
    calendar = Calendar(a.date(), b.date())
    total = dt.timedelta()
    day = a.date()
    while day <= b.date():
        if calendar.is_working_day(day):
            for opens, closes in _windows():
                begin = max(dt.datetime.combine(day, opens, zone), a)
                finish = min(dt.datetime.combine(day, closes, zone), b)
                if finish > begin:
                    total += finish - begin
        day += dt.timedelta(days=1)
    return total.total_seconds() / 3600
