"""``loa bench fanout``: one "play now" command to N simulated devices, from the API call to each device's receipt.

Everything runs as in production, each in its own process, on this host: a Mosquitto with Loa's generated passwords
and ACLs on a free loopback port, the gateway, the web process (uvicorn, the real HTTP API with a bearer token) and
the device simulator (``processes`` processes sharing the N agents). Per run, one ``POST /api/v1/fleet/commands``
(``action=play`` of a library audio asset, to the bench province, with TOTP as the API requires for more than one
commune) is timed from just before the request is sent to the instant each agent handled the verified command: the
``at`` of the first play-log event the agent recorded for it (``start``, or a refusal with its reason), as the
simulator processes report it (same host, same clock). The acks and play logs still flow back through the broker
and the gateway into the database, and each run waits for them before the next. Figures, not pass/fail: the budgets
are in docs/benchmarks.md.

It uses the configured database and data directory (the command signing key, the gateway's poke socket) and creates
its own province ``98`` with its devices (like ``loa bench emergency``): run it with a throw-away ``LOA_DATA_DIR``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from loa_protocol.ports import reserve_port

# The simulator processes: connect every agent, say how many are connected, then wait for stdin to close.
SIMULATOR = """
import json, os, sys, time, uuid
from pathlib import Path
from loa_agent.runtime import RuntimeOptions
from loa_agent.simulator import Simulator, load_credentials
creds = load_credentials(Path(sys.argv[1]))
options = RuntimeOptions(heartbeat_s=600, status_on_change=False, manifest_poll_s=0)
# the hold of the agents' reports lasts until every simulator process of the benchmark has handled a group command
peers = ({"peer_dir": Path(os.environ["LOA_BENCH_PEER_DIR"]), "peers": int(os.environ["LOA_BENCH_PEERS"])}
         if os.environ.get("LOA_BENCH_PEER_DIR") else {})
sim = Simulator(creds, options=options, keep_history=True, connect_rate=float(sys.argv[2]),
                **peers, transport=os.environ.get("LOA_BENCH_TRANSPORT", "lean"))
sim.start(wait_connected=600)
print(json.dumps({"connected": sim.connected_count()}), flush=True)

def receipts(command_id):
    # cheap (no string conversions): it shares the GIL with the agents it measures
    found = {}
    for device in sim.devices.values():
        for event in device.core.history[-4:]:
            if event.command_id == command_id:
                found[device.device_id] = (event.at.timestamp(), event.kind)
                break
    return found

for line in sys.stdin:
    what, arg, timeout = line.split()
    deadline = time.monotonic() + float(timeout)
    if what == "receipts":  # each agent's first play-log event for the command: it handled the verified command
        command_id = uuid.UUID(arg)
        time.sleep(1.0)
        found = receipts(command_id)
        while len(found) < len(sim.devices) and time.monotonic() < deadline:
            time.sleep(1.0)
            found = receipts(command_id)
        print(json.dumps({"at": sorted(at for at, _ in found.values()),
                          "started": sum(1 for _, kind in found.values() if kind == "start")}), flush=True)
    elif what == "drain":  # every play-log event recorded so far acknowledged by the broker
        while sim.pending_logs() and time.monotonic() < deadline:
            time.sleep(0.5)
        print(json.dumps({"pending": sim.pending_logs()}), flush=True)
sim.stop()
"""
AUDIO_S = 0.5  # the played asset's duration: short, so each run's play is over before the next run


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of sorted ``values``."""
    if not values:
        return None
    return values[min(len(values) - 1, max(0, math.ceil(q * len(values)) - 1))]


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def _free_port() -> int:
    return reserve_port()


