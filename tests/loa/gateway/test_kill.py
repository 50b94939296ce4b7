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

from loa.fleet.models import PlayLog
from loa.gateway.sample_messages import playlog_event, playlog_payload
from loa_protocol import topics
from tests.loa.fleet.brokers import MqttBroker, client_id  # type: ignore[import-not-found]
from tests.loa.fleet.devices import device_client, provision  # type: ignore[import-not-found]
from tests.subprocess_db import database_url  # type: ignore[import-not-found]
from tests.waiting import wait_until

pytestmark = pytest.mark.mqtt


GATEWAY_NAME = client_id("loa-gateway-kill-test")  # its persistent session is this run's alone


def _start_gateway(url: str, mqtt_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        LOA_DATABASE_URL=database_url(),
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
        assert len(sent) == 4 * 60 * 20
        wait_until(lambda: PlayLog.objects.count() >= len(sent), 60, message="play logs were lost")
        # No late duplicate: one marker event per device, sent after its burst, is ingested after the burst's
        # redelivered batches (the gateway ingests one device's logs in order), so once every marker is in, a
        # duplicate still on its way would be in too.
        markers = [playlog_event(c.device_id, kind="end") for c in creds]
        for client, c, marker in zip(clients, creds, markers, strict=True):
            client.publish(topics.playlog_topic(c.device_id), playlog_payload(c.device_id, [marker]))
        marker_ids = {m.event_id for m in markers}
        wait_until(lambda: PlayLog.objects.filter(event_id__in=marker_ids).count() == len(markers), 30)
        stored = list(PlayLog.objects.exclude(event_id__in=marker_ids).values_list("event_id", flat=True))
        assert len(stored) == len(sent)
        assert set(stored) == {e.event_id for e in sent}
    finally:
        for client in clients:
            client.close()
        gw.terminate()
        gw.wait(10)
