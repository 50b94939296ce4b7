"""Device-supplied reasons are protocol codes, never free text that pages and spreadsheets would show (issue 20)."""

from __future__ import annotations

import pytest

from loa_protocol.messages import normalise_reason


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        (None, None),
        ("", None),
        ("outside_window", "outside_window"),
        ("preempted_by:em-1a2b3c", "preempted_by:em-1a2b3c"),
        ("repeat 2/3", "repeat 2/3"),
        ("invalid: thiếu trường action", "invalid"),
        ('=HYPERLINK("http://x","bấm")', "unknown"),
        ("+cmd|' /C calc'!A0", "unknown"),
        ("@SUM(A1)", "unknown"),
        ("-2+3", "unknown"),
        ("\t=1", "unknown"),
        ("made_up_code", "unknown"),
        ("stopped:=HYPERLINK(x)", "stopped"),
    ],
)
def test_reasons_are_codes(sent: str | None, stored: str | None) -> None:
    assert normalise_reason(sent) == stored
