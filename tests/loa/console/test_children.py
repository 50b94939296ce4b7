"""Processes started by `loa serve` / `loa demo` end when their parent ends, even after kill -9."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.loa.console.test_demo_live import _descendants  # type: ignore[import-not-found]


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


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_stop_ends_a_child_that_ignores_sigterm_and_what_it_started() -> None:
    """A worker that does not stop when asked (django-q2 waiting on a task) is ended after the timeout, and so are
    its own children (the sentinel and its workers), which no signal from the parent's death would reach."""
    from loa.processes import spawn, stop

    child = spawn(
        [
            sys.executable,
            "-c",
            "import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
            "g = subprocess.Popen(['sleep', '120']); print(g.pid, flush=True); time.sleep(120)",
        ],
        stdout=subprocess.PIPE,
    )
    assert child.stdout is not None
    grandchild = int(child.stdout.readline())
    started = time.monotonic()
    stop([child], timeout=1)
    took = time.monotonic() - started
    assert child.returncode == -signal.SIGKILL, child.returncode
    assert 0.9 <= took < 5, took
    deadline = time.monotonic() + 5
    while not _gone(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(grandchild), "the worker's own child outlived the stop"


def test_a_child_that_stops_when_asked_is_not_waited_for() -> None:
    from loa.processes import spawn, stop

    child = spawn(["sleep", "120"])
    started = time.monotonic()
    stop([child], timeout=10)
    assert child.returncode == -signal.SIGTERM
    assert time.monotonic() - started < 2


def test_serve_stops_its_worker_on_sigterm_and_exits_cleanly(tmp_path: Path) -> None:
    """`loa serve` under systemd or `kill`: SIGTERM stops the web server, then the background worker it started
    (django-q2's whole tree), and the exit status is 0 (a requested stop)."""
    from loa_protocol.ports import reserve_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env.update(LOA_DATA_DIR=str(tmp_path))
    loa = [sys.executable, "-c", "from loa.cli import main; main()"]
    subprocess.run([*loa, "migrate", "-v0"], env=env, check=True)
    port = reserve_port()
    serve = subprocess.Popen([*loa, "serve", "--port", str(port)], env=env)
    try:
        deadline = time.monotonic() + 60
        tree: set[int] = set()
        while time.monotonic() < deadline and len(tree) < 3:  # worker, its sentinel, its pool…
            tree = _live_descendants(serve.pid)
            time.sleep(0.2)
        assert len(tree) >= 3, tree
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        tree = _live_descendants(serve.pid)
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(30) == 0
        assert all(_gone(pid) for pid in tree), [pid for pid in tree if not _gone(pid)]
    finally:
        if serve.poll() is None:
            serve.kill()


def _live_descendants(pid: int) -> set[int]:
    return {p for p in _descendants(pid) if not _gone(p)}


def test_a_supervised_child_killed_is_started_again_and_stopped_with_its_parent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`loa serve`'s worker killed (kill -9, out of memory) is started again, so the jobs it left are taken again
    (loa.jobs.lease) instead of waiting for a worker that never comes."""
    from loa.processes import Supervised

    caplog.set_level(logging.WARNING, logger="loa.processes")
    child = Supervised(["sleep", "120"], "tiến trình thử", check_s=0.1)
    try:
        first = child.proc.pid
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while child.proc.pid == first and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.proc.pid != first and child.proc.poll() is None
        assert "tiến trình thử đã dừng (mã thoát -9): khởi động lại" in caplog.text
    finally:
        child.stop(timeout=5)
    assert child.proc.returncode == -signal.SIGTERM
    time.sleep(0.3)
    assert len(child.restarts) == 1  # a requested stop is not a death to repair


def test_a_child_that_keeps_dying_is_left_stopped_with_one_error(caplog: pytest.LogCaptureFixture) -> None:
    from loa.processes import Supervised

    caplog.set_level(logging.WARNING, logger="loa.processes")
    child = Supervised(["false"], "tiến trình hỏng", check_s=0.05, max_restarts=3, window_s=60)
    deadline = time.monotonic() + 10
    while child._thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    child.stop(timeout=2)
    assert len(child.restarts) == 3
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "không khởi động lại nữa" in errors[0].getMessage()


def test_serve_starts_its_worker_again_when_it_is_killed(tmp_path: Path) -> None:
    from loa_protocol.ports import reserve_port

    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env.update(LOA_DATA_DIR=str(tmp_path))
    loa = [sys.executable, "-c", "from loa.cli import main; main()"]
    subprocess.run([*loa, "migrate", "-v0"], env=env, check=True)
    serve = subprocess.Popen([*loa, "serve", "--port", str(reserve_port())], env=env, stderr=subprocess.PIPE,
                             text=True)  # fmt: skip

    def workers() -> set[int]:
        return {p for p in _live_descendants(serve.pid) if "qcluster" in _cmdline(p)}

    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers()) < 2:  # the cluster and its own processes
            time.sleep(0.2)
        first = workers()
        assert first, "no worker started"
        leader = next(p for p in first if _parent(p) == serve.pid)  # serve's child leads the others' group
        os.killpg(os.getpgid(leader), signal.SIGKILL)  # the whole cluster, as a new user's walk did
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (workers() - first):
            time.sleep(0.2)
        assert workers() - first, "the worker was not started again"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(30)
    assert serve.stderr is not None
    assert "tiến trình tác vụ nền đã dừng (mã thoát -9): khởi động lại" in serve.stderr.read()


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return 0
