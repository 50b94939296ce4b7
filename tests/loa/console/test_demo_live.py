"""The real `loa demo` process, on a port of its own with a handful of simulated clusters (issue 19, item 11):
while a schedule is created and an emergency is sent and cancelled, its log holds no warning (no refused manifest
poll), every link it hands out uses the port it serves on, and everything it started stops with it."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django_otp.oath import totp

from loa_protocol.ports import reserve_port

DEVICES = 6
WARNING = re.compile(r"WARNING|ERROR|Unauthorized|Forbidden|Not Found|Traceback", re.I)

# Test access for two demo users, made in the demo's own database: an API token each, and a TOTP key the test
# knows for the approver (emergencies ask for a one-time code).
SETUP = """
import json
from loa.accounts.models import User
from loa.accounts.services import do_create_token
from django_otp.plugins.otp_totp.models import TOTPDevice
out = {}
for name in ("xa.vanhanh", "xa.duyet"):
    user = User.objects.get(username=name)
    user.must_change_password = False
    user.save(update_fields=["must_change_password"])
    out[name] = do_create_token(user, "kiểm thử demo", ["*"], None)[1]
approver = User.objects.get(username="xa.duyet")
TOTPDevice.objects.filter(user=approver).delete()
TOTPDevice.objects.create(user=approver, name="test", key="3132333435363738393031323334353637383930", confirmed=True)
out["commune"] = User.objects.get(username="xa.vanhanh").role_assignments.get().unit.code
from loa.fleet.models import Device
out["places"] = [(d.name, d.unit.level) for d in Device.objects.select_related("unit").filter(kind="loudspeaker")]
out["boards"] = [(d.name, d.unit.level) for d in Device.objects.select_related("unit").filter(kind="eboard")]
print("SETUP" + json.dumps(out))
"""
TOTP_KEY = bytes.fromhex("3132333435363738393031323334353637383930")


def _wait(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _children(pid: int) -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.add(int(entry.name))
    return found


def _descendants(pid: int) -> set[int]:
    out, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            out.add(child)
            todo.append(child)
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return f"{pid} (gone)"


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[dict[str, Any]]:
    port = reserve_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOA_")}
    env.update(LOA_DATA_DIR=str(tmp_path), LOA_MQTT_EMBEDDED_PORT=str(reserve_port()), PYTHONUNBUFFERED="1")
    loa = [sys.executable, "-c", "from loa.cli import main; main()"]
    log = open(tmp_path / "demo.log", "wb")
    proc = subprocess.Popen(
        [*loa, "demo", "--port", str(port), "--devices", str(DEVICES)], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    fleet_log = tmp_path / "demo-fleet.log"

    def up() -> bool:
        if proc.poll() is not None:
            raise AssertionError((tmp_path / "demo.log").read_text())
        try:
            httpx.get(base + "/accounts/login/", timeout=2)
        except httpx.HTTPError:
            return False
        return fleet_log.exists() and "mô phỏng đã kết nối" in fleet_log.read_text()

    try:
        _wait("the demo to serve and its clusters to connect", up, 90)
        setup = subprocess.run(
            [*loa, "shell", "-c", SETUP], env=env, capture_output=True, text=True, check=True
        )
        access = json.loads(setup.stdout.split("SETUP", 1)[1])
        yield {"proc": proc, "base": base, "port": port, "dir": tmp_path, "access": access}
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        log.close()


def _api(demo: dict[str, Any], user: str, method: str, path: str, body: Any = None) -> Any:
    r = httpx.request(
        method,
        demo["base"] + "/api/v1" + path,
        json=body,
        headers={"Authorization": f"Bearer {demo['access'][user]}"},
        timeout=60,
    )
    assert r.status_code < 300, f"{method} {path}: {r.status_code} {r.text}"
    return r.json()


@pytest.mark.timeout(180)
def test_demo_is_quiet_uses_its_port_and_stops_whole(demo: dict[str, Any]) -> None:
    commune, port = demo["access"]["commune"], demo["port"]
    creds = json.loads((demo["dir"] / "demo-devices.json").read_text())
    assert len(creds) == DEVICES
    places = demo["access"]["places"]
    assert len(places) == DEVICES
    assert all(name.startswith("Cụm loa ") and level == 3 for name, level in places), "named clusters in thôn"
    assert demo["access"]["boards"] and not any(
        name.startswith("Cụm loa") for name, _l in demo["access"]["boards"]
    )
    assert all(f"127.0.0.1:{port}/" in c["manifest_url"] + c["media_base_url"] for c in creds)

    # a schedule: typed text, approved by the approver, played tomorrow morning (inside the allowed hours)
    programme = _api(demo, "xa.vanhanh", "POST", "/broadcast/programmes", {
        "unit": commune, "title": "Thông báo thử", "items": [{"kind": "tts", "text": "Xin chào bà con."}],
    })  # fmt: skip
    if programme["state"] != "approved":
        _api(demo, "xa.duyet", "POST", f"/broadcast/programmes/{programme['id']}/decision", {"approve": True})
    tomorrow = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7, days=1)).date().isoformat()
    _api(demo, "xa.vanhanh", "POST", "/broadcast/schedules", {
        "unit": commune, "programme_id": programme["id"], "title": "Lịch thử", "kind": "once",
        "times": ["07:00"], "start_date": tomorrow, "target_units": [commune],
    })  # fmt: skip

    # an emergency to the commune, then its cancel. Both codes are read early in one 30 s step, so the code the
    # emergency uses is checked in the step it was read in (a code checked one step late teaches the device a drift
    # of -1, and the "next" code would then be two steps ahead and refused)
    _wait("the start of a fresh 30 s step", lambda: time.time() % 30 < 20, timeout=15)
    started = _api(demo, "xa.duyet", "POST", "/broadcast/emergencies", {
        "unit": commune, "text": "Thử phát khẩn cấp.", "repeat": 1, "totp": f"{totp(TOTP_KEY):06d}",
    })  # fmt: skip
    _wait("the clusters to play the emergency", lambda: _api(
        demo, "xa.duyet", "GET", f"/broadcast/emergencies/{started['id']}")["reached"] > 0)  # fmt: skip
    # a code is used once: the cancel gives the next period's (inside the device's tolerance of one step)
    _api(demo, "xa.duyet", "POST", f"/broadcast/emergencies/{started['id']}/cancel", {
        "totp": f"{totp(TOTP_KEY, drift=1):06d}"})  # fmt: skip

    # every cluster fetches its manifest over HTTPS with its own credentials
    for c in creds:
        r = httpx.get(c["manifest_url"], auth=(c["mqtt_username"], c["mqtt_password"]), timeout=10)
        assert r.status_code == 200, (c["device_id"], r.status_code, r.text)

    proc = demo["proc"]
    started_by_demo = _descendants(proc.pid)
    named = {pid: _cmdline(pid) for pid in started_by_demo}
    assert len(started_by_demo) >= 3, "worker, gateway (and its broker) and simulator"
    # the log's clock: Vietnam time, "2026-12-06 06:38:03,794" (compared as text)
    stopping_at = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=7)).strftime("%Y-%m-%d %H:%M:%S")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(45) == 0, "a requested stop"
    try:
        _wait("everything the demo started to stop", lambda: not any(_alive(p) for p in started_by_demo), 30)
    except AssertionError:
        survivors = [named[p] for p in started_by_demo if _alive(p)]
        raise AssertionError(f"still running 30 s after the demo stopped: {survivors}") from None

    log = (demo["dir"] / "demo.log").read_text() + (demo["dir"] / "demo-fleet.log").read_text()

    def shutdown_order(line: str) -> bool:
        """The web server stops before the simulated clusters (it runs in the demo's own process): a cluster still
        fetching a file as the demo stops finds no server — what a real device sees when the server goes away."""
        return line[:19] >= stopping_at and "loa_agent.runtime" in line and "Connection refused" in line

    noisy = [line for line in log.splitlines() if WARNING.search(line) and not shutdown_order(line)]
    assert not noisy, "\n".join(noisy[:20])
    # the address is announced as ready once the server answers (printed earlier, it answered "refused")
    lines = log.splitlines()
    ready = [i for i, line in enumerate(lines) if line == f"Sẵn sàng — mở bảng điều khiển: {demo['base']}/"]
    accounts = [i for i, line in enumerate(lines) if line.startswith("Tài khoản (mật khẩu")]
    assert len(ready) == 1 and accounts and ready[0] > accounts[0], log[:3000]
