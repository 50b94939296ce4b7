"""Ingest benchmark: heartbeats/s and exactly-once play logs/s through a real broker and a real gateway process.

Run against a scratch database (it creates, then deletes, a benchmark province "99" and its devices)::

    loa bench ingest --devices 200 --heartbeats 20000 --playlogs 20000

The gateway runs as its own process (``loa gateway``), as in production; device publishers run in
``--publishers`` forked processes, each device on its own connection with its own credentials.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.db import close_old_connections, connection

from loa.fleet import broker
from loa.fleet.models import Device, PlayLog
from loa.gateway.models import GatewayState
from loa.units.models import Kind, Level, Unit

BENCH_PROVINCE = "99"
BENCH_COMMUNE = "99999"
CLIENT_ID = "loa-gateway-bench"


def _units() -> Unit:
    province, _ = Unit.objects.get_or_create(
        code=BENCH_PROVINCE,
        defaults={"name": "Tỉnh đo hiệu năng", "kind": Kind.TINH, "level": Level.PROVINCE},
    )
    commune, _ = Unit.objects.get_or_create(
        code=BENCH_COMMUNE,
        defaults={"name": "Xã đo hiệu năng", "kind": Kind.XA, "level": Level.COMMUNE, "parent": province},
    )
    return commune


def _cleanup() -> None:
    ids = list(Device.objects.filter(unit__code=BENCH_COMMUNE).values_list("device_id", flat=True))
    PlayLog.objects.filter(device_id__in=ids).delete()
    Device.objects.filter(device_id__in=ids).delete()
    Unit.objects.filter(code=BENCH_COMMUNE).delete()
    Unit.objects.filter(code=BENCH_PROVINCE).delete()
    GatewayState.objects.filter(name=CLIENT_ID).delete()


def _publish_worker(
    url: str, creds: list[tuple[str, str]], kind: str, per_device: int, dup_every: int, q: Any
) -> None:
    """Connect every device of the slice and publish its messages (runs in a forked process)."""
    import paho.mqtt.client as mqtt

    from loa.gateway.sample_messages import playlog_event, playlog_payload, status_payload
    from loa_protocol import topics

    target = broker.parse_mqtt_url(url)
    clients = []
    for device_id, password in creds:
        c = mqtt.Client(callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=device_id)
        c.username_pw_set(device_id, password)
        c.max_inflight_messages_set(1000)
        c.connect(target.host, target.port, keepalive=60)
        c.loop_start()
        clients.append((device_id, c))
    time.sleep(0.5)
    sent = dups = 0
    infos = []
    if kind == "status":
        payloads = {d: [status_payload(d, uptime_s=i) for i in range(per_device)] for d, _ in clients}
        q.put(("ready", 0, 0))
        for i in range(per_device):
            for device_id, c in clients:
                c.publish(topics.status_topic(device_id), payloads[device_id][i], qos=0)
                sent += 1
    else:
        batch = 50
        batches = {
            d: [
                playlog_payload(d, [playlog_event(d, event_id=uuid.uuid4()) for _ in range(batch)])
                for _ in range(per_device // batch)
            ]
            for d, _ in clients
        }
        q.put(("ready", 0, 0))
        for i in range(per_device // batch):
            for device_id, c in clients:
                infos.append(c.publish(topics.playlog_topic(device_id), batches[device_id][i], qos=1))
                sent += batch
                if dup_every and i % dup_every == 0:  # the device re-uploads: must be ignored
                    infos.append(c.publish(topics.playlog_topic(device_id), batches[device_id][i], qos=1))
                    dups += batch
        for info in infos:
            info.wait_for_publish(60)
    time.sleep(0.5)
    for _d, c in clients:
        c.disconnect()
        c.loop_stop()
    q.put(("done", sent, dups))


def _run_publishers(
    url: str, creds: list[tuple[str, str]], kind: str, per_device: int, n_proc: int, dup_every: int = 0
) -> tuple[float, int, int]:
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    slices = [creds[i::n_proc] for i in range(n_proc)]
    close_old_connections()
    procs = [
        ctx.Process(target=_publish_worker, args=(url, s, kind, per_device, dup_every, q))
        for s in slices
        if s
    ]
    for p in procs:
        p.start()
    for _ in procs:
        assert q.get(timeout=300)[0] == "ready"
    started = time.perf_counter()
    sent = dups = 0
    for _ in procs:
        _tag, s, d = q.get(timeout=600)
        sent, dups = sent + s, dups + d
    for p in procs:
        p.join(60)
    return started, sent, dups


def _counter(name: str) -> int:
    state = GatewayState.objects.filter(name=CLIENT_ID).first()
    return int((state.counters if state else {}).get(name, 0))


def run_ingest(
    *, devices: int = 200, heartbeats: int = 20000, playlogs: int = 20000, publishers: int = 4
) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-"))
    from django.conf import settings

    embedded = None
    url = broker.server_mqtt_url()
    _cleanup()
    commune = _units()
    from loa.fleet.services import do_provision_device

    creds = []
    for i in range(devices):
        device, password = do_provision_device(commune, actor="bench", serial=f"BENCH-{i}")
        creds.append((device.device_id, password))
    if settings.LOA_MQTT_URL == "embedded":
        embedded = broker.EmbeddedBroker(tmp / "mqtt")
        os.environ["LOA_MQTT_DIR"] = str(tmp / "mqtt")  # read by broker.mqtt_dir(), here and in the gateway
        broker.write_broker_files(reload=False, directory=tmp / "mqtt")
        embedded.start()
        url = embedded.url
    else:
        broker.write_broker_files()
    env = dict(os.environ, LOA_MQTT_DIR=str(broker.mqtt_dir()))
    gateway = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from loa.cli import main; main()",
            "gateway",
            "--url",
            url,
            "--no-embedded-broker",
        ],
        env={**env, "LOA_GATEWAY_CLIENT_ID": CLIENT_ID},
        stdout=subprocess.DEVNULL,
        stderr=open(tmp / "gateway.log", "w"),
    )
    result: dict[str, Any] = {
        "database": connection.vendor,
        "broker": "mosquitto" if (embedded is None or embedded.binary) else "iotcore",
        "devices": devices,
    }
    try:
        deadline = time.monotonic() + 30
        while not GatewayState.objects.filter(name=CLIENT_ID, connected=True).exists():
            if time.monotonic() > deadline or gateway.poll() is not None:
                raise RuntimeError("gateway không khởi động: " + (tmp / "gateway.log").read_text()[-2000:])
            time.sleep(0.2)
        # heartbeats
        per_device = max(1, heartbeats // devices)
        started, sent, _ = _run_publishers(url, creds, "status", per_device, publishers)
        ids = [d for d, _ in creds]
        last = per_device - 1
        while Device.objects.filter(device_id__in=ids, last_status__uptime_s=last).count() < devices:
            if time.perf_counter() - started > 300:
                break
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        time.sleep(6)  # the gateway writes its counters every 5 s
        ingested = _counter("statuses")
        result.update(
            heartbeats=sent,
            heartbeats_ingested=ingested,
            heartbeats_lost=sent - ingested,
            heartbeats_s=round(elapsed, 3),
            heartbeats_per_s=round(sent / elapsed),
        )
        # play logs, with duplicates (every 5th batch uploaded twice)
        per_device = max(50, playlogs // devices // 50 * 50)
        started, sent, dups = _run_publishers(url, creds, "playlog", per_device, publishers, dup_every=5)
        while PlayLog.objects.filter(device_id__in=ids).count() < sent:
            if time.perf_counter() - started > 300:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
        time.sleep(1)
        stored = PlayLog.objects.filter(device_id__in=ids).count()
        result.update(
            playlogs=sent,
            duplicates=dups,
            playlogs_stored=stored,
            lost=sent - stored if stored <= sent else 0,
            extra=max(0, stored - sent),
            playlogs_s=round(elapsed, 3),
            playlogs_per_s=round(sent / elapsed),
        )
        with contextlib.suppress(Exception):
            import resource

            result["bench_process_max_rss_mb"] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            )
    finally:
        gateway.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            gateway.wait(20)
        if embedded is not None:
            embedded.stop()
        _cleanup()
    result["at"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    return result


def main() -> None:  # pragma: no cover - used by bench/gateway_ingest.py
    print(json.dumps(run_ingest(), ensure_ascii=False))
