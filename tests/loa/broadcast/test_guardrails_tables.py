"""Guardrails as tables: tightening field by field, sessions across midnight. (Gaps found by the mutation run of
guardrails.py: docs/benchmarks.md.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from loa.broadcast.guardrails import Limits, in_windows, tighten
from loa.broadcast.recurrence import local_to_utc

W = ((300, 1260),)
NARROW = ((360, 1080),)


@pytest.mark.parametrize(
    "name", ["max_sessions_per_day", "max_days_per_week", "max_minutes_per_session", "max_volume"]
)
@pytest.mark.parametrize(
    ("parent", "child", "result"), [(3, None, 3), (None, 2, 2), (3, 5, 3), (5, 2, 2), (None, None, None)]
)
def test_tighten_takes_the_smaller_number(name: str, parent: Any, child: Any, result: Any) -> None:
    assert getattr(tighten(Limits(**{name: parent}), Limits(**{name: child})), name) == result


@pytest.mark.parametrize(
    ("parent", "child", "result"),
    [
        (None, frozenset({0, 1}), frozenset({0, 1})),
        (frozenset({0, 1, 2}), None, frozenset({0, 1, 2})),
        (frozenset({0, 1, 2}), frozenset({1, 2, 5}), frozenset({1, 2})),
        (None, None, None),
    ],
)
def test_tighten_keeps_the_common_weekdays(parent: Any, child: Any, result: Any) -> None:
    assert tighten(Limits(allowed_weekdays=parent), Limits(allowed_weekdays=child)).allowed_weekdays == result


@pytest.mark.parametrize(
    ("parent", "child", "result"),
    [(None, NARROW, NARROW), (W, None, W), (W, NARROW, NARROW), (None, None, None)],
)
def test_tighten_keeps_the_common_windows(parent: Any, child: Any, result: Any) -> None:
    assert tighten(Limits(windows=parent), Limits(windows=child)).windows == result


DAY = dt.date(2026, 11, 23)


def session(start: str, minutes: float) -> tuple[dt.datetime, dt.datetime]:
    h, m = map(int, start.split(":"))
    begin = local_to_utc(DAY, dt.time(h, m))
    return begin, begin + dt.timedelta(minutes=minutes)


NIGHT = ((0, 120), (1320, 1440))  # 22:00–02:00, stored in two halves


@pytest.mark.parametrize(
    ("windows", "start", "minutes", "inside"),
    [
        (None, "03:15", 30, True),
        (W, "05:00", 960, True),  # 05:00–21:00 exactly
        (W, "04:59", 10, False),
        (W, "20:55", 10, False),
        (NIGHT, "23:30", 60, True),  # across midnight, inside 22:00–02:00
        (NIGHT, "23:30", 150, True),  # ends at 02:00 exactly
        (NIGHT, "23:30", 151, False),  # one minute past 02:00
        (NIGHT, "21:30", 60, False),  # starts before 22:00
        (((1320, 1440),), "23:30", 60, False),  # no window after midnight
        (((0, 120),), "23:30", 60, False),  # no window before midnight
        (((0, 120), (1320, 1439)), "23:30", 60, False),  # the evening window stops at 23:59
        (((60, 120), (1320, 1440)), "23:30", 60, False),  # the morning window starts at 01:00
        (((0, 120), (600, 1440)), "23:30", 60, True),
    ],
)
def test_a_session_in_the_windows(windows: Any, start: str, minutes: float, inside: bool) -> None:
    begin, end = session(start, minutes)
    assert in_windows(windows, begin, end) is inside


def test_check_sessions_at_the_edges() -> None:
    """A volume equal to the cap is allowed; two new sessions on one day count as two; a violation names the
    session that broke the rule."""
    from loa.broadcast.guardrails import check_sessions

    assert check_sessions(Limits(max_volume=70), "Xã A", [session("06:00", 10)], volume=70) == []
    (too_loud,) = check_sessions(Limits(max_volume=70), "Xã A", [session("06:00", 10)], volume=71)
    assert (too_loud.code, too_loud.at) == ("volume_too_high", None)
    (twice,) = check_sessions(
        Limits(max_sessions_per_day=1), "Xã A", [session("06:00", 10), session("17:00", 10)]
    )
    assert twice.code == "too_many_sessions" and "2 buổi" in twice.message
    late, early = session("21:30", 10), session("04:00", 10)
    found = check_sessions(
        Limits(windows=W, max_minutes_per_session=5), "Xã A", [late, early], unit_code="06652"
    )
    assert [(v.code, v.at, v.unit_code) for v in found] == [
        ("outside_window", late[0], "06652"),
        ("session_too_long", late[0], "06652"),
    ]
