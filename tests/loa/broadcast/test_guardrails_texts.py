"""What an operator reads about guardrails, as tables: windows in words, minutes, the refusal of a bad window, a
violation as the API sends it. (Gaps found by the mutation run of guardrails.py: docs/benchmarks.md.)"""

from __future__ import annotations

import datetime as dt

import pytest

from loa.broadcast.guardrails import (
    GuardrailError,
    Violation,
    _minutes_text,
    fmt_minute,
    parse_windows,
    stored_windows,
    windows_text,
)


@pytest.mark.parametrize(
    ("minute", "text"),
    [(0, "00:00"), (59, "00:59"), (61, "01:01"), (1439, "23:59"), (1440, "24:00"), (1441, "24:00")],
)
def test_fmt_minute(minute: int, text: str) -> None:
    assert fmt_minute(minute) == text


@pytest.mark.parametrize(
    ("windows", "text"),
    [
        (None, "cả ngày"),
        ((), "không có khung giờ nào"),
        (((300, 1260),), "05:00–21:00"),
        (((0, 1440),), "00:00–24:00"),
        (((0, 120), (1320, 1440)), "22:00–02:00"),  # one window across midnight, stored in two halves
        (((0, 60), (300, 600), (1380, 1440)), "05:00–10:00, 23:00–01:00"),
        (
            ((0, 60), (300, 600)),
            "00:00–01:00, 05:00–10:00",
        ),  # starts at midnight, ends before it: two windows
        (((300, 600), (1380, 1440)), "05:00–10:00, 23:00–24:00"),
        (((1380, 1440),), "23:00–24:00"),
    ],
)
def test_windows_text(windows: tuple[tuple[int, int], ...] | None, text: str) -> None:
    assert windows_text(windows) == text


@pytest.mark.parametrize(
    ("minutes", "text"),
    [(15, "15 phút"), (15.0000001, "15 phút"), (12.5, "12,5 phút"), (1.04, "1,0 phút"), (90.0, "90 phút")],
)
def test_minutes_text(minutes: float, text: str) -> None:
    assert _minutes_text(minutes) == text


def test_a_bad_window_is_refused_with_a_sentence() -> None:
    with pytest.raises(GuardrailError) as info:
        parse_windows([["05:00", "05:00"]])
    assert info.value.code == "window_invalid"
    assert info.value.message and str(info.value) == info.value.message
    assert "05:00" in info.value.message


@pytest.mark.parametrize(
    ("raw", "windows"),
    [
        ([["00:00", "00:00"]], ((0, 1440),)),  # the whole day, as windows_hhmm stores it
        ([["22:00", "02:00"]], ((0, 120), (1320, 1440))),
        ([["05:00", "21:00"]], ((300, 1260),)),
    ],
)
def test_stored_windows(raw: list[list[str]], windows: tuple[tuple[int, int], ...]) -> None:
    assert stored_windows(raw) == windows


def test_a_violation_as_the_api_sends_it() -> None:
    at = dt.datetime(2026, 11, 23, 20, 15, tzinfo=dt.UTC)
    assert Violation("outside_window", "Ngoài khung giờ.", "06652", at).as_dict() == {
        "code": "outside_window",
        "message": "Ngoài khung giờ.",
        "unit": "06652",
        "at": "2026-11-23T20:15:00+00:00",
    }
    assert Violation("volume_too_high", "Quá to.").as_dict() == {
        "code": "volume_too_high",
        "message": "Quá to.",
        "unit": "",
        "at": "",
    }
