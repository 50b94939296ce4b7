"""Heartbeat storm during a database outage: RSS of a real ``loa gateway`` process (issue 21, item 7).

    createdb -h 127.0.0.1 -U postgres loa_stormdrill
    LOA_DATA_DIR=$(mktemp -d) LOA_DATABASE_URL=postgres://postgres@127.0.0.1:5432/loa_stormdrill \\
        LOA_MQTT_URL=mqtt://127.0.0.1:1883 .venv/bin/python bench/gateway_db_outage.py --devices 2000 --outage 60

Needs a scratch PostgreSQL database (it migrates it and adds devices) and an anonymous broker (one publisher sends
every device's heartbeats). The gateway runs as its own process; after 10 s of flooding with the database up, the
database stops accepting connections (``ALLOW_CONNECTIONS false``, backends terminated) for ``--outage`` seconds while
the flood goes on and one play log a second is published; then it comes back. Prints the gateway's RSS growth each
second of the outage, whether every play log was stored, and the gateway's two outage log lines.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=2000)
    parser.add_argument("--outage", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=5000, help="heartbeats per second")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
    import django

    django.setup()
    import paho.mqtt.client as mqtt
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    from loa.fleet.models import Device, PlayLog
    from loa.gateway.bench import _units
    from loa.gateway.sample_messages import playlog_event, playlog_payload, status_payload
    from loa_protocol import topics

    if connection.vendor != "postgresql":
        sys.exit("cần LOA_DATABASE_URL trỏ tới một cơ sở dữ liệu PostgreSQL dùng thử")
    call_command("migrate", verbosity=0)
    unit = _units()
    ids = [f"loa-{uuid.uuid4().hex[:12]}" for _ in range(args.devices)]
    Device.objects.bulk_create([Device(device_id=d, unit=unit) for d in ids])
    payloads = {d: [status_payload(d, volume=v) for v in range(3)] for d in ids}
    url = os.environ.get("LOA_MQTT_URL", "mqtt://127.0.0.1:1883")
    host, port = url.removeprefix("mqtt://").split(":")
    log_path = Path(tempfile.mkdtemp()) / "gateway.log"
    with open(log_path, "wb") as log:
        gw = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "from loa.cli import main; main()",
                "gateway",
                "--url",
                url,
                "--no-embedded-broker",
            ],
            env=dict(os.environ, LOA_GATEWAY_CLIENT_ID=f"loa-gateway-outage-{uuid.uuid4().hex[:6]}"),
            stdout=log,
            stderr=log,
        )

    def rss() -> float:
        line = next(
            x for x in Path(f"/proc/{gw.pid}/status").read_text().splitlines() if x.startswith("VmRSS")
        )
        return int(line.split()[1]) / 1024

    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"outage-{uuid.uuid4().hex[:6]}")
    pub.max_queued_messages_set(0)
    pub.connect(host, int(port))
    pub.loop_start()
    stop = threading.Event()
    sent = [0]

    def flood() -> None:
        i = 0
        while not stop.is_set():
            t0 = time.monotonic()
            for d in ids:
                pub.publish(topics.status_topic(d), payloads[d][i % 3], qos=0)
                sent[0] += 1
            i += 1
            time.sleep(max(0.0, len(ids) / args.rate - (time.monotonic() - t0)))

    time.sleep(8)
    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    time.sleep(10)
    base = rss()
    series: list[float] = []
    events = []
    name = connection.settings_dict["NAME"]
    admin_params = {"host": connection.settings_dict["HOST"] or "127.0.0.1", "dbname": "postgres"}
    admin_params["user"] = connection.settings_dict["USER"] or "postgres"
    t_start = time.monotonic()
    s0 = sent[0]
    with psycopg.connect(**admin_params, autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            while time.monotonic() - t_start < args.outage:
                time.sleep(1)
                series.append(round(rss() - base, 1))
                d = ids[len(events) % len(ids)]
                ev = [playlog_event(d)]
                events += ev
                pub.publish(topics.playlog_topic(d), playlog_payload(d, ev), qos=1)
            heartbeats = sent[0] - s0
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    connection.close()
    wanted = [e.event_id for e in events]
    deadline = time.monotonic() + 30
    while PlayLog.objects.filter(event_id__in=wanted).count() < len(wanted) and time.monotonic() < deadline:
        time.sleep(0.2)
    healed = time.monotonic() - t_start - args.outage
    stop.set()
    flooder.join()
    stored = PlayLog.objects.filter(event_id__in=wanted).count()
    gw.terminate()
    gw.wait(20)
    pub.loop_stop()
    print("RSS growth (MB) each second of the outage:", series)
    print(
        f"devices={len(ids)} outage={args.outage:.0f}s heartbeats={heartbeats} ({heartbeats / args.outage:.0f}/s) "
        f"rss_before={base:.1f}MB growth_max={max(series):.1f}MB growth_last={series[-1]:.1f}MB "
        f"playlogs_stored={stored}/{len(wanted)} all_stored_after={healed:.1f}s"
    )
    for line in log_path.read_text().splitlines():
        if "cơ sở dữ liệu" in line:
            print(line)


if __name__ == "__main__":
    main()
