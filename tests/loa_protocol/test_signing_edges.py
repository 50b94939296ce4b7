"""Edges of command verification that mutation testing (make mutation) showed no test held: the exact limits of
the clock checks, the texts of the rejections, canonical number limits, the replay table's file."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from loa_protocol.examples import EXAMPLE_PRIVATE_KEY, EXAMPLE_PUBLIC_KEY, T0
from loa_protocol.signing import (
    DEFAULT_CLOCK_LEEWAY,
    MAX_SAFE_INTEGER,
    REASON_MESSAGES,
    CommandRejected,
    NotCanonical,
    ReplayGuard,
    check_canonical_numbers,
    sign_command,
    verify_command,
)

GROUP = "loa/v1/g/22/06652/cmd"


def command(seq: int = 1, issued_at: dt.datetime = T0, ttl_s: float = 600) -> object:
    return sign_command(
        EXAMPLE_PRIVATE_KEY, topic=GROUP, seq=seq, action="pause", issued_at=issued_at,
        expires_at=issued_at + dt.timedelta(seconds=ttl_s),
    )  # fmt: skip


def rejection(cmd: object, **kw: object) -> CommandRejected:
    args: dict[str, object] = {"arrived_on_topic": GROUP, "now": T0, "guard": None} | kw
    with pytest.raises(CommandRejected) as exc:
        verify_command(cmd, EXAMPLE_PUBLIC_KEY, **args)  # type: ignore[arg-type]
    return exc.value


def test_the_rejection_reads_the_reason_and_its_detail() -> None:
    exc = CommandRejected("expired", "expires_at x")
    assert exc.message == f"{REASON_MESSAGES['expired']} (expires_at x)"
    assert str(exc) == exc.message
    assert CommandRejected("expired").message == REASON_MESSAGES["expired"]
    assert CommandRejected("no_such_reason").message == "no_such_reason"


def test_each_rejection_names_what_was_wrong() -> None:
    cmd = command(seq=7)
    wrong = rejection(cmd, arrived_on_topic="loa/v1/g/22/06658/cmd")
    assert wrong.reason == "wrong_topic" and "loa/v1/g/22/06658/cmd ≠ loa/v1/g/22/06652/cmd" in wrong.message
    early = rejection(cmd, now=T0 - DEFAULT_CLOCK_LEEWAY - dt.timedelta(seconds=1))
    assert early.reason == "not_yet_valid" and T0.isoformat() in early.message
    late = rejection(cmd, now=T0 + dt.timedelta(seconds=600))
    assert late.reason == "expired" and (T0 + dt.timedelta(seconds=600)).isoformat() in late.message
    old = rejection(cmd, enrolled_at=T0 + dt.timedelta(seconds=1))
    assert old.reason == "before_enrolment" and T0.isoformat() in old.message
    guard = ReplayGuard()
    verify_command(cmd, EXAMPLE_PUBLIC_KEY, GROUP, T0, guard)  # type: ignore[arg-type]
    again = rejection(cmd, guard=guard)
    assert again.reason == "replayed" and "seq 7 ≤ 7" in again.message


def test_the_clock_limits_are_inclusive_where_the_protocol_says() -> None:
    cmd = command()
    # issued exactly `leeway` ahead of the device's clock: still valid
    verify_command(cmd, EXAMPLE_PUBLIC_KEY, GROUP, T0 - DEFAULT_CLOCK_LEEWAY, None)  # type: ignore[arg-type]
    # issued at the very instant of enrolment: valid (only earlier commands are refused)
    verify_command(cmd, EXAMPLE_PUBLIC_KEY, GROUP, T0, None, enrolled_at=T0)  # type: ignore[arg-type]


def test_canonical_number_limits_and_where() -> None:
    check_canonical_numbers(MAX_SAFE_INTEGER)
    check_canonical_numbers(-MAX_SAFE_INTEGER)
    check_canonical_numbers({"a": [None, "1e5", True, 95.5]})
    with pytest.raises(NotCanonical, match=r"^số: số nguyên"):
        check_canonical_numbers(MAX_SAFE_INTEGER + 1)
    with pytest.raises(NotCanonical, match=r"^params\.a\[1\]: số thực 1e\+16"):
        check_canonical_numbers({"a": [1.5, 1e16]}, "params")
    with pytest.raises(NotCanonical, match=r"^số: số thực"):
        check_canonical_numbers(float("nan"))


def test_the_replay_table_is_written_into_new_directories_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "replay.json"
    guard = ReplayGuard(path)
    guard.accept("loa/v1/g/22/cmd", 5)
    guard.accept("loa/v1/dev/x/cmd", 2)
    assert json.loads(path.read_text("utf-8")) == {"loa/v1/dev/x/cmd": 2, "loa/v1/g/22/cmd": 5}
    assert list(path.read_text("utf-8")) == list(json.dumps({"loa/v1/dev/x/cmd": 2, "loa/v1/g/22/cmd": 5}))
    assert [p.name for p in path.parent.iterdir()] == ["replay.json"]  # the temporary file was renamed
    assert ReplayGuard(path).last("loa/v1/g/22/cmd") == 5
