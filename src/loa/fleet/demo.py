"""The living fleet of ``loa demo``: the gateway (which starts the embedded broker) and a few hundred simulated
clusters, named and placed in the zones (thôn) of the demo province's first communes. Their credentials are kept in the data dir, so the next
demo run reuses the same devices instead of enrolling new ones; their server links (manifest, media) are rewritten
at each start to the address the demo serves on, and their manifests compiled before they first poll."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Q

from loa.broadcast.compile import compile_manifests
from loa.errors import Refusal
from loa.fleet import broker
from loa.fleet.models import Device
from loa.fleet.services import credentials_for, device_urls, do_provision_device
from loa.processes import spawn, stop
from loa.units.models import Level, Unit

LOA = [sys.executable, "-c", "from loa.cli import main; main()"]


def _places(province: Unit, communes: int) -> list[Unit]:
    """Where demo clusters hang: each commune's zones (thôn), or the commune itself when it has none."""
    places: list[Unit] = []
    for commune in province.children.filter(level=Level.COMMUNE).order_by("code")[:communes]:
        zones = list(commune.children.filter(level=Level.ZONE, is_active=True).order_by("code"))
        places += zones or [commune]
    return places


# Where each demo province's clusters are drawn (near its administrative centre); another province falls back to its
# own coordinates, else Hà Nội's. A demo only: real clusters get their position at enrolment or from their GPS.
DEMO_CENTRES = {
    "01": (21.0285, 105.8542),  # Hà Nội
    "22": (20.9511, 107.0733),  # Quảng Ninh (Hạ Long)
    "31": (20.8449, 106.6881),  # Hải Phòng
    "46": (16.4637, 107.5909),  # Huế
    "48": (16.0544, 108.2022),  # Đà Nẵng
    "79": (10.7769, 106.7009),  # Hồ Chí Minh
    "92": (10.0452, 105.7469),  # Cần Thơ
}


def _jitter(key: str, spread: float) -> tuple[float, float]:
    """A deterministic offset in [-spread, spread]² from ``key`` (a unit code, a serial): the same map each run."""
    h = hashlib.sha256(key.encode()).digest()
    return ((h[0] * 256 + h[1]) / 65535 * 2 - 1) * spread, ((h[2] * 256 + h[3]) / 65535 * 2 - 1) * spread


def place_demo_fleet(province: Unit, communes: int = 3) -> None:
    """Give the demo's communes a reference point around the province's centre and its clusters a position around
    their commune (their thôn a few hundred metres apart), where none is set: the map shows them at once."""
    lat0, lon0 = (
        (province.latitude, province.longitude)
        if province.latitude is not None and province.longitude is not None
        else DEMO_CENTRES.get(province.code, DEMO_CENTRES["01"])
    )
    for commune in province.children.filter(level=Level.COMMUNE).order_by("code")[:communes]:
        if commune.latitude is None or commune.longitude is None:
            dlat, dlon = _jitter(commune.code, 0.12)
            commune.latitude, commune.longitude = round(lat0 + dlat, 6), round(lon0 + dlon, 6)
            commune.save(update_fields=["latitude", "longitude"])
        clat, clon = commune.latitude, commune.longitude
        devices = Device.objects.active().in_unit(commune).filter(Q(latitude=None) | Q(longitude=None))
        for device in devices.select_related("unit"):
            zlat, zlon = _jitter(device.unit.code, 0.008) if device.unit_id != commune.pk else (0.0, 0.0)
            dlat, dlon = _jitter(device.serial or device.device_id, 0.002)
            device.latitude = round(clat + zlat + dlat, 6)
            device.longitude = round(clon + zlon + dlon, 6)
            device.save(update_fields=["latitude", "longitude"])


def _provision(province: Unit, devices: int, communes: int) -> list[dict[str, Any]]:
    places = _places(province, communes)
    creds, count = [], dict.fromkeys((u.pk for u in places), 0)
    for i in range(devices):
        unit = places[i % len(places)]
        count[unit.pk] += 1
        device, password = do_provision_device(
            unit, actor="loa demo", serial=f"DEMO-{i:04d}", name=f"Cụm loa {unit.name} số {count[unit.pk]}"
        )
        creds.append(credentials_for(device, password).model_dump(mode="json"))
    broker.write_broker_files()
    return creds


