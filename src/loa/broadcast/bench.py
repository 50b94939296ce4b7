"""Benchmarks of broadcasting (figures, not pass/fail): manifest compilation and emergency fan-out.

They run against the configured database (and, for the emergency, a real Mosquitto, the gateway and the device
simulator) and create their own province ``bench`` data: run them with a throw-away ``LOA_DATA_DIR``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

BENCH_PROVINCE = "98"  # not a real province code (real ones end at 96)


def _bench_tree(communes: int) -> tuple[Any, list[Any]]:
    from loa.units.models import Kind, Level, Unit

    province, _ = Unit.objects.get_or_create(
        code=BENCH_PROVINCE, defaults={"name": "Tỉnh thử nghiệm", "kind": Kind.TINH, "level": Level.PROVINCE}
    )
    out = []
    for i in range(communes):
        unit, _ = Unit.objects.get_or_create(
            code=f"{BENCH_PROVINCE}{i:03d}",
            defaults={
                "name": f"Xã thử nghiệm {i + 1}",
                "kind": Kind.XA,
                "level": Level.COMMUNE,
                "parent": province,
            },
        )
        out.append(unit)
    return province, out


def _programme(unit: Any, title: str, durations: list[float]) -> Any:
    from loa.broadcast.models import ItemKind, Programme, ProgrammeItem

    programme = Programme.objects.create(unit=unit, title=title, state=Programme.State.APPROVED)
    ProgrammeItem.objects.bulk_create(
        [
            ProgrammeItem(
                programme=programme,
                position=i,
                kind=ItemKind.AUDIO,
                title=f"{title} {i + 1}",
                sha256=(sha := hashlib.sha256(f"{unit.code}{title}{i}".encode()).hexdigest()),
                media_url=f"https://loa.example.vn/files/audio/{sha[:2]}/{sha[2:4]}/{sha}.mp3",
                duration_s=d,
            )
            for i, d in enumerate(durations)
        ]
    )
    return programme


def setup_compile(devices: int, per_commune: int = 100) -> dict[str, Any]:
    """A province with ``devices`` clusters, ``per_commune`` per commune; every commune has a daily programme
    (3 items, twice a day), a weekly one and a 15-minute relay every 30 minutes for two hours; the province
    adds its evening news, and every tenth device has a schedule of its own."""
    from loa.broadcast.models import Guardrail, Programme, Schedule
    from loa.fleet.models import Device
    from loa_protocol.topics import new_device_id

    communes = max(1, (devices + per_commune - 1) // per_commune)
    with transaction.atomic():
        province, units = _bench_tree(communes)
        Device.objects.filter(unit__path__startswith=province.path).delete()
        Schedule.objects.filter(unit__path__startswith=province.path).delete()
        Programme.objects.filter(unit__path__startswith=province.path).delete()
        Guardrail.objects.update_or_create(unit=province, defaults={"windows": [["05:00", "22:00"]]})
        rows = [
            Device(device_id=new_device_id(), unit=units[i // per_commune], serial=f"BENCH-{i:06d}")
            for i in range(devices)
        ]
        Device.objects.bulk_create(rows, batch_size=1000)
        news = _programme(province, "Thời sự tỉnh", [1200.0])
        s = Schedule.objects.create(
            unit=province, programme=news, title="Thời sự", kind="daily", times=["19:00"]
        )
        s.target_units.set([province])
        for unit in units:
            Guardrail.objects.update_or_create(unit=unit, defaults={"windows": [["05:30", "21:00"]]})
            daily = _programme(unit, "Chương trình xã", [300.0, 420.0, 180.0])
            s = Schedule.objects.create(
                unit=unit, programme=daily, title="Hằng ngày", kind="daily", times=["06:00", "17:00"]
            )
            s.target_units.set([unit])
            weekly = _programme(unit, "Chuyên mục tuần", [900.0])
            s = Schedule.objects.create(
                unit=unit,
                programme=weekly,
                title="Hằng tuần",
                kind="weekly",
                weekdays=[1, 4],
                times=["18:00"],
            )
            s.target_units.set([unit])
            relay = _programme(unit, "Tiếp sóng VOV", [900.0])
            s = Schedule.objects.create(
                unit=unit, programme=relay, title="Tiếp sóng", kind="daily", times=["11:00"],
                repeat_mode="every", repeat_every_min=30, repeat_span_min=120,
            )  # fmt: skip
            s.target_units.set([unit])
        for device in rows[::10]:
            own = _programme(device.unit, f"Riêng {device.device_id}", [120.0])
            s = Schedule.objects.create(
                unit=device.unit, programme=own, title="Riêng", kind="daily", times=["07:30"]
            )
            s.target_devices.set([device])
    return {"province": province, "communes": len(units)}


def compile_bench(devices: int = 3000, hours: int = 48) -> dict[str, Any]:
    from loa.broadcast import compile as comp

    setup = setup_compile(devices)
    paths = [setup["province"].path]
    now = timezone.now()
    previous = comp.HORIZON
    comp.HORIZON = dt.timedelta(hours=hours)
    try:
        cold = comp.compile_manifests(now, unit_paths=paths)
        warm = comp.compile_manifests(now + dt.timedelta(seconds=1), unit_paths=paths)
    finally:
        comp.HORIZON = previous
    return {
        "benchmark": "compile",
        "devices": cold.devices,
        "communes": setup["communes"],
        "hours": hours,
        "schedules": cold.schedules,
        "entries": cold.entries,
        "seconds": round(cold.seconds, 3),
        "changed": cold.changed,
        "warm_seconds": round(warm.seconds, 3),
        "warm_changed": warm.changed,
        "budget_s": 2.0,
        "machine": f"{platform.machine()} {platform.processor() or ''} {platform.python_version()}".strip(),
        "at": timezone.now().isoformat(timespec="seconds"),
    }


# ---- emergency ---------------------------------------------------------------------------------------------

EMERGENCY_TEXT = (
    "Cảnh báo khẩn: lũ quét và sạt lở đất. Bà con không qua ngầm, tràn; di chuyển ngay đến nơi an toàn."
)
SIMULATOR = """
import json, os, sys, time
from pathlib import Path
from loa_agent.runtime import RuntimeOptions
from loa_agent.sim_media import SimulatedMediaCache
from loa_agent.simulator import Simulator, load_credentials
creds = load_credentials(Path(sys.argv[1]))
extra = {}
if len(sys.argv) > 3:  # --download: every agent its own cache directory, real HTTP GETs checked by sha256
    # (in the loop, one connection each: loa_agent.sim_media)
    cache_root = Path(sys.argv[3])
    extra = {"media_fetchers": lambda device_id: SimulatedMediaCache(cache_root / device_id)}
