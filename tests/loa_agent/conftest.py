"""Fixtures for agent tests: a private Mosquitto per test (real broker, generated config, free loopback port)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from loa_protocol.mosquitto import MosquittoBroker, find_mosquitto


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Callable[..., MosquittoBroker]]:
    """``mosquitto(users=..., acl=...)`` starts a private broker; every broker is stopped after the test."""
    if find_mosquitto() is None:
        pytest.skip("cần Mosquitto (apt-get install mosquitto)")
    brokers: list[MosquittoBroker] = []

    def start(**kwargs: Any) -> MosquittoBroker:
        broker = MosquittoBroker(directory=tmp_path / f"mosquitto-{len(brokers)}", **kwargs)
        brokers.append(broker)
        return broker.start()

    yield start
    for broker in brokers:
        broker.stop()


@pytest.fixture
def broker(mosquitto: Callable[..., MosquittoBroker]) -> MosquittoBroker:
    """An open (anonymous) private broker, for tests that do not check isolation."""
    return mosquitto()


class ServerSide:
    """A paho client playing the server: signs and publishes commands, records what devices publish."""

    def __init__(
        self, broker: MosquittoBroker, username: str | None = None, password: str | None = None
    ) -> None:
        import paho.mqtt.client as mqtt

        from loa_protocol.signing import generate_keypair

        self.private_key, self.public_key = generate_keypair()
        self.messages: list[tuple[str, bytes, bool]] = []
        self.seq: dict[str, int] = {}
        self.broker = broker
        # A persistent session: what devices publish while this client is reconnecting is kept for it.
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"server-{id(self)}", clean_session=False
        )
        if username:
            self.client.username_pw_set(username, password)
        self.client.on_message = lambda c, u, msg: self.messages.append((msg.topic, msg.payload, msg.retain))
        self.client.reconnect_delay_set(0.1, 1)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("loa/v1/d/#", qos=1)
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()

    def credentials(self, device_id: str, unit_codes: list[str]) -> Any:
        from loa_protocol.messages import EnrolResponse
        from loa_protocol.topics import device_subscriptions

        return EnrolResponse(
            device_id=device_id,
            mqtt_url=self.broker.url,
            mqtt_username=device_id,
            mqtt_password=f"pw-{device_id}",
            server_public_key=self.public_key,
            unit_codes=unit_codes,
            subscriptions=device_subscriptions(device_id, unit_codes),
            media_base_url="http://127.0.0.1:1/media/",
            manifest_url=f"http://127.0.0.1:1/api/v1/fleet/devices/{device_id}/manifest",
        )

    def command(self, topic: str, action: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        from loa_protocol.signing import sign_command

        seq = kwargs.pop("seq", None)
        if seq is None:
            seq = self.seq[topic] = self.seq.get(topic, 0) + 1
        return sign_command(self.private_key, topic=topic, seq=seq, action=action, params=params, **kwargs)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        info.wait_for_publish(5)

    def received(self, kind: str) -> list[tuple[str, bytes]]:
        return [(t, p) for t, p, _ in list(self.messages) if t.endswith("/" + kind)]

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def server(broker: MosquittoBroker) -> Iterator[ServerSide]:
    side = ServerSide(broker)
    yield side
    side.close()
