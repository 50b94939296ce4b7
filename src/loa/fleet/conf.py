"""Fleet and gateway settings: a Django setting of that name wins, else the environment, else the default.

| name | default | meaning |
|---|---|---|
| LOA_COMMAND_SIGNING_KEY | (generated in the data dir) | base64 raw Ed25519 private key signing commands |
| LOA_MQTT_DEVICE_URL | the server's broker URL | broker URL given to devices at enrolment (public name, mqtts://) |
| LOA_MQTT_GATEWAY_PASSWORD | (generated in the data dir) | the gateway's broker password |
| LOA_MQTT_PID_FILE | <mqtt dir>/mosquitto.pid | pid of the broker to SIGHUP after regenerating its files |
| LOA_DEVICE_OFFLINE_AFTER_S | 180 | no status for this long → the device is offline |
| LOA_OFFLINE_ALARM_AFTER_S | 600 | offline for this long → an offline alarm is raised |
| LOA_STATUS_SAMPLE_INTERVAL_S | 300 | at most one status sample per device per interval goes to the history |
| LOA_ENROLMENT_CODE_TTL_H | 72 | default validity of an enrolment code |
| LOA_MAP_TILE_URL | "" | Leaflet tile URL template; empty = no tiles (plain background) |
| LOA_BOARD_SCREENSHOT_MAX_BYTES | 4194304 | largest screenshot upload a board may send (PNG or JPEG) |
| LOA_BOARD_SCREENSHOTS_KEPT | 10 | low-resolution screenshots kept per board (the oldest are deleted) |
| LOA_DEVICE_PHOTO_MAX_BYTES | 10485760 | largest installation photo accepted |
"""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "LOA_COMMAND_SIGNING_KEY": "",
    "LOA_MQTT_DEVICE_URL": "",
    "LOA_MQTT_GATEWAY_PASSWORD": "",
    "LOA_MQTT_PID_FILE": "",
    "LOA_DEVICE_OFFLINE_AFTER_S": 180,
    "LOA_OFFLINE_ALARM_AFTER_S": 600,
    "LOA_STATUS_SAMPLE_INTERVAL_S": 300,
    "LOA_ENROLMENT_CODE_TTL_H": 72,
    "LOA_MAP_TILE_URL": "",
    "LOA_BOARD_SCREENSHOT_MAX_BYTES": 4 * 1024 * 1024,
    "LOA_BOARD_SCREENSHOTS_KEPT": 10,
    "LOA_DEVICE_PHOTO_MAX_BYTES": 10 * 1024 * 1024,
}


def get(name: str) -> Any:
    default = DEFAULTS[name]
    value = getattr(settings, name, None)
    if value is None or value == "":
        value = os.environ.get(name, "")
    if value == "" or value is None:
        return default
    return type(default)(value) if not isinstance(default, str) else str(value)
