"""``loa agent enrol`` and ``loa agent run`` as a technician uses them: the real console script, a real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from loa_protocol.messages import CommandAck, EnrolRequest, PlayLogBatch, decode, encode
from loa_protocol.mosquitto import MosquittoBroker
from loa_protocol.topics import (
    device_command_topic,
    device_subscriptions,
    group_command_topic,
    presence_topic,
)

LOA = str(Path(sys.executable).parent / "loa")
DEVICE = "loa-c0ffee000001"
UNITS = ["22", "06652"]


class EnrolServer:
    """The server's side of enrolment, as the protocol describes it: one code, spent on first use."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        self.requests: list[EnrolRequest] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = decode(EnrolRequest, body)
                outer.requests.append(request)
                if (
                    self.path != "/api/v1/fleet/enrol"
                    or request.code != "K7Q2-M9XD"
                    or len(outer.requests) > 1
                ):
                    payload = {  # the API's one error format (src/loa/api/errors.py)
                        "error": {
                            "code": "enrolment_code_invalid",
                            "message": "Mã đăng ký không đúng hoặc đã dùng.",
                            "details": [],
                        }
                    }
                    self._send(400, json.dumps(payload, ensure_ascii=False).encode())
                    return
                self._send(200, json.dumps(outer.response).encode())

            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()


@pytest.fixture
def enrol_server(broker: MosquittoBroker, server: Any) -> Iterator[EnrolServer]:
    creds = server.credentials(DEVICE, UNITS).model_dump(mode="json")
    assert creds["subscriptions"] == device_subscriptions(DEVICE, UNITS)
    httpd = EnrolServer(creds)
    yield httpd
    httpd.close()


def agent(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LOA, "agent", *args], capture_output=True, text=True, timeout=30, **kwargs)


def test_enrol_stores_credentials_privately_and_refuses_a_spent_code(
    enrol_server: EnrolServer, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    result = agent("enrol", "--server", enrol_server.url, "--code", "K7Q2-M9XD", "--state-dir", str(state),
                   "--allow-http", "--serial", "HT-1")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert DEVICE in result.stdout
    creds = state / "credentials.json"
    assert creds.stat().st_mode & 0o777 == 0o600
    assert state.stat().st_mode & 0o777 == 0o700
    assert json.loads(creds.read_text())["device_id"] == DEVICE
    assert enrol_server.requests[0].serial == "HT-1"

    again = agent("enrol", "--server", enrol_server.url, "--code", "K7Q2-M9XD", "--state-dir", str(tmp_path / "x"),
                  "--allow-http")  # fmt: skip
    assert again.returncode == 2
    assert again.stderr.strip() == (
        "Lỗi [enrolment_code_invalid]: Máy chủ từ chối đăng ký (HTTP 400): Mã đăng ký không đúng hoặc đã dùng."
    )


def test_enrol_reads_the_consoles_qr_link(enrol_server: EnrolServer, tmp_path: Path) -> None:
    from urllib.parse import quote

    link = f"loa://enrol?server={quote(enrol_server.url, safe='')}&code=K7Q2-M9XD"
    result = agent("enrol", "--qr", link, "--state-dir", str(tmp_path / "s"), "--allow-http")
    assert result.returncode == 0, result.stderr
    assert DEVICE in result.stdout and enrol_server.requests[0].code == "K7Q2-M9XD"
    for bad in (
        "loa://enrol?code=K7Q2-M9XD",  # no server
        f"loa://other?server={quote(enrol_server.url, safe='')}&code=K7Q2-M9XD",
        f"https://enrol?server={quote(enrol_server.url, safe='')}&code=K7Q2-M9XD",
        "loa://enrol?server=ftp%3A%2F%2Fx&code=K7Q2-M9XD",
        f"loa://enrol?server={quote(enrol_server.url, safe='')}&code=",
    ):
        result = agent("enrol", "--qr", bad, "--state-dir", str(tmp_path / "x"), "--allow-http")
        assert result.returncode == 2 and "[bad_link]" in result.stderr, (bad, result.stderr)
    both = agent("enrol", "--qr", link, "--code", "K7Q2-M9XD", "--state-dir", str(tmp_path / "y"))
    assert both.returncode == 2 and "[invalid]" in both.stderr
    assert len(enrol_server.requests) == 1  # no bad link reached the server


def test_parse_enrol_link_decodes_the_server_address() -> None:
    from loa_agent.enrol import parse_enrol_link

    assert parse_enrol_link("loa://enrol?server=https%3A%2F%2Floa.tinh.gov.vn%3A8443%2Fx&code=K7Q2-M9XD") == (
        "https://loa.tinh.gov.vn:8443/x",
        "K7Q2-M9XD",
    )


def test_enrol_requires_https_and_run_requires_enrolment(tmp_path: Path) -> None:
    result = agent(
        "enrol", "--server", "http://example.invalid", "--code", "K7Q2-M9XD", "--state-dir", str(tmp_path)
    )
    assert result.returncode == 2 and "[https_required]" in result.stderr and "HTTPS" in result.stderr
    result = agent("run", "--state-dir", str(tmp_path / "empty"))
    assert result.returncode == 2 and "[not_enrolled]" in result.stderr and "chưa đăng ký" in result.stderr


@pytest.mark.mqtt
def test_run_plays_a_signed_command_and_persists_the_replay_guard(
    enrol_server: EnrolServer, server: Any, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    assert agent("enrol", "--server", enrol_server.url, "--code", "K7Q2-M9XD", "--state-dir", str(state),
                 "--allow-http").returncode == 0  # fmt: skip
    media = tmp_path / "served"
    media.mkdir()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen([LOA, "agent", "run", "--state-dir", str(state), "--player", "null",
                                 "--heartbeat", "1"], env=env, stderr=subprocess.PIPE, text=True)  # fmt: skip

    import time

    def wait(predicate: Any, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("timeout")

    proc = start()
    try:
        wait(lambda: any(t == presence_topic(DEVICE) and p == b"online" for t, p, _ in server.messages))
        # Media not fetchable: the agent reports a failure instead of playing something it cannot verify.
        command = server.command(device_command_topic(DEVICE), "play", {
            "item_id": "b-1", "media_url": enrol_server.url + "/missing.opus", "sha256": "cd" * 32,
            "duration_s": 0.2, "priority": 4})  # fmt: skip
        server.publish(command.topic, encode(command))
        wait(lambda: any(decode(CommandAck, p).status == "failed" for _, p in server.received("ack")))
        stop = server.command(group_command_topic(UNITS), "stop", {})
        server.publish(stop.topic, encode(stop))
        wait(lambda: any(decode(CommandAck, p).command_id == stop.id for _, p in server.received("ack")))
        wait(lambda: any(e.kind == "error" for _, p in server.received("playlog")
                         for e in decode(PlayLogBatch, p).events))  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    wait(lambda: [p for t, p, _ in server.messages if t == presence_topic(DEVICE)][-1] == b"offline")
    assert json.loads((state / "replay.json").read_text()) == {group_command_topic(UNITS): 1,
                                                               device_command_topic(DEVICE): 1}  # fmt: skip
    # After a restart the same stop command is a replay.
    proc = start()
    try:
        server.publish(stop.topic, encode(stop))
        wait(lambda: any(decode(CommandAck, p).reason == "replayed" for _, p in server.received("ack")))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
