"""Ed25519 signing of commands and manifests, and the per-topic replay guard.

The signature covers the canonical JSON of the message without its ``signature`` field::

    json.dumps(model.model_dump(mode="json", exclude={"signature"}), sort_keys=True,
               separators=(",", ":"), ensure_ascii=False).encode("utf-8")

A device accepts a command only when the signature is valid for the server's public key (received at
enrolment), the command names the topic it arrived on, it is within ``issued_at``…``expires_at`` and its ``seq`` is
higher than every sequence number already accepted on that topic.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import os
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from loa_protocol.messages import PARAMS_BY_ACTION, Command, Manifest, Message

RejectReason = Literal[
    "unsigned", "bad_signature", "expired", "not_yet_valid", "replayed", "wrong_topic", "before_enrolment"
]

REASON_MESSAGES: dict[str, str] = {
    "unsigned": "Lệnh không có chữ ký số: bị từ chối.",
    "bad_signature": "Chữ ký số của lệnh không hợp lệ (lệnh giả mạo hoặc bị sửa đổi): bị từ chối.",
    "expired": "Lệnh đã hết hạn: bị từ chối.",
    "not_yet_valid": "Lệnh có thời điểm phát hành ở tương lai: bị từ chối.",
    "replayed": "Lệnh bị phát lại (số thứ tự không lớn hơn lệnh đã nhận trên chủ đề này): bị từ chối.",
    "wrong_topic": "Lệnh đến trên chủ đề khác với chủ đề ghi trong lệnh: bị từ chối.",
    "wrong_device": "Lịch phát dành cho thiết bị khác: bị từ chối.",
    "stale_manifest": "Lịch phát cũ hơn phiên bản đang có: bị từ chối.",
    "before_enrolment": "Lệnh được phát hành trước khi thiết bị đăng ký (lần gần nhất): bị từ chối.",
}

# Device clocks drift; a command issued slightly "in the future" by the server is still accepted.
DEFAULT_CLOCK_LEEWAY = dt.timedelta(seconds=120)


class CommandRejected(Exception):
    """A command (or manifest) the device must not act on. ``reason`` is machine-readable."""

    def __init__(self, reason: str, detail: str = "") -> None:
        self.reason = reason
        self.message = REASON_MESSAGES.get(reason, reason) + (f" ({detail})" if detail else "")
        super().__init__(self.message)


# --- keys ---------------------------------------------------------------------------------------------------


def generate_keypair() -> tuple[str, str]:
    """A new server key pair as ``(private_b64, public_b64)``: base64 of the raw 32-byte keys."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(private).decode(), public_key_of(key)


def load_private_key(private_key: str | bytes | Ed25519PrivateKey) -> Ed25519PrivateKey:
    if isinstance(private_key, Ed25519PrivateKey):
        return private_key
    raw = base64.b64decode(private_key) if isinstance(private_key, str) else private_key
    return Ed25519PrivateKey.from_private_bytes(raw)


def load_public_key(public_key: str | bytes | Ed25519PublicKey) -> Ed25519PublicKey:
    if isinstance(public_key, Ed25519PublicKey):
        return public_key
    raw = base64.b64decode(public_key) if isinstance(public_key, str) else public_key
    return Ed25519PublicKey.from_public_bytes(raw)


