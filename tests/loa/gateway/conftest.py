"""Fleet fixtures: a real Mosquitto with Loa's generated password and ACL files, on a free loopback port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loa.fleet import broker


@pytest.fixture
def mqtt_dir(tmp_path: Path, settings: Any) -> Path:
    directory = tmp_path / "mqtt"
    directory.mkdir()
    settings.LOA_MQTT_DIR = str(directory)
    return directory


@pytest.fixture
def mosquitto(mqtt_dir: Path, settings: Any) -> Iterator[broker.EmbeddedBroker]:
    if broker.mosquitto_binary() is None:
        pytest.skip("cần Mosquitto (apt-get install mosquitto) cho các phép thử ACL")
    embedded = broker.EmbeddedBroker(mqtt_dir)
    settings.LOA_MQTT_URL = embedded.url
    embedded.start()
    yield embedded
    embedded.stop()
