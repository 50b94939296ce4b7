"""Helpers shared by the fleet and gateway tests: provisioned devices and a minimal device client.

The full reference agent lives in ``loa_agent``; this is only a thin paho client that speaks the topics, used to
drive the gateway and to attack the broker's ACL.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from loa.fleet import broker
from loa_protocol import topics


@dataclass
class DeviceCredentials:
    device_id: str
    password: str
    unit_codes: list[str]


def provision(unit: Any, n: int, *, actor: Any = None, write_files: bool = True) -> list[DeviceCredentials]:
    from loa.fleet.services import do_provision_device

    creds = []
    for i in range(n):
        device, password = do_provision_device(
            unit, actor=actor, serial=f"SIM-{i:05d}-{uuid.uuid4().hex[:6]}"
        )
        creds.append(DeviceCredentials(device.device_id, password, list(broker.unit_codes_of(unit.path))))
    if write_files:
        broker.write_broker_files()
    return creds


@dataclass
class Received:
    messages: list[mqtt.MQTTMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def topics(self) -> list[str]:
        with self.lock:
            return [m.topic for m in self.messages]


class MqttClient:
    """A blocking paho client: connect (raising on refusal), subscribe (returning granted QoS), publish."""

    def __init__(
        self, url: str, username: str, password: str, client_id: str | None = None, **kw: Any
    ) -> None:
        self.target = broker.parse_mqtt_url(url)
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"{username}-{uuid.uuid4().hex[:6]}",
            protocol=mqtt.MQTTv311,
            **kw,
        )
        self.client.username_pw_set(username, password)
        self.received = Received()
        self._connected = threading.Event()
        self._connect_rc: Any = None
        self._subacks: dict[int, list[Any]] = {}
        self._suback_event = threading.Condition()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connect_rc = reason
        self._connected.set()

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self.received.lock:
            self.received.messages.append(msg)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        with self._suback_event:
            self._subacks[mid] = list(reasons)
            self._suback_event.notify_all()

    def connect(self, timeout: float = 5.0, will: tuple[str, bytes] | None = None) -> MqttClient:
        if will:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self.client.connect(self.target.host, self.target.port, keepalive=10)
        self.client.loop_start()
        if not self._connected.wait(timeout):
            self.close()
            raise ConnectionError("no CONNACK")
        if self._connect_rc is not None and self._connect_rc.is_failure:
            self.close()
            raise ConnectionRefusedError(str(self._connect_rc))
        return self

    def subscribe(self, topic: str, qos: int = 1, timeout: float = 5.0) -> int:
        """The granted QoS (0–2) or 128 when the broker refused the subscription."""
        _rc, mid = self.client.subscribe(topic, qos)
        with self._suback_event:
            self._suback_event.wait_for(lambda: mid in self._subacks, timeout)
        reasons = self._subacks.get(mid or 0) or []
        if not reasons:
            raise TimeoutError("no SUBACK")
        return 128 if reasons[0].is_failure else int(reasons[0].value)

    def publish(self, topic: str, payload: bytes | str, qos: int = 1, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if qos:
            info.wait_for_publish(5)

    def wait_for(self, predicate: Any, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.received.lock:
                if predicate(self.received.messages):
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def device_client(url: str, creds: DeviceCredentials, **kw: Any) -> MqttClient:
    return MqttClient(url, creds.device_id, creds.password, client_id=creds.device_id, **kw)


__all__ = ["DeviceCredentials", "MqttClient", "device_client", "provision", "topics"]
