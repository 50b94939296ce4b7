"""Guardrails per unit, as pure functions: allowed windows (quiet hours), sessions per day, allowed weekdays and
days per week, minutes per session (relays count), volume cap.

A province sets defaults; a commune (and a zone) may only tighten them: the effective limits of a unit are the
intersection (windows) and the minimum (numbers) along its path from the root (:func:`tighten`). A schedule is
checked against the effective limits of every commune it reaches (:func:`check_sessions`); each broken rule is a
:class:`Violation` with a Vietnamese sentence an operator can act on. Emergencies are never checked.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from loa.broadcast.recurrence import LOCAL_TZ, WEEKDAY_NAMES, require_aware
from loa.errors import Refusal
from loa_protocol import windows as wnd

Interval = wnd.Interval  # minutes of the local day, [start, end), 0 ≤ start < end ≤ 1440


@dataclass(frozen=True)
class Limits:
    """``None`` means "no limit at this level" (inherit)."""

    windows: tuple[Interval, ...] | None = None
    max_sessions_per_day: int | None = None
    allowed_weekdays: frozenset[int] | None = None
    max_days_per_week: int | None = None
    max_minutes_per_session: int | None = None
    max_volume: int | None = None


# What applies when no unit sets anything: loudspeakers stay silent at night (regulations.md §8, the 03:15 relay).
DEFAULT_LIMITS = Limits(windows=((5 * 60, 22 * 60),))


class GuardrailError(Refusal, ValueError):
    """A guardrail value that cannot be used (a refusal; still a ValueError for parsers that expect one)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(code, message)


@dataclass(frozen=True)
class Violation:
    code: str
    message: str
    unit_code: str = ""
    at: dt.datetime | None = None

    def as_dict(self) -> dict[str, str]:
        return {
            "code": self.code,
            "message": self.message,
            "unit": self.unit_code,
            "at": self.at.isoformat() if self.at else "",
        }


# ---- windows -------------------------------------------------------------------------------------------


def fmt_minute(minute: int) -> str:
    return "24:00" if minute >= 1440 else f"{minute // 60:02d}:{minute % 60:02d}"


def parse_windows(raw: Iterable[Sequence[str]]) -> tuple[Interval, ...]:
    """``[["05:00", "21:00"], ["22:00", "02:00"]]`` → minute intervals; a window ending before it starts spans
    midnight and is split in two; overlapping windows are merged (the protocol's rules, :mod:`loa_protocol.windows`).
    An empty window (start = end) typed by an operator is refused as a mistake."""
    try:
        return wnd.from_pairs(raw)
    except wnd.WindowError as exc:
        raise GuardrailError(exc.code, exc.message) from None


def stored_windows(raw: Iterable[Sequence[str]]) -> tuple[Interval, ...]:
    """Windows as :func:`windows_hhmm` stored them (the whole day is ``00:00–00:00``)."""
    return wnd.from_wire_pairs(raw)


merge = wnd.merge
intersect = wnd.intersect


def windows_text(windows: tuple[Interval, ...] | None) -> str:
    if windows is None:
        return "cả ngày"
    if not windows:
        return "không có khung giờ nào"
    # a window spanning midnight is stored in two halves: show it as one
    parts = list(windows)
    if len(parts) >= 2 and parts[0][0] == 0 and parts[-1][1] == 1440:
        first, last = parts.pop(0), parts.pop()
        parts.append((last[0], first[1] + 1440))
    return ", ".join(f"{fmt_minute(a)}–{fmt_minute(b % 1440 if b > 1440 else b)}" for a, b in parts)


def windows_hhmm(windows: tuple[Interval, ...] | None) -> list[tuple[str, str]]:
    """The stored and shown form (local ``HH:MM`` pairs, a midnight-spanning pair joined, the whole day
    ``00:00–00:00``); manifests use :func:`loa_protocol.windows.encode` instead."""
    return [] if windows is None else wnd.to_pairs(windows)


# ---- tightening along the tree -------------------------------------------------------------------------