# no HTTPS manifest poll (the safety net for a missed retained manifest, not what is measured): without a web
# process every poll fails and retries, thousands of TLS contexts a minute in one process (real devices each have
# their own CPU)
# the hold of the agents' reports lasts until every simulator process of the benchmark has handled a group command
peers = ({"peer_dir": Path(os.environ["LOA_BENCH_PEER_DIR"]), "peers": int(os.environ["LOA_BENCH_PEERS"])}
         if os.environ.get("LOA_BENCH_PEER_DIR") else {})
sim = Simulator(creds, options=RuntimeOptions(heartbeat_s=600, status_on_change=False, manifest_poll_s=0),
                keep_history=False, connect_rate=float(sys.argv[2]), **extra, **peers,
                transport=os.environ.get("LOA_BENCH_TRANSPORT", "lean"))
sim.start(wait_connected=600)
print(json.dumps({"connected": sim.connected_count()}), flush=True)
sys.stdin.read()
sim.stop()
"""


class _Stopwatch:
    """Where an in-process API call spends its time: the named functions are wrapped (module attribute patched)
    for the duration of a ``with`` block; each bucket sums its calls' wall time and counts them. Nothing of the
    product changes; the figures come from the real calls."""

    # bucket → (module, attribute): the steps of an emergency's API call, innermost first
    STEPS: dict[str, tuple[str, str]] = {
        "speech_s": ("loa.tts.services", "_synthesize"),  # text normalisation + the speech engine (WAV)
        "loudness_measure_s": ("loa.media.audio", "_measure"),  # EBU R128 meter passes on the input
        "encode_s": ("loa.media.audio", "_encode"),  # gain (+ limiter) and MP3 encode
        # meter + waveform of the produced MP3: its ffmpeg starts with the encode, so this overlaps ``encode_s``
        "output_check_s": ("loa.media.audio", "_analyse_output"),
        "encode_and_check_s": (
            "loa.media.audio",
            "_encode_and_analyse",
        ),  # both, as the pipeline waits for them
        "media_ingest_s": ("loa.media.services", "do_ingest_file"),  # all of the media pipeline + asset rows
        "command_db_s": (
            "loa.fleet.services",
            "do_send_command",
        ),  # TOTP, sign, Command + delivery rows, audit
    }

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.cpu: dict[str, float] = {}  # the calling thread's CPU seconds (time.thread_time) per bucket
        self.calls: dict[str, int] = {}
        self._saved: list[tuple[Any, str, Any]] = []

    def __enter__(self) -> _Stopwatch:
        import importlib

        for bucket, (module_name, attr) in self.STEPS.items():
            module = importlib.import_module(module_name)
            self._wrap(module, attr, bucket)
            # a module that imported the function by name calls its own reference: wrap that one too
            if attr == "do_ingest_file":
                self._wrap(importlib.import_module("loa.tts.services"), attr, bucket)
        return self

    def _wrap(self, module: Any, attr: str, bucket: str) -> None:
        original = getattr(module, attr)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t, c = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[bucket] = self.seconds.get(bucket, 0.0) + time.perf_counter() - t
                self.cpu[bucket] = self.cpu.get(bucket, 0.0) + time.thread_time() - c
                self.calls[bucket] = self.calls.get(bucket, 0) + 1

        setattr(module, attr, timed)
        self._saved.append((module, attr, original))

    def __exit__(self, *exc: object) -> None:
        for module, attr, original in reversed(self._saved):
            setattr(module, attr, original)
        self._saved.clear()

    def breakdown(self, api_s: float) -> dict[str, Any]:
        out: dict[str, Any] = {k: _r(self.seconds.get(k, 0.0)) for k in self.STEPS}
        out["loudness_passes"] = self.calls.get("loudness_measure_s", 0) + self.calls.get("output_check_s", 0)
        media = self.seconds.get("media_ingest_s", 0.0)
        inner = sum(self.seconds.get(k, 0.0) for k in ("loudness_measure_s", "encode_and_check_s"))
        out["media_other_s"] = _r(max(0.0, media - inner))  # probe, copies, hashing, asset rows
        out["api_other_s"] = _r(
            max(
                0.0, api_s - self.seconds.get("speech_s", 0.0) - media - self.seconds.get("command_db_s", 0.0)
            )
        )  # auth, the emergency row, audit, push preparation, commit
        # the same steps in CPU seconds of the API's thread (wall time above includes waiting for a busy machine)
        out["cpu"] = {k.removesuffix("_s"): _r(self.cpu.get(k, 0.0)) for k in self.STEPS}
        return out


# --download without a web process: a static file server answering the device media URLs
# (``/media/files/<sha256>.mp3``) from the same stored files (``<store>/<aa>/<bb>/<sha256>.mp3``) the web serves
FILE_SERVER = """
import sys
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
root = Path(sys.argv[1])
class Handler(SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def translate_path(self, path):
        name = path.split("?", 1)[0].rsplit("/", 1)[-1]
        sha = name.removesuffix(".mp3")
        if not path.startswith("/media/files/") or len(sha) != 64:
            return str(root / "nonexistent")
        return str(root / sha[:2] / sha[2:4] / (sha + ".mp3"))
    def log_message(self, *args):
        pass
class Server(ThreadingHTTPServer):
    request_queue_size = 4096
    daemon_threads = True
server = Server(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds a child process has used so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _bench_devices(commune: Any, n: int) -> list[Any]:
    """``n`` enrolled devices, created in bulk (the per-device audit entries of real enrolment are not what is
    measured here); returns their enrolment responses."""
    from loa.fleet import broker
    from loa.fleet.models import Device
    from loa.fleet.services import credentials_for
    from loa_protocol.topics import new_device_id

    rows, passwords = [], []
    for i in range(n):
        password = broker.new_password()
        passwords.append(password)
        rows.append(
            Device(
                device_id=new_device_id(), unit=commune, serial=f"EMB-{i:06d}",
                credentials_hash=broker.hash_password(password), enrolled_at=timezone.now(),
            )
        )  # fmt: skip
    Device.objects.bulk_create(rows, batch_size=1000)
    for d in rows:
        d.unit = commune
    return [credentials_for(d, p) for d, p in zip(rows, passwords, strict=True)]


def emergency_bench(
    devices: int = 10000,
    repeat: int = 2,
    processes: int = 2,
    download: bool = False,
    web: bool = False,
    transport: str = "lean",
    nginx: bool = False,
) -> dict[str, Any]:
    """From the API call (TTS included) to each simulated device starting to play, through the real broker,
    the gateway process and the agent simulator (another process); the start instants come back as play logs.

    With ``download`` every simulated agent fetches the audio over HTTP into its own cache and checks its sha256
    before playing; the bench runs no web process, so a static file server answers the device media URLs from
    the same stored files (``media_server`` in the result says so). Each run reads a different text (so no run
    reuses the previous run's speech or cached audio). With ``web`` as well, the bench starts the real web process
    (``loa serve --no-worker``, uvicorn, on the same database) and the devices download from it, with their own
    credentials as HTTP Basic auth, through the media view's access checks. With ``nginx`` as well, nginx stands
    in front of the web process with the media cache of ``deploy/nginx/loa.conf`` (:mod:`loa.media.front`), as a
    province runs it: the emergency's speech is public while it is in force, so one request reaches the web process
    and nginx answers the other devices (ADR 0019)."""
    import json
    import subprocess
    import sys
    import tempfile

    from django.conf import settings
    from django.test import Client
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from loa.accounts.models import ApiToken, RoleAssignment, User
    from loa.accounts.roles import Role
    from loa.broadcast.emergency import percentile
    from loa.broadcast.models import Emergency
    from loa.fleet import broker
    from loa.fleet.bench import check_transport
    from loa.fleet.models import Command, CommandDelivery, DeliveryState, Device, PlayLog
    from loa.gateway.models import GatewayState
    from loa.media.front import FrontError, NginxFront
    from loa.media.services import store_root

    tmp = Path(tempfile.mkdtemp(prefix="loa-bench-emergency-"))
    # the simulated devices' caches in memory where the machine has it (tmpfs): a real device writes its own flash,
    # thousands of files created at once on the bench machine's one disk measured the disk, not Loa
    shm = Path("/dev/shm")  # noqa: S108 - mkdtemp makes a private (0700) directory in it
    caches = Path(tempfile.mkdtemp(prefix="loa-bench-caches-", dir=shm if shm.is_dir() else None))
    files: subprocess.Popen[str] | None = None
    front: NginxFront | None = None
    public_url, warm_url = settings.LOA_PUBLIC_URL, settings.LOA_MEDIA_WARM_URL
    if download and web:
        import socket
        import urllib.error
        import urllib.request

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        files = subprocess.Popen(
            [sys.executable, "-m", "loa.cli", "serve", "--no-worker", "--port", str(port)],
            env=dict(os.environ, LOA_PUBLIC_URL=base), stdout=subprocess.DEVNULL,
            stderr=(tmp / "web.log").open("w"), text=True,
        )  # fmt: skip
        up_by = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(base + "/media/files/" + "0" * 64 + ".mp3", timeout=5)  # noqa: S310
                break
            except urllib.error.HTTPError:
                break  # the web process answers (404)
            except OSError:
                if time.monotonic() > up_by or files.poll() is not None:
                    raise RuntimeError(
                        "web không khởi động: " + (tmp / "web.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.5)
        if nginx:
            front = NginxFront(port)
            try:
                front.start()
            except FrontError:
                files.terminate()
                raise
            base = front.url
            # as a province sets it behind nginx: the emergency's audio is fetched through the cache once, before
            # the gateway publishes the command (loa.media.shared_cache)
            settings.LOA_MEDIA_WARM_URL = front.url
        settings.LOA_PUBLIC_URL = base
    elif download:
        store_root().mkdir(parents=True, exist_ok=True)
        files = subprocess.Popen(
            [sys.executable, "-c", FILE_SERVER, str(store_root())], stdout=subprocess.PIPE, text=True
        )
        assert files.stdout is not None
        # media URLs (in the commands) and the devices' own server (their media credentials) point at it
        settings.LOA_PUBLIC_URL = f"http://127.0.0.1:{int(files.stdout.readline())}"
    province, communes = _bench_tree(max(1, devices // 1000))
    Device.objects.filter(unit__path__startswith=province.path).delete()
    per = (devices + len(communes) - 1) // len(communes)
    creds = []
    for i, commune in enumerate(communes):
        creds += _bench_devices(commune, min(per, devices - i * per))
    embedded = broker.EmbeddedBroker(tmp / "mqtt")
    os.environ["LOA_MQTT_DIR"] = str(tmp / "mqtt")
    broker.write_broker_files(reload=False, directory=tmp / "mqtt")
    embedded.start()
    creds = [c.model_copy(update={"mqtt_url": embedded.url}) for c in creds]
    processes = max(1, min(processes, 16))
    for k in range(processes):
        part = creds[k::processes]
        (tmp / f"creds-{k}.json").write_text(json.dumps([c.model_dump(mode="json") for c in part]))
    client_id = "loa-gateway-bench-emergency"
    env = dict(os.environ, LOA_MQTT_DIR=str(tmp / "mqtt"), LOA_GATEWAY_CLIENT_ID=client_id)
    gateway = subprocess.Popen(
        [sys.executable, "-c", "from loa.cli import main; main()", "gateway", "--url", embedded.url,
         "--no-embedded-broker", "--flush-interval", "0.2"],
        env=env, stdout=subprocess.DEVNULL, stderr=(tmp / "gateway.log").open("w"),
    )  # fmt: skip
    peer_dir = tmp / "peers"
    peer_dir.mkdir()
    sims = [
        subprocess.Popen(
            [sys.executable, "-c", SIMULATOR, str(tmp / f"creds-{k}.json"), "2000"]
            + ([str(caches / f"cache-{k}")] if download else []),
            env=dict(
                os.environ,
                LOA_BENCH_PEER_DIR=str(peer_dir),
                LOA_BENCH_PEERS=str(processes),
                LOA_BENCH_TRANSPORT=check_transport(transport),
            ),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=(tmp / f"simulator-{k}.log").open("w"),
            text=True,
        )
        for k in range(processes)
    ]
    result: dict[str, Any] = {"benchmark": "emergency", "devices": devices, "simulator_processes": processes,
                              "transport": transport,
                              "download": download, "runs": []}  # fmt: skip
    if download and web:
        result["media_server"] = (
            (
                "nginx with deploy/nginx/loa.conf's media cache (warmed by LOA_MEDIA_WARM_URL), in front of "
                if front is not None
                else ""
            )
            + f"the real web process (loa serve --no-worker, uvicorn) at {settings.LOA_PUBLIC_URL}, media view "
            "with the devices' HTTP Basic credentials"
        )
    elif download:
        result["media_server"] = (
            f"static file server (Python http.server, threads) at {settings.LOA_PUBLIC_URL} serving the stored "
            "files of MEDIA_ROOT/audio; no web process in this bench"
        )
    try:
        connected = 0
        for sim in sims:
            assert sim.stdout is not None
            connected += json.loads(sim.stdout.readline() or "{}").get("connected", 0)
        result["connected"] = connected
        # the fleet is ready when the gateway has ingested every device's presence (the connection storm is over)
        ready_by = time.monotonic() + 180
        while time.monotonic() < ready_by:
            if Device.objects.filter(unit__path__startswith=province.path, online=True).count() >= devices:
                break
            time.sleep(1)
        result["online_before_first_run"] = Device.objects.filter(
            unit__path__startswith=province.path, online=True
        ).count()
        time.sleep(3)
        deadline = time.monotonic() + 60
        while not GatewayState.objects.filter(name=client_id, connected=True).exists():
            if time.monotonic() > deadline or gateway.poll() is not None:
                raise RuntimeError("gateway không khởi động: " + (tmp / "gateway.log").read_text()[-2000:])
            time.sleep(0.2)
        user, _ = User.objects.get_or_create(username="bench-lanh-dao", defaults={"full_name": "Lãnh đạo"})
        RoleAssignment.objects.get_or_create(user=user, role=Role.APPROVER, unit=province)
        key = ApiToken.new_key()
        ApiToken.objects.create(
            user=user, name="bench", prefix=key[:8], key_hash=ApiToken.hash_key(key), scopes=["*"]
        )
        api = Client()
        # the API runs in this process: it starts as the web process does (loa.asgi), one-time costs paid first
        from loa.broadcast.emergency import warm_emergency_path

        result["warm_up_s"] = {k: round(v, 3) for k, v in warm_emergency_path().items()}
        # a text of its own per invocation and run: no run reuses earlier speech (_earlier_speech) or cached audio
        stamp = timezone.localtime().strftime("%H giờ %M phút %S giây")
        for run in range(max(1, repeat)):
            otp = TOTPDevice.objects.create(user=user, name=f"bench-{run}", confirmed=True)
            code = f"{TOTP(otp.bin_key, otp.step, otp.t0, otp.digits, otp.drift).token():06d}"
            cpu0 = {"gateway": _cpu_s(gateway.pid), "simulators": sum(_cpu_s(s.pid) for s in sims),
                    "web": _cpu_s(files.pid) if files is not None else 0.0}  # fmt: skip
            nginx_cpu0 = front.cpu_s() if front is not None else 0.0
            profiler, profile_dir = None, ""
            # LOA_BENCH_PROFILE=<dir>: a cProfile of each run's API call, one file per run
            if profile_dir := os.environ.get("LOA_BENCH_PROFILE", ""):
                import cProfile

                profiler = cProfile.Profile()
            t0, api_cpu0, kids0 = time.perf_counter(), time.thread_time(), os.times()
            with _Stopwatch() as watch:
                if profiler is not None:
                    profiler.enable()
                response = api.post(
                    "/api/v1/broadcast/emergencies",
                    json.dumps({"unit": province.code, "text": f"{EMERGENCY_TEXT} Thông báo lần {run + 1} lúc {stamp}.",
                                "repeat": 1, "totp": code}),
                    content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}",
                )  # fmt: skip
            api_s, api_cpu, kids1 = time.perf_counter() - t0, time.thread_time() - api_cpu0, os.times()
            # the speech engine and ffmpeg run as child processes of the API call
            api_children_cpu = (kids1.children_user + kids1.children_system) - (
                kids0.children_user + kids0.children_system
            )
            if profiler is not None:
                profiler.disable()
                profiler.dump_stats(str(Path(profile_dir) / f"api-{devices}-{run + 1}.prof"))
            if response.status_code != 201:
                raise RuntimeError(f"API: {response.status_code} {response.content[:500]!r}")
            e = Emergency.objects.get(pk=response.json()["id"])
            wait_until = time.monotonic() + 120
            while time.monotonic() < wait_until:
                started = PlayLog.objects.filter(item_id=e.item_id, kind="start").count()
                if started >= devices:
                    break
                time.sleep(0.25)
            starts = dict(
                PlayLog.objects.filter(item_id=e.item_id, kind="start").values_list("device_id", "at")
            )
            # receipt: the device's own instant in its "received" ack (a later "done" ack overwrites it, at the
            # end of the play, seconds after the last start: read now, and count what is still "received")
            receipts = sorted(
                (at - e.requested_at).total_seconds()
                for at in CommandDelivery.objects.filter(
                    command_id=str(e.command_id), state=DeliveryState.RECEIVED, acked_at__isnull=False
                ).values_list("acked_at", flat=True)
                if at is not None
            )
            lat = sorted((at - e.requested_at).total_seconds() for at in starts.values())
            command = Command.objects.get(pk=str(e.command_id))
            published_s = (
                (command.published_at - e.requested_at).total_seconds() if command.published_at else None
            )
            result["runs"].append({
                "playing": len(starts), "api_s": round(api_s, 3), "tts_audio_s": round(e.duration_s, 2),
                "p50_s": _r(percentile(lat, 0.5)), "p99_s": _r(percentile(lat, 0.99)), "max_s": _r(lat[-1] if lat else None),
                "within_3s": sum(1 for x in lat if x <= 3.0),
                "command_published_s": _r(published_s), "first_s": _r(lat[0] if lat else None),
                # where the time goes: the API call's steps (durations), then instants after requested_at
                "breakdown": watch.breakdown(api_s) | {
                    "api_returned_s": _r(api_s), "published_s": _r(published_s),
                    "receipt_p50_s": _r(percentile(receipts, 0.5)), "receipt_p99_s": _r(percentile(receipts, 0.99)),
                    "receipts_read": len(receipts),
                    "failed": CommandDelivery.objects.filter(
                        command_id=str(e.command_id), state=DeliveryState.FAILED
                    ).count(),
                    "playing_p50_s": _r(percentile(lat, 0.5)), "playing_p99_s": _r(percentile(lat, 0.99)),
                },
            })  # fmt: skip
            # let the previous run's acks and play logs drain before the next measurement
            settle = time.monotonic() + 120
            while (
                time.monotonic() < settle and PlayLog.objects.filter(item_id=e.item_id).count() < 2 * devices
            ):
                time.sleep(0.5)
            time.sleep(3)
            # CPU seconds of each process from the call until this run's acks and play logs are in (the
            # simulators' includes playing the 10 s of audio per agent: their ack/play-log work, no decoding)
            result["runs"][-1]["cpu_s"] = {
                "api": _r(api_cpu),
                "api_children": _r(api_children_cpu),
                "gateway": _r(_cpu_s(gateway.pid) - cpu0["gateway"]),
                "simulators": _r(sum(_cpu_s(s.pid) for s in sims) - cpu0["simulators"]),
            }
            if files is not None:  # the web process (--web) or the static file server (--download) answering
                result["runs"][-1]["cpu_s"]["media_server"] = _r(_cpu_s(files.pid) - cpu0["web"])
            if front is not None:  # nginx's master and workers
                result["runs"][-1]["cpu_s"]["nginx"] = _r(front.cpu_s() - nginx_cpu0)
        # the top-level figures are those of the median run (by p99); every run is listed in "runs"
        ranked = sorted(result["runs"], key=lambda r: r["p99_s"] if r["p99_s"] is not None else float("inf"))
        median = ranked[(len(ranked) - 1) // 2]
        result.update(
            {k: median[k] for k in ("playing", "p50_s", "p99_s", "max_s", "api_s", "within_3s", "breakdown")}
        )
        result["budget"] = "99 % playing within 3 s"
    finally:
        for sim in sims:
            if sim.stdin:
                sim.stdin.close()
        for sim in sims:
            try:
                sim.wait(60)
            except subprocess.TimeoutExpired:
                sim.kill()
        gateway.terminate()
        try:
            gateway.wait(20)
        except subprocess.TimeoutExpired:
            gateway.kill()
        embedded.stop()
        for k in range(processes):  # the devices' downloaded copies (500 devices ≈ 100 MB)
            shutil.rmtree(caches / f"cache-{k}", ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
        if front is not None:
            front.stop()
            settings.LOA_MEDIA_WARM_URL = warm_url
        if files is not None:
            files.terminate()
            try:
                files.wait(20)
            except subprocess.TimeoutExpired:
                files.kill()
            settings.LOA_PUBLIC_URL = public_url
    result["machine"] = f"{platform.machine()} {os.cpu_count()} CPU, Python {platform.python_version()}"
    result["at"] = timezone.now().isoformat(timespec="seconds")
    return result


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
