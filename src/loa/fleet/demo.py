"""The living fleet of ``loa demo``: the gateway (which starts the embedded broker) and a few hundred simulated
clusters spread over the demo province's first communes. Their credentials are kept in the data dir, so the next
demo run reuses the same devices instead of enrolling new ones."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

from loa.console.children import spawn, stop
from loa.fleet import broker
from loa.units.models import Level, Unit

LOA = [sys.executable, "-c", "from loa.cli import main; main()"]


def start_demo_fleet(province: Unit, devices: int = 300, communes: int = 3) -> list[subprocess.Popen[bytes]]:
    data = Path(settings.DATA_DIR)
    log = open(data / "demo-fleet.log", "ab")
    procs = [spawn([*LOA, "gateway"], stdout=log, stderr=log)]
    deadline = time.monotonic() + 20
    while not (broker.mqtt_dir() / "broker.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    creds_file = data / "demo-devices.json"
    if not creds_file.exists():
        targets = list(province.children.filter(level=Level.COMMUNE).order_by("code")[:communes])
        from loa.fleet.services import credentials_for, do_provision_device

        creds = []
        for i in range(devices):
            unit = targets[i % len(targets)]
            device, password = do_provision_device(unit, actor="loa demo", serial=f"DEMO-{i:04d}")
            creds.append(credentials_for(device, password).model_dump(mode="json"))
        broker.write_broker_files()
        creds_file.write_text(json.dumps(creds))
        creds_file.chmod(0o600)
    procs.append(
        spawn(
            [*LOA, "simulate", "--credentials-in", str(creds_file), "--heartbeat", "30"],
            stdout=log,
            stderr=log,
        )
    )
    return procs


def stop_demo_fleet(procs: list[subprocess.Popen[bytes]]) -> None:
    stop(procs)
