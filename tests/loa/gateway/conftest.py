"""Fleet fixtures: brokers (our own Mosquitto with generated ACLs, or the shared one of ``LOA_MQTT_URL``)."""

from __future__ import annotations

import pytest

from tests.loa.fleet.brokers import (  # noqa: F401  (shared fixtures)
    MqttBroker,  # type: ignore[import-not-found]
    mosquitto,
    mqtt,
    mqtt_dir,
)


@pytest.fixture
def bus(request: pytest.FixtureRequest) -> MqttBroker:
    """The broker of a gateway test: our own when the test asks for ``mosquitto``, else ``mqtt``."""
    if "mosquitto" in request.fixturenames:
        embedded = request.getfixturevalue("mosquitto")
        return MqttBroker(embedded.url, embedded)
    return request.getfixturevalue("mqtt")  # type: ignore[no-any-return]
