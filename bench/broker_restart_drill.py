"""Broker-restart drill (issue 21): restart Mosquitto while commands, manifests and play logs flow and during an
emergency, and measure how the system heals.

    LOA_DATA_DIR=$(mktemp -d) .venv/bin/python bench/broker_restart_drill.py --devices 200 --outage 5
    LOA_DATA_DIR=$(mktemp -d) .venv/bin/python bench/broker_restart_drill.py --devices 200 --outage 5 --kill

What runs: a Mosquitto of its own (Loa's generated config, password and ACL files, persistence on) on a free
loopback port, the real gateway (``loa gateway`` in its own process, with its local health endpoint), and
``--devices`` reference agents (``loa_agent``'s runtime and core, the simulator's null sound output, each with its own
play-log store on disk, in this process). The database is the configured one (SQLite in ``LOA_DATA_DIR`` unless
``LOA_DATABASE_URL`` is set); the drill migrates it and adds a unit of its own (``98``, not a real province).

The drill: every device gets a compiled manifest (retained) and a first emergency with speech (repeated twice); while
it plays, the broker is stopped (SIGTERM like ``systemctl restart``, or SIGKILL with ``--kill``) for ``--outage``
seconds; meanwhile the agents keep playing and buffering play logs, a volume command and a second emergency are
issued (both wait in the outbox), then the broker starts again on the same port. Volume commands are sent every
second (by a process of their own, ``--operator``, as an operator's come from the web process, not from the devices'
process) and synthetic play logs are added to the agents' stores throughout. The agents talk MQTT through the
simulator's lean client unless ``--transport aiomqtt`` (ADR 0021).

It prints (and with ``--json`` returns) figures: how soon the broker's loss shows on the gateway's health endpoint and
in the console, when the gateway and each agent are back after the broker (spread and peak of the reconnects: no
thundering herd), when the second emergency reaches each device after the broker is back (budget: 99 % within 3 s),
whether the retained manifests survived, and what was lost or duplicated (play logs acknowledged by the broker before
the restart, play logs buffered during it, command acks).

``tests/loa/gateway/test_broker_restart_drill.py`` runs :func:`run_drill` with 30 devices and asserts the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

# about 4 s of speech: the first emergency is still playing when the broker stops, and over before it is back
EMERGENCY_TEXT = "Cảnh báo khẩn: nước sông đang lên nhanh, bà con di chuyển ngay đến nơi an toàn."


def _percentile(values: list[float], q: float) -> float | None:
    from loa.broadcast.emergency import percentile

    return percentile(sorted(values), q) if values else None


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _health(port: int) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return 0, {}


def _wait(
    predicate: Callable[[], Any], timeout: float, what: str, tick: Callable[[], None] | None = None
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        if tick is not None:
            tick()
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"diễn tập: quá thời gian chờ — {what}")
        time.sleep(0.05)


def _totp(user: Any, name: str) -> str:
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    otp = TOTPDevice.objects.create(user=user, name=name, confirmed=True)
    return f"{TOTP(otp.bin_key, otp.step, otp.t0, otp.digits, otp.drift).token():06d}"


def _retained_manifest_version(url: str, creds: Any, timeout: float = 5.0) -> int | None:
    """Connect as ``creds`` (a device no agent runs) and read its retained manifest's version, if any."""
    import threading

    import paho.mqtt.client as paho

    from loa.fleet import broker
    from loa_protocol import topics
    from loa_protocol.messages import Manifest, decode

    got: list[bytes] = []
    done = threading.Event()
    target = broker.parse_mqtt_url(url)
    c = paho.Client(callback_api_version=paho.CallbackAPIVersion.VERSION2, client_id=creds.device_id)
    c.username_pw_set(creds.mqtt_username, creds.mqtt_password)

    def on_connect(client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        client.subscribe(topics.manifest_topic(creds.device_id), qos=1)

    def on_message(client: Any, userdata: Any, msg: Any) -> None:
        got.append(bytes(msg.payload))
        done.set()

    c.on_connect, c.on_message = on_connect, on_message
    c.connect(target.host, target.port, keepalive=10)
    c.loop_start()
    try:
        done.wait(timeout)
    finally:
        c.disconnect()
        c.loop_stop()
    if not got or not got[0]:
        return None
    return int(decode(Manifest, got[0]).version)


def run_drill(
    *,
    unit: Any,
    devices: int,
    workdir: Path,
    outage_s: float = 5.0,
    kill: bool = False,
    transport: str = "lean",
    env: dict[str, str] | None = None,
    log: Callable[[str], None] = lambda s: None,
) -> dict[str, Any]:
    """Run the drill with ``devices`` agents in ``unit`` (a commune); ``env`` is added to the gateway's environment
    (a test passes its database's URL). Returns the figures; raises TimeoutError if the system does not heal."""
    import random

    from django.conf import settings
    from django.utils import timezone

    from loa.accounts.models import RoleAssignment, User
    from loa.accounts.roles import Role
    from loa.broadcast.bench import _bench_devices
    from loa.broadcast.compile import compile_manifests
    from loa.broadcast.emergency import do_start_emergency
    from loa.broadcast.models import DeviceManifest
    from loa.console.gateway_state import gateway_trouble
    from loa.fleet import broker
    from loa.fleet.models import CommandDelivery, DeliveryState, PlayLog
    from loa.gateway.models import GatewayState
    from loa.gateway.sample_messages import playlog_event
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.simulator import Simulator

    workdir.mkdir(parents=True, exist_ok=True)
    mqtt_dir = workdir / "mqtt"
    old_mqtt_dir = getattr(settings, "LOA_MQTT_DIR", "")
    settings.LOA_MQTT_DIR = str(mqtt_dir)
    embedded = broker.EmbeddedBroker(mqtt_dir)
    creds = _bench_devices(unit, devices + 1)
    probe, creds = creds[0], creds[1:]  # the probe's retained manifest is read back after the restart
    ids = [c.device_id for c in creds]
    broker.write_broker_files(reload=False, directory=mqtt_dir)
    embedded.start()
    creds = [c.model_copy(update={"mqtt_url": embedded.url}) for c in creds]
    probe = probe.model_copy(update={"mqtt_url": embedded.url})
    compile_manifests(device_ids=[*ids, probe.device_id])
    versions = dict(DeviceManifest.objects.filter(device_id__in=ids).values_list("device_id", "version"))
    probe_version = DeviceManifest.objects.get(device_id=probe.device_id).version

    user, _ = User.objects.get_or_create(username="dien-tap-broker", defaults={"full_name": "Diễn tập"})
    RoleAssignment.objects.get_or_create(user=user, role=Role.APPROVER, unit=unit)
    health_port = broker.free_port()
    client_id = f"loa-gateway-drill-{uuid.uuid4().hex[:6]}"
    gateway_log = workdir / "gateway.log"
    gw_env = dict(os.environ, LOA_MQTT_DIR=str(mqtt_dir), LOA_GATEWAY_CLIENT_ID=client_id, **(env or {}))
    gateway = subprocess.Popen(
        [sys.executable, "-c", "from loa.cli import main; main()", "gateway", "--url", embedded.url,
         "--no-embedded-broker", "--flush-interval", "0.2", "--health-port", str(health_port)],
        env=gw_env, stdout=subprocess.DEVNULL, stderr=gateway_log.open("ab"),
    )  # fmt: skip
    sim = Simulator(
        creds,
        options=RuntimeOptions(heartbeat_s=30, manifest_poll_s=0),
        # play logs in memory: a broker restart is drilled, not an agent's crash; 30-200 agents committing to SQLite
        # from one event loop serialise their fsyncs, which a device with its own disk does not
        keep_history=True,
        group_hold_s=0,  # each agent acks and uploads at once, as a device with its own CPU does
        transport=transport,
    )
    result: dict[str, Any] = {"drill": "broker-restart", "devices": devices, "outage_s": outage_s,
                              "restart": "SIGKILL" if kill else "SIGTERM", "transport": transport}  # fmt: skip
    rng = random.Random(0)
    synthetic: dict[str, float] = {}  # event id -> when it was added to an agent's store
    receipts: dict[str, dict[str, float]] = {}  # command id -> device id -> when the agent had handled it
    commands: list[str] = []
    next_volume = [0.0]

    def add_playlog() -> None:
        device = sim.devices[rng.choice(ids)]
        event = playlog_event(device.device_id)

        async def append() -> None:
            device.core.store.append(event)
            device.runtime._changed()  # the agent's sender uploads it when connected

        sim.call(append())
        synthetic[str(event.event_id)] = time.time()

    def flow() -> None:
        """A play log now and then, whatever the broker does (the volume commands come from the operator's
        process, :func:`operator`)."""
        now = time.monotonic()
        if now >= next_volume[0]:
            next_volume[0] = now + 1.0
            add_playlog()

    command_ids: dict[bytes, str] = {}  # one group payload reaches every agent: its id is read once

    def watch(device_id: str, handled: Callable[[str, bytes], None] | None) -> Callable[[str, bytes], None]:
        def on_command(topic: str, payload: bytes) -> None:
            at = time.time()
            command_id = command_ids.get(payload)
            if command_id is None:
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    command_id = command_ids[payload] = str(json.loads(payload)["id"])
            if command_id is not None:
                receipts.setdefault(command_id, {}).setdefault(device_id, at)
            if handled is not None:
                handled(topic, payload)

        return on_command

    for d in ids:  # when each agent has a command (handled: started, queued or refused)
        runtime = sim.devices[d].runtime
        runtime.on_command = watch(d, runtime.on_command)

    operator_proc: subprocess.Popen[str] | None = None
    try:
        sim.start(wait_connected=120)

        def gateway_up() -> bool:
            if gateway.poll() is not None:
                raise RuntimeError("gateway dừng: " + gateway_log.read_text(errors="replace")[-2000:])
            return _health(health_port)[0] == 200

        _wait(gateway_up, 60, "gateway kết nối")
        _wait(
            lambda: all(
                (m := sim.devices[d].core.manifest) is not None and m.version == versions[d] for d in ids
            ),
            60,
            "mọi cụm loa nhận lịch phát (retained)",
        )
        # The first emergency plays when the broker stops; commands and play logs flow all along. The volume
        # commands come from a process of their own, as an operator's come from the web process: the ORM's work for
        # a thousand deliveries a second in this process would hold the GIL the simulated devices need.
        operator_proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--operator", str(user.pk), str(unit.pk)],
            env=gw_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=(workdir / "operator.log").open("ab"), text=True,
        )  # fmt: skip
        e1 = do_start_emergency(unit, actor=user, totp=_totp(user, "drill-1"), text=EMERGENCY_TEXT, repeat=1)
        result["emergency_audio_s"] = _r(e1.duration_s)
        _wait(
            lambda: (
                len({e.device_id for e in sim.events(kind="start") if e.item_id == e1.item_id}) == devices
            ),
            60,
            "khẩn cấp 1 phát ở mọi cụm loa",
            flow,
        )

        async def unacknowledged() -> set[str]:
            return {str(e.event_id) for d in sim.devices.values() for _, e in d.core.store.oldest(10**6)}

        # what the agents have recorded so far (the emergency's starts) reaches the broker before it stops
        so_far = {str(e.event_id) for e in sim.events()} | set(synthetic)
        _wait(
            lambda: not (so_far & sim.call(unacknowledged())), 60, "nhật ký phát trước khi dừng broker", flow
        )

        history_before = {str(e.event_id) for e in sim.events()} | set(synthetic)
        result["playing_when_broker_stopped"] = sum(
            1 for d in sim.devices.values() if d.core.current is not None
        )
        acked_before = history_before - sim.call(unacknowledged())
        connections_before = {d: sim.devices[d].runtime.connections for d in ids}

        # ---- the outage ----
        down_at = time.time()
        embedded.stop(kill=kill)
        health_down = (
            _wait(lambda: _health(health_port)[0] == 503, 10, "health 503") and time.time() - down_at
        )
        console_down = (
            _wait(lambda: (t := gateway_trouble()) is not None and t["kind"] == "broker_down", 10, "console")
            and time.time() - down_at
        )
        state = GatewayState.objects.get(name=client_id)
        result["outage_visible"] = {
            "health_503_s": _r(health_down),
            "console_s": _r(console_down),
            "health_body": _health(health_port)[1],
            "disconnected_at_recorded": state.disconnected_at is not None and not state.connected,
        }
        _wait(lambda: sim.connected_count() == 0, 10, "cụm loa mất kết nối", flow)
        _wait(lambda: time.time() - down_at >= outage_s / 2, outage_s, "", flow)
        t0 = time.perf_counter()
        e2 = do_start_emergency(unit, actor=user, totp=_totp(user, "drill-2"), text=EMERGENCY_TEXT, repeat=1)
        result["emergency_during_outage_api_s"] = _r(time.perf_counter() - t0)
        _wait(lambda: time.time() - down_at >= outage_s, outage_s + 30, "", flow)
        embedded.start()
        back_at = time.time()
        result["outage_real_s"] = _r(back_at - down_at)

        # ---- healing ----
        _wait(lambda: _health(health_port)[0] == 200, 30, "gateway kết nối lại", flow)
        result["gateway_back_s"] = _r(time.time() - back_at)
        _wait(
            lambda: (
                all(sim.devices[d].runtime.connections > connections_before[d] for d in ids)
                and sim.connected_count() == devices
            ),
            60,
            "mọi cụm loa kết nối lại",
            flow,
        )
        reconnects = sorted((sim.devices[d].runtime.connected_at or 0.0) - back_at for d in ids)
        buckets: dict[int, int] = {}
        for x in reconnects:
            buckets[int(x * 10)] = buckets.get(int(x * 10), 0) + 1
        result["agents_back"] = {
            "first_s": _r(reconnects[0]), "p50_s": _r(_percentile(reconnects, 0.5)),
            "p99_s": _r(_percentile(reconnects, 0.99)), "last_s": _r(reconnects[-1]),
            "spread_s": _r(reconnects[-1] - reconnects[0]),
            "most_in_100ms": max(buckets.values()),
        }  # fmt: skip
        _wait(lambda: gateway_trouble() is None, 10, "console: gateway đã kết nối")

        def e2_starts() -> dict[str, float]:
            out: dict[str, float] = {}
            for e in sim.events(kind="start"):
                if e.item_id == e2.item_id and e.device_id not in out:
                    out[e.device_id] = e.at.timestamp()
            return out

        _wait(lambda: len(e2_starts()) == devices, 60, "khẩn cấp 2 phát ở mọi cụm loa", flow)
        got = receipts.get(str(e2.command_id), {})
        received = sorted(t - back_at for d, t in got.items() if d in versions)
        playing = sorted(t - back_at for t in e2_starts().values())
        requested = e2.requested_at.timestamp()
        result["emergency_after_broker_back"] = {
            "devices": devices, "received": len(received),
            "received_p50_s": _r(_percentile(received, 0.5)), "received_p99_s": _r(_percentile(received, 0.99)),
            "received_max_s": _r(received[-1] if received else None),
            "playing": len(playing), "playing_p50_s": _r(_percentile(playing, 0.5)),
            "playing_p99_s": _r(_percentile(playing, 0.99)), "playing_max_s": _r(playing[-1]),
            "playing_within_3s": sum(1 for x in playing if x <= 3.0),
            "from_request_p99_s": _r(_percentile([t - requested for t in e2_starts().values()], 0.99)),
        }  # fmt: skip

        # retained manifests: the probe device (no agent) reads its own back; the agents kept theirs
        read = _retained_manifest_version(embedded.url, probe, timeout=10.0)
        published = DeviceManifest.objects.get(device_id=probe.device_id).published_version
        result["retained_manifest_after_restart"] = read is not None and read == published
        result["retained_manifest_versions"] = {
            "compiled_first": probe_version,
            "published": published,
            "read": read,
        }
        result["agents_kept_manifest"] = sum(
            1 for d in ids if (m := sim.devices[d].core.manifest) is not None and m.version == versions[d]
        )

        # nothing lost, nothing doubled: every event the agents recorded and every synthetic one is stored once;
        # those recorded before the broker was back (buffered on the agents' disks) soon after its return
        buffered = {str(e.event_id) for e in sim.events() if e.at.timestamp() < back_at}
        buffered |= {k for k, at in synthetic.items() if at < back_at}
        stored_after: list[float] = []

        missing = set(buffered)  # looked up again each time: fewer every time, a cheaper query

        def buffered_stored() -> bool:
            found = PlayLog.objects.filter(event_id__in=list(missing)).values_list("event_id", flat=True)
            missing.difference_update(map(str, found))
            return not missing

        with contextlib.suppress(TimeoutError):
            _wait(buffered_stored, 60, "nhật ký phát giữ lại trong lúc mất broker vào cơ sở dữ liệu", flow)
            stored_after.append(time.time() - back_at)
        commands.extend(_stop_operator(operator_proc, workdir / "operator.log"))
        with contextlib.suppress(TimeoutError):  # no new commands or synthetic logs now: let the agents drain
            _wait(lambda: sim.pending_logs() == 0, 60, "cụm loa gửi hết nhật ký phát")
        everything = {str(e.event_id) for e in sim.events()} | set(synthetic)
        with contextlib.suppress(TimeoutError):
            _wait(
                lambda: PlayLog.objects.filter(event_id__in=list(everything)).count() == len(everything),
                30,
                "",
            )
        stored = set(
            map(str, PlayLog.objects.filter(event_id__in=list(everything)).values_list("event_id", flat=True))
        )
        rows = PlayLog.objects.filter(device_id__in=ids).count()
        result["playlogs"] = {
            "recorded": len(everything), "stored": len(stored), "rows_for_these_devices": rows,
            "acked_before_restart": len(acked_before), "acked_before_restart_lost": len(acked_before - stored),
            "buffered_during_outage": len(buffered - acked_before),
            "lost": len(everything - stored), "duplicated": rows - len(stored),
            "buffered_stored_s_after_broker_back": _r(stored_after[0] if stored_after else None),
        }  # fmt: skip

        def not_done() -> int:
            return (
                CommandDelivery.objects.filter(command_id__in=commands, device_id__in=ids)
                .exclude(state=DeliveryState.DONE)
                .count()
            )

        with contextlib.suppress(TimeoutError):
            _wait(lambda: not_done() == 0, 30, "mọi lệnh âm lượng được xác nhận")
        states: dict[str, int] = {}
        deliveries = CommandDelivery.objects.filter(command_id__in=commands, device_id__in=ids)
        for st, reason in deliveries.values_list("state", "reason"):
            key = f"{st}:{reason}" if reason else st
            states[key] = states.get(key, 0) + 1
        result["volume_commands"] = {
            "sent": len(commands),
            "deliveries_not_done": not_done(),
            "states": states,
        }
        result["agent_refusals"] = sim.refusals()
        result["emergency_1_done"] = CommandDelivery.objects.filter(
            command_id=e1.command_id, state=DeliveryState.DONE
        ).count()
        with contextlib.suppress(TimeoutError):
            _wait(
                lambda: (
                    CommandDelivery.objects.filter(
                        command_id=e2.command_id, device_id__in=ids, state="done"
                    ).count()
                    == devices
                ),
                30,
                "",
            )
        result["emergency_2_done"] = CommandDelivery.objects.filter(
            command_id=e2.command_id, device_id__in=ids, state=DeliveryState.DONE
        ).count()
    finally:
        if operator_proc is not None and operator_proc.poll() is None:
            operator_proc.kill()
            operator_proc.wait(10)
        sim.stop()
        gateway.terminate()
        try:
            gateway.wait(20)
        except subprocess.TimeoutExpired:
            gateway.kill()
            gateway.wait(5)
        embedded.stop()
        settings.LOA_MQTT_DIR = old_mqtt_dir
    lines = gateway_log.read_text(errors="replace").splitlines()
    result["gateway_log"] = {
        "broker_away_lines": sum(1 for x in lines if "không kết nối được tới broker" in x),
        "broker_back_lines": sum(1 for x in lines if "đã kết nối lại broker" in x),
        "tracebacks": sum(1 for x in lines if "Traceback" in x),
        "lines": len(lines),
    }
    result["at"] = timezone.now().isoformat(timespec="seconds")
    return result


