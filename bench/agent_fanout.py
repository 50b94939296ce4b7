"""Fan-out of one signed group command to N simulated agents through a private Mosquitto (no server involved).

    .venv/bin/python bench/agent_fanout.py --devices 1000

Prints one JSON object: devices, transport, connect_s, delivered, p50_s, p99_s, max_s (publish → agent started playing),
rss_mb of this process. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from loa_agent.runtime import RuntimeOptions
from loa_agent.simulator import FD_MARGIN, Simulator, raise_open_file_limit
from loa_protocol.messages import EnrolResponse, encode
from loa_protocol.mosquitto import MosquittoBroker
from loa_protocol.signing import generate_keypair, sign_command
from loa_protocol.topics import device_subscriptions, group_command_topic


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--communes", type=int, default=10)
    parser.add_argument("--transport", choices=["lean", "aiomqtt"], default="lean",
                        help="the simulated agents' MQTT connection (ADR 0021)")  # fmt: skip
    args = parser.parse_args()
    private, public = generate_keypair()
    # before the broker starts, so that it inherits the raised limit too (one connection per agent)
    raise_open_file_limit(args.devices + FD_MARGIN)
    broker = MosquittoBroker(persistence=False).start()
    try:
        creds = []
        for i in range(args.devices):
            device_id = f"loa-{i:012x}"
            units = ["22", f"{6000 + i % args.communes:05d}"]
            creds.append(
                EnrolResponse(
                    device_id=device_id,
                    mqtt_url=broker.url,
                    mqtt_username=device_id,
                    mqtt_password="x",  # noqa: S106 - a private benchmark broker
                    server_public_key=public,
                    unit_codes=units,
                    subscriptions=device_subscriptions(device_id, units),
                    media_base_url="x",
                    manifest_url="x",
                )
            )
        # no HTTPS manifest polls: there is no server here (a poll of "x" only spends descriptors and CPU)
        options = RuntimeOptions(heartbeat_s=60, backoff_initial_s=1, publish_timeout_s=30, manifest_poll_s=0)
        t0 = time.monotonic()
        sim = Simulator(
            creds, options=options, keep_history=True, connect_rate=2000, transport=args.transport
        ).start(wait_connected=300)
        connect_s = time.monotonic() - t0
        # The publisher runs in its own process (as the gateway would): a paho thread in this process would
        # compete for the GIL with thousands of simulated agents.
        topic = group_command_topic(["22"])
        sent = dt.datetime.now(dt.UTC)
        command = sign_command(private, topic=topic, seq=1, action="play", issued_at=sent,
                               params={"item_id": "alert", "media_url": "x", "sha256": "00" * 32,
                                       "duration_s": 30, "priority": 1})  # fmt: skip
        payload = Path(tempfile.mkdtemp()) / "command.json"
        payload.write_bytes(encode(command))
        sent = dt.datetime.now(dt.UTC)
        subprocess.run(["mosquitto_pub", "-p", str(broker.port), "-t", topic, "-q", "1", "-f", str(payload)],
                       check=True)  # fmt: skip
        # The agents share the GIL with this thread: checking often (a walk of every agent's history) would take
        # it from them while they handle the command, which is what is measured. Look after a second, then rarely.
        time.sleep(1.0)
        deadline = time.monotonic() + 120
        while len(sim.events(kind="start")) < args.devices and time.monotonic() < deadline:
            time.sleep(0.5)
        if len(sim.events(kind="start")) < args.devices:
            print(f"connected={sim.connected_count()} refusals={sim.refusals()} log={broker.log()[-2000:]}",
                  file=sys.stderr)  # fmt: skip
        latencies = sorted((e.at - sent).total_seconds() for e in sim.events(kind="start"))
        sim.stop()
        q = (
            statistics.quantiles(latencies, n=100)
            if len(latencies) > 1
            else (latencies or [float("nan")]) * 99
        )
        print(json.dumps({
            "devices": args.devices,
            "transport": args.transport,
            "connect_s": round(connect_s, 2),
            "delivered": len(latencies),
            "p50_s": round(q[49], 3),
            "p99_s": round(q[98], 3),
            "max_s": round(latencies[-1], 3) if latencies else None,
            "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        }))  # fmt: skip
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
