"""Loa's own device protocol (``loa_protocol``, topics ``loa/v1/...``): the identity adapter."""

from __future__ import annotations

from loa_protocol.messages import Command, CommandAck, PlayLogBatch, Status, decode, encode


class LoaAdapter:
    name = "loa"
    label = "Giao thức Loa v1"

    def decode_status(self, payload: bytes) -> Status:
        return decode(Status, payload)

    def decode_playlog(self, payload: bytes) -> PlayLogBatch:
        return decode(PlayLogBatch, payload)

    def decode_ack(self, payload: bytes) -> CommandAck:
        return decode(CommandAck, payload)

    def encode_command(self, command: Command) -> bytes:
        return encode(command)