def _cpu_s(pid: int) -> float:
    """CPU time (user + system) a live process has used so far (Linux ``/proc``), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mb(pid: int) -> float | None:
    """Resident memory of a live process (Linux ``/proc``), in MiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def _database_url() -> str:
    """This process's database as ``LOA_DATABASE_URL``, so that the child processes use the very same one (under
    pytest that is the test database, not the configured name)."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        name = str(s["NAME"])
        if not name or ":memory:" in name or "mode=memory" in name:
            raise RuntimeError(
                "Phép đo cần cơ sở dữ liệu dùng chung giữa các tiến trình (tệp SQLite hoặc PostgreSQL)."
            )
        return f"sqlite:///{name}"
    if connection.vendor == "postgresql":
        auth = s.get("USER") or ""
        if s.get("PASSWORD"):
            auth += f":{s['PASSWORD']}"
        host = f"{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}"
        return f"postgres://{auth}@{host}/{s['NAME']}" if auth else f"postgres://{host}/{s['NAME']}"
    raise RuntimeError(f"Phép đo chưa hỗ trợ cơ sở dữ liệu {connection.vendor}.")


def _wait(
    predicate: Any, timeout: float, what: str, alive: list[subprocess.Popen[Any]] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        for proc in alive or []:
            if proc.poll() is not None:
                raise RuntimeError(f"{what}: một tiến trình đã dừng (mã {proc.returncode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: quá {timeout:.0f} giây")
        time.sleep(0.05)


def check_transport(transport: str) -> str:
    """The simulated agents' MQTT connection in a benchmark: ``lean`` (the simulator's own client, the default: a
    fraction of the CPU per message where thousands of agents share a core) or ``aiomqtt`` (the reference agent's);
    ADR 0021."""
    if transport not in ("lean", "aiomqtt"):
        raise RuntimeError(f"transport “{transport}”: lean hoặc aiomqtt")
    return transport


def _stop(proc: subprocess.Popen[Any], timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def fanout_bench(
    devices: int = 10000, repeat: int = 3, processes: int = 2, transport: str = "lean"
) -> dict[str, Any]:
    """One JSON-serialisable dict: the median run's figures (by p99) at the top, every run in ``runs``.
    ``transport``: the simulated agents' MQTT connection (:func:`check_transport`)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from loa.accounts.models import ApiToken, RoleAssignment, User
    from loa.accounts.roles import Role
    from loa.broadcast.bench import _bench_devices, _bench_tree
    from loa.broadcast.models import ItemKind, Programme, ProgrammeItem
    from loa.fleet import broker
    from loa.fleet.models import Device
    from loa.fleet.play import media_url
    from loa.gateway.models import GatewayState
    from loa.media.models import MediaAsset
    from loa_agent.simulator import FD_MARGIN, raise_open_file_limit

    processes = max(1, min(processes, 16, devices))
    # before Mosquitto starts, so that it inherits the limit too: one connection per device
    raise_open_file_limit(devices + FD_MARGIN)
    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-fanout-"))
    t_setup = time.monotonic()
    province, communes = _bench_tree(max(1, devices // 1000))
    Device.objects.filter(unit__path__startswith=province.path).delete()
    per = (devices + len(communes) - 1) // len(communes)
    creds = []
    for i, commune in enumerate(communes):
        if (n := min(per, devices - i * per)) > 0:
            creds += _bench_devices(commune, n)
    sha = hashlib.sha256(b"loa bench fanout").hexdigest()
    asset, _ = MediaAsset.objects.update_or_create(
        unit=province, sha256=sha,
        defaults={"kind": MediaAsset.Kind.AUDIO, "original_sha256": sha, "original_name": "fanout.mp3",
                  "duration_s": AUDIO_S, "size_bytes": 1},
    )  # fmt: skip
    # "play now" plays approved audio only: the asset is an item of an approved programme (docs/adr/0007)
    if not ProgrammeItem.objects.filter(sha256=sha, programme__state=Programme.State.APPROVED).exists():
        programme = Programme.objects.create(unit=province, title="Phép đo lan tỏa lệnh",
                                             state=Programme.State.APPROVED, decided_at=timezone.now())  # fmt: skip
        ProgrammeItem.objects.create(programme=programme, position=0, kind=ItemKind.AUDIO, title="fanout",
                                     sha256=sha, media_url=media_url(sha), duration_s=AUDIO_S)  # fmt: skip
    user, _ = User.objects.get_or_create(
        username="bench-fanout", defaults={"full_name": "Phép đo lan tỏa lệnh"}
    )
    RoleAssignment.objects.get_or_create(user=user, role=Role.PROVINCE_ADMIN, unit=province)
    # the role needs a second factor: with none, its tokens are refused (403)
    TOTPDevice.objects.get_or_create(user=user, name="bench-fanout", defaults={"confirmed": True})
    key = ApiToken.new_key()
    ApiToken.objects.create(user=user, name="bench fanout", prefix=key[:8], key_hash=ApiToken.hash_key(key),
                            scopes=["*"])  # fmt: skip
    setup_s = time.monotonic() - t_setup

    mqtt_dir = tmp / "mqtt"
    embedded = broker.EmbeddedBroker(mqtt_dir, log_file=tmp / "mosquitto.log")
    previous_mqtt_dir = os.environ.get("LOA_MQTT_DIR")
    os.environ["LOA_MQTT_DIR"] = str(mqtt_dir)
    procs: list[subprocess.Popen[Any]] = []
    sims: list[subprocess.Popen[str]] = []
    result: dict[str, Any] = {"benchmark": "fanout", "devices": devices, "simulator_processes": processes,
                              "transport": transport}  # fmt: skip
    try:
        broker.write_broker_files(reload=False, directory=mqtt_dir)
        embedded.start(timeout=120)  # 10,000 passwords and ACL entries to load on a busy machine
        creds = [c.model_copy(update={"mqtt_url": embedded.url}) for c in creds]
        for k in range(processes):
            (tmp / f"creds-{k}.json").write_text(
                json.dumps([c.model_dump(mode="json") for c in creds[k::processes]])
            )
        client_id = f"loa-gateway-bench-fanout-{uuid.uuid4().hex[:6]}"
        port = _free_port()
        hosts = os.environ.get("LOA_ALLOWED_HOSTS", "")
        env = dict(
            os.environ,
            LOA_DATABASE_URL=_database_url(),
            LOA_DATA_DIR=str(settings.DATA_DIR),
            LOA_MQTT_DIR=str(mqtt_dir),
            LOA_GATEWAY_CLIENT_ID=client_id,
            LOA_ALLOWED_HOSTS=",".join(h for h in (hosts, "127.0.0.1") if h),
            LOA_PUBLIC_URL=str(settings.LOA_PUBLIC_URL),
        )
        gateway = subprocess.Popen(
            [sys.executable, "-c", "from loa.cli import main; main()", "gateway", "--url", embedded.url,
             "--no-embedded-broker", "--flush-interval", "0.2"],
            env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "gateway.log").open("w"),
        )  # fmt: skip
        procs.append(gateway)
        web = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "loa.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--log-level", "warning", "--lifespan", "off", "--no-access-log"],
            env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "web.log").open("w"),
        )  # fmt: skip
        procs.append(web)
        t_connect = time.monotonic()
        peer_dir = tmp / "peers"
        peer_dir.mkdir()
        for k in range(processes):
            sims.append(
                subprocess.Popen(
                    [sys.executable, "-c", SIMULATOR, str(tmp / f"creds-{k}.json"), "2000"],
                    env=dict(
                        env,
                        LOA_BENCH_PEER_DIR=str(peer_dir),
                        LOA_BENCH_PEERS=str(processes),
                        LOA_BENCH_TRANSPORT=check_transport(transport),
                    ),
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=(tmp / f"simulator-{k}.log").open("w"),
                    text=True,
                )
            )
        connected = 0
        for sim in sims:
            assert sim.stdout is not None
            line = sim.stdout.readline()
            if not line:
                log = (tmp / f"simulator-{sims.index(sim)}.log").read_text().strip().splitlines()
                raise RuntimeError(
                    f"trình mô phỏng dừng trước khi kết nối xong: {log[-1] if log else '?'} ({tmp})"
                )
            connected += int(json.loads(line).get("connected", 0))
        result["connected"] = connected
        result["connect_s"] = round(time.monotonic() - t_connect, 1)
        # ready when the gateway is subscribed and has taken in every device's presence (the storm is over)
        _wait(lambda: GatewayState.objects.filter(name=client_id, connected=True).exists(), 60,
              "gateway không kết nối được tới broker", procs)  # fmt: skip
        _wait(lambda: Device.objects.filter(unit__path__startswith=province.path, online=True).count() >= devices,
              180, "gateway chưa nhận đủ trạng thái trực tuyến của thiết bị", procs)  # fmt: skip
        import httpx

        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as http:
            _wait(lambda: _answers(http), 60, "máy chủ web không trả lời", procs)
            time.sleep(1.0)  # let the presence storm's last writes settle
            result["gateway_rss_mb"] = _rss_mb(gateway.pid)
            result["simulator_rss_mb"] = round(sum(_rss_mb(s.pid) or 0.0 for s in sims), 1)
            result["web_rss_mb"] = _rss_mb(web.pid)
            pids = {"web": [web.pid], "gateway": [gateway.pid], "broker": [embedded.pid or 0],
                    "simulators": [sim.pid for sim in sims]}  # fmt: skip
            runs = [
                _run(http, sims, user, province.code, asset.pk, devices, pids) for _ in range(max(1, repeat))
            ]
        result["runs"] = runs
        ranked = sorted(runs, key=lambda r: r["p99_s"] if r["p99_s"] is not None else float("inf"))
        median = ranked[(len(ranked) - 1) // 2]
        result.update(
            {k: median[k] for k in ("delivered", "p50_s", "p99_s", "max_s", "api_s", "published_s")}
        )
        result["gateway_rss_mb_after"] = _rss_mb(gateway.pid)
        result["setup_s"] = round(setup_s, 1)
    finally:
        for sim in sims:
            if sim.stdin:
                sim.stdin.close()
        for sim in sims:
            _stop(sim, 60)
        for proc in procs:
            _stop(proc)
        embedded.stop()
        if previous_mqtt_dir is None:
            os.environ.pop("LOA_MQTT_DIR", None)
        else:
            os.environ["LOA_MQTT_DIR"] = previous_mqtt_dir
    result["machine"] = f"{platform.machine()} {os.cpu_count()} CPU, Python {platform.python_version()}"
    result["load_1m"] = round(os.getloadavg()[0], 2)
    result["at"] = timezone.now().isoformat(timespec="seconds")
    return result


def _answers(http: Any) -> bool:
    import httpx

    try:
        response = http.get("/api/v1/fleet/commands?limit=1")
    except httpx.HTTPError:
        return False
    if response.status_code != 200:
        raise RuntimeError(f"API: {response.status_code} {response.text[:300]}")
    return True


def _ask(sims: list[subprocess.Popen[str]], line: str) -> list[dict[str, Any]]:
    """Send one request line to every simulator process and read one JSON answer from each."""
    for sim in sims:
        assert sim.stdin is not None
        sim.stdin.write(line + "\n")
        sim.stdin.flush()
    answers = []
    for sim in sims:
        assert sim.stdout is not None
        text = sim.stdout.readline()
        if not text:
            raise RuntimeError(f"trình mô phỏng đã dừng (mã {sim.poll()})")
        answers.append(json.loads(text))
    return answers


def _run(
    http: Any,
    sims: list[subprocess.Popen[str]],
    user: Any,
    unit_code: str,
    asset_id: int,
    devices: int,
    pids: dict[str, list[int]],
) -> dict[str, Any]:
    """One command through the API; the receipt instants are reported by the simulator processes. ``cpu_s`` is
    the CPU time each part spent from the call until every receipt was reported: on a shared machine the
    wall-clock figures depend on the load, these much less."""
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from loa.fleet.models import Command, PlayLog

    # a fresh TOTP device per run: a code is accepted once
    otp = TOTPDevice.objects.create(user=user, name=f"bench-fanout-{uuid.uuid4().hex[:6]}", confirmed=True)
    code = f"{TOTP(otp.bin_key, otp.step, otp.t0, otp.digits, otp.drift).token():06d}"
    body = {"action": "play", "unit": unit_code, "media_asset_id": asset_id, "totp": code,
            "params": {"item_id": f"fanout-{uuid.uuid4().hex[:12]}"}}  # fmt: skip
    cpu_before = {part: sum(_cpu_s(pid) for pid in ids) for part, ids in pids.items()}
    sent = time.time()
    t0 = time.perf_counter()
    response = http.post("/api/v1/fleet/commands", json=body)
    api_s = time.perf_counter() - t0
    if response.status_code != 201:
        raise RuntimeError(f"API: {response.status_code} {response.text[:500]}")
    command_id = response.json()["id"]
    answers = _ask(sims, f"receipts {command_id} 120")
    cpu = {part: round(sum(_cpu_s(pid) for pid in ids) - cpu_before[part], 2) for part, ids in pids.items()}
    lat = sorted(at - sent for answer in answers for at in answer["at"])
    started = sum(int(answer["started"]) for answer in answers)
    command = Command.objects.get(pk=command_id)
    published_s = command.published_at.timestamp() - sent if command.published_at else None
    issued_s = command.issued_at.timestamp() - sent  # the API signed it (before its transaction committed)
    # let this run's acks and play logs reach the broker and the database before the next measurement
    _ask(sims, "drain - 120")
    settle = time.monotonic() + 120
    while time.monotonic() < settle and PlayLog.objects.filter(command_id=command_id).count() < 2 * devices:
        time.sleep(0.5)
    return {
        "delivered": len(lat), "started": started, "api_s": _r(api_s), "issued_s": _r(issued_s),
        "published_s": _r(published_s), "first_s": _r(lat[0] if lat else None),
        "p50_s": _r(percentile(lat, 0.5)), "p99_s": _r(percentile(lat, 0.99)), "max_s": _r(lat[-1] if lat else None),
        "cpu_s": cpu, "playlogs_in_db": PlayLog.objects.filter(command_id=command_id).count(),
        "load_1m": round(os.getloadavg()[0], 2),
    }  # fmt: skip
