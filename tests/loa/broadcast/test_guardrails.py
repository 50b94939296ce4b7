"""Guardrails as a table: limits, sessions, and the Vietnamese reason each refusal gives."""

from __future__ import annotations

import datetime as dt

import pytest

from loa.broadcast.guardrails import (
    DEFAULT_LIMITS,
    GuardrailError,
    Limits,
    check_sessions,
    effective,
    loosening,
    parse_windows,
    tighten,
    windows_hhmm,
    windows_text,
)
from loa.broadcast.recurrence import local_to_utc

X = "Xã Trung Lộc"


def at(day: int, hhmm: str, minutes: float = 10) -> tuple[dt.datetime, dt.datetime]:
    """A session on 2026-11-{day} (local) at hh:mm, lasting ``minutes``."""
    h, m = map(int, hhmm.split(":"))
    start = local_to_utc(dt.date(2026, 11, day), dt.time(h, m))
    return start, start + dt.timedelta(minutes=minutes)


W = parse_windows([["05:00", "21:00"]])
HANOI = Limits(
    windows=parse_windows([["06:00", "07:00"], ["17:00", "18:30"]]),
    max_sessions_per_day=2,
    allowed_weekdays=frozenset({0, 1, 2, 3, 4}),
    max_days_per_week=5,
    max_minutes_per_session=15,
    max_volume=70,
)

# (name, limits, new sessions, existing sessions, volume, expected codes, expected message of the first)
CASES: list[tuple[str, Limits, list[tuple[dt.datetime, dt.datetime]], list, int | None, list[str], str]] = [
    ("inside the window", Limits(windows=W), [at(23, "06:00")], [], None, [], ""),
    (
        "the 03:15 relay",
        Limits(windows=W),
        [at(23, "03:15", 30)],
        [],
        None,
        ["outside_window"],
        "Lịch phát lúc 03:15 nằm ngoài khung giờ cho phép của Xã Trung Lộc (05:00–21:00).",
    ),
    (
        "ends after the window closes",
        Limits(windows=W),
        [at(23, "20:50", 30)],
        [],
        None,
        ["outside_window"],
        "Lịch phát lúc 20:50 kéo dài 30 phút, kết thúc lúc 21:20, vượt khung giờ cho phép của Xã Trung Lộc "
        "(05:00–21:00).",
    ),
    ("ends exactly when the window closes", Limits(windows=W), [at(23, "20:30", 30)], [], None, [], ""),
    (
        "session too long (relay counts)",
        HANOI,
        [at(23, "17:00", 45)],
        [],
        None,
        ["session_too_long"],
        "Mỗi buổi phát dài 45 phút, vượt mức tối đa 15 phút mỗi buổi của Xã Trung Lộc (thời gian tiếp sóng cũng "
        "được tính).",
    ),
    (
        "weekend in Hà Nội",
        HANOI,
        [at(29, "06:00")],
        [],
        None,
        ["weekday_not_allowed"],
        "Lịch phát vào Chủ nhật 29/11/2026, nhưng Xã Trung Lộc chỉ cho phép phát vào: Thứ Hai, Thứ Ba, Thứ Tư, "
        "Thứ Năm, Thứ Sáu.",
    ),
    (
        "a third session on the same day",
        HANOI,
        [at(23, "17:00")],
        [at(23, "06:00"), at(23, "06:30")],
        None,
        ["too_many_sessions"],
        "Ngày 23/11/2026 Xã Trung Lộc sẽ có 3 buổi phát, vượt mức tối đa 2 buổi mỗi ngày.",
    ),
    ("two sessions a day is fine", HANOI, [at(23, "17:00")], [at(23, "06:00")], None, [], ""),
    (
        "a sixth day in the week",
        Limits(max_days_per_week=5),
        [at(28, "08:00")],
        [at(d, "08:00") for d in (23, 24, 25, 26, 27)],
        None,
        ["too_many_days"],
        "Tuần từ 23/11/2026 Xã Trung Lộc có phát vào 6 ngày, vượt mức tối đa 5 ngày mỗi tuần.",
    ),
    (
        "the next week is another week",
        Limits(max_days_per_week=5),
        [at(30, "08:00")],
        [at(d, "08:00") for d in (23, 24, 25, 26, 27)],
        None,
        [],
        "",
    ),
    (
        "volume over the cap",
        HANOI,
        [at(23, "06:00")],
        [],
        90,
        ["volume_too_high"],
        "Âm lượng 90 vượt mức tối đa 70 của Xã Trung Lộc.",
    ),
    (
        "several rules at once, one line each",
        HANOI,
        [at(29, "03:15", 60), at(29, "04:15", 60)],
        [],
        80,
        ["outside_window", "session_too_long", "weekday_not_allowed", "volume_too_high"],
        "Lịch phát lúc 03:15 nằm ngoài khung giờ cho phép của Xã Trung Lộc (06:00–07:00, 17:00–18:30).",
    ),
    ("no limits at all", Limits(), [at(23, "03:15", 600)], [], 100, [], ""),
    (
        "a window across midnight",
        Limits(windows=parse_windows([["22:00", "02:00"]])),
        [at(23, "23:30", 60)],
        [],
        None,
        [],
        "",
    ),
]