def _min(a: int | None, b: int | None) -> int | None:
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def tighten(parent: Limits, child: Limits) -> Limits:
    """The effective limits of a unit below ``parent`` that sets ``child``: never looser than the parent."""
    if parent.windows is None:
        windows = child.windows
    elif child.windows is None:
        windows = parent.windows
    else:
        windows = intersect(parent.windows, child.windows)
    if parent.allowed_weekdays is None:
        weekdays = child.allowed_weekdays
    elif child.allowed_weekdays is None:
        weekdays = parent.allowed_weekdays
    else:
        weekdays = parent.allowed_weekdays & child.allowed_weekdays
    return Limits(
        windows=windows,
        max_sessions_per_day=_min(parent.max_sessions_per_day, child.max_sessions_per_day),
        allowed_weekdays=weekdays,
        max_days_per_week=_min(parent.max_days_per_week, child.max_days_per_week),
        max_minutes_per_session=_min(parent.max_minutes_per_session, child.max_minutes_per_session),
        max_volume=_min(parent.max_volume, child.max_volume),
    )


def effective(chain: Iterable[Limits], base: Limits = DEFAULT_LIMITS) -> Limits:
    """Fold the limits set on the path from the root (province first) onto ``base``.

    A province's own windows replace the built-in default (a province may open its windows wider than the
    default); below the province every level can only tighten."""
    result: Limits | None = None
    for limits in chain:
        if result is None:
            result = limits if limits.windows is not None else replace(limits, windows=base.windows)
        else:
            result = tighten(result, limits)
    return result if result is not None else base


def loosening(parent: Limits, child: Limits) -> list[str]:
    """Vietnamese reasons why ``child`` would loosen ``parent`` (empty: it only tightens)."""
    reasons = []
    if (
        child.windows is not None
        and parent.windows is not None
        and intersect(parent.windows, child.windows) != merge(child.windows)
    ):
        reasons.append(f"khung giờ phải nằm trong khung của cấp trên ({windows_text(parent.windows)})")
    pairs = (
        ("max_sessions_per_day", "số buổi phát mỗi ngày"),
        ("max_days_per_week", "số ngày phát mỗi tuần"),
        ("max_minutes_per_session", "số phút mỗi buổi"),
        ("max_volume", "âm lượng tối đa"),
    )
    for name, label in pairs:
        p, c = getattr(parent, name), getattr(child, name)
        if p is not None and c is not None and c > p:
            reasons.append(f"{label} không được vượt {p} của cấp trên")
    if (
        child.allowed_weekdays is not None
        and parent.allowed_weekdays is not None
        and not child.allowed_weekdays <= parent.allowed_weekdays
    ):
        reasons.append("chỉ được chọn các thứ mà cấp trên cho phép")
    return reasons


# ---- checking a schedule ---------------------------------------------------------------------------------


def _minute_of(local: dt.datetime) -> int:
    return local.hour * 60 + local.minute


def in_windows(windows: tuple[Interval, ...] | None, start: dt.datetime, end: dt.datetime) -> bool:
    """Whether the session ``[start, end)`` lies inside one allowed window (local time)."""
    if windows is None:
        return True
    ls, le = start.astimezone(LOCAL_TZ), end.astimezone(LOCAL_TZ)
    a = _minute_of(ls)
    length = max(0.0, (end - start).total_seconds() / 60)
    b = a + length
    for lo, hi in windows:
        if lo <= a and b <= hi:
            return True
    # a session crossing midnight: allowed when the window ends at 24:00 and the next day's starts at 00:00
    if le.date() != ls.date():
        late = any(lo <= a and hi == 1440 for lo, hi in windows)
        early = any(lo == 0 and _minute_of(le) <= hi for lo, hi in windows)
        return late and early
    return False


