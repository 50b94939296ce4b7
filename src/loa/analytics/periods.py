"""The period a figure is about: Vietnamese days ``first``…``last`` (inclusive), checked once for the API and the
console."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from loa.broadcast.recurrence import LOCAL_TZ
from loa.errors import Refusal

MAX_DAYS = 366


def today() -> dt.date:
    return timezone.now().astimezone(LOCAL_TZ).date()


def month_of(day: dt.date) -> tuple[dt.date, dt.date]:
    first = day.replace(day=1)
    after = (first + dt.timedelta(days=32)).replace(day=1)
    return first, after - dt.timedelta(days=1)


def check_period(first: dt.date | None, last: dt.date | None) -> tuple[dt.date, dt.date]:
    """The period asked for; by default the current month up to today. Refuses a reversed or too long period."""
    if first is None and last is None:
        last = today()
        first = last.replace(day=1)
    elif first is None:
        assert last is not None
        first = last.replace(day=1)
    elif last is None:
        last = min(month_of(first)[1], max(first, today()))
    if last < first:
        raise Refusal("period_reversed", "Ngày kết thúc phải không sớm hơn ngày bắt đầu.", field="to")
    if (last - first).days >= MAX_DAYS:
        raise Refusal("period_too_long", f"Khoảng thời gian tối đa {MAX_DAYS} ngày.", field="to")
    return first, last
