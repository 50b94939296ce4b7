"""Waiting for PUBACKs ends when the broker is gone (loa.gateway.confirm), against a real Mosquitto."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from loa.gateway.confirm import publish_confirmed
from loa_protocol.mosquitto import MosquittoBroker


def _client(broker: MosquittoBroker) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="confirm-test")
    client.connect("127.0.0.1", broker.port)
    client.loop_start()
    deadline = time.monotonic() + 5
    while not client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert client.is_connected()
    return client


def test_everything_confirmed_is_returned_in_order(tmp_path: Path) -> None:
    broker = MosquittoBroker(directory=tmp_path / "mqtt", persistence=False).start()
    client = _client(broker)
    try:
        keys = publish_confirmed(client, [(i, f"loa/test/{i}", b"x") for i in range(20)], wait_s=5)
        assert keys == list(range(20))
    finally:
        client.loop_stop()
        client.disconnect()
        broker.stop()


def test_a_broker_gone_with_a_message_in_flight_ends_the_wait_at_once(tmp_path: Path) -> None:
    """The broker stops answering (SIGSTOP: no PUBACK), then dies with the message in flight: nothing is
    confirmed, and the wait ends about when the connection does, not after ``wait_s`` (the gateway's loop — and
    the console's view of the outage — waited 5 s)."""
    broker = MosquittoBroker(directory=tmp_path / "mqtt", persistence=False).start()
    client = _client(broker)
    assert broker.process is not None
    pid = broker.process.pid
    try:
        broker.process.send_signal(signal.SIGSTOP)
        killed_at: list[float] = []

        def kill() -> None:
            time.sleep(0.5)
            killed_at.append(time.monotonic())
            broker.process.send_signal(signal.SIGKILL)  # type: ignore[union-attr]

        threading.Thread(target=kill).start()
        t0 = time.monotonic()
        keys = publish_confirmed(client, [("a", "loa/test/a", b"x"), ("b", "loa/test/b", b"y")], wait_s=10)
        ended = time.monotonic()
        assert keys == []
        assert killed_at, "the wait ended before the broker was gone"
        assert ended - killed_at[0] < 1.5, (
            f"the wait went on {ended - killed_at[0]:.2f} s after the broker died"
        )
        assert ended - t0 < 3
    finally:
        client.loop_stop()
        broker.process.wait(timeout=10)
        assert broker.process.pid == pid
        broker.stop()
