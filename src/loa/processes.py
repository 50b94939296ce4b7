"""Child processes of ``loa serve`` / ``loa demo`` (worker, gateway, simulator) that die with their parent,
however the parent ends (Ctrl-C, SIGTERM, kill -9): Linux delivers SIGTERM to them when it goes."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
from typing import Any

PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def spawn(args: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, preexec_fn=_die_with_parent, **kwargs)


def stop(procs: list[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
