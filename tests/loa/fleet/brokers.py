"""MQTT brokers for the fleet and gateway tests (imported by both conftests).

* ``mosquitto``: always our own Mosquitto with Loa's generated password and ACL files on a free loopback port.
  Tests of isolation, credentials, broker configuration (packet size) and broker restarts use it.
* ``mqtt``: the broker named by ``LOA_MQTT_URL`` when it is set (CI runs the suite a second time against the
  machine's Mosquitto: anonymous, no ACLs), else our own as above. Tests that check neither isolation nor
  credentials (ingest, the outbox, presence, "play now" end to end) use it.

A shared broker is also used by other runs, earlier or at the same time. So that they cannot interfere, a test
on ``mqtt`` gets a province code of its own (group command topics mirror the unit tree, so ``loa/v1/g/<code>/…``
is then this test's alone), device ids are random, the gateway's client id is unique (:func:`client_id`), and the
retained messages the test's devices leave (presence, manifests) are cleared at the end.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

from loa.fleet import broker
from loa.units.models import Unit
from loa_protocol import topics

RUN_ID = uuid.uuid4().hex[:8]


def external_url() -> str | None:
    url = os.environ.get("LOA_MQTT_URL", "").strip()
    return url if url and url != "embedded" else None


def client_id(name: str) -> str:
    """A client id no other run uses (persistent sessions are keyed by it)."""
    return f"{name}-{RUN_ID}-{uuid.uuid4().hex[:6]}"


@dataclass
class MqttBroker:
    url: str
    embedded: broker.EmbeddedBroker | None

    @property
    def shared(self) -> bool:
        return self.embedded is None


def own_broker(mqtt_dir: Path, settings: Any) -> Iterator[broker.EmbeddedBroker]:
    if broker.mosquitto_binary() is None:
        pytest.skip("cần Mosquitto (apt-get install mosquitto) cho các phép thử ACL")
    embedded = broker.EmbeddedBroker(mqtt_dir)
    settings.LOA_MQTT_URL = embedded.url
    embedded.start()
    yield embedded
    embedded.stop()


def give_tree_its_own_province(tree: dict[str, Unit]) -> None:
    """Rename the province of ``tree`` to a code no other run uses; the paths below follow."""
    province = tree["province"]
    old_path = province.path
    province.code = f"t{RUN_ID}"[:16]
    province.save()
    for unit in Unit.objects.filter(path__startswith=old_path).exclude(pk=province.pk).order_by("level"):
        unit.save()  # recomputes the path from the parent's
    for key, unit in list(tree.items()):
        tree[key] = Unit.objects.get(pk=unit.pk)


def clear_retained(url: str, device_ids: list[str]) -> None:
    """Publish empty retained messages over what the test's devices left (presence, manifests)."""
    if not device_ids:
        return
    target = broker.parse_mqtt_url(url)
    c = paho.Client(
        callback_api_version=paho.CallbackAPIVersion.VERSION2, client_id=client_id("loa-test-cleanup")
    )
    with contextlib.suppress(OSError):
        c.connect(target.host, target.port, keepalive=10)
        c.loop_start()
        infos = []
        for d in device_ids:
            infos.append(c.publish(topics.presence_topic(d), b"", qos=1, retain=True))
            infos.append(c.publish(topics.manifest_topic(d), b"", qos=1, retain=True))
        for info in infos:
            info.wait_for_publish(5)
        c.disconnect()
        c.loop_stop()


def shared_or_own_broker(mqtt_dir: Path, settings: Any, tree: dict[str, Unit]) -> Iterator[MqttBroker]:
    give_tree_its_own_province(tree)
    url = external_url()
    if url is None:
        for embedded in own_broker(mqtt_dir, settings):
            yield MqttBroker(embedded.url, embedded)
        return
    settings.LOA_MQTT_URL = url
    yield MqttBroker(url, None)
    from loa.fleet.models import Device

    clear_retained(url, list(Device.objects.values_list("device_id", flat=True)))


# ---- fixtures, imported by the conftests of fleet, gateway and broadcast -----------------------------------


@pytest.fixture
def mqtt_dir(tmp_path: Path, settings: Any) -> Path:
    directory = tmp_path / "mqtt"
    directory.mkdir()
    settings.LOA_MQTT_DIR = str(directory)
    return directory


@pytest.fixture
def mosquitto(mqtt_dir: Path, settings: Any) -> Iterator[broker.EmbeddedBroker]:
    """Always our own Mosquitto with Loa's password and ACL files (isolation, credentials, restarts)."""
    yield from own_broker(mqtt_dir, settings)


@pytest.fixture
def mqtt(mqtt_dir: Path, settings: Any, tree: dict, transactional_db: None) -> Iterator[MqttBroker]:
    """``LOA_MQTT_URL``'s broker when set, else our own; the tree gets a province code of its own."""
    yield from shared_or_own_broker(mqtt_dir, settings, tree)
