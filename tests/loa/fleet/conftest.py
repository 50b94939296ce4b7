"""Fleet fixtures: brokers (our own Mosquitto with generated ACLs, or the shared one of ``LOA_MQTT_URL``)."""

from tests.loa.fleet.brokers import mosquitto, mqtt, mqtt_dir  # noqa: F401  (shared fixtures)
