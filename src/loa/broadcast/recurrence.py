"""When a schedule plays: pure functions from local (Asia/Ho_Chi_Minh) rules to UTC instants.

A :class:`Recurrence` says on which local days and at which local times a session starts: once, daily, weekly
(on some weekdays), on a list of dates, or by an RFC 5545 ``RRULE`` — minus excluded dates (``EXDATE``), within a
validity window. A repeat mode turns one start into several sessions ("every X minutes within a span"); "N times in
a row" keeps one session that plays the programme N times (see :func:`session_plan`).

Nothing here touches the database or the clock: every function takes the instants it needs, and every instant
it returns is an aware UTC datetime. Naive datetimes are refused.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from dateutil import rrule as _rrule
from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrulestr

from loa.errors import Refusal

LOCAL_TZ_NAME = "Asia/Ho_Chi_Minh"
LOCAL_TZ = zoneinfo.ZoneInfo(LOCAL_TZ_NAME)
UTC = dt.UTC

Kind = Literal["once", "daily", "weekly", "dates", "rrule"]
RepeatMode = Literal["none", "times", "every"]
KINDS: tuple[str, ...] = ("once", "daily", "weekly", "dates", "rrule")
REPEAT_MODES: tuple[str, ...] = ("none", "times", "every")
WEEKDAY_NAMES = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")

MAX_TIMES_PER_DAY = 24
MAX_REPEAT_TIMES = 10
MAX_SESSIONS = 5000  # a guard against rules that explode (every minute for years)
_HHMM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_ALLOWED_FREQ = {DAILY, WEEKLY, MONTHLY, YEARLY}


class RecurrenceError(Refusal, ValueError):
    """A rule that cannot be used (a refusal; still a ValueError for parsers that expect one)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


def parse_hhmm(value: str) -> dt.time:
    match = _HHMM.match((value or "").strip())
    if not match:
        raise RecurrenceError(
            "time_invalid", f"Giờ “{value}” không hợp lệ: cần dạng HH:MM, từ 00:00 đến 23:59."
        )
    return dt.time(int(match.group(1)), int(match.group(2)))


def hhmm(value: dt.time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def require_aware(value: dt.datetime, what: str = "thời điểm") -> dt.datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} thiếu múi giờ (naive datetime)")
    return value.astimezone(UTC)


def local_to_utc(day: dt.date, at: dt.time) -> dt.datetime:
    """A local wall-clock time on a local date, as UTC."""
    return dt.datetime.combine(day, at, tzinfo=LOCAL_TZ).astimezone(UTC)


def to_local(value: dt.datetime) -> dt.datetime:
    return require_aware(value).astimezone(LOCAL_TZ)


@dataclass(frozen=True)
class Recurrence:
    kind: Kind
    times: tuple[dt.time, ...]
    start_date: dt.date | None = None  # once: the date; daily/weekly/rrule: the first day (DTSTART)
    weekdays: tuple[int, ...] = ()  # weekly: 0 = Monday … 6 = Sunday
    dates: tuple[dt.date, ...] = ()  # dates: the list
    rrule: str = ""  # rrule: RFC 5545 RRULE value (FREQ=…;…), without DTSTART
    exdates: tuple[dt.date, ...] = ()  # local dates on which nothing plays
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None  # inclusive
    repeat_mode: RepeatMode = "none"
    repeat_count: int = 1  # "times": the programme plays N times in a row in one session
    repeat_every_min: int = 0  # "every": a new session every X minutes …
    repeat_span_min: int = 0  # … while less than this many minutes have passed since the first

    _rules: tuple[_rrule.rrule, ...] = field(default=(), compare=False, repr=False)


