"""Processes started by `loa serve` / `loa demo` end when their parent ends, even after kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def test_children_die_with_their_parent() -> None:
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from loa.processes import spawn;"
            "child = spawn(['sleep', '120']); print(child.pid, flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    child_pid = int(parent.stdout.readline())
    os.kill(child_pid, 0)  # alive
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.waitpid(child_pid, os.WNOHANG)
        except ChildProcessError:
            pass
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        with open(f"/proc/{child_pid}/stat") as fh:
            if fh.read().split()[2] == "Z":
                return
        time.sleep(0.1)
    raise AssertionError("the child outlived its parent")
