"""The server's Ed25519 command-signing key: ``LOA_COMMAND_SIGNING_KEY`` (base64 of the raw 32-byte private
key) in production, else generated once into ``<data dir>/keys/command_signing.key`` (mode 0600)."""

from __future__ import annotations

import os
import stat
from functools import lru_cache
from pathlib import Path

from django.conf import settings

from loa_protocol.signing import generate_keypair, load_private_key, public_key_of


def _key_path() -> Path:
    return Path(settings.DATA_DIR) / "keys" / "command_signing.key"


@lru_cache(maxsize=4)
def _load(data_dir: str, configured: str) -> str:
    if configured:
        load_private_key(configured)  # fail early on a malformed key
        return configured
    path = _key_path()
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    private, _public = generate_keypair()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(private)
    return private


def private_key() -> str:
    from loa.fleet import conf

    return _load(str(settings.DATA_DIR), str(conf.get("LOA_COMMAND_SIGNING_KEY")))


def public_key() -> str:
    return public_key_of(private_key())