@pytest.mark.parametrize(
    ("name", "limits", "sessions", "existing", "volume", "codes", "first"), CASES, ids=[c[0] for c in CASES]
)
def test_check_sessions(
    name: str,
    limits: Limits,
    sessions: list[tuple[dt.datetime, dt.datetime]],
    existing: list[tuple[dt.datetime, dt.datetime]],
    volume: int | None,
    codes: list[str],
    first: str,
) -> None:
    found = check_sessions(limits, X, sessions, existing=existing, volume=volume)
    assert [v.code for v in found] == codes
    if codes:
        assert found[0].message == first


# (parent, child, effective)
TIGHTEN = [
    (Limits(windows=W), Limits(windows=parse_windows([["06:00", "22:00"]])), "06:00–21:00"),
    (Limits(windows=W), Limits(), "05:00–21:00"),
    (Limits(), Limits(windows=W), "05:00–21:00"),
    (Limits(windows=W), Limits(windows=parse_windows([["22:00", "23:00"]])), "không có khung giờ nào"),
]


@pytest.mark.parametrize(("parent", "child", "text"), TIGHTEN)
def test_a_commune_can_only_tighten_windows(parent: Limits, child: Limits, text: str) -> None:
    assert windows_text(tighten(parent, child).windows) == text


def test_numbers_take_the_minimum_along_the_path_and_weekdays_the_intersection() -> None:
    province = Limits(max_sessions_per_day=3, max_minutes_per_session=45, max_volume=80,
                      allowed_weekdays=frozenset(range(7)))  # fmt: skip
    commune = Limits(
        max_sessions_per_day=5, max_minutes_per_session=15, allowed_weekdays=frozenset({0, 1, 2})
    )
    eff = effective([province, commune])
    assert (eff.max_sessions_per_day, eff.max_minutes_per_session, eff.max_volume) == (3, 15, 80)
    assert eff.allowed_weekdays == frozenset({0, 1, 2})


def test_without_any_setting_the_default_keeps_nights_silent() -> None:
    assert effective([]) == DEFAULT_LIMITS
    assert windows_text(effective([Limits(), Limits()]).windows) == "05:00–22:00"
    # a province may set its own windows, wider than the default
    assert (
        windows_text(effective([Limits(windows=parse_windows([["04:30", "22:30"]]))]).windows)
        == "04:30–22:30"
    )


def test_loosening_is_explained() -> None:
    parent = Limits(windows=W, max_sessions_per_day=2, allowed_weekdays=frozenset({0, 1}))
    child = Limits(windows=parse_windows([["04:00", "21:00"]]), max_sessions_per_day=3,
                   allowed_weekdays=frozenset({0, 6}))  # fmt: skip
    reasons = loosening(parent, child)
    assert reasons == [
        "khung giờ phải nằm trong khung của cấp trên (05:00–21:00)",
        "số buổi phát mỗi ngày không được vượt 2 của cấp trên",
        "chỉ được chọn các thứ mà cấp trên cho phép",
    ]
    assert (
        loosening(parent, Limits(windows=parse_windows([["06:00", "20:00"]]), max_sessions_per_day=1)) == []
    )


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ([["05:00"]], "window_invalid"),
        ([["5h", "21:00"]], "window_invalid"),
        ([["05:00", "05:00"]], "window_invalid"),
    ],
)
def test_bad_windows(raw: list[list[str]], code: str) -> None:
    with pytest.raises(GuardrailError) as info:
        parse_windows(raw)
    assert info.value.code == code


def test_protocol_windows_join_midnight() -> None:
    assert windows_hhmm(parse_windows([["22:00", "02:00"], ["05:00", "21:00"]])) == [
        ("05:00", "21:00"),
        ("22:00", "02:00"),
    ]
    assert windows_hhmm(parse_windows([["05:00", "21:00"]])) == [("05:00", "21:00")]
    assert windows_hhmm(None) == []