def public_key_of(private_key: str | bytes | Ed25519PrivateKey) -> str:
    raw = load_private_key(private_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


# --- canonical form and signatures --------------------------------------------------------------------------


# Integers a device on a 64-bit float JSON parser (JavaScript, many C libraries) still reads exactly.
MAX_SAFE_INTEGER = 2**53 - 1


class NotCanonical(ValueError):
    """A value the canonical form cannot write in exactly one way that every device reproduces."""


def check_canonical_numbers(value: Any, where: str = "") -> None:
    """Raise :class:`NotCanonical` for a number outside the canonical form (protocol.md §5): integers within
    ±(2**53 - 1), floats finite and written without an exponent (Python's shortest round-trip ``repr`` with a
    decimal point: ``95.5``, ``60.0``; never ``1e-05`` or ``1e+16``)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if abs(value) > MAX_SAFE_INTEGER:
            raise NotCanonical(f"{where or 'số'}: số nguyên {value} vượt ±(2^53 − 1)")
    elif isinstance(value, float):
        text = repr(value)
        if not math.isfinite(value) or "e" in text or "E" in text:
            raise NotCanonical(f"{where or 'số'}: số thực {text} không viết được không có số mũ")
    elif isinstance(value, dict):
        for key, item in value.items():
            check_canonical_numbers(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            check_canonical_numbers(item, f"{where}[{index}]")


def canonical_bytes(message: Message) -> bytes:
    """The bytes a signature covers: the message without ``signature``, as sorted compact UTF-8 JSON."""
    body = message.model_dump(mode="json", exclude={"signature"})
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


# Command, Manifest, and the board messages of loa_protocol.board (BoardManifest, BoardEmergency)
S = TypeVar("S", bound=Message)


def _floats_as_floats(command: Command) -> Command:
    """A command's ``params`` are signed as given; a number-typed param given as an integer (``duration_s: 60``)
    is written ``60.0``, as the typed models (and every manifest) write it, so its canonical form has one spelling."""
    model = PARAMS_BY_ACTION[command.action]
    floats = {name for name, info in model.model_fields.items() if info.annotation is float}
    params = {
        k: float(v) if k in floats and isinstance(v, int) and not isinstance(v, bool) else v
        for k, v in command.params.items()
    }
    return (
        command
        if params == command.params and all(type(params[k]) is type(command.params[k]) for k in params)
        else command.model_copy(update={"params": params})
    )


def sign(message: S, private_key: str | bytes | Ed25519PrivateKey) -> S:
    """A copy of ``message`` with its ``signature`` set. Raises :class:`NotCanonical` for a number the canonical
    form cannot write unambiguously (the server never signs what a device might serialise differently)."""
    if isinstance(message, Command):
        message = cast(S, _floats_as_floats(message))
    check_canonical_numbers(message.model_dump(mode="json", exclude={"signature"}))
    signature = load_private_key(private_key).sign(canonical_bytes(message))
    return message.model_copy(update={"signature": base64.b64encode(signature).decode()})


def signature_is_valid(message: Message, public_key: str | bytes | Ed25519PublicKey) -> bool:
    try:
        signature = base64.b64decode(getattr(message, "signature", ""), validate=True)
        load_public_key(public_key).verify(signature, canonical_bytes(message))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def sign_command(
    private_key: str | bytes | Ed25519PrivateKey,
    *,
    topic: str,
    seq: int,
    action: str,
    params: dict[str, Any] | None = None,
    issued_at: dt.datetime | None = None,
    expires_at: dt.datetime | None = None,
    ttl: dt.timedelta = dt.timedelta(minutes=10),
    command_id: uuid.UUID | None = None,
) -> Command:
    """Build and sign a command. ``expires_at`` defaults to ``issued_at + ttl``."""
    issued = issued_at or dt.datetime.now(dt.UTC)
    command = Command.model_validate(
        {
            "id": command_id or uuid.uuid4(),
            "topic": topic,
            "seq": seq,
            "issued_at": issued,
            "expires_at": expires_at or issued + ttl,
            "action": action,
            "params": params or {},
        }
    )
    return sign(command, private_key)


def verify_command(
    command: Command,
    public_key: str | bytes | Ed25519PublicKey,
    arrived_on_topic: str,
    now: dt.datetime,
    guard: ReplayGuard | None,
    leeway: dt.timedelta = DEFAULT_CLOCK_LEEWAY,
    signature_ok: bool | None = None,
    enrolled_at: dt.datetime | None = None,
) -> None:
    """Raise :class:`CommandRejected` unless the device may act on ``command``.

    The checks, in the normative order of protocol.md §6 (schema validation and size come before, in
    :func:`loa_protocol.messages.decode`): unsigned, bad_signature, wrong_topic, not_yet_valid, expired,
    before_enrolment (``issued_at`` earlier than ``enrolled_at``, the server's time of the device's last
    enrolment: a re-enrolled device starts with an empty replay table, so an unexpired command from before it on a
    group topic would otherwise pass once), replayed.

    ``signature_ok`` lets a caller that already checked this exact payload's signature (the simulator, where one
    group publish reaches thousands of agents in one process) skip the repeated Ed25519 verification.

    The replay guard is consulted last and only records the sequence number of a command that passed every other
    check, so a forged command with a huge ``seq`` cannot block the genuine ones."""
    if not command.signature:
        raise CommandRejected("unsigned")
    if not (signature_is_valid(command, public_key) if signature_ok is None else signature_ok):
        raise CommandRejected("bad_signature")
    if command.topic != arrived_on_topic:
        raise CommandRejected("wrong_topic", f"{arrived_on_topic} ≠ {command.topic}")
    if command.issued_at > now + leeway:
        raise CommandRejected("not_yet_valid", f"issued_at {command.issued_at.isoformat()}")
    if now >= command.expires_at:
        raise CommandRejected("expired", f"expires_at {command.expires_at.isoformat()}")
    if enrolled_at is not None and command.issued_at < enrolled_at:
        raise CommandRejected("before_enrolment", f"issued_at {command.issued_at.isoformat()}")
    if guard is not None:
        guard.accept(command.topic, command.seq)


def verify_manifest(
    manifest: Manifest,
    public_key: str | bytes | Ed25519PublicKey,
    device_id: str,
    current_version: int | None = None,
) -> None:
    """Raise :class:`CommandRejected` unless ``manifest`` is signed by the server for this device and newer than
    (or the same version as) ``current_version``."""
    if not manifest.signature:
        raise CommandRejected("unsigned")
    if not signature_is_valid(manifest, public_key):
        raise CommandRejected("bad_signature")
    if manifest.device_id != device_id:
        raise CommandRejected("wrong_device", manifest.device_id)
    if current_version is not None and manifest.version < current_version:
        raise CommandRejected("stale_manifest", f"{manifest.version} < {current_version}")


# --- replay guard -------------------------------------------------------------------------------------------


class ReplayGuard:
    """The highest accepted sequence number per topic, persisted as JSON with an atomic write.

    A command is accepted only when its ``seq`` is strictly greater than the last accepted one on its topic."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._last: dict[str, int] = {}
        if self.path is not None and self.path.exists():
            data = json.loads(self.path.read_text("utf-8"))
            self._last = {str(k): int(v) for k, v in data.items()}

    def last(self, topic: str) -> int:
        with self._lock:
            return self._last.get(topic, 0)

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._last)

    def accept(self, topic: str, seq: int) -> None:
        """Record ``seq`` for ``topic`` or raise ``CommandRejected("replayed")``."""
        with self._lock:
            last = self._last.get(topic, 0)
            if seq <= last:
                raise CommandRejected("replayed", f"seq {seq} ≤ {last}")
            self._last[topic] = seq
            self._save()

    def _save(self) -> None:
        if self.path is None:
            return
        write_atomic(self.path, json.dumps(self._last, sort_keys=True).encode("utf-8"))


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old or the new file, never a torn one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
