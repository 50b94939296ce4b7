"""The VAPID key pairs (RFC 8292) that identify this Loa to the browsers' push services.

``LOA_VAPID_PRIVATE_KEY`` (a PEM, or the base64url of the raw 32-byte P-256 private key) in production; else
generated once into ``<data dir>/keys/vapid/<id>.pem`` (mode 0600), like the fleet's command-signing key. The newest
file is the current key, given to browsers that subscribe; ``loa alerts rotate-vapid`` adds a new one. Older keys
stay, so every subscription is still signed with the key it was made with (``PushSubscription.vapid_key_id``)
until the public app re-subscribes with the new key (it compares the key it was given on every start).
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass(frozen=True)
class VapidKey:
    id: str
    vapid: Vapid02

    @property
    def public_key(self) -> str:
        """The application server key a browser passes to ``PushManager.subscribe`` (base64url, 65 bytes)."""
        raw = self.vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(raw)


def _dir() -> Path:
    return Path(settings.DATA_DIR) / "keys" / "vapid"


def _key_id(vapid: Vapid02) -> str:
    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def _from_text(text: str) -> Vapid02:
    text = text.strip()
    if text.startswith("-----BEGIN"):
        return Vapid02.from_pem(text.encode())
    return Vapid02.from_raw(text.encode())


def configured() -> str:
    return str(getattr(settings, "LOA_VAPID_PRIVATE_KEY", "") or os.environ.get("LOA_VAPID_PRIVATE_KEY", ""))


def _write_new(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # the name sorts by creation: the newest file is the current key
    path = directory / f"{time.time_ns():020d}.pem"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return path


@lru_cache(maxsize=8)
def _keys(data_dir: str, configured_key: str, stamp: int) -> tuple[VapidKey, ...]:
    """Every key, the current one first."""
    if configured_key:
        v = _from_text(configured_key)
        return (VapidKey(_key_id(v), v),)
    directory = _dir()
    files = sorted(directory.glob("*.pem"), reverse=True) if directory.exists() else []
    if not files:
        files = [_write_new(directory)]
    out = []
    for path in files:
        v = Vapid02.from_pem(path.read_bytes())
        out.append(VapidKey(_key_id(v), v))
    return tuple(out)


def _all() -> tuple[VapidKey, ...]:
    # the folder's mtime changes when a key is added (by this process or by `loa alerts rotate-vapid`)
    try:
        stamp = _dir().stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _keys(str(settings.DATA_DIR), configured(), stamp)


def current() -> VapidKey:
    return _all()[0]


def by_id(key_id: str) -> VapidKey | None:
    return next((k for k in _all() if k.id == key_id), None)


def rotate() -> tuple[VapidKey, VapidKey]:
    """Add a new current key; returns (old, new). Refused when the key is configured from outside."""
    if configured():
        raise RuntimeError("LOA_VAPID_PRIVATE_KEY is set: rotate it where it is configured")
    old = current()
    _write_new(_dir())
    _keys.cache_clear()
    return old, current()