def _stop_operator(proc: subprocess.Popen[str], log_path: Path) -> list[str]:
    """Close the operator's stdin (it finishes the command under way and stops) and return the ids it sent."""
    out, _ = proc.communicate(timeout=60)
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace")[-2000:] if log_path.exists() else ""
        raise RuntimeError(f"tiến trình gửi lệnh âm lượng dừng với mã {proc.returncode}: {tail}")
    return out.split()


def operator(user_pk: str, unit_pk: str) -> None:
    """``--operator USER UNIT`` (started by :func:`run_drill`): a volume command to the unit every second, with a
    code when an emergency may be playing there (as for an operator), until stdin closes; prints each id."""
    import threading

    from loa.accounts.models import User
    from loa.fleet.services import do_send_command, totp_required
    from loa.units.models import Unit

    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    user, unit = User.objects.get(pk=user_pk), Unit.objects.get(pk=unit_pk)
    sent = 0
    while not stop.is_set():
        params = {"volume": 60 + sent % 30}
        code = (
            _totp(user, f"drill-v{sent}") if totp_required("volume", params, unit, None, actor=user) else ""
        )
        command = do_send_command(
            actor=user, action="volume", params=params, target_unit=unit, ttl_s=120, totp=code
        )
        print(command.pk, flush=True)
        sent += 1
        stop.wait(1.0)


