"""Assembling a real agent from its state directory.

State directory layout (mode 0700)::

    credentials.json   enrolment response (0600)
    replay.json        highest accepted command seq per topic (0600, atomic writes)
    manifest.json      last verified manifest
    playlog.sqlite     play-log buffer (deleted after PUBACK)
    media/<sha256>     media cache
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from loa_agent import __version__
from loa_agent.clock import Clock, SystemClock
from loa_agent.core import AgentCore
from loa_agent.enrol import load_enrolled_at
from loa_agent.media import MediaCache
from loa_agent.player import find_player
from loa_agent.playlog import SqlitePlayLogStore
from loa_agent.runtime import AgentRuntime, RuntimeOptions
from loa_protocol.messages import EnrolResponse
from loa_protocol.signing import ReplayGuard


def build_agent(
    state_dir: Path,
    credentials: EnrolResponse,
    player: str = "auto",
    heartbeat_s: float = 60.0,
    ca_file: str | None = None,
    clock: Clock | None = None,
    output_dir: Path | None = None,
    manifest_poll_s: float = 900.0,
) -> AgentRuntime:
    state_dir.mkdir(parents=True, exist_ok=True)
    media = MediaCache(state_dir / "media")

    def hardware() -> dict[str, Any]:
        free = shutil.disk_usage(state_dir).free // (1024 * 1024)
        return {"storage_free_mb": int(free), "temperature_c": _cpu_temperature()}

    core = AgentCore(
        device_id=credentials.device_id,
        public_key=credentials.server_public_key,
        player=find_player(player, output_dir=output_dir),
        store=SqlitePlayLogStore(state_dir / "playlog.sqlite"),
        guard=ReplayGuard(state_dir / "replay.json"),
        firmware=f"loa-agent {__version__}",
        state_dir=state_dir,
        media_lookup=media.cached_path,
        keep_history=False,
        enrolled_at=load_enrolled_at(state_dir),
    )
    options = RuntimeOptions(heartbeat_s=heartbeat_s, ca_file=ca_file, manifest_poll_s=manifest_poll_s)
    return AgentRuntime(
        credentials, core, media, clock=clock or SystemClock(), options=options, hardware=hardware
    )


def _cpu_temperature() -> float | None:
    try:
        return round(int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000, 1)
    except (OSError, ValueError):
        return None
