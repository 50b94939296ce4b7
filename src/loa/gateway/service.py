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

Storms and outages (docs/gateway.md, "Khi cơ sở dữ liệu hoặc broker vắng mặt"): what paho received and the main
loop has not written yet waits in :class:`Pending`, where a device's newer status replaces its older waiting one —
while the database is away the gateway holds at most one heartbeat per device, plus the QoS 1 messages (play logs,
acks, presence) the broker's in-flight window lets through, which are never dropped and acknowledged only once
written. A dependency that goes away is logged once (:class:`Outage`), and once more when it is back, with how long
it was away and what was held; no traceback per retry. Broker reconnects start fast (0.1 s, doubling, capped at
``reconnect_max_s``, 0.5 s: the outbox's commands wait for the gateway's return, and there is only one gateway).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import signal
import socket
import ssl
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connection
from django.utils import timezone

from loa.fleet import broker
from loa.gateway import identity
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
    reconnect_min_s: float = 0.1  # broker reconnect: first retry, doubling up to reconnect_max_s
    reconnect_max_s: float = 0.5
    db_retry_s: float = 1.0  # database outage: seconds between write attempts
    # One gateway per MQTT identity (loa.gateway.identity): refuse to start when another holds ``client_id`` on this
    # host (lock file) or says so on the broker (retained status). ``loa gateway`` turns it on.
    check_identity: bool = False
    health_port: int = 0  # a local health endpoint on 127.0.0.1 (0: none); answers without the database


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


class Pending:
    """Messages received and not yet written, oldest first (thread-safe: paho's thread adds, the main loop takes).

    Once ``coalesce_after`` messages wait (a backlog; 0 while the database is away), a status replaces the same
    device's status still waiting here (it moves to the newer one's place): the older one would only be overwritten
    by it. In a heartbeat storm while the database is away this keeps at most one status per device. Everything
    else is kept, in order. A replaced QoS 1 status is handed back to the caller to acknowledge (it will never be
    written). Without a backlog every message is kept, so each one is validated and counted."""

    def __init__(self, coalesce_after: int) -> None:
        self.coalesce_after = coalesce_after
        self._items: OrderedDict[object, _Queued] = OrderedDict()
        self._cond = threading.Condition()
        self._woken = False
        self._seq = 0
        self.superseded = 0  # statuses replaced by a newer one of the same device, since the last reset

    @staticmethod
    def _status_key(q: _Queued) -> str | None:
        return q.incoming.topic if q.incoming.topic.endswith("/" + topics.STATUS) else None

    def put(self, q: _Queued) -> _Queued | None:
        key = self._status_key(q)
        with self._cond:
            replaced = None
            if key is None or len(self._items) < self.coalesce_after:
                self._seq += 1
                self._items[self._seq] = q
            else:
                replaced = self._items.pop(key, None)
                if replaced is not None:
                    self.superseded += 1
                self._items[key] = q
            self._cond.notify()
            return replaced

    def put_back(self, batch: list[_Queued]) -> list[_Queued]:
        """Return an unwritten batch to the front (it is older than what waits here); returns the statuses of it
        that a newer waiting one replaces."""
        replaced: list[_Queued] = []
        with self._cond:
            front: OrderedDict[object, _Queued] = OrderedDict()
            for q in batch:
                key = self._status_key(q)
                if key is None:
                    self._seq += 1
                    front[-self._seq] = q
                    continue
                if key in self._items:  # a newer status of this device waits already
                    replaced.append(q)
                    continue
                older = front.pop(key, None)
                if older is not None:
                    replaced.append(older)
                front[key] = q
            self.superseded += len(replaced)
            front.update(self._items)
            self._items = front
        return replaced

    def coalesce_now(self) -> list[_Queued]:
        """From now on (until ``coalesce_after`` is raised again) keep one status per device, starting with what
        waits; returns the statuses replaced."""
        with self._cond:
            self.coalesce_after = 0
            waiting = list(self._items.values())
            self._items = OrderedDict()
        return self.put_back(waiting)

    def wake(self) -> None:
        with self._cond:
            self._woken = True
            self._cond.notify()

    def take(self, limit: int, wait: float, final: bool = False) -> list[_Queued]:
        """Up to ``limit`` messages, gathering for at most ``wait`` seconds; returns early when woken (poked)."""
        deadline = time.monotonic() + wait
        batch: list[_Queued] = []
        with self._cond:
            while True:
                while self._items and len(batch) < limit:
                    batch.append(self._items.popitem(last=False)[1])
                if len(batch) >= limit:
                    return batch
                if self._woken and not final:
                    self._woken = False
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return batch
                self._cond.wait(remaining)

    def counts(self) -> tuple[int, int]:
        """(statuses, other messages) waiting."""
        with self._cond:
            statuses = sum(1 for q in self._items.values() if self._status_key(q) is not None)
            return statuses, len(self._items) - statuses

    def __len__(self) -> int:
        with self._cond:
            return len(self._items)


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


