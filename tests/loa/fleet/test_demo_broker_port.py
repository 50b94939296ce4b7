"""The demo runs its fleet against its own broker (review 2026-12-05, item 1): with no port set it picks a free
loopback one (another demo's broker on 18830 answered our gateway "Not authorized"), a busy port set explicitly
stops the demo at once naming the port and the variable, and a fleet process that dies is said on the console."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from loa.fleet.demo import demo_broker_port, watch_demo_fleet
from tests.waiting import wait_until


def test_without_a_port_the_demo_picks_a_free_one_not_the_busy_default(
    monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Path
) -> None:
    settings.DATA_DIR = tmp_path
    monkeypatch.delenv("LOA_MQTT_EMBEDDED_PORT", raising=False)
    with socket.socket() as other:  # another demo's broker on the default port
        try:
            other.bind(("127.0.0.1", 18830))
            other.listen()
        except OSError:
            pass  # already held by someone else: the same situation
        port = demo_broker_port()
        assert port != 18830
        assert os.environ["LOA_MQTT_EMBEDDED_PORT"] == str(port), "the gateway and simulator inherit it"
        with socket.socket() as ours:
            ours.bind(("127.0.0.1", port))  # free


def test_an_explicit_busy_port_stops_the_demo_at_once(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        busy = other.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
        env.update(LOA_DATA_DIR=str(tmp_path), LOA_MQTT_EMBEDDED_PORT=str(busy))
        try:
            done = subprocess.run(
                [sys.executable, "-c", "from loa.cli import main; main()", "demo", "--port", "1"],
                env=env, capture_output=True, text=True, timeout=60,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise AssertionError("the demo kept running on a busy broker port") from exc
    assert done.returncode != 0
    assert f"Cổng {busy}" in done.stderr and "LOA_MQTT_EMBEDDED_PORT" in done.stderr, done.stderr
    assert not (tmp_path / "db.sqlite3").exists() or "Tài khoản" not in done.stdout, "stopped before seeding"


def test_a_dead_fleet_process_is_said_on_the_console(tmp_path: Path) -> None:
    said: list[str] = []
    dying = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    living = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        before = set(threading.enumerate())
        stopping = watch_demo_fleet([living, dying], tmp_path / "demo-fleet.log", said.append, interval=0.05)
        (watcher,) = [t for t in threading.enumerate() if t not in before and t.name == "demo-fleet-watch"]
        wait_until(lambda: said, 10)
        assert len(said) == 1, said
        assert "cụm loa mô phỏng" in said[0] and "mã thoát 3" in said[0] and "demo-fleet.log" in said[0]
        stopping.set()
        living.terminate()
        living.wait(10)
        # once the watcher has ended it can say nothing more: no fixed sleep decides that nothing else was said
        watcher.join(10)
        assert not watcher.is_alive()
        assert len(said) == 1, "stopping on purpose is not reported"
    finally:
        living.kill()
        living.wait()
