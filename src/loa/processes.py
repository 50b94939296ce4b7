"""Child processes of ``loa serve`` / ``loa demo`` (worker, gateway, simulator) that die with their parent,
however the parent ends (Ctrl-C, SIGTERM, kill -9).

Each child leads a process group of its own, so whatever it starts in turn (django-q2's sentinel, workers, monitor
and pusher under ``loa qcluster``) can be stopped with it. :func:`stop` asks each child to stop (SIGTERM), waits,
then ends what is left of its group. If the parent is killed outright, Linux delivers SIGTERM to each child
(``PR_SET_PDEATHSIG``)."""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from types import FrameType
from typing import Any

PR_SET_PDEATHSIG = 1

log = logging.getLogger(__name__)


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


class Supervised:
    """A child started again when it ends by itself (``kill -9``, the kernel's out-of-memory killer): ``loa serve``'s
    background worker, which otherwise would leave every job it ran — and every job after it — waiting for a worker
    that never comes (under systemd, ``loa-worker.service`` restarts it instead). One line each time; after
    ``max_restarts`` ends within ``window_s`` seconds it is left stopped, with an error line, rather than started in
    a loop."""

    def __init__(
        self,
        args: list[str],
        name: str,
        *,
        check_s: float = 1.0,
        max_restarts: int = 5,
        window_s: float = 60.0,
    ) -> None:
        self.args, self.name = args, name
        self.check_s, self.max_restarts, self.window_s = check_s, max_restarts, window_s
        self.restarts: list[float] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.proc = spawn(args)
        # The watcher spawns the replacements, and a child spawned by a thread gets its parent-death signal when
        # that thread ends: so the thread lives as long as the supervision (stopped only by :meth:`stop`).
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(self.check_s):
            with self._lock:
                code = self.proc.poll()
                if code is None or self._stopping.is_set():
                    continue
                now = time.monotonic()
                self.restarts = [t for t in self.restarts if now - t < self.window_s]
                if len(self.restarts) >= self.max_restarts:
                    log.error(
                        "%s đã dừng %d lần trong %d giây (mã thoát %s): không khởi động lại nữa, hãy xem nhật ký",
                        self.name, len(self.restarts) + 1, int(self.window_s), code,
                    )  # fmt: skip
                    return
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(self.proc.pid, signal.SIGKILL)  # what it started, if anything is left of it
                self.restarts.append(now)
                log.warning("%s đã dừng (mã thoát %s): khởi động lại", self.name, code)
                self.proc = spawn(self.args)

    def stop(self, timeout: float = 15) -> None:
        with self._lock:
            self._stopping.set()
        stop([self.proc], timeout=timeout)
        self._thread.join(self.check_s + 5)
