"""One gateway per MQTT identity, and health that does not need the database (issue 21 item 4), against a real
Mosquitto with Loa's password and ACL files."""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from loa.fleet import broker
from loa.gateway.identity import IdentityTaken, KickWatch
from loa.gateway.models import GatewayState
from loa.gateway.service import Gateway, GatewayOptions
from loa_protocol.ports import reserve_port
from tests.loa.fleet.brokers import client_id  # type: ignore[import-not-found]
from tests.subprocess_db import database_url  # type: ignore[import-not-found]
from tests.waiting import wait_until  # type: ignore[import-not-found]


def _gateway_process(url: str, mqtt_dir: Path, name: str) -> subprocess.Popen[str]:
    env = dict(
        os.environ, LOA_DATABASE_URL=database_url(), LOA_MQTT_DIR=str(mqtt_dir), LOA_GATEWAY_CLIENT_ID=name
    )
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from loa.cli import main; main()",
            "gateway",
            "--url",
            url,
            "--no-embedded-broker",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_second_gateway_with_the_same_identity_on_this_host_refuses_to_start(
    transactional_db: None, mosquitto: broker.EmbeddedBroker, mqtt_dir: Path, tmp_path: Path
) -> None:
    broker.write_broker_files()  # the gateway's own user in the password file
    name = client_id("loa-gateway-twin")
    first = _gateway_process(mosquitto.url, mqtt_dir, name)
    try:
        try:
            wait_until(
                lambda: GatewayState.objects.filter(name=name, connected=True).exists(),
                60,
                message="the first gateway to connect",
            )
        except AssertionError:
            first.terminate()
            raise AssertionError(first.communicate(timeout=30)) from None
        second = _gateway_process(mosquitto.url, mqtt_dir, name)
        out, err = second.communicate(timeout=60)
        assert second.returncode == 3, (out, err)
        assert f"Gateway với mã kết nối '{name}' đang chạy trên máy này" in err
        assert f"tiến trình {first.pid}@" in err and "dừng tiến trình kia" in err
        assert "Traceback" not in err
        assert "khởi động" not in out + err and "kết nối tới" not in out + err  # only why it does not start
        assert first.poll() is None, "the running gateway is left alone"
        state = GatewayState.objects.get(name=name)
        assert state.pid == first.pid and state.host == socket.gethostname()
    finally:
        first.terminate()
        first.wait(timeout=30)
    # a clean stop lets the next one start
    third = _gateway_process(mosquitto.url, mqtt_dir, name)
    try:
        wait_until(
            lambda: GatewayState.objects.get(name=name).pid == third.pid,
            30,
            message="the next gateway to take over",
        )
        assert third.poll() is None
    finally:
        third.terminate()
        third.wait(timeout=30)


@pytest.mark.parametrize(
    ("host", "age_s", "connected", "refused"),
    [
        ("may-chu-khac", 3, True, True),  # another host, alive a moment ago: a twin
        ("may-chu-khac", 60, True, False),  # another host that stopped writing a minute ago: gone
        ("may-chu-khac", 3, False, False),  # another host that said it disconnected
        (
            socket.gethostname(),
            3,
            True,
            False,
        ),  # this host: the lock file decides (a kill -9 restart is fine)
    ],
)
def test_a_gateway_alive_on_another_host_holds_the_identity(
    transactional_db: None,
    tmp_path: Path,
    settings: Any,
    host: str,
    age_s: int,
    connected: bool,
    refused: bool,
) -> None:
    settings.DATA_DIR = str(tmp_path)
    name = client_id("loa-gateway-ha")
    GatewayState.objects.create(
        name=name,
        started_at=timezone.now() - dt.timedelta(hours=1),
        heartbeat_at=timezone.now() - dt.timedelta(seconds=age_s),
        connected=connected,
        host=host,
        pid=4242,
    )
    gateway = Gateway(
        GatewayOptions(url="mqtt://127.0.0.1:1", client_id=name, check_identity=True, poke=False)
    )
    if refused:
        with pytest.raises(IdentityTaken) as taken:
            gateway.start()
        assert "máy may-chu-khac, tiến trình 4242" in taken.value.message
        assert not gateway.client.is_connected()
        # the lock of this host was given back: a gateway of this identity may start once the other is gone
        GatewayState.objects.filter(name=name).update(connected=False)
    gateway = Gateway(
        GatewayOptions(url="mqtt://127.0.0.1:1", client_id=name, check_identity=True, poke=False)
    )
    gateway.start()
    gateway.stop()
    gateway.client.loop_stop()
    if gateway._lock is not None:
        gateway._lock.release()


@pytest.mark.parametrize(
    ("gaps", "alarms"),
    [
        ([0, 1, 2], [False, False, True]),  # three within a minute: a twin
        ([0, 30, 91, 92], [False, False, False, False]),  # spread out: a flaky link, not a twin
        ([0, 1, 2, 3, 4], [False, False, True, False, False]),  # alarmed once per window, not at every kick
        ([0, 1, 2, 70, 71, 72], [False, False, True, False, False, True]),  # and again in a later window
    ],
)
def test_repeated_kicks_alarm_once_per_window(gaps: list[float], alarms: list[bool]) -> None:
    watch = KickWatch()
    assert [watch.disconnected(now=t) for t in gaps] == alarms


def _health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())
    except urllib.error.URLError:
        return 0, {}  # not listening yet


def test_health_answers_without_the_database_and_sees_the_broker_go_within_a_second(
    transactional_db: None, mosquitto: broker.EmbeddedBroker, mqtt_dir: Path
) -> None:
    broker.write_broker_files()  # the gateway's own user in the password file
    port = reserve_port()
    name = client_id("loa-gateway-health")
    gateway = Gateway(
        GatewayOptions(url=mosquitto.url, client_id=name, health_port=port, state_interval=0.5, poke=False)
    )
    thread = threading.Thread(target=gateway.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: _health(port)[0] == 200, 20, message="the gateway to be healthy")
        _status, body = _health(port)
        assert body["connected"] is True and body["database"] == "up" and body["client_id"] == name
        mosquitto.stop()
        # within a second of the broker going away the gateway says so, without asking the database
        wait_until(lambda: _health(port)[0] == 503, 1.5, message="503 within a second of the broker leaving")
        assert _health(port)[1]["connected"] is False
        mosquitto.start()
        wait_until(lambda: _health(port)[0] == 200, 5, message="healthy again once the broker is back")
    finally:
        gateway.stop()
        thread.join(timeout=30)