def demo_credentials(province: Unit, devices: int = 300, communes: int = 3) -> Path:
    """The simulator's credentials file: the stored devices if they are all still enrolled, else new ones; with
    the links of the server as it runs now."""
    creds_file = Path(settings.DATA_DIR) / "demo-devices.json"
    creds: list[dict[str, Any]] = json.loads(creds_file.read_text()) if creds_file.exists() else []
    ids = [c["device_id"] for c in creds]
    if not creds or Device.objects.active().filter(device_id__in=ids).count() != len(ids):
        creds = _provision(province, devices, communes)
    place_demo_fleet(province, communes)
    for c in creds:
        c["media_base_url"], c["manifest_url"] = device_urls(c["device_id"])
    creds_file.write_text(json.dumps(creds))
    creds_file.chmod(0o600)
    # every demo device has a (signed, possibly empty) manifest before its first poll: no 404 at start
    compile_manifests(device_ids=[c["device_id"] for c in creds])
    return creds_file


def _port_busy(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def demo_broker_port() -> int:
    """The port of the demo's own embedded broker: ``LOA_MQTT_EMBEDDED_PORT`` when set (refused at once when
    something already listens there: another demo's broker would answer "Not authorized" to our gateway), else a
    free loopback port chosen now. It is put in the environment, so the gateway and the simulator use it too."""
    explicit = os.environ.get("LOA_MQTT_EMBEDDED_PORT", "").strip()
    if explicit:
        port = int(explicit)
        if _port_busy(port):
            raise Refusal(
                "broker_port_busy",
                f"Cổng {port} (biến LOA_MQTT_EMBEDDED_PORT) đang bị chương trình khác dùng (có thể là broker của "
                "một bản trình diễn khác). Hãy dừng chương trình đó, hoặc đặt LOA_MQTT_EMBEDDED_PORT sang cổng "
                "khác, hoặc bỏ biến này để bản trình diễn tự chọn cổng trống.",
            )
    else:
        # free now and reserved for this process (loa_protocol.ports): no other Loa process is handed it while the
        # demo lives, so it stays ours until the gateway's broker binds it
        port = broker.free_port()
        os.environ["LOA_MQTT_EMBEDDED_PORT"] = str(port)
    # a broker.json left by an earlier run (killed) would send the gateway to whoever holds that old port
    (broker.mqtt_dir() / "broker.json").unlink(missing_ok=True)
    return port


def watch_demo_fleet(
    procs: list[subprocess.Popen[bytes]], log: Path, say: Callable[[str], None], interval: float = 1.0
) -> threading.Event:
    """Say on the demo's console, one line each, when the gateway or the simulator ends while the demo runs;
    set the returned event before stopping them on purpose."""
    names = ["gateway", "cụm loa mô phỏng"]
    stopping = threading.Event()

    def watch() -> None:
        alive = list(enumerate(procs))
        while alive and not stopping.wait(interval):
            for entry in list(alive):
                i, proc = entry
                code = proc.poll()
                if code is None:
                    continue
                alive.remove(entry)
                if not stopping.is_set():
                    say(
                        f"Lỗi: {names[i] if i < len(names) else 'tiến trình'} của bản trình diễn đã dừng "
                        f"(mã thoát {code}); các cụm loa sẽ ngoại tuyến. Xem nhật ký: {log}"
                    )

    threading.Thread(target=watch, name="demo-fleet-watch", daemon=True).start()
    return stopping


def start_demo_fleet(province: Unit, devices: int = 300, communes: int = 3) -> list[subprocess.Popen[bytes]]:
    data = Path(settings.DATA_DIR)
    log = open(data / "demo-fleet.log", "ab")
    demo_broker_port()
    procs = [spawn([*LOA, "gateway"], stdout=log, stderr=log)]
    deadline = time.monotonic() + 20
    while not (broker.mqtt_dir() / "broker.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    creds_file = demo_credentials(province, devices, communes)
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
