"""MQTT topic names of protocol v1.

Device → server topics live under ``loa/v1/d/{device_id}/…`` (the broker ACL lets a device publish only there).
Server → device topics are per device (``loa/v1/dev/{device_id}/…``) or per group: the group topics mirror the
unit tree from the root, so one publish on ``loa/v1/g/22/cmd`` reaches every device of province 22, and one on
``loa/v1/g/22/06652/cmd`` every device of commune 06652.
"""

from __future__ import annotations

import re
import secrets

PREFIX = "loa/v1"

DEVICE_ID_RE = re.compile(r"^loa-[0-9a-f]{12}$")
# Province "22", commune "06652", zone "06652.001": letters, digits, dot, dash, underscore; never MQTT wildcards.
UNIT_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,31}$")

# What a device publishes (suffixes under loa/v1/d/{device_id}/).
STATUS = "status"
PRESENCE = "presence"
PLAYLOG = "playlog"
ACK = "ack"
DEVICE_KINDS = (STATUS, PRESENCE, PLAYLOG, ACK)

PRESENCE_ONLINE = "online"
PRESENCE_OFFLINE = "offline"

# QoS of each device → server topic (presence is also retained).
QOS = {STATUS: 0, PRESENCE: 1, PLAYLOG: 1, ACK: 1}
COMMAND_QOS = 1
MANIFEST_QOS = 1

# Filters the gateway subscribes to.
STATUS_FILTER = f"{PREFIX}/d/+/{STATUS}"
PRESENCE_FILTER = f"{PREFIX}/d/+/{PRESENCE}"
PLAYLOG_FILTER = f"{PREFIX}/d/+/{PLAYLOG}"
ACK_FILTER = f"{PREFIX}/d/+/{ACK}"
GATEWAY_FILTERS = (STATUS_FILTER, PRESENCE_FILTER, PLAYLOG_FILTER, ACK_FILTER)


class TopicError(ValueError):
    """A device id, unit code or topic that protocol v1 does not allow."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_device_id(value: str) -> bool:
    return bool(DEVICE_ID_RE.match(value))


def new_device_id() -> str:
    """A fresh random device id (``loa-`` + 12 lowercase hex characters)."""
    return "loa-" + secrets.token_hex(6)


def check_device_id(device_id: str) -> str:
    if not is_device_id(device_id):
        raise TopicError(
            "invalid_device_id",
            f"Mã thiết bị không hợp lệ: {device_id!r} (phải có dạng loa- và 12 chữ số hex thường).",
        )
    return device_id


def check_unit_codes(unit_codes: list[str] | tuple[str, ...]) -> list[str]:
    codes = list(unit_codes)
    if not codes:
        raise TopicError("empty_unit_path", "Cần ít nhất một mã đơn vị hành chính (từ tỉnh trở xuống).")
    for code in codes:
        if not UNIT_CODE_RE.match(code):
            raise TopicError("invalid_unit_code", f"Mã đơn vị không hợp lệ trong chủ đề MQTT: {code!r}.")
    return codes


def _device(device_id: str, kind: str) -> str:
    return f"{PREFIX}/d/{check_device_id(device_id)}/{kind}"


def status_topic(device_id: str) -> str:
    return _device(device_id, STATUS)


def presence_topic(device_id: str) -> str:
    return _device(device_id, PRESENCE)


def playlog_topic(device_id: str) -> str:
    return _device(device_id, PLAYLOG)


def ack_topic(device_id: str) -> str:
    return _device(device_id, ACK)


def device_command_topic(device_id: str) -> str:
    return f"{PREFIX}/dev/{check_device_id(device_id)}/cmd"


def manifest_topic(device_id: str) -> str:
    return f"{PREFIX}/dev/{check_device_id(device_id)}/manifest"


def group_command_topic(unit_codes: list[str] | tuple[str, ...]) -> str:
    """The command topic of a unit, given the codes from the root: ``["22", "06652"]`` → ``loa/v1/g/22/06652/cmd``."""
    return f"{PREFIX}/g/" + "/".join(check_unit_codes(unit_codes)) + "/cmd"


def device_subscriptions(device_id: str, unit_codes: list[str] | tuple[str, ...]) -> list[str]:
    """Every topic a device subscribes to: its own command and manifest topics, and the group command topic of
    every ancestor of its unit (root first)."""
    codes = check_unit_codes(unit_codes)
    topics = [device_command_topic(device_id), manifest_topic(device_id)]
    topics += [group_command_topic(codes[: i + 1]) for i in range(len(codes))]
    return topics


GATEWAY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def gateway_status_topic(client_id: str) -> str:
    """The retained status of the gateway that holds MQTT identity ``client_id`` (server side only: devices can
    neither read nor write ``loa/v1/s/#``). ``online`` while it runs, ``offline`` when it stops or its will fires."""
    if not GATEWAY_ID_RE.match(client_id):
        raise TopicError("gateway_id_invalid", f"mã kết nối của gateway không hợp lệ: {client_id!r}")
    return f"{PREFIX}/s/gateway/{client_id}"


def parse_device_topic(topic: str) -> tuple[str, str] | None:
    """``loa/v1/d/{device_id}/{kind}`` → ``(device_id, kind)``; ``None`` for anything else."""
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != "loa" or parts[1] != "v1" or parts[2] != "d":
        return None
    if not is_device_id(parts[3]) or parts[4] not in DEVICE_KINDS:
        return None
    return parts[3], parts[4]


def device_id_from_topic(topic: str) -> str | None:
    """The device id of a device → server topic, or ``None`` when the topic is not one."""
    parsed = parse_device_topic(topic)
    return parsed[0] if parsed else None


def group_unit_codes(topic: str) -> list[str] | None:
    """``loa/v1/g/22/06652/cmd`` → ``["22", "06652"]``; ``None`` for anything else."""
    parts = topic.split("/")
    if len(parts) < 5 or parts[:3] != ["loa", "v1", "g"] or parts[-1] != "cmd":
        return None
    codes = parts[3:-1]
    try:
        return check_unit_codes(codes)
    except TopicError:
        return None
