"""Child processes of ``loa serve`` / ``loa demo`` (worker, gateway, simulator) that die with their parent,
however the parent ends (Ctrl-C, SIGTERM, kill -9).

Each child leads a process group of its own, so whatever it starts in turn (django-q2's sentinel, workers, monitor
and pusher under ``loa qcluster``) can be stopped with it. :func:`stop` asks each child to stop (SIGTERM), waits,
then ends what is left of its group. If the parent is killed outright, Linux delivers SIGTERM to each child
(``PR_SET_PDEATHSIG``)."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from types import FrameType
from typing import Any

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, preexec_fn=_die_with_parent, process_group=0, **kwargs)


def stop(procs: list[subprocess.Popen[bytes]], timeout: float = 15) -> None:
    """Stop every child at once and wait at most ``timeout`` seconds in all; then end whatever is left in their
    process groups (a worker's own children too), so nothing outlives the parent."""
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + timeout
    for proc in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.0, deadline - time.monotonic()))
    for proc in procs:
        # a group outlives its leader while a member lives, and its number is not given to a new process meanwhile
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def stop_on_sigterm() -> None:
    """SIGTERM (systemd, ``kill``) ends the process as Ctrl-C does: by an exception, so ``finally`` blocks stop the
    children. (uvicorn shuts down on SIGTERM, then raises it again: with the default action the process would die
    there, its ``finally`` blocks unrun.) The exit status is 0, a requested stop; a second SIGTERM while stopping is
    ignored, so the stop finishes."""

    def handler(_signum: int, _frame: FrameType | None) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, handler)