class Outage:
    """A dependency (the database, the broker) that went away: one line when it goes, one when it is back."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.since: float | None = None
        self.failures = 0

    @property
    def down(self) -> bool:
        return self.since is not None

    def went(self, reason: str, traceback: bool = False) -> bool:
        """Record a failure; logs only the first of an outage. Returns True when this one began it."""
        self.failures += 1
        if self.since is not None:
            return False
        self.since = time.monotonic()
        at = timezone.localtime().strftime("%H:%M:%S")
        log.error(
            "gateway không kết nối được tới %s từ %s (%s); tự thử lại, chỉ ghi thêm một dòng khi kết nối lại",
            self.what,
            at,
            reason,
            exc_info=traceback,
        )
        return True

    def back(self, held: str = "") -> None:
        if self.since is None:
            return
        away = time.monotonic() - self.since
        log.warning(
            "gateway đã kết nối lại %s sau %.1f s gián đoạn (%d lần thử không thành)%s",
            self.what,
            away,
            self.failures,
            f"; {held}" if held else "",
        )
        self.since, self.failures = None, 0


_DB_GONE = (OperationalError, InterfaceError)  # the database is unreachable or locked, not a bug of ours


class Gateway:
    def __init__(self, options: GatewayOptions) -> None:
        self.options = options
        self.counters = Counters()
        self.ingestor = Ingestor(self.counters)
        self.pending = Pending(coalesce_after=options.batch_size)
        self.db = Outage("cơ sở dữ liệu")
        self.broker = Outage("broker MQTT")
        self._held_max = (0, 0)  # most statuses / other messages held during the current database outage
        self._poked = threading.Event()
        self._poke_socket: socket.socket | None = None
        self._poke_file: Path | None = None
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._listening_since: float | None = None  # monotonic: since the SUBACK of the current session
        self._generation = 0
        self._gen_lock = threading.Lock()
        self.started_at = timezone.now()
        self.instance = identity.new_instance()
        self.kicks = identity.KickWatch()
        self._session_up = False
        # the broker connection as last written to GatewayState (None: never written), and since when it is down
        self._state_connected: bool | None = None
        self._disconnected_at: Any = self.started_at
        self._lock: identity.LocalLock | None = None
        self._health: Any = None
        self._status_topic = topics.gateway_status_topic(options.client_id)
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
        client.reconnect_delay_set(options.reconnect_min_s, options.reconnect_max_s)  # type: ignore[arg-type]
        client.max_queued_messages_set(0)
        client.max_inflight_messages_set(200)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_connect_fail = self._on_connect_fail
        # the broker says "offline" for this instance if it dies without a word (kill -9, a cut cable)
        client.will_set(self._status_topic, self._status("offline"), qos=1, retain=True)
        self.client = client
        self.target = target

    def _status(self, state: str) -> bytes:
        extra = {"client_id": self.options.client_id, "database": "down" if self.db.down else "up"}
        return identity.status_payload(state, self.instance, self.started_at.timestamp(), extra)

    def _publish_status(self, state: str = "online") -> Any:
        """The retained status of this gateway on the broker: readable by another gateway and by operators with
        broker access, whatever the database is doing."""
        if not self._connected.is_set() and state == "online":
            return None
        return self.client.publish(self._status_topic, self._status(state), qos=1, retain=True)

    def health(self) -> dict[str, Any]:
        """What the local health endpoint answers: connected to the broker, the database up, what waits."""
        return {
            "client_id": self.options.client_id,
            "instance": self.instance,
            "connected": self._connected.is_set(),
            "database": "down" if self.db.down else "up",
            "pending": len(self.pending),
            "identity_conflicts": self.counters.snapshot().get("identity_conflicts", 0),
            "started_at": self.started_at.isoformat(),
        }

    def _probe_identity(self) -> None:
        """Refuse to start when another gateway holds this identity (raises identity.IdentityTaken)."""
        self._lock = identity.hold_local_lock(_poke_dir(), self.options.client_id)
        try:
            record = GatewayState.objects.filter(name=self.options.client_id).first()
            identity.check_holder(record, socket.gethostname(), time.time())
        except identity.IdentityTaken:
            self._lock.release()
            self._lock = None
            raise
        except _DB_GONE:
            pass  # the database is away: the lock of this host still holds, and the gateway waits for the database

    # ---- paho callbacks (network thread) ----

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            self.counters.add("connect_refused")
            self.broker.went(f"broker từ chối kết nối: {reason}")
            return
        with self._gen_lock:
            self._generation += 1
        self._session_up = True
        # Connected counts from the SUBACK: on a first connection (no persistent session yet) a device's message
        # published before it would not reach the gateway.
        client.subscribe([(f, 1) for f in topics.GATEWAY_FILTERS])
        client.publish(self._status_topic, self._status("online"), qos=1, retain=True)
        self.counters.add("connects")
        if self.broker.down:
            self.broker.back()
        else:
            log.info("gateway đã kết nối tới %s:%s", self.target.host, self.target.port)

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int, reasons: Any, props: Any) -> None:
        if any(r.is_failure for r in reasons):
            self.counters.add("subscribe_refused")
            log.error("broker từ chối đăng ký chủ đề của gateway: %s", reasons)
        if self._listening_since is None:
            self._listening_since = time.monotonic()
        self._connected.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        if not self._stop.is_set():
            self.counters.add("connect_failures")
            self.broker.went(f"{self.target.host}:{self.target.port} không trả lời")

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        self._connected.clear()
        self._listening_since = None
        if not self._stop.is_set():
            self.counters.add("disconnects")
            self.broker.went(f"mất kết nối: {reason}")
            # a session that was up and is dropped (not a refused or failed attempt) is what a twin causes
            was_up, self._session_up = self._session_up, False
            if was_up and self.kicks.disconnected():
                self.counters.add("identity_conflicts")
                log.error(
                    "gateway '%s' bị broker ngắt kết nối %d lần trong %d giây dù broker vẫn trả lời: có thể một "
                    "gateway khác đang dùng cùng mã kết nối (hai gateway cùng mã sẽ đá nhau liên tục). Kiểm tra "
                    "các máy chạy loa gateway: mỗi tỉnh chỉ chạy một gateway với một tài khoản broker.",
                    self.options.client_id,
                    self.kicks.threshold,
                    int(self.kicks.window_s),
                )

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        self.counters.add("received")
        replaced = self.pending.put(
            _Queued(Incoming(msg.topic, bytes(msg.payload)), msg.mid, msg.qos, self._generation)
        )
        if replaced is not None:
            self._drop(replaced)

    def _drop(self, q: _Queued) -> None:
        """A status replaced by a newer one of its device is never written: acknowledge it if it asked for it."""
        self.counters.add("statuses_superseded")
        if q.qos > 0 and q.generation == self._generation:
            self.client.ack(q.mid, q.qos)

    # ---- main loop ----

    def start(self) -> None:
        if self.options.check_identity:
            self._probe_identity()
        # said once the identity is this gateway's: a refused twin says only why it does not start
        log.info("gateway %s khởi động, kết nối tới %s", socket.gethostname(), self.options.url)
        if self.options.health_port:
            self._health = serve_health(self, self.options.health_port)
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
                    self.pending.wake()  # wakes _drain_once at once
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
                connected = self._connected.is_set()
                if connected != self._state_connected:
                    # the console sees a broker outage (or its end) at once, not at the next periodic write
                    self._disconnected_at = None if connected else timezone.now()
                    self._state_connected = connected
                    self._guard(self._write_state, connected=connected)
                if now >= next_state:
                    next_state = now + self.options.state_interval
                    self._publish_status()  # on the broker, whatever the database is doing
                    self._guard(self._write_state)
        finally:
            self._stop_listening()
            self._drain_once(final=True)
            if self._connected.is_set():  # a clean stop says so, instead of leaving it to the will
                info = self._publish_status("offline")
                with contextlib.suppress(Exception):
                    info.wait_for_publish(timeout=2)
            self.client.disconnect()
            self.client.loop_stop()
            if self._health is not None:
                self._health.shutdown()
                self._health.server_close()
            if self._lock is not None:
                self._lock.release()
            self._guard(self._write_state, connected=False)
            close_old_connections()

    def _guard(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        if self.db.down and fn is not self._write_state:
            return  # the ingest retry loop probes the database; the outbox waits for it to come back
        try:
            fn(*args, **kwargs)
        except _DB_GONE as exc:
            self.counters.add("db_errors")
            self._database_gone(exc)
            close_old_connections()
        except Exception:
            self.counters.add("errors")
            log.exception("lỗi trong vòng lặp gateway")
            close_old_connections()
            time.sleep(0.5)
        else:
            self._database_back()

    def _database_gone(self, exc: BaseException) -> None:
        if not self.db.down:  # the outage begins: one status per device from now on, starting with what waits
            self.pending.superseded = 0
            for q in self.pending.coalesce_now():
                self._drop(q)
        self.db.went(_short(exc), traceback=not isinstance(exc, _DB_GONE))
        self._note_held()

    def _database_back(self) -> None:
        if not self.db.down:
            return
        statuses, others = self._held_max
        self.db.back(
            f"lúc nhiều nhất đã giữ {statuses} nhịp tim (mới nhất của mỗi thiết bị) và {others} gói tin khác "
            f"chưa xác nhận với broker; bỏ qua {self.pending.superseded} nhịp tim cũ hơn, không mất nhật ký phát"
        )
        self._held_max = (0, 0)
        self.pending.coalesce_after = self.options.batch_size

    def _note_held(self) -> None:
        statuses, others = self.pending.counts()
        self._held_max = (max(self._held_max[0], statuses), max(self._held_max[1], others))

    def _drain_once(self, final: bool = False) -> None:
        wait = 0.0 if final else min(self.options.flush_interval, self.options.outbox_interval)
        batch = self.pending.take(self.options.batch_size, wait, final)
        if not batch:
            return
        try:
            if self.db.down:  # a cheap probe first: decoding a whole batch per retry costs CPU and memory
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
            self.ingestor.ingest_batch([q.incoming for q in batch])
        except Exception as exc:
            # The database is away or locked: the batch goes back, unacknowledged, in front of what arrived since
            # (a device's newer status replaces its older one), and is tried again; a play log is never dropped.
            self.counters.add("db_errors")
            for q in self.pending.put_back(batch):
                self._drop(q)
            self._database_gone(exc)
            close_old_connections()
            if not final:
                self._stop.wait(self.options.db_retry_s)
            return
        current = self._generation
        for q in batch:
            if q.qos > 0 and q.generation == current:
                self.client.ack(q.mid, q.qos)
        self.counters.add("batches")
        if self.db.down:
            self._note_held()
            if not self.pending:
                self._database_back()

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
        since = self._listening_since
        self.ingestor.check_offline(listening_s=0.0 if since is None else time.monotonic() - since)
        expired = expire_deliveries()
        if expired:
            self.counters.add("deliveries_expired", expired)

    def _write_state(self, connected: bool | None = None) -> None:
        connected = self._connected.is_set() if connected is None else connected
        GatewayState.objects.update_or_create(
            name=self.options.client_id,
            defaults={
                "started_at": self.started_at,
                "host": socket.gethostname(),
                "pid": os.getpid(),
                "instance": self.instance,
                "heartbeat_at": timezone.now(),
                "connected": connected,
                "disconnected_at": None if connected else (self._disconnected_at or timezone.now()),
                "counters": self.counters.snapshot(),
            },
        )


def _json_bytes(message: Any) -> bytes:
    import json

    return json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode()


def serve_health(gateway: Gateway, port: int) -> Any:
    """``GET http://127.0.0.1:<port>/health``: JSON of :meth:`Gateway.health`, 200 when connected to the broker
    with the database up, else 503 — for systemd, a load balancer or an operator, without the database."""
    import json
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/", "/health"):
                self.send_error(404)
                return
            state = gateway.health()
            healthy = state["connected"] and state["database"] == "up"
            body = json.dumps(state, ensure_ascii=False).encode()
            self.send_response(200 if healthy else 503)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, name="loa-gateway-health", daemon=True).start()
    return server


def run_forever(options: GatewayOptions) -> None:
    gateway = Gateway(options)

    def _terminate(signum: int, frame: Any) -> None:
        gateway.stop()

    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    gateway.run()