def check_recurrence(
    kind: str,
    times: Iterable[str | dt.time],
    *,
    start_date: dt.date | None = None,
    weekdays: Iterable[int] = (),
    dates: Iterable[dt.date] = (),
    rrule_text: str = "",
    exdates: Iterable[dt.date] = (),
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    repeat_mode: str = "none",
    repeat_count: int = 1,
    repeat_every_min: int = 0,
    repeat_span_min: int = 0,
) -> Recurrence:
    """Validate the parts of a rule and build a :class:`Recurrence`; raise :class:`RecurrenceError`."""
    if kind not in KINDS:
        raise RecurrenceError(
            "recurrence_kind_invalid",
            "Kiểu lặp không hợp lệ: chọn một lần, hằng ngày, hằng tuần, danh sách ngày hoặc quy tắc RRULE.",
        )
    parsed_times = tuple(sorted({t if isinstance(t, dt.time) else parse_hhmm(t) for t in times}))
    if not parsed_times:
        raise RecurrenceError("times_required", "Cần ít nhất một giờ phát.")
    if len(parsed_times) > MAX_TIMES_PER_DAY:
        raise RecurrenceError("times_too_many", f"Tối đa {MAX_TIMES_PER_DAY} giờ phát trong một ngày.")
    wd = tuple(sorted(set(weekdays)))
    if any(not isinstance(d, int) or not 0 <= d <= 6 for d in wd):
        raise RecurrenceError("weekdays_invalid", "Thứ trong tuần phải từ 0 (Thứ Hai) đến 6 (Chủ nhật).")
    ds = tuple(sorted(set(dates)))
    ex = tuple(sorted(set(exdates)))
    if valid_from and valid_until and valid_until < valid_from:
        raise RecurrenceError("validity_invalid", "Ngày kết thúc hiệu lực phải sau ngày bắt đầu.")
    rules: tuple[_rrule.rrule, ...] = ()
    if kind == "once":
        if start_date is None:
            raise RecurrenceError("date_required", "Lịch phát một lần cần ngày phát.")
    elif kind == "weekly":
        if not wd:
            raise RecurrenceError("weekdays_required", "Lịch phát hằng tuần cần ít nhất một thứ trong tuần.")
    elif kind == "dates":
        if not ds:
            raise RecurrenceError("dates_required", "Cần ít nhất một ngày trong danh sách ngày phát.")
        if len(ds) > 366:
            raise RecurrenceError("dates_too_many", "Danh sách ngày phát tối đa 366 ngày.")
    elif kind == "rrule":
        rules = _parse_rrule(rrule_text, start_date or valid_from, parsed_times)
    if repeat_mode not in REPEAT_MODES:
        raise RecurrenceError("repeat_mode_invalid", "Chế độ lặp không hợp lệ.")
    if repeat_mode == "times" and not 1 <= repeat_count <= MAX_REPEAT_TIMES:
        raise RecurrenceError(
            "repeat_count_invalid", f"Số lần phát liên tiếp phải từ 1 đến {MAX_REPEAT_TIMES}."
        )
    if repeat_mode == "every":
        if not 1 <= repeat_every_min <= 24 * 60:
            raise RecurrenceError("repeat_every_invalid", "Khoảng lặp phải từ 1 đến 1440 phút.")
        if not repeat_every_min <= repeat_span_min <= 24 * 60:
            raise RecurrenceError(
                "repeat_span_invalid",
                "Khoảng thời gian lặp phải dài ít nhất bằng một khoảng lặp và tối đa 24 giờ.",
            )
    return Recurrence(
        kind=kind,  # type: ignore[arg-type]
        times=parsed_times,
        start_date=start_date,
        weekdays=wd,
        dates=ds,
        rrule=rrule_text.strip(),
        exdates=ex,
        valid_from=valid_from,
        valid_until=valid_until,
        repeat_mode=repeat_mode,  # type: ignore[arg-type]
        repeat_count=repeat_count if repeat_mode == "times" else 1,
        repeat_every_min=repeat_every_min if repeat_mode == "every" else 0,
        repeat_span_min=repeat_span_min if repeat_mode == "every" else 0,
        _rules=rules,
    )


def _parse_rrule(text: str, start: dt.date | None, times: tuple[dt.time, ...]) -> tuple[_rrule.rrule, ...]:
    value = (text or "").strip()
    if value.upper().startswith("RRULE:"):
        value = value[6:]
    if not value:
        raise RecurrenceError("rrule_required", "Cần quy tắc lặp RRULE (ví dụ FREQ=WEEKLY;BYDAY=MO,WE,FR).")
    if "DTSTART" in value.upper() or "\n" in value:
        raise RecurrenceError(
            "rrule_invalid", "Quy tắc RRULE chỉ gồm một dòng FREQ=…; ngày bắt đầu nhập ở ô “từ ngày”."
        )
    if start is None:
        raise RecurrenceError("date_required", "Lịch phát theo quy tắc RRULE cần ngày bắt đầu.")
    rules = []
    for at in times:
        try:
            rule = rrulestr(value, dtstart=dt.datetime.combine(start, at))
        except (ValueError, TypeError) as exc:
            raise RecurrenceError("rrule_invalid", f"Quy tắc RRULE không hợp lệ: {exc}.") from None
        if not isinstance(rule, _rrule.rrule):
            raise RecurrenceError("rrule_invalid", "Quy tắc RRULE không hợp lệ.")
        if getattr(rule, "_freq", None) not in _ALLOWED_FREQ:
            raise RecurrenceError(
                "rrule_freq_invalid",
                "RRULE chỉ được lặp theo ngày, tuần, tháng hoặc năm (DAILY, WEEKLY, MONTHLY, YEARLY); "
                "để lặp trong ngày hãy dùng chế độ “lặp mỗi X phút”.",
            )
        if any(part in value.upper() for part in ("BYHOUR", "BYMINUTE", "BYSECOND")):
            raise RecurrenceError(
                "rrule_invalid", "Giờ phát nhập ở ô “giờ phát”, không đặt BYHOUR/BYMINUTE trong RRULE."
            )
        rules.append(rule)
    return tuple(rules)