def check_sessions(
    limits: Limits,
    unit_name: str,
    sessions: Sequence[tuple[dt.datetime, dt.datetime]],
    *,
    existing: Sequence[tuple[dt.datetime, dt.datetime]] = (),
    volume: int | None = None,
    unit_code: str = "",
) -> list[Violation]:
    """Every rule that the new ``sessions`` (UTC start, end) break in a unit, given its ``existing`` sessions.

    One violation per rule (the first offending session), so the operator reads a short list."""
    found: dict[str, Violation] = {}

    def add(code: str, message: str, at: dt.datetime | None) -> None:
        found.setdefault(code, Violation(code, message, unit_code, at))

    for start, end in sessions:
        start, end = require_aware(start), require_aware(end)
        local = start.astimezone(LOCAL_TZ)
        minutes = (end - start).total_seconds() / 60
        if not in_windows(limits.windows, start, end):
            if in_windows(limits.windows, start, start):
                add(
                    "outside_window",
                    f"Lịch phát lúc {local:%H:%M} kéo dài {_minutes_text(minutes)}, kết thúc lúc "
                    f"{end.astimezone(LOCAL_TZ):%H:%M}, vượt khung giờ cho phép của {unit_name} "
                    f"({windows_text(limits.windows)}).",
                    start,
                )
            else:
                add(
                    "outside_window",
                    f"Lịch phát lúc {local:%H:%M} nằm ngoài khung giờ cho phép của {unit_name} "
                    f"({windows_text(limits.windows)}).",
                    start,
                )
        if limits.max_minutes_per_session is not None and minutes > limits.max_minutes_per_session + 1e-9:
            add(
                "session_too_long",
                f"Mỗi buổi phát dài {_minutes_text(minutes)}, vượt mức tối đa {limits.max_minutes_per_session} "
                f"phút mỗi buổi của {unit_name} (thời gian tiếp sóng cũng được tính).",
                start,
            )
        if limits.allowed_weekdays is not None and local.weekday() not in limits.allowed_weekdays:
            allowed = ", ".join(WEEKDAY_NAMES[d] for d in sorted(limits.allowed_weekdays)) or "không ngày nào"
            add(
                "weekday_not_allowed",
                f"Lịch phát vào {WEEKDAY_NAMES[local.weekday()]} {local:%d/%m/%Y}, nhưng {unit_name} chỉ cho phép "
                f"phát vào: {allowed}.",
                start,
            )
    if volume is not None and limits.max_volume is not None and volume > limits.max_volume:
        add(
            "volume_too_high", f"Âm lượng {volume} vượt mức tối đa {limits.max_volume} của {unit_name}.", None
        )
    if sessions and (limits.max_sessions_per_day is not None or limits.max_days_per_week is not None):
        per_day: dict[dt.date, int] = defaultdict(int)
        new_days: set[dt.date] = set()
        for start, _end in sessions:
            day = require_aware(start).astimezone(LOCAL_TZ).date()
            per_day[day] += 1
            new_days.add(day)
        for start, _end in existing:
            per_day[require_aware(start).astimezone(LOCAL_TZ).date()] += 1
        if limits.max_sessions_per_day is not None:
            for day in sorted(new_days):
                if per_day[day] > limits.max_sessions_per_day:
                    add(
                        "too_many_sessions",
                        f"Ngày {day:%d/%m/%Y} {unit_name} sẽ có {per_day[day]} buổi phát, vượt mức tối đa "
                        f"{limits.max_sessions_per_day} buổi mỗi ngày.",
                        None,
                    )
                    break
        if limits.max_days_per_week is not None:
            weeks: dict[dt.date, set[dt.date]] = defaultdict(set)
            for day in per_day:
                weeks[day - dt.timedelta(days=day.weekday())].add(day)
            for monday in sorted({d - dt.timedelta(days=d.weekday()) for d in new_days}):
                if len(weeks[monday]) > limits.max_days_per_week:
                    add(
                        "too_many_days",
                        f"Tuần từ {monday:%d/%m/%Y} {unit_name} có phát vào {len(weeks[monday])} ngày, vượt mức "
                        f"tối đa {limits.max_days_per_week} ngày mỗi tuần.",
                        None,
                    )
                    break
    return list(found.values())


def _minutes_text(minutes: float) -> str:
    if abs(minutes - round(minutes)) < 1e-6:
        return f"{round(minutes)} phút"
    return f"{minutes:.1f} phút".replace(".", ",")
