"""Fleet fixtures: brokers (our own Mosquitto with generated ACLs, or the shared one of ``LOA_MQTT_URL``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loa.fleet import broker
from tests.loa.fleet.brokers import MqttBroker, own_broker, shared_or_own_broker  # type: ignore[import-not-found]


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


@pytest.fixture
def bus(request: pytest.FixtureRequest) -> MqttBroker:
    """The broker of a gateway test: our own when the test asks for ``mosquitto``, else ``mqtt``."""
    if "mosquitto" in request.fixturenames:
        embedded = request.getfixturevalue("mosquitto")
        return MqttBroker(embedded.url, embedded)
    return request.getfixturevalue("mqtt")  # type: ignore[no-any-return]
