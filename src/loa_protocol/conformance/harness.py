"""The server side a device under test talks to: a private Mosquitto with the protocol's ACL, an HTTP endpoint for
enrolment, the manifest poll and media, the server's signing key, and an observer of everything the device sends.

Nothing of the Loa server is used (no Django): the harness is built from ``loa_protocol`` and the standard library, as
a vendor's device is built from docs/protocol.md.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import paho.mqtt.client as mqtt

from loa_protocol import topics
from loa_protocol.messages import (
    CommandAck,
    EnrolRequest,
    EnrolResponse,
    ManifestAck,
    PlayLogBatch,
    ProtocolError,
    Status,
    decode,
)
from loa_protocol.mosquitto import MosquittoBroker, render_acl
from loa_protocol.ports import reserve_port
from loa_protocol.signing import generate_keypair

SERVER_USER = "loa-conformance"
UNIT_CODES = ["99", "99001"]
# 0.4 s of silence, MP3 mono 22.05 kHz: the media every "play" of the runner names (any player can play it)
SILENCE_MP3 = base64.b64decode(
    "SUQzBAAAAAAAI1RTU0UAAAAPAAADTGF2ZjU5LjI3LjEwMAAAAAAAAAAAAAAA//NwwAAAAAAAAAAAAEluZm8AAAAPAAAAEgAACA8AIyMjIyMwMDAwMDA9PT09PUpKSkpKSldXV1dXZGRkZGRkcXFxcXF+fn5+fn6Li4uLi5iYmJiYmKWlpaWlpbKysrKyv7+/v7+/zMzMzMzZ2dnZ2dnm5ubm5vLy8vLy8v//////AAAAAExhdmM1OS4zNwAAAAAAAAAAAAAAACQDzAAAAAAAAAgPPhI4jwAAAAAAAAAAAAAAAAD/80DEAAAAA0gAAAAATEFNRTMuMTAwVVVVVVVVVVVVVUxBTUUzLjEwMFVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVf/zQsRbAAADSAAAAABVVVVVVVVVVVVVVVVVVVVVVVVVVUxBTUUzLjEwMFVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVf/zQMSkAAADSAAAAABVVVVVVVVVVVVVVVVVVVVVVVVVTEFNRTMuMTAwVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV//NCxKMAAANIAAAAAFVVVVVVVVVVVVVVVVVVVVVVVVVVTEFNRTMuMTAwVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV//NAxKQAAANIAAAAAFVVVVVVVVVVVVVVVVVVVVVVVVVMQU1FMy4xMDBVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVX/80LEowAAA0gAAAAAVVVVVVVVVVVVVVVVVVVVVVVVVVVMQU1FMy4xMDBVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVX/80DEpAAAA0gAAAAAVVVVVVVVVVVVVVVVVVVVVVVVVUxBTUUzLjEwMFVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVf/zQsSjAAADSAAAAABVVVVVVVVVVVVVVVVVVVVVVVVVVUxBTUUzLjEwMFVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVf/zQMSkAAADSAAAAABVVVVVVVVVVVVVVVVVVVVVVVVVTEFNRTMuMTAwVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV//NCxKMAAANIAAAAAFVVVVVVVVVVVVVVVVVVVVVVVVVVTEFNRTMuMTAwVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV//NAxKQAAANIAAAAAFVVVVVVVVVVVVVVVVVVVVVVVVVMQU1FMy4xMDBVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVX/80LEowAAA0gAAAAAVVVVVVVVVVVVVVVVVVVVVVVVVVVMQU1FMy4xMDBVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVX/80DEpAAAA0gAAAAAVVVVVVVVVVVVVVVVVVVVVVVVVUxBTUUzLjEwMFVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVf/zQsSjAAADSAAAAABVVVVVVVVVVVVVVVVVVVVVVVVVVUxBTUUzLjEwMFVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVf/zQMSkAAADSAAAAABVVVVVVVVVVVVVVVVVVVVVVVVVTEFNRTMuMTAwVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV//NCxKMAAANIAAAAAFVVVVVVVVVVVVVVVVVVVVVVVVVVTEFNRTMuMTAwVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVV//NAxKQAAANIAAAAAFVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVX/80LEowAAA0gAAAAAVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVVU="
)


@dataclass
class Received:
    at: float
    topic: str
    payload: bytes
    retained: bool


@dataclass
class HttpHit:
    at: float
    method: str
    path: str
    auth: tuple[str, str] | None
    status: int


@dataclass
class Harness:
    good_code: str = field(default_factory=lambda: secrets.token_hex(4).upper())
    device_id: str = field(default_factory=topics.new_device_id)
    device_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    server_password: str = field(default_factory=lambda: secrets.token_urlsafe(18))
    media: dict[str, bytes] = field(default_factory=dict)
    manifest: bytes | None = None
    received: list[Received] = field(default_factory=list)
    http: list[HttpHit] = field(default_factory=list)
    enrol_requests: list[dict[str, Any]] = field(default_factory=list)
    enrolled: bool = False

    def __post_init__(self) -> None:
        self.private_key, self.public_key = generate_keypair()
        self.other_private_key, _ = generate_keypair()  # a forger's key
        self.silence_sha256 = self.add_media(SILENCE_MP3)
        self._lock = threading.Lock()
        self._seq: dict[str, int] = {}

    # ---- lifecycle ----

    def start(self) -> Harness:
        acl = render_acl([(self.device_id, UNIT_CODES)], server_users=[SERVER_USER])
        self.broker = MosquittoBroker(
            users={SERVER_USER: self.server_password, self.device_id: self.device_password}, acl=acl
        ).start()
        self.http_port = reserve_port()
        self.server = ThreadingHTTPServer(("127.0.0.1", self.http_port), _handler(self))
        threading.Thread(target=self.server.serve_forever, name="conformance-http", daemon=True).start()
        self.client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2, client_id=SERVER_USER, clean_session=False
        )
        # a persistent session on a broker that keeps it across restarts: what the device sends while the harness
        # is still reconnecting after a broker restart is queued for it, not lost (the play-log outage rule)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.username_pw_set(SERVER_USER, self.server_password)
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(f"{topics.PREFIX}/d/{self.device_id}/#", qos=1)
        self.client.connect("127.0.0.1", self.broker.port, keepalive=30)
        self.client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError("the harness could not subscribe to the device's topics on its own broker")
        return self

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.server.shutdown()
        self.server.server_close()
        self.broker.stop()

    @property
    def server_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def enrol_response(self) -> EnrolResponse:
        return EnrolResponse(
            device_id=self.device_id,
            mqtt_url=f"mqtt://127.0.0.1:{self.broker.port}",
            mqtt_username=self.device_id,
            mqtt_password=self.device_password,
            server_public_key=self.public_key,
            unit_codes=UNIT_CODES,
            subscriptions=topics.device_subscriptions(self.device_id, UNIT_CODES),
            media_base_url=f"{self.server_url}/media/",
            manifest_url=f"{self.server_url}/api/v1/fleet/devices/{self.device_id}/manifest",
        )

    # ---- media and publishing ----

    def add_media(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.media[digest] = data
        return digest

    def media_url(self, sha256: str) -> str:
        return f"{self.server_url}/media/files/{sha256}.mp3"

    def next_seq(self, topic: str) -> int:
        self._seq[topic] = self._seq.get(topic, 0) + 1
        return self._seq[topic]

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    # ---- observing ----

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append(Received(time.monotonic(), msg.topic, bytes(msg.payload), bool(msg.retain)))

    def mark(self) -> int:
        with self._lock:
            return len(self.received)

    def since(self, mark: int, kind: str) -> list[Received]:
        topic = f"{topics.PREFIX}/d/{self.device_id}/{kind}"
        with self._lock:
            return [r for r in self.received[mark:] if r.topic == topic]

    def wait_for(self, predicate: Callable[[], Any], timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value or time.monotonic() >= deadline:
                return value
            time.sleep(0.05)

    def acks(self, mark: int) -> list[CommandAck | ManifestAck]:
        out: list[CommandAck | ManifestAck] = []
        for r in self.since(mark, topics.ACK):
            try:
                data = json.loads(r.payload)
                model: Any = ManifestAck if "manifest_version" in data else CommandAck
                out.append(decode(model, r.payload))
            except (ValueError, ProtocolError):
                continue
        return out

    def statuses(self, mark: int) -> list[Status]:
        out = []
        for r in self.since(mark, topics.STATUS):
            try:
                out.append(decode(Status, r.payload))
            except ProtocolError:
                continue
        return out

    def playlogs(self, mark: int = 0) -> list[PlayLogBatch]:
        out = []
        for r in self.since(mark, topics.PLAYLOG):
            try:
                out.append(decode(PlayLogBatch, r.payload))
            except ProtocolError:
                continue
        return out


def _handler(h: Harness) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _auth(self) -> tuple[str, str] | None:
            header = self.headers.get("Authorization", "")
            if not header.startswith("Basic "):
                return None
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return user, password

        def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
            h.http.append(HttpHit(time.monotonic(), self.command, self.path, self._auth(), status))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _error(self, status: int, code: str, message: str) -> None:
            body = json.dumps(
                {"error": {"code": code, "message": message, "details": []}}, ensure_ascii=False
            )
            self._send(status, body.encode())

        def do_POST(self) -> None:
            if self.path != "/api/v1/fleet/enrol":
                return self._error(404, "not_found", "Không có địa chỉ này.")
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            try:
                request = decode(EnrolRequest, raw)
            except ProtocolError as exc:
                h.enrol_requests.append({"valid": False, "error": exc.message})
                return self._error(400, "invalid", exc.message)
            h.enrol_requests.append({"valid": True, "code": request.code})
            if request.code != h.good_code or h.enrolled:
                return self._error(400, "enrolment_code_invalid", "Mã đăng ký không đúng hoặc đã dùng.")
            h.enrolled = True
            self._send(200, h.enrol_response().model_dump_json().encode())

        def do_GET(self) -> None:
            if self.path.startswith("/stream/"):  # a live relay's source (stream.kind): public, like VOV's
                return self._send(200, SILENCE_MP3, "audio/mpeg")
            auth = self._auth()
            if auth != (h.device_id, h.device_password):
                return self._error(401, "unauthorized", "Cần thông tin đăng nhập của thiết bị.")
            if self.path == f"/api/v1/fleet/devices/{h.device_id}/manifest":
                if h.manifest is None:
                    return self._error(404, "no_manifest", "Chưa có lịch phát.")
                return self._send(200, h.manifest)
            if self.path.startswith("/media/files/"):
                sha = self.path.rsplit("/", 1)[-1].split(".")[0]
                data = h.media.get(sha)
                if data is None:
                    # a file served under another name (the sha256_mismatch rule) is looked up by its alias
                    data = h.media.get(f"alias:{sha}")
                if data is None:
                    return self._error(404, "media_missing", "Không có tệp này.")
                return self._send(200, data, "audio/mpeg")
            return self._error(404, "not_found", "Không có địa chỉ này.")

        def log_message(self, format: str, *args: Any) -> None:
            return

    return Handler


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
