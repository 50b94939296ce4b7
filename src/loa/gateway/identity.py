"""One gateway per MQTT identity, visibly (issue 21 item 4).

The gateway's session is persistent under a fixed client id (and the broker binds the client id to the user name,
docs/security.md item 8), so a second gateway (a manual start racing systemd, a second host "for HA") makes the
broker drop the first one, which reconnects and drops the second, every second: ingest stalls with nothing in the
console. Three guards:

* on this host, a lock file (``DATA_DIR/run/gw-<hash>.lock``, ``flock``) held while the gateway lives: a second
  ``loa gateway`` with the same id refuses to start and names the process that holds it (a gateway killed with
  ``kill -9`` releases it with its process, so systemd's restart is never refused);
* across hosts, the gateway's own record in the database (:class:`~loa.gateway.models.GatewayState`, written every
  few seconds with its host, pid and instance): a gateway on another host that wrote it less than
  ``FRESH_S`` ago and says it is connected holds the identity, and this one refuses to start. The broker is not
  asked: connecting with the gateway's credentials, even to read, would take the running gateway's session over;
* while running, :class:`KickWatch` counts disconnections: three within a minute while the broker answers at once
  is what a twin looks like — logged once as an error and counted (``identity_conflicts``) for the console.

The gateway also keeps a retained status on the broker (``loa/v1/s/gateway/<client id>``: ``online`` with the
instance, host, pid and the database's state; ``offline`` on a clean stop or by the broker's will) and, with
``--health-port``, a local health endpoint: both answer without the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import socket
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class IdentityTaken(Exception):
    """Another gateway holds this MQTT identity; ``message`` says which, in Vietnamese, and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class LocalLock:
    path: Path
    handle: Any

    def release(self) -> None:
        with contextlib.suppress(OSError):
            fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


def hold_local_lock(run_dir: Path, client_id: str) -> LocalLock:
    """Take this host's lock of ``client_id`` or raise :class:`IdentityTaken` naming the process that holds it."""
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / f"gw-{hashlib.sha256(client_id.encode()).hexdigest()[:12]}.lock"
    handle = path.open("a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "?"
        handle.close()
        raise IdentityTaken(
            f"Gateway với mã kết nối '{client_id}' đang chạy trên máy này (tiến trình {holder}). "
            "Không chạy hai gateway cùng một mã: dừng tiến trình kia (systemctl stop loa-gateway) rồi chạy lại."
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}@{socket.gethostname()}\n")
    handle.flush()
    return LocalLock(path, handle)


def status_payload(
    state: str, instance: str, started_at: float, extra: dict[str, Any] | None = None
) -> bytes:
    body = {
        "state": state,
        "instance": instance,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "started_at": round(started_at, 3),
        "at": round(time.time(), 3),
        **(extra or {}),
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def new_instance() -> str:
    return uuid.uuid4().hex[:12]


FRESH_S = 20.0  # a record younger than this, of a connected gateway on another host, means it is alive


def check_holder(record: Any, host: str, now: float, fresh_s: float = FRESH_S) -> None:
    """Raise :class:`IdentityTaken` if ``record`` (a GatewayState or None) shows another host's gateway alive."""
    if record is None or not record.connected or not record.host or record.host == host:
        return
    age = now - record.heartbeat_at.timestamp()
    if age > fresh_s:
        return
    raise IdentityTaken(
        f"Một gateway khác đang dùng mã kết nối '{record.name}': máy {record.host}, tiến trình {record.pid or '?'}, "
        f"báo còn chạy {max(0, int(age))} giây trước. Hai gateway cùng mã sẽ đá nhau khỏi broker liên tục. "
        "Dừng gateway kia, hoặc chạy gateway này với --client-id khác và tài khoản broker riêng. Nếu máy kia đã "
        f"tắt hẳn, chờ {int(fresh_s)} giây rồi chạy lại."
    )


@dataclass
class KickWatch:
    """Disconnections right after a working connection, within ``window_s``: ``threshold`` of them is a twin."""

    threshold: int = 3
    window_s: float = 60.0
    times: deque[float] = field(default_factory=deque)
    alarmed_at: float | None = None

    def disconnected(self, now: float | None = None) -> bool:
        """Record one; True when this one crosses the threshold (once per window)."""
        now = time.monotonic() if now is None else now
        self.times.append(now)
        while self.times and now - self.times[0] > self.window_s:
            self.times.popleft()
        if len(self.times) >= self.threshold and (
            self.alarmed_at is None or now - self.alarmed_at > self.window_s
        ):
            self.alarmed_at = now
            return True
        return False
