"""Vendor adapters: one package per device family (like Home Assistant integrations).

An adapter turns what a vendor's devices send into Loa's protocol models (so the registry, the gateway's
batching and the console never see vendor formats) and turns Loa's commands into what the devices accept.
Loa's own protocol (``loa``) is the first adapter; a vendor's MQTT or HTTP dialect adds a package next to it
and registers itself in :data:`ADAPTERS`. ``Device.adapter`` names the adapter of each device.
"""

from __future__ import annotations

from typing import Protocol

from loa_protocol.messages import Command, CommandAck, PlayLogBatch, Status


class DeviceAdapter(Protocol):
    name: str
    label: str

    def decode_status(self, payload: bytes) -> Status: ...

    def decode_playlog(self, payload: bytes) -> PlayLogBatch: ...

    def decode_ack(self, payload: bytes) -> CommandAck: ...

    def encode_command(self, command: Command) -> bytes: ...


def _registry() -> dict[str, DeviceAdapter]:
    from loa.fleet.adapters.loa import LoaAdapter

    return {a.name: a for a in (LoaAdapter(),)}


ADAPTERS: dict[str, DeviceAdapter] = _registry()


def get(name: str) -> DeviceAdapter:
    try:
        return ADAPTERS[name]
    except KeyError:
        raise KeyError(f"Không có bộ chuyển đổi thiết bị {name!r}.") from None
