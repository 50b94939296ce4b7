"""The gateway process: the only server process that speaks MQTT.

Threads: paho's network loop receives messages into a queue; the main loop drains it in batches (up to
``batch_size`` messages or ``flush_interval`` seconds), writes each batch in one transaction
(:mod:`loa.gateway.ingest`) and only then acknowledges the QoS 1 messages of the batch (paho ``manual_ack``).
The session is persistent (``clean_session=False``, fixed client id), so the broker keeps — and re-delivers —
whatever the gateway did not acknowledge when it died; ingest is idempotent, so nothing is lost or doubled.

The same loop publishes the command outbox: pending commands, in sequence order per topic, QoS 1; a command is
marked published (and its deliveries ``sent``) only after the broker's PUBACK. Unpublished commands are simply
published again after a reconnect or a restart.

The outbox is polled every ``outbox_interval``; a process that has just committed a command also pokes the gateway
(:func:`poke_outbox`: a datagram on a Unix socket in ``DATA_DIR/run``) so it publishes at once instead of at the
next poll. The poke is only a hint: a lost one costs at most one poll interval, never a command.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import queue
import signal
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from loa.fleet import broker
from loa.gateway.confirm import publish_confirmed
from loa.gateway.ingest import (
    Counters,
    Incoming,
    Ingestor,
    expire_deliveries,
    mark_published,
    pending_commands,
)
from loa.gateway.models import GatewayState
from loa_protocol import topics

log = logging.getLogger("loa.gateway")


@dataclass
class GatewayOptions:
    url: str
    username: str = broker.GATEWAY_USERNAME
    password: str = ""
    client_id: str = "loa-gateway"
    batch_size: int = 2000
    flush_interval: float = 1.0
    outbox_interval: float = 0.1
    check_interval: float = 15.0
    state_interval: float = 5.0
    ca_file: str | None = None
    poke: bool = True  # listen for poke_outbox() datagrams


def _poke_dir() -> Path:
    return Path(settings.DATA_DIR) / "run"


def _poke_path(client_id: str) -> Path:
    return _poke_dir() / f"gw-{hashlib.sha256(client_id.encode()).hexdigest()[:12]}.sock"


def poke_outbox() -> None:
    """Tell the gateways on this host that a command is waiting (best effort, never raises; call it after the
    command's transaction committed)."""
    if not hasattr(socket, "AF_UNIX"):
        return
    try:
        paths = list(_poke_dir().glob("gw-*.sock"))
    except OSError:
        return
    if not paths:
        return
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        for path in paths:
            with contextlib.suppress(OSError):  # no gateway there any more, or its buffer is full
                sock.sendto(b"outbox", str(path))


@dataclass
class _Queued:
    incoming: Incoming
    mid: int
    qos: int
    generation: int


class Gateway:
    def __init__(self, options: GatewayOptions) -> None:
        self.options = options
        self.counters = Counters()
        self.ingestor = Ingestor(self.counters)
        self._queue: queue.Queue[_Queued | None] = queue.Queue()  # None: poked, publish the outbox now
        self._poked = threading.Event()
        self._poke_socket: socket.socket | None = None
        self._poke_file: Path | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._generation = 0
        self._gen_lock = threading.Lock()
        self.started_at = timezone.now()
        target = broker.parse_mqtt_url(options.url)
        client = mqtt.Client(
            callback_api_version=mqtt.CallbackAPIVersion.VERSION2,
            client_id=options.client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
        )
        client.username_pw_set(options.username, options.password or broker.gateway_password())
        if target.tls:
            client.tls_set(ca_certs=options.ca_file, cert_reqs=ssl.CERT_REQUIRED)
        client.reconnect_delay_set(min_delay=1, max_delay=15)
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(200)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        self.client = client
        self.target = target

    # ---- paho callbacks (network thread) ----

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.counters.add("connect_refused")
            log.error("broker từ chối kết nối của gateway: %s", reason)
            return
        with self._gen_lock:
            self._generation += 1
        # Connected counts from the SUBACK: on a first connection (no persistent session yet) a device's message
        # published before it would not reach the gateway.
        client.subscribe([(f, 1) for f in topics.GATEWAY_FILTERS])
        self.counters.add("connects")
        log.info("gateway đã kết nối tới %s:%s", self.target.host, self.target.port)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(r.is_failure for r in reasons):
            self.counters.add("subscribe_refused")
            log.error("broker từ chối đăng ký chủ đề của gateway: %s", reasons)
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        if not self._stop.is_set():
            self.counters.add("disconnects")
            log.warning("gateway mất kết nối tới broker (%s); sẽ tự kết nối lại", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.counters.add("received")
        self._queue.put(_Queued(Incoming(msg.topic, bytes(msg.payload)), msg.mid, msg.qos, self._generation))

    # ---- main loop ----

    def start(self) -> None:
        self.client.connect_async(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()
        if self.options.poke:
            self._listen_for_pokes()

    def _listen_for_pokes(self) -> None:
        if not hasattr(socket, "AF_UNIX"):
            return
        path = _poke_path(self.options.client_id)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileNotFoundError):
                path.unlink()  # left by a gateway of the same client id that died
            sock.bind(str(path))
            os.chmod(path, 0o600)
        except OSError as exc:
            sock.close()
            log.warning("gateway không nghe được tín hiệu có lệnh mới (%s); chỉ dò hộp thư đi định kỳ", exc)
            return
        sock.settimeout(1.0)
        self._poke_socket, self._poke_file = sock, path
        threading.Thread(
            target=self._poke_loop, args=(sock, path), name="loa-gateway-poke", daemon=True
        ).start()

    def _poke_loop(self, sock: socket.socket, path: Path) -> None:
        try:
            while not self._stop.is_set():
                try:
                    sock.recv(64)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not self._poked.is_set():
                    self._poked.set()
                    self._queue.put(None)  # wakes _drain_once at once
        finally:
            self._stop_listening()

    def _stop_listening(self) -> None:
        sock, path = self._poke_socket, self._poke_file
        self._poke_socket = self._poke_file = None
        if sock is not None:
            sock.close()
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def wait_connected(self, timeout: float = 10.0) -> bool:
        return self._connected.wait(timeout)

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        """Run until :meth:`stop` (or SIGTERM/SIGINT when called from the main thread)."""
        self.start()
        next_outbox = next_check = next_state = 0.0
        try:
            while not self._stop.is_set():
                self._drain_once()
                now = time.monotonic()
                if now >= next_outbox or self._poked.is_set():
                    self._poked.clear()
                    next_outbox = now + self.options.outbox_interval
                    self._guard(self.publish_outbox)
                    self._guard(self.publish_manifests)
                if now >= next_check:
                    next_check = now + self.options.check_interval
                    self._guard(self._periodic)
                if now >= next_state:
                    next_state = now + self.options.state_interval
                    self._guard(self._write_state)
        finally:
            self._stop_listening()
            self._drain_once(final=True)
            self.client.disconnect()
            self.client.loop_stop()
            self._guard(self._write_state, connected=False)
            close_old_connections()

    def _guard(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        try:
            fn(*args, **kwargs)
        except Exception:
            self.counters.add("errors")
            log.exception("lỗi trong vòng lặp gateway")
            close_old_connections()
            time.sleep(0.5)

    def _drain_once(self, final: bool = False) -> None:
        batch: list[_Queued] = []
        deadline = time.monotonic() + (
            0 if final else min(self.options.flush_interval, self.options.outbox_interval)
        )
        while len(batch) < self.options.batch_size:
            timeout = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:  # poked: publish the outbox before ingesting more
                if final:
                    continue
                break
            batch.append(item)
        if not batch:
            return
        while True:
            try:
                self.ingestor.ingest_batch([q.incoming for q in batch])
                break
            except Exception:
                # The database is down or locked: keep the batch (unacknowledged) and retry; never drop it.
                self.counters.add("db_errors")
                log.exception("không ghi được lô %d gói tin; thử lại", len(batch))
                close_old_connections()
                if self._stop.wait(1.0) and final:
                    return
        current = self._generation
        for q in batch:
            if q.qos > 0 and q.generation == current:
                self.client.ack(q.mid, q.qos)
        self.counters.add("batches")

    def publish_outbox(self) -> int:
        if not self._connected.is_set():
            return 0
        commands = pending_commands()
        if not commands:
            return 0
        published = publish_confirmed(
            self.client, ((c.pk, c.topic, _json_bytes(c.message)) for c in commands), qos=1
        )
        if published:
            mark_published(published)
            self.counters.add("commands_published", len(published))
        return len(published)

    def publish_manifests(self) -> int:
        """Compiled schedule manifests, retained per device (:mod:`loa.broadcast.publish`)."""
        if not self._connected.is_set():
            return 0
        from loa.broadcast.publish import publish_manifests

        n = publish_manifests(self.client)
        if n:
            self.counters.add("manifests_published", n)
        return n

    def _periodic(self) -> None:
        self.ingestor.check_offline()
        expired = expire_deliveries()
        if expired:
            self.counters.add("deliveries_expired", expired)

    def _write_state(self, connected: bool | None = None) -> None:
        GatewayState.objects.update_or_create(
            name=self.options.client_id,
            defaults={
                "started_at": self.started_at,
                "heartbeat_at": timezone.now(),
                "connected": self._connected.is_set() if connected is None else connected,
                "counters": self.counters.snapshot(),
            },
        )


def _json_bytes(message: Any) -> bytes:
    import json

    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def run_forever(options: GatewayOptions) -> None:
    gateway = Gateway(options)

    def _terminate(signum: int, frame: Any) -> None:
        gateway.stop()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    log.info("gateway %s khởi động (%s)", socket.gethostname(), options.url)
    gateway.run()
