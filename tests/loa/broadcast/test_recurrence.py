"""Recurrence: local rules (Asia/Ho_Chi_Minh) to UTC instants — a table of rules and the starts they give."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest

from loa.broadcast.recurrence import (
    RecurrenceError,
    check_recurrence,
    describe,
    first_starts,
    local_to_utc,
    session_plan,
    session_starts,
)

UTC = dt.UTC
D = dt.date


def utc(y: int, m: int, d: int, h: int, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=UTC)


# Monday 2026-11-30 .. Sunday 2026-12-06 (local). 06:00 local is 23:00 UTC the day before.
WEEK = (utc(2026, 11, 29, 17), utc(2026, 12, 6, 17))  # [Mon 00:00 local, next Mon 00:00 local)

CASES: list[tuple[str, dict[str, Any], list[str]]] = [
    ("once", {"kind": "once", "times": ["06:00"], "start_date": D(2026, 12, 2)}, ["2026-12-01T23:00"]),
    (
        "daily, two times",
        {"kind": "daily", "times": ["17:30", "06:00"], "start_date": D(2026, 12, 5)},
        ["2026-12-04T23:00", "2026-12-05T10:30", "2026-12-05T23:00", "2026-12-06T10:30"],
    ),
    (
        "weekly Mon/Wed/Fri",
        {"kind": "weekly", "times": ["06:00"], "weekdays": [0, 2, 4], "start_date": D(2026, 11, 1)},
        ["2026-11-29T23:00", "2026-12-01T23:00", "2026-12-03T23:00"],
    ),
    (
        "list of dates",
        {"kind": "dates", "times": ["19:00"], "dates": [D(2026, 12, 3), D(2026, 12, 31), D(2026, 11, 30)]},
        ["2026-11-30T12:00", "2026-12-03T12:00"],
    ),
    (
        "rrule weekdays with exdate",
        {
            "kind": "rrule",
            "times": ["05:30"],
            "rrule_text": "RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR",
            "start_date": D(2026, 11, 2),
            "exdates": [D(2026, 12, 2)],
        },
        ["2026-11-29T22:30", "2026-11-30T22:30", "2026-12-02T22:30", "2026-12-03T22:30"],
    ),
    (
        "rrule every second day with count",
        {
            "kind": "rrule",
            "times": ["12:00"],
            "rrule_text": "FREQ=DAILY;INTERVAL=2;COUNT=3",
            "start_date": D(2026, 12, 1),
        },
        ["2026-12-01T05:00", "2026-12-03T05:00", "2026-12-05T05:00"],
    ),
    (
        "daily within a validity window",
        {"kind": "daily", "times": ["06:00"], "valid_from": D(2026, 12, 4), "valid_until": D(2026, 12, 5)},
        ["2026-12-03T23:00", "2026-12-04T23:00"],
    ),
    (
        "daily with exdates",
        {"kind": "daily", "times": ["06:00"], "exdates": [D(2026, 11, 30), D(2026, 12, 1), D(2026, 12, 2)]},
        ["2026-12-02T23:00", "2026-12-03T23:00", "2026-12-04T23:00", "2026-12-05T23:00"],
    ),
    (
        "midnight local is the previous UTC day",
        {"kind": "once", "times": ["00:00"], "start_date": D(2026, 12, 1)},
        ["2026-11-30T17:00"],
    ),
    ("once outside the range", {"kind": "once", "times": ["06:00"], "start_date": D(2026, 12, 9)}, []),
]


@pytest.mark.parametrize(("name", "spec", "expected"), CASES, ids=[c[0] for c in CASES])
def test_first_starts(name: str, spec: dict[str, Any], expected: list[str]) -> None:
    rec = check_recurrence(**spec)
    starts = first_starts(rec, *WEEK)
    assert [s.strftime("%Y-%m-%dT%H:%M") for s in starts] == expected
    assert all(s.tzinfo is not None and s.utcoffset() == dt.timedelta(0) for s in starts)


def test_repeat_every_x_minutes_within_a_span() -> None:
    rec = check_recurrence(
        "once",
        ["07:00"],
        start_date=D(2026, 12, 1),
        repeat_mode="every",
        repeat_every_min=20,
        repeat_span_min=60,
    )
    starts = session_starts(rec, *WEEK)
    assert [s.astimezone(dt.timezone(dt.timedelta(hours=7))).strftime("%H:%M") for s in starts] == [
        "07:00",
        "07:20",
        "07:40",
    ]


def test_repeat_n_times_in_a_row_is_one_session_back_to_back() -> None:
    rec = check_recurrence("once", ["07:00"], start_date=D(2026, 12, 1), repeat_mode="times", repeat_count=3)
    (start,) = session_starts(rec, *WEEK)
    slots = session_plan(rec, start, [60.0, 30.0])
    assert [(s.position, s.round) for s in slots] == [(0, 1), (1, 1), (0, 2), (1, 2), (0, 3), (1, 3)]
    assert slots[0].start == local_to_utc(D(2026, 12, 1), dt.time(7))
    assert slots[-1].end - slots[0].start == dt.timedelta(seconds=270)
    for a, b in itertools.pairwise(slots):
        assert a.end == b.start


def test_a_session_already_playing_is_included_for_late_joiners() -> None:
    rec = check_recurrence("once", ["07:00"], start_date=D(2026, 12, 1))
    seven = local_to_utc(D(2026, 12, 1), dt.time(7))
    assert session_starts(rec, seven + dt.timedelta(minutes=5), seven + dt.timedelta(hours=1), 600) == [seven]
    assert session_starts(rec, seven + dt.timedelta(minutes=11), seven + dt.timedelta(hours=1), 600) == []


def test_naive_datetimes_are_refused() -> None:
    rec = check_recurrence("daily", ["06:00"])
    with pytest.raises(ValueError, match="naive"):
        first_starts(rec, dt.datetime(2026, 12, 1), dt.datetime(2026, 12, 2))


BAD: list[tuple[dict[str, Any], str, str]] = [
    ({"kind": "hourly", "times": ["06:00"]}, "recurrence_kind_invalid", "Kiểu lặp"),
    ({"kind": "daily", "times": []}, "times_required", "giờ phát"),
    ({"kind": "daily", "times": ["25:00"]}, "time_invalid", "HH:MM"),
    ({"kind": "once", "times": ["06:00"]}, "date_required", "ngày phát"),
    ({"kind": "weekly", "times": ["06:00"]}, "weekdays_required", "thứ trong tuần"),
    ({"kind": "weekly", "times": ["06:00"], "weekdays": [7]}, "weekdays_invalid", "Chủ nhật"),
    ({"kind": "dates", "times": ["06:00"]}, "dates_required", "danh sách"),
    ({"kind": "rrule", "times": ["06:00"], "start_date": D(2026, 1, 1)}, "rrule_required", "RRULE"),
    (
        {"kind": "rrule", "times": ["06:00"], "start_date": D(2026, 1, 1), "rrule_text": "FREQ=MINUTELY"},
        "rrule_freq_invalid",
        "lặp mỗi X phút",
    ),
    (
        {
            "kind": "rrule",
            "times": ["06:00"],
            "start_date": D(2026, 1, 1),
            "rrule_text": "FREQ=WEEKLY;BYDAY=XX",
        },
        "rrule_invalid",
        "không hợp lệ",
    ),
    (
        {"kind": "daily", "times": ["06:00"], "valid_from": D(2026, 2, 1), "valid_until": D(2026, 1, 1)},
        "validity_invalid",
        "hiệu lực",
    ),
    (
        {"kind": "daily", "times": ["06:00"], "repeat_mode": "times", "repeat_count": 11},
        "repeat_count_invalid",
        "10",
    ),
    (
        {
            "kind": "daily",
            "times": ["06:00"],
            "repeat_mode": "every",
            "repeat_every_min": 30,
            "repeat_span_min": 10,
        },
        "repeat_span_invalid",
        "khoảng lặp",
    ),
]


@pytest.mark.parametrize(("spec", "code", "words"), BAD, ids=[b[1] for b in BAD])
def test_bad_rules_are_refused_in_vietnamese(spec: dict[str, Any], code: str, words: str) -> None:
    with pytest.raises(RecurrenceError) as info:
        check_recurrence(**spec)
    assert info.value.code == code
    assert words in info.value.message


def test_describe_reads_like_an_operator_would_say_it() -> None:
    rec = check_recurrence("weekly", ["06:00", "17:00"], weekdays=[0, 6], repeat_mode="times", repeat_count=2)
    assert describe(rec) == "Hằng tuần vào Thứ Hai, Chủ nhật lúc 06:00, 17:00, phát 2 lần liên tiếp"
