"""``loa.media.audio._run`` notices the end of its process by the end of its output (no polling delay), and still
returns the exit code of a process that exited while something it started holds its output open."""

from __future__ import annotations

import time

import pytest

from loa.media import audio


def test_the_exit_code_and_output_of_a_finished_process() -> None:
    result = audio._run(["sh", "-c", "printf hello; exit 3"], time.monotonic() + 30)
    assert (result.returncode, result.stdout) == (3, b"hello")


def test_a_process_that_exits_while_a_child_holds_its_output_is_not_a_timeout() -> None:
    # sh exits at once; the backgrounded sleep keeps stdout open for 4 s, past the 2 s deadline
    result = audio._run(["sh", "-c", "sleep 4 & exit 3"], time.monotonic() + 2)
    assert result.returncode == 3


def test_a_process_past_its_deadline_is_killed() -> None:
    with pytest.raises(audio.MediaRejected) as refused:
        audio._run(["sh", "-c", "sleep 30"], time.monotonic() + 0.5)
    assert refused.value.code == "timeout"