def main() -> None:
    if sys.argv[1:2] == ["--operator"]:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
        import django

        django.setup()
        operator(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the broker is down")
    parser.add_argument("--kill", action="store_true", help="SIGKILL the broker instead of SIGTERM")
    parser.add_argument("--transport", choices=["lean", "aiomqtt"], default="lean",
                        help="the simulated agents' MQTT connection (ADR 0021)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object only")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loa.settings")
    import django

    django.setup()
    from django.core.management import call_command

    from loa.broadcast.bench import _bench_tree
    from loa.fleet.models import Device

    call_command("migrate", verbosity=0)
    province, communes = _bench_tree(1)
    Device.objects.filter(unit__path__startswith=province.path).delete()
    workdir = Path(tempfile.mkdtemp(prefix="loa-broker-drill-"))
    result = run_drill(
        unit=communes[0],
        devices=args.devices,
        workdir=workdir,
        outage_s=args.outage,
        kill=args.kill,
        transport=args.transport,
    )
    load = os.getloadavg()
    result["machine"] = (
        f"{platform.machine()} {os.cpu_count()} CPU, load {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    result["workdir"] = str(workdir)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return
    print(json.dumps(result, ensure_ascii=False, indent=2))
    e = result["emergency_after_broker_back"]
    a = result["agents_back"]
    p = result["playlogs"]
    print(
        f"\nbroker down {result['outage_real_s']} s ({result['restart']}); health 503 after "
        f"{result['outage_visible']['health_503_s']} s, console after {result['outage_visible']['console_s']} s; "
        f"gateway back {result['gateway_back_s']} s after the broker; agents back {a['first_s']}–{a['last_s']} s "
        f"(p99 {a['p99_s']} s, at most {a['most_in_100ms']} in one 100 ms); emergency issued during the outage "
        f"received by {e['received']}/{e['devices']} (p99 {e['received_p99_s']} s) and playing on "
        f"{e['playing_within_3s']}/{e['devices']} within 3 s (p99 {e['playing_p99_s']} s) of the broker's return; "
        f"play logs buffered during the outage stored {p['buffered_stored_s_after_broker_back']} s after it, "
        f"lost {p['lost']}, duplicated {p['duplicated']}; retained manifest kept: "
        f"{result['retained_manifest_after_restart']}"
    )


if __name__ == "__main__":
    main()
