"""Recurrence rules as tables: the sentence the console shows for each kind of rule, what an RRULE may and may not
say, the sessions of an RRULE and of a repeat mode, the plan of one session. (Gaps found by the mutation run of
recurrence.py: docs/benchmarks.md.)"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from loa.broadcast.recurrence import (
    RecurrenceError,
    check_recurrence,
    describe,
    local_to_utc,
    session_plan,
    session_seconds,
    session_starts,
)

D = dt.date


def local(day: dt.date, hhmm: str) -> dt.datetime:
    h, m = map(int, hhmm.split(":"))
    return local_to_utc(day, dt.time(h, m))


DESCRIBED = [
    ({"kind": "once", "times": ["06:00"], "start_date": D(2026, 3, 2)}, "Một lần, 02/03/2026 lúc 06:00"),
    ({"kind": "daily", "times": ["17:30", "06:00"]}, "Hằng ngày lúc 06:00, 17:30"),
    ({"kind": "weekly", "times": ["06:00"], "weekdays": [4, 0]}, "Hằng tuần vào Thứ Hai, Thứ Sáu lúc 06:00"),
    (
        {"kind": "dates", "times": ["06:00"], "dates": [D(2026, 3, d) for d in (9, 2, 3)]},
        "Các ngày 02/03, 03/03, 09/03 lúc 06:00",
    ),
    (
        {"kind": "dates", "times": ["06:00"], "dates": [D(2026, 3, d) for d in range(1, 8)]},
        "Các ngày 01/03, 02/03, 03/03, 04/03, 05/03, 06/03… lúc 06:00",
    ),
    (
        {"kind": "dates", "times": ["06:00"], "dates": [D(2026, 3, d) for d in range(1, 7)]},
        "Các ngày 01/03, 02/03, 03/03, 04/03, 05/03, 06/03 lúc 06:00",
    ),
    (
        {
            "kind": "rrule",
            "times": ["06:00"],
            "start_date": D(2026, 3, 2),
            "rrule_text": " FREQ=MONTHLY;BYMONTHDAY=1 ",
        },
        "Theo quy tắc FREQ=MONTHLY;BYMONTHDAY=1 lúc 06:00",
    ),
    (
        {"kind": "daily", "times": ["06:00"], "repeat_mode": "times", "repeat_count": 3},
        "Hằng ngày lúc 06:00, phát 3 lần liên tiếp",
    ),
    ({"kind": "daily", "times": ["06:00"], "repeat_mode": "times", "repeat_count": 1}, "Hằng ngày lúc 06:00"),
    (
        {
            "kind": "daily",
            "times": ["06:00"],
            "repeat_mode": "every",
            "repeat_every_min": 15,
            "repeat_span_min": 60,
        },
        "Hằng ngày lúc 06:00, lặp mỗi 15 phút trong 60 phút",
    ),
    (
        {"kind": "daily", "times": ["06:00"], "exdates": [D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 2)]},
        "Hằng ngày lúc 06:00, trừ 2 ngày",
    ),
]


@pytest.mark.parametrize(("spec", "text"), DESCRIBED, ids=[t for _s, t in DESCRIBED])
def test_describe(spec: dict[str, Any], text: str) -> None:
    assert describe(check_recurrence(**spec)) == text


def test_describe_a_once_rule_without_its_date() -> None:
    rec = check_recurrence("once", ["06:00"], start_date=D(2026, 3, 2))
    assert describe(type(rec)(kind="once", times=rec.times)) == "Một lần lúc 06:00"


RRULE_REFUSED = [
    ("", D(2026, 3, 2), "rrule_required", "Cần quy tắc lặp RRULE"),
    ("RRULE:", D(2026, 3, 2), "rrule_required", "Cần quy tắc lặp RRULE"),
    ("DTSTART:20260302T060000\nFREQ=DAILY", D(2026, 3, 2), "rrule_invalid", "ô “từ ngày”"),
    ("FREQ=DAILY;dtstart=20260302", D(2026, 3, 2), "rrule_invalid", "ô “từ ngày”"),
    ("FREQ=DAILY\nFREQ=WEEKLY", D(2026, 3, 2), "rrule_invalid", "một dòng"),
    ("FREQ=DAILY", None, "date_required", "cần ngày bắt đầu"),
    ("FREQ=HOURLY", D(2026, 3, 2), "rrule_freq_invalid", "lặp mỗi X phút"),
    ("FREQ=MINUTELY", D(2026, 3, 2), "rrule_freq_invalid", "DAILY, WEEKLY, MONTHLY, YEARLY"),
    ("FREQ=DAILY;BYHOUR=6", D(2026, 3, 2), "rrule_invalid", "BYHOUR/BYMINUTE"),
    ("FREQ=DAILY;byminute=5", D(2026, 3, 2), "rrule_invalid", "BYHOUR/BYMINUTE"),
    ("FREQ=DAILY;BYSECOND=5", D(2026, 3, 2), "rrule_invalid", "BYHOUR/BYMINUTE"),
    ("FREQ=SOMETIMES", D(2026, 3, 2), "rrule_invalid", "Quy tắc RRULE không hợp lệ: "),
]


@pytest.mark.parametrize(
    ("text", "start", "code", "words"), RRULE_REFUSED, ids=[r[0] or "empty" for r in RRULE_REFUSED]
)
def test_what_an_rrule_may_not_say(text: str, start: dt.date | None, code: str, words: str) -> None:
    with pytest.raises(RecurrenceError) as info:
        check_recurrence("rrule", ["06:00"], start_date=start, rrule_text=text)
    assert info.value.code == code
    assert words in info.value.message


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("FREQ=WEEKLY;BYDAY=MO,TH", [D(2026, 3, 2), D(2026, 3, 5), D(2026, 3, 9)]),
        ("RRULE:FREQ=WEEKLY;BYDAY=MO,TH", [D(2026, 3, 2), D(2026, 3, 5), D(2026, 3, 9)]),
        ("rrule:FREQ=DAILY;INTERVAL=4", [D(2026, 3, 2), D(2026, 3, 6), D(2026, 3, 10)]),
        ("FREQ=DAILY;COUNT=2", [D(2026, 3, 2), D(2026, 3, 3)]),
        ("FREQ=MONTHLY;BYMONTHDAY=5", [D(2026, 3, 5)]),
    ],
)
def test_an_rrule_plays_on_its_days_at_each_time(text: str, dates: list[dt.date]) -> None:
    rec = check_recurrence("rrule", ["17:30", "06:00"], start_date=D(2026, 3, 2), rrule_text=text)
    found = session_starts(rec, local(D(2026, 3, 2), "00:00"), local(D(2026, 3, 11), "00:00"))
    assert found == [local(d, t) for d in dates for t in ("06:00", "17:30")]


def test_an_rrule_starts_at_the_validity_when_it_has_no_date_and_skips_its_exdates() -> None:
    rec = check_recurrence("rrule", ["06:00"], valid_from=D(2026, 3, 4), rrule_text="FREQ=DAILY",
                           exdates=[D(2026, 3, 5)], valid_until=D(2026, 3, 7))  # fmt: skip
    found = session_starts(rec, local(D(2026, 3, 1), "00:00"), local(D(2026, 3, 11), "00:00"))
    assert found == [local(D(2026, 3, d), "06:00") for d in (4, 6, 7)]


@pytest.mark.parametrize(
    ("start", "end", "session_s", "expected"),
    [
        # every 20 minutes for an hour from 06:00: 06:00, 06:20, 06:40 (07:00 is the end of the span)
        ("05:00", "08:00", 0, ["06:00", "06:20", "06:40"]),
        ("06:20", "06:40", 0, ["06:20"]),  # [start, end): 06:40 is out
        ("06:30", "06:40", 0, []),  # between two sessions of no length
        ("06:30", "06:40", 15 * 60, ["06:20"]),  # the 06:20 session still plays at 06:30
        ("06:35", "06:40", 15 * 60, []),  # … and is over at 06:35
        ("06:59", "08:00", 30 * 60, ["06:40"]),  # joined late from the span's last session
    ],
)
def test_sessions_of_the_every_x_minutes_mode(
    start: str, end: str, session_s: float, expected: list[str]
) -> None:
    rec = check_recurrence("daily", ["06:00"], repeat_mode="every", repeat_every_min=20, repeat_span_min=60)
    day = D(2026, 3, 2)
    found = session_starts(rec, local(day, start), local(day, end), session_s)
    assert found == [local(day, t) for t in expected]


def test_the_plan_of_a_session_played_twice_in_a_row() -> None:
    rec = check_recurrence("daily", ["06:00"], repeat_mode="times", repeat_count=2)
    start = local(D(2026, 3, 2), "06:00")
    plan = session_plan(rec, start, [30.0, 90.0])
    second = dt.timedelta(seconds=1)
    assert [(s.session_start, s.start, s.end, s.position, s.round) for s in plan] == [
        (start, start, start + 30 * second, 0, 1),
        (start, start + 30 * second, start + 120 * second, 1, 1),
        (start, start + 120 * second, start + 150 * second, 0, 2),
        (start, start + 150 * second, start + 240 * second, 1, 2),
    ]
    assert session_seconds(rec, [30.0, 90.0]) == 240.0
    once = check_recurrence("daily", ["06:00"])
    assert session_seconds(once, [30.0, 90.0]) == 120.0
    assert len(session_plan(once, start, [30.0, 90.0])) == 2


LIMITS_REFUSED = [
    ({"times": [f"{h:02d}:00" for h in range(24)] + ["23:30"]}, "times_too_many", "Tối đa 24 giờ phát"),
    (
        {"kind": "dates", "dates": [D(2026, 1, 1) + dt.timedelta(days=i) for i in range(367)]},
        "dates_too_many",
        "366",
    ),
    ({"repeat_mode": "sometimes"}, "repeat_mode_invalid", "Chế độ lặp không hợp lệ"),
    ({"repeat_mode": "times", "repeat_count": 0}, "repeat_count_invalid", "từ 1 đến 10"),
    (
        {"repeat_mode": "every", "repeat_every_min": 0, "repeat_span_min": 60},
        "repeat_every_invalid",
        "1 đến 1440",
    ),
    (
        {"repeat_mode": "every", "repeat_every_min": 1441, "repeat_span_min": 1441},
        "repeat_every_invalid",
        "1440",
    ),
    (
        {"repeat_mode": "every", "repeat_every_min": 30, "repeat_span_min": 1441},
        "repeat_span_invalid",
        "24 giờ",
    ),
    ({"times": ["24:00"]}, "time_invalid", "Giờ “24:00” không hợp lệ"),
    ({"times": [" 6:05 ", "7:60"]}, "time_invalid", "“7:60”"),
    ({"kind": "weekly", "weekdays": [7]}, "weekdays_invalid", "từ 0 (Thứ Hai) đến 6 (Chủ nhật)"),
    ({"kind": "once"}, "date_required", "Lịch phát một lần cần ngày phát"),
]


@pytest.mark.parametrize(
    ("spec", "code", "words"), LIMITS_REFUSED, ids=[r[1] + str(i) for i, r in enumerate(LIMITS_REFUSED)]
)
def test_the_limits_of_a_rule(spec: dict[str, Any], code: str, words: str) -> None:
    with pytest.raises(RecurrenceError) as info:
        check_recurrence(**{"kind": "daily", "times": ["06:00"], **spec})
    assert info.value.code == code
    assert words in info.value.message


@pytest.mark.parametrize(
    ("spec", "fields"),
    [
        ({"times": ["23:59", " 6:05 ", "06:05"]}, {"times": (dt.time(6, 5), dt.time(23, 59))}),
        ({"times": [f"{h:02d}:00" for h in range(24)]}, {"times": tuple(dt.time(h) for h in range(24))}),
        ({"kind": "weekly", "weekdays": [6, 0, 6]}, {"weekdays": (0, 6)}),
        (
            {"kind": "dates", "dates": [D(2026, 3, 3), D(2026, 3, 2), D(2026, 3, 3)]},
            {"dates": (D(2026, 3, 2), D(2026, 3, 3))},
        ),
        ({"exdates": [D(2026, 3, 3), D(2026, 3, 2)]}, {"exdates": (D(2026, 3, 2), D(2026, 3, 3))}),
        (
            {"valid_from": D(2026, 3, 2), "valid_until": D(2026, 3, 2)},
            {"valid_from": D(2026, 3, 2), "valid_until": D(2026, 3, 2)},
        ),
        ({"repeat_mode": "times", "repeat_count": 10}, {"repeat_mode": "times", "repeat_count": 10}),
        (
            {"repeat_mode": "none", "repeat_count": 5, "repeat_every_min": 5, "repeat_span_min": 10},
            {"repeat_mode": "none", "repeat_count": 1, "repeat_every_min": 0, "repeat_span_min": 0},
        ),
        (
            {"repeat_mode": "every", "repeat_count": 5, "repeat_every_min": 1440, "repeat_span_min": 1440},
            {"repeat_count": 1, "repeat_every_min": 1440, "repeat_span_min": 1440},
        ),
        (
            {"repeat_mode": "times", "repeat_count": 3, "repeat_every_min": 5, "repeat_span_min": 10},
            {"repeat_count": 3, "repeat_every_min": 0, "repeat_span_min": 0},
        ),
    ],
)
def test_what_a_rule_keeps(spec: dict[str, Any], fields: dict[str, Any]) -> None:
    rec = check_recurrence(**{"kind": "daily", "times": ["06:00"], **spec})
    assert {name: getattr(rec, name) for name in fields} == fields
    assert rec.kind == spec.get("kind", "daily")