def _days(first: dt.date, last: dt.date) -> Iterable[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


def _valid_day(rec: Recurrence, day: dt.date) -> bool:
    if rec.valid_from and day < rec.valid_from:
        return False
    if rec.valid_until and day > rec.valid_until:
        return False
    if day in rec.exdates:
        return False
    if rec.kind == "once":
        return day == rec.start_date
    if rec.start_date and day < rec.start_date:
        return False
    if rec.kind == "daily":
        return True
    if rec.kind == "weekly":
        return day.weekday() in rec.weekdays
    if rec.kind == "dates":
        return day in rec.dates
    return True  # rrule: decided by the rule itself


def first_starts(rec: Recurrence, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The UTC instants in ``[start, end)`` at which the rule itself fires (before the repeat mode)."""
    start, end = require_aware(start, "start"), require_aware(end, "end")
    if end <= start:
        return []
    first_day = start.astimezone(LOCAL_TZ).date() - dt.timedelta(days=1)
    last_day = end.astimezone(LOCAL_TZ).date()
    found: set[dt.datetime] = set()
    if rec.kind == "rrule":
        lo = dt.datetime.combine(first_day, dt.time.min)
        hi = dt.datetime.combine(last_day, dt.time.max)
        for rule in rec._rules:
            for local in rule.between(lo, hi, inc=True):
                if _valid_day(rec, local.date()):
                    at = local.replace(tzinfo=LOCAL_TZ).astimezone(UTC)
                    if start <= at < end:
                        found.add(at)
                if len(found) > MAX_SESSIONS:
                    break
    else:
        for day in _days(first_day, last_day):
            if not _valid_day(rec, day):
                continue
            for at_time in rec.times:
                at = local_to_utc(day, at_time)
                if start <= at < end:
                    found.add(at)
            if len(found) > MAX_SESSIONS:
                break
    return sorted(found)[:MAX_SESSIONS]


def session_starts(
    rec: Recurrence, start: dt.datetime, end: dt.datetime, session_s: float = 0.0
) -> list[dt.datetime]:
    """UTC starts of every session that is still playing at some point of ``[start, end)``: the rule's starts,
    expanded by the "every X minutes within a span" repeat mode. A session that began before ``start`` but lasts
    ``session_s`` seconds into the range is included (a device joining late needs it)."""
    start, end = require_aware(start, "start"), require_aware(end, "end")
    lookback = dt.timedelta(seconds=session_s) + dt.timedelta(minutes=rec.repeat_span_min)
    out: set[dt.datetime] = set()
    for first in first_starts(rec, start - lookback, end):
        if rec.repeat_mode == "every":
            step = dt.timedelta(minutes=rec.repeat_every_min)
            span = dt.timedelta(minutes=rec.repeat_span_min)
            at = first
            while at < first + span:
                out.add(at)
                at += step
        else:
            out.add(first)
    length = dt.timedelta(seconds=session_s)
    return sorted(s for s in out if s < end and (s >= start or s + length > start))[:MAX_SESSIONS]


@dataclass(frozen=True)
class Slot:
    """One planned play of one programme item: local rules turned into UTC instants."""

    session_start: dt.datetime
    start: dt.datetime
    end: dt.datetime
    position: int  # item index in the programme
    round: int  # 1..repeat_count ("N times in a row")


def session_plan(rec: Recurrence, session_start: dt.datetime, durations: list[float]) -> list[Slot]:
    """The items of one session, back to back: the programme once, or N times in a row."""
    session_start = require_aware(session_start, "session_start")
    slots: list[Slot] = []
    at = session_start
    for rnd in range(1, rec.repeat_count + 1):
        for pos, duration in enumerate(durations):
            end = at + dt.timedelta(seconds=duration)
            slots.append(Slot(session_start, at, end, pos, rnd))
            at = end
    return slots


def session_seconds(rec: Recurrence, durations: list[float]) -> float:
    return sum(durations) * rec.repeat_count


def describe(rec: Recurrence) -> str:
    """The rule in a short Vietnamese sentence, for the console."""
    times = ", ".join(hhmm(t) for t in rec.times)
    if rec.kind == "once":
        text = f"Một lần, {rec.start_date:%d/%m/%Y} lúc {times}" if rec.start_date else f"Một lần lúc {times}"
    elif rec.kind == "daily":
        text = f"Hằng ngày lúc {times}"
    elif rec.kind == "weekly":
        text = "Hằng tuần vào " + ", ".join(WEEKDAY_NAMES[d] for d in rec.weekdays) + f" lúc {times}"
    elif rec.kind == "dates":
        shown = ", ".join(f"{d:%d/%m}" for d in rec.dates[:6]) + ("…" if len(rec.dates) > 6 else "")
        text = f"Các ngày {shown} lúc {times}"
    else:
        text = f"Theo quy tắc {rec.rrule} lúc {times}"
    if rec.repeat_mode == "times" and rec.repeat_count > 1:
        text += f", phát {rec.repeat_count} lần liên tiếp"
    if rec.repeat_mode == "every":
        text += f", lặp mỗi {rec.repeat_every_min} phút trong {rec.repeat_span_min} phút"
    if rec.exdates:
        text += f", trừ {len(rec.exdates)} ngày"
    return text
