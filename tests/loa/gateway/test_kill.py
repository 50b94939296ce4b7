"""``kill -9`` the gateway process during a burst of play logs, restart it: every log the broker acknowledged to
a device is in the database exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from loa.fleet.models import PlayLog
from loa.fleet.testing import device_client, playlog_event, playlog_payload, provision
from loa_protocol import topics
from tests.loa.fleet.brokers import MqttBroker, client_id  # type: ignore[import-not-found]

pytestmark = pytest.mark.mqtt


GATEWAY_NAME = client_id("loa-gateway-kill-test")  # its persistent session is this run's alone


def _start_gateway(url: str, mqtt_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        LOA_DATABASE_URL=f"sqlite:///{connection.settings_dict['NAME']}",
        LOA_MQTT_DIR=str(mqtt_dir),
        LOA_GATEWAY_CLIENT_ID=GATEWAY_NAME,
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
        stdout=subprocess.DEVNULL,
        stderr=open(log, "ab"),
    )


def _wait(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timeout"
        time.sleep(0.05)


def _wait_subscribed() -> None:
    from loa.gateway.models import GatewayState

    _wait(lambda: GatewayState.objects.filter(name=GATEWAY_NAME, connected=True).exists())


def test_kill_9_during_burst_loses_nothing(
    tree: dict, transactional_db: None, mqtt: MqttBroker, mqtt_dir: Path, tmp_path: Path
) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the subprocess reuses the SQLite test database file")
    creds = provision(tree["a"], 4)
    log = tmp_path / "gateway.log"
    gw = _start_gateway(mqtt.url, mqtt_dir, log)
    _wait_subscribed()
    clients = [device_client(mqtt.url, c).connect() for c in creds]
    sent: list[Any] = []
    try:
        for round_ in range(60):
            for client, c in zip(clients, creds, strict=True):
                events = [playlog_event(c.device_id) for _ in range(20)]
                sent += events
                client.publish(
                    topics.playlog_topic(c.device_id), playlog_payload(c.device_id, events)
                )  # waits PUBACK
            if round_ == 20:
                gw.send_signal(signal.SIGKILL)  # mid-burst: the last batches are in flight, unacknowledged
                gw.wait(10)
                assert PlayLog.objects.count() <= len(sent)
            if round_ == 40:
                gw = _start_gateway(mqtt.url, mqtt_dir, log)
        deadline = time.monotonic() + 30
        while PlayLog.objects.count() < len(sent) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        stored = set(PlayLog.objects.values_list("event_id", flat=True))
        assert PlayLog.objects.count() == len(sent) == 4 * 60 * 20
        assert stored == {e.event_id for e in sent}
    finally:
        for client in clients:
            client.close()
        gw.terminate()
        gw.wait(10)
