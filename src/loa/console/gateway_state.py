"""The gateway's state as the console shows it (a banner on the dashboard and the loudspeaker pages): commands
cannot go out now because the gateway has lost the broker, or has stopped (or cannot write to the database)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from django.utils import timezone

GATEWAY_SILENT_AFTER_S = (
    30  # the gateway writes its state every 5 s, and at once when the broker link changes
)


def gateway_trouble() -> dict[str, Any] | None:
    """The gateway's state when commands cannot go out now: ``broker_down`` (the gateway runs but has no broker
    connection, since ``since``) or ``silent`` (no state written for 30 s: stopped, or the database unreachable
    from it). None when the last gateway to report is connected, or when no gateway ever ran."""
    from loa.gateway.models import GatewayState

    state = GatewayState.objects.order_by("-heartbeat_at").first()
    if state is None:
        return None
    if (timezone.now() - state.heartbeat_at).total_seconds() > GATEWAY_SILENT_AFTER_S or _process_gone(
        state.host, state.pid, state.instance
    ):
        return {"kind": "silent", "since": state.heartbeat_at, "name": state.name}
    if not state.connected:
        return {
            "kind": "broker_down",
            "since": state.disconnected_at or state.heartbeat_at,
            "name": state.name,
        }
    return None


# (host, pid, instance) of gateways this process has seen running: only those can be seen gone (below)
_seen_running: set[tuple[str, int, str]] = set()


def _process_gone(host: str, pid: int | None, instance: str) -> bool:
    """Whether the gateway's process, on this machine, has ended (killed, stopped): known at once rather than 30 s
    after its last state write. Only for a gateway this process has seen running before: a web process in another
    PID namespace (a container sharing the host's name) never sees it, and falls back on the 30 s rule. False
    when it runs on another machine or its process number is not known."""
    if not pid or host != socket.gethostname():
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        running = stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")  # a zombie has ended, not yet reaped
    except OSError:
        running = False
    key = (host, pid, instance)
    if running:
        _seen_running.add(key)
        return False
    return key in _seen_running
