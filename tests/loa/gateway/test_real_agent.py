"""The agent as shipped against the real thing (issue 23, item 1): the real web server (live server, real HTTP),
the real gateway (``loa gateway`` in its own process), our own Mosquitto with the generated password and ACL files,
and the real ``loa agent`` command in its own process with its own state directory, media cache and sound output
(the ffmpeg player writing WAV files, ``--output``).

One device's life: a bad enrolment code is refused with the server's reason; the console's QR link enrols it; a
play command sent through the API is signed by the server, the media is downloaded over HTTP into its own cache
(sha256 checked) and played; a volume command through the API lowers the level of what comes out by the expected
6 dB and the status says so; a pause and a resume through the API leave one gap of silence and nothing of the item
lost; every status field the agent publishes is what the server stores and the API shows (each field checked
against what the test knows of the device); play logs written while the broker is down are uploaded once it is
back; the device is online, then offline by its Last-Will when the agent is killed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import math
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from loa.accounts.roles import Role
from loa.content.models import Bulletin
from loa.fleet import broker
from loa.fleet.models import Command, Device, PlayLog, StatusSample
from loa.media.services import do_ingest_file
from loa_protocol.messages import Status, decode
from tests.loa.content.helpers import Api, notice  # type: ignore[import-not-found]
from tests.loa.fleet.brokers import client_id  # type: ignore[import-not-found]
from tests.subprocess_db import database_url  # type: ignore[import-not-found]

pytestmark = pytest.mark.mqtt

LOA = str(Path(sys.executable).parent / "loa")
RATE = 24_000  # the ffmpeg player's output rate (loa_agent.player.PCM_RATE)


def wait_for(predicate: Callable[[], Any], timeout: float = 30.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timeout: {what}"
        time.sleep(0.05)


def thermal() -> float | None:
    """What the agent reads as its temperature (none on most CI machines)."""
    try:
        return round(int(Path("/sys/class/thermal/thermal_zone0/temp").read_text()) / 1000, 1)
    except (OSError, ValueError):
        return None


def frames(path: Path) -> int:
    return max(0, (path.stat().st_size - 44) // 2) if path.exists() else 0


def sound_blocks(path: Path, threshold_db: float = -40.0) -> list[bool]:
    """For each 20 ms of ``path``: sound (True) or silence."""
    import numpy as np
    import soundfile as sf

    data, rate = sf.read(str(path), dtype="float64")
    n = int(rate * 0.02)
    rms = np.sqrt((data[: len(data) // n * n].reshape(-1, n) ** 2).mean(axis=1)) + 1e-12
    return [bool(x) for x in 20 * np.log10(rms) > threshold_db]


def mean_volume_db(path: Path, start_s: float, end_s: float) -> float:
    out = subprocess.run(["ffmpeg", "-hide_banner", "-nostats", "-i", str(path), "-af",
                          f"atrim=start={start_s}:end={end_s},volumedetect", "-f", "null", "-"],
                         capture_output=True, text=True, check=True).stderr  # fmt: skip
    match = re.search(r"mean_volume: (-?[0-9.]+) dB", out)
    assert match, out
    return float(match.group(1))


@pytest.fixture
def gateway(mosquitto: Any, tmp_path: Path, transactional_db: None) -> Iterator[subprocess.Popen[bytes]]:
    broker.write_broker_files()  # the gateway's own user in the password file
    log = open(tmp_path / "gateway.log", "ab")
    env = dict(os.environ, LOA_DATABASE_URL=database_url(), LOA_MQTT_DIR=str(mosquitto.directory),
               LOA_GATEWAY_CLIENT_ID=client_id("loa-gateway-real-agent"),
               LOA_STATUS_SAMPLE_INTERVAL_S="0")  # every status goes to the history  # fmt: skip
    process = subprocess.Popen([LOA, "gateway", "--url", mosquitto.url, "--no-embedded-broker"], env=env,
                               stdout=subprocess.DEVNULL, stderr=log)  # fmt: skip
    yield process
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def publish_bulletin_with_audio(tree: dict, make_user: Any, client_for: Any, audio: Path) -> Bulletin:
    """A province bulletin whose audio is ``audio`` (a steady tone, to measure levels), published through the
    bulletin API by an editor and an approver."""
    editor_user = make_user("editor_p", Role.EDITOR, tree["province"])
    editor = Api(client_for(editor_user), editor_user)
    approver_user = make_user("appr_p", Role.APPROVER, tree["province"])
    approver = Api(client_for(approver_user), approver_user)
    asset = do_ingest_file(audio, unit=tree["province"], actor=editor_user, original_name=audio.name)
    status, b = editor.post("", notice(tree["province"].code, [tree["a"].code], audio_asset_id=asset.pk))
    assert status == 201, b
    assert editor.transition(b["id"], "submit")[0] == 200
    assert approver.transition(b["id"], "approve")[0] == 200
    status, b = approver.transition(b["id"], "publish")
    assert status == 200 and b["state"] == "published", b
    return Bulletin.objects.select_related("audio_asset").get(pk=b["id"])


def test_the_shipped_agent_enrols_plays_reports_and_buffers_against_the_real_server(
    mosquitto: Any,
    gateway: subprocess.Popen[bytes],
    live_server: Any,
    settings: Any,
    tree: dict,
    make_user: Any,
    client_for: Any,
    token_for: Any,
    tmp_path: Path,
) -> None:
    settings.LOA_PUBLIC_URL = live_server.url
    technician = make_user("kt", Role.TECHNICIAN, tree["a"])
    operator = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    api = httpx.Client(base_url=f"{live_server.url}/api/v1", timeout=30)
    as_technician = {"Authorization": f"Bearer {token_for(technician)}"}
    as_operator = {"Authorization": f"Bearer {token_for(operator)}"}
    state, output = tmp_path / "agent", tmp_path / "speaker"

    def agent(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([LOA, "agent", *args], capture_output=True, text=True, timeout=60)

    # --- enrolment: a bad code is refused with the server's reason, the QR link enrols -------------------------
    bad = agent("enrol", "--server", live_server.url, "--code", "WRNG-CODE", "--state-dir", str(state),
                "--allow-http", "--serial", "E2E-1")  # fmt: skip
    assert bad.returncode != 0
    refusal = bad.stderr.strip()
    assert refusal.startswith("Lỗi [enrolment_code_invalid]: Máy chủ từ chối đăng ký (HTTP 400): "), refusal
    assert "{" not in refusal and "http_400" not in refusal
    assert not (state / "credentials.json").exists()

    made = api.post("/fleet/enrolment-codes", json={"unit": tree["a"].code, "label": "Cột chợ"},
                    headers=as_technician)  # fmt: skip
    assert made.status_code == 201, made.text
    link = made.json()["uri"]
    assert link == f"loa://enrol?server={quote(live_server.url, safe='')}&code={made.json()['code']}"
    good = agent("enrol", "--qr", link, "--state-dir", str(state), "--allow-http", "--serial", "E2E-1")
    assert good.returncode == 0, good.stderr
    creds = json.loads((state / "credentials.json").read_text())
    device_id = creds["device_id"]
    assert device_id in good.stdout
    assert creds["mqtt_url"] == mosquitto.url and creds["media_base_url"].startswith(live_server.url)
    assert Device.objects.get(device_id=device_id).unit_id == tree["a"].pk

    # --- the agent runs; it is online and reports its status ----------------------------------------------------
    started = time.monotonic()
    agent_log = open(tmp_path / "agent.log", "ab")
    run = subprocess.Popen(
        [LOA, "agent", "run", "--state-dir", str(state), "--player", "ffmpeg", "--output", str(output),
         "--heartbeat", "1", "-v"],
        env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=agent_log, stderr=agent_log,
    )  # fmt: skip

    def shown() -> dict[str, Any]:
        resp = api.get(f"/fleet/devices/{device_id}", headers=as_operator)
        assert resp.status_code == 200, resp.text
        return resp.json()  # type: ignore[no-any-return]

    try:
        wait_for(lambda: shown()["online"] and shown()["last_status"], 30, "online with a status")

        # --- a play command through the API: signed, downloaded with the device's credentials, played -------
        tone = tmp_path / "tone.wav"
        subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i",
                        "sine=frequency=1000:sample_rate=48000:duration=12", str(tone)], check=True)  # fmt: skip
        bulletin = publish_bulletin_with_audio(tree, make_user, client_for, tone)
        asset = bulletin.audio_asset
        assert asset is not None and asset.duration_s
        sent = api.post("/fleet/commands", json={"action": "play", "device": device_id,
                                                 "bulletin_id": bulletin.pk}, headers=as_operator)  # fmt: skip
        assert sent.status_code == 201, sent.text
        command_id = sent.json()["id"]

        def logs(kind: str) -> list[PlayLog]:
            return list(PlayLog.objects.filter(device_id=device_id, command_id=command_id, kind=kind))

        wait_for(lambda: logs("start"), 30, "the start of the play")
        cached = state / "media" / asset.sha256
        assert hashlib.sha256(cached.read_bytes()).hexdigest() == asset.sha256  # its own cache, verified
        heard = wait_for(lambda: sorted(output.glob("*.wav")), 10, "sound")
        assert len(heard) == 1
        out = heard[0]
        wait_for(lambda: shown()["last_status"].get("state") == "playing", 10, "playing status")
        playing_status = shown()["last_status"]
        assert playing_status["volume"] == 70  # the device's default volume
        play_params = Command.objects.get(pk=command_id).params

        # --- a volume command through the API changes what comes out, and the status says so --------------
        wait_for(lambda: frames(out) >= 1.5 * RATE, 20, "1.5 s of sound")
        before_s = frames(out) / RATE
        turned = api.post("/fleet/commands", json={"action": "volume", "device": device_id,
                                                   "params": {"volume": 35}}, headers=as_operator)  # fmt: skip
        assert turned.status_code == 201, turned.text
        wait_for(lambda: shown()["last_status"].get("volume") == 35, 15, "volume 35 reported")
        after_s = frames(out) / RATE
        assert after_s < asset.duration_s - 3.0, "the test needs sound after the change"

        # --- pause and resume through the API: a gap of silence in what comes out, nothing of the item lost --
        def command(action: str) -> None:
            resp = api.post(
                "/fleet/commands", json={"action": action, "device": device_id}, headers=as_operator
            )
            assert resp.status_code == 201, resp.text

        wait_for(lambda: frames(out) >= (after_s + 1.0) * RATE, 20, "a second at the new volume")
        paused_s = frames(out) / RATE
        command("pause")
        wait_for(lambda: shown()["last_status"].get("state") == "paused", 15, "paused reported")
        silent_from = frames(out)
        wait_for(lambda: frames(out) >= silent_from + 0.6 * RATE, 20, "0.6 s of the pause")
        command("resume")
        wait_for(lambda: shown()["last_status"].get("state") == "playing", 15, "playing again")

        # --- the broker goes down while it plays: the end of the play is buffered, then uploaded -----------
        mosquitto.stop()
        buffer = state / "playlog.sqlite"

        def buffered() -> list[str]:
            with sqlite3.connect(f"file:{buffer}?mode=ro", uri=True) as db:
                return [r[0] for r in db.execute("SELECT body FROM playlog")]

        ends = wait_for(lambda: [b for b in buffered() if '"kind":"end"' in b], 30, "the end, buffered")
        assert not logs("end")
        blocks = sound_blocks(out)
        assert abs(sum(blocks) * 0.02 - asset.duration_s) < 0.5  # all of the item was heard, to the end
        runs = [(k, len(list(g))) for k, g in itertools.groupby(blocks)]
        gaps = [n * 0.02 for k, n in runs[1:-1] if not k]  # silences inside the item
        assert len(gaps) == 1 and gaps[0] >= 0.55, runs  # the pause, and only it
        louder = mean_volume_db(out, 0.3, before_s - 0.05)
        quieter = mean_volume_db(out, after_s + 0.05, paused_s - 0.05)
        assert quieter - louder == pytest.approx(20 * math.log10(35 / 70), abs=0.5)  # -6.0 dB

        mosquitto.start()
        wait_for(lambda: logs("end"), 60, "the buffered end uploaded after the broker came back")
        end = logs("end")[0]
        assert str(end.event_id) == json.loads(ends[0])["event_id"]
        assert end.media_sha256 == asset.sha256
        wait_for(lambda: not buffered(), 10, "the buffer emptied after PUBACK")

        # --- every status field across the boundary: what the agent knows = what is stored = what is shown ----
        version = agent("--version").stdout.split()[1]
        wait_for(lambda: shown()["last_status"].get("state") == "idle", 15, "idle after the end")
        last = shown()["last_status"]
        assert set(last) == set(Status.model_fields)  # every field the protocol has, none lost or added
        sent_status = decode(Status, json.dumps(last).encode())
        free_mb = shutil.disk_usage(state).free // (1024 * 1024)
        expected = {
            "device_id": device_id,
            "state": "idle",
            "current_item": None,
            "priority": None,
            "volume": 35,
            "link": "unknown",
            "signal_dbm": None,
            "lat": None,
            "lon": None,
            "power": "unknown",
            "battery_pct": None,
            "temperature_c": thermal(),
            "firmware": f"loa-agent {version}",
            "clock_offset_ms": None,
            "manifest_version": None,
        }
        assert {k: last[k] for k in expected} == expected
        assert abs(last["storage_free_mb"] - free_mb) < 512
        assert 0 <= last["uptime_s"] <= time.monotonic() - started + 1
        assert abs((dt.datetime.now(dt.UTC) - sent_status.ts).total_seconds()) < 30
        assert shown()["firmware"] == expected["firmware"]
        sample = StatusSample.objects.get(device_id=device_id, at=sent_status.ts)
        for field in ("state", "volume", "link", "signal_dbm", "power", "battery_pct", "temperature_c",
                      "storage_free_mb", "clock_offset_ms"):  # fmt: skip
            assert getattr(sample, field) == last[field], field
        history = api.get(f"/fleet/devices/{device_id}/status-history", headers=as_operator).json()
        assert any(h["volume"] == 35 and h["state"] == "playing" for h in history)
        assert any(h["volume"] == 70 and h["state"] == "playing" for h in history)
        assert playing_status["current_item"] == play_params["item_id"]
        assert playing_status["priority"] == play_params["priority"]

        # --- presence: kill -9 → the broker publishes the Last-Will, the server shows it offline -----------
        assert shown()["online"] is True
        run.send_signal(signal.SIGKILL)
        run.wait(10)
        wait_for(lambda: shown()["online"] is False, 20, "offline by Last-Will")
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        agent_log.close()
