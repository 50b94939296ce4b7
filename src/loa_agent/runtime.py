"""The agent's MQTT side: connects with Last-Will, reconnects with exponential back-off, feeds messages to the
:class:`~loa_agent.core.AgentCore`, publishes acks, status heartbeats and play-log batches (deleting a batch from
the on-disk buffer only after the broker's PUBACK), and keeps ticking the core while the link is down.

MQTT goes through aiomqtt (paho-mqtt 2 with ``CallbackAPIVersion.VERSION2`` underneath), so thousands of agents can
share one asyncio loop in the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
import httpx
import paho.mqtt.client as paho_mqtt

from loa_agent.clock import Clock, SystemClock
from loa_agent.core import AgentCore
from loa_agent.media import MediaError, MediaFetcher
from loa_agent.media import origin as media_origin
from loa_protocol.messages import (
    MAX_PLAYLOG_EVENTS,
    Command,
    CommandAck,
    EnrolResponse,
    ManifestAck,
    PlayLogBatch,
    encode,
)
from loa_protocol.topics import (
    PRESENCE_OFFLINE,
    PRESENCE_ONLINE,
    ack_topic,
    manifest_topic,
    playlog_topic,
    presence_topic,
    status_topic,
)

log = logging.getLogger(__name__)


@dataclass
class RuntimeOptions:
    heartbeat_s: float = 60.0
    jitter: float = 0.1
    backoff_initial_s: float = 1.0  # manifest poll and play-log upload retries
    # Broker reconnect: the n-th retry waits reconnect_initial_s · 2^(n-1), capped at backoff_max_s, times a random
    # factor in [0.5, 1): ≈ 0.1, 0.2, 0.4, 0.8, 1.6 s, then 1–2 s (docs/agent.md). A broker back is used within 2 s,
    # and 10,000 agents spread their reconnects over a second instead of arriving together.
    reconnect_initial_s: float = 0.1
    backoff_max_s: float = 2.0
    keepalive_s: int = 30
    publish_timeout_s: float = 10.0
    ca_file: str | None = None
    batch_size: int = MAX_PLAYLOG_EVENTS
    status_on_change: bool = True
    manifest_poll_s: float = 900.0  # HTTPS safety net: poll the manifest this often (0 = never)
    manifest_poll_jitter: float = 0.1
    flush_delay_s: float = 0.2  # gather acks and play-log events for a moment before sending them


class MqttClient(aiomqtt.Client):
    """aiomqtt's client, registering paho's socket for reading and writing only while it is still the client's.

    aiomqtt 2.5 takes the descriptor number when paho asks (possibly from the thread that runs ``connect``) and
    registers it later with ``call_soon_threadsafe``. When the socket is closed in between — a connection attempt
    that fails or times out, as some do during a 10,000-agent connection storm on a busy machine — the loop
    registers a closed descriptor (``OSError: [Errno 9] Bad file descriptor`` logged with a traceback), or, if another
    agent's new socket got the same number meanwhile, watches that socket for this client for good. Here the
    registration happens only if the socket is still this client's open socket with the same number.

    Three things keep a message's cost low when thousands of agents share one loop (the simulator):

    * ``on_message``: a callable ``(topic, payload)`` that handles each message as paho reads it, in the loop's
      thread, instead of queueing it for ``client.messages`` (a queue, a task wake and an ``asyncio.wait`` per
      message). Set before connecting, so the messages queued for a persistent session are handled too. Paho sends
      a QoS 1 message's PUBACK after the handler has returned.
    * a packet queued from the loop's own thread (a PUBACK, an ack) is written on the loop's next turn, and the
      socket is watched for writing only if the kernel did not take it all: no self-pipe wake-up
      (``call_soon_threadsafe``) and no epoll registration per packet.
    * paho's housekeeping (``loop_misc``: the keepalive's PINGREQ and its timeout) runs every sixth of the
      keepalive, at most every 5 s, instead of every second: a ping goes out at most that late (the broker waits
      1.5 keepalives), and 10,000 agents in one process wake 10,000 times a second less.
    """

    def __init__(
        self,
        *args: Any,
        on_message: Callable[[str, bytes], None] | None = None,
        # the lean client's (loa_agent.lean_mqtt); paho writes a PUBACK when the handler has returned
        ack_hold: ChangeHold | None = None,
        **kwargs: Any,
    ) -> None:
        self._write_handlers: tuple[Any, Callable[[], None], Callable[[], None]] | None = None
        super().__init__(*args, **kwargs)
        self.message_handler = on_message
        self.misc_interval_s = min(5.0, max(0.25, float(self._keepalive) / 6))

    async def _misc_loop(self) -> None:
        while self._client.loop_misc() == paho_mqtt.MQTT_ERR_SUCCESS:
            await asyncio.sleep(self.misc_interval_s)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        if self.message_handler is None:
            super()._on_message(client, userdata, message)
            return
        self.message_handler(message.topic, _payload_bytes(message.payload))

    def _on_socket_register_write(self, client: Any, userdata: Any, sock: Any) -> None:
        handlers = self._write_handlers
        if handlers is None or handlers[0] is not sock:  # made once per socket, not once per packet
            handlers = self._write_handlers = (sock, *self._write_handlers_for(client, sock))
        try:
            in_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:  # another thread (aiomqtt connects in one)
            in_loop = False
        if in_loop:
            self._loop.call_soon(handlers[1])
        else:
            self._loop.call_soon_threadsafe(handlers[2])

    def _write_handlers_for(self, client: Any, sock: Any) -> tuple[Callable[[], None], Callable[[], None]]:
        """(write now, watch for writing) for ``sock``: the first from the loop's own thread, the second from
        another thread."""
        fd = sock.fileno()

        def ours() -> bool:
            return fd >= 0 and client.socket() is sock and sock.fileno() == fd

        def write() -> None:
            try:
                client.loop_write()
            except Exception as exc:  # as aiomqtt: a broken connection ends it
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)

        def register() -> None:
            if ours():
                self._loop.add_writer(fd, write)

        def write_now() -> None:
            write()
            # paho still counts the socket as registered for writing: watch it if the kernel left bytes over
            if client.want_write() and ours():
                self._loop.add_writer(fd, write)

        return write_now, register

    def _on_socket_open(self, client: Any, userdata: Any, sock: Any) -> None:
        fd = sock.fileno()

        def read() -> None:
            try:
                while True:
                    client.loop_read()
                    # an SSL socket may hold decoded bytes that select/epoll does not see
                    if hasattr(client._sock, "pending") and client._sock.pending() > 0:
                        continue
                    break
            except Exception as exc:  # as aiomqtt: a broken connection ends it
                if not self._disconnected.done():
                    self._disconnected.set_exception(exc)

        def register() -> None:
            if fd >= 0 and client.socket() is sock and sock.fileno() == fd:
                self._loop.add_reader(fd, read)
            self._misc_task = self._loop.create_task(self._misc_loop())

        self._loop.call_soon_threadsafe(register)


class ChangeHold:
    """(The simulator) While ``active``, an agent's state changes wake none of its tasks (ticker, sender); they
    are woken when the hold is released. Thousands of agents share one loop there, and a group command should
    reach the last of them before the first ones spend the loop on status heartbeats and acks."""

    def __init__(self) -> None:
        self.active = False
        self._held: dict[AgentRuntime, None] = {}
        self._later: list[Callable[[], None]] = []

    def defer(self, runtime: AgentRuntime) -> bool:
        if not self.active:
            return False
        self._held[runtime] = None
        return True

    def later(self, call: Callable[[], None]) -> bool:
        """Run ``call`` when the hold is released, if it is active (the lean MQTT client's PUBACKs)."""
        if not self.active:
            return False
        self._later.append(call)
        return True

    def release(self) -> None:
        self.active = False
        held, self._held = self._held, {}
        later, self._later = self._later, []
        for call in later:
            call()
        for runtime in held:
            runtime._changed()


def parse_mqtt_url(url: str) -> tuple[str, int, bool]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
        raise ValueError(f"Địa chỉ MQTT không hợp lệ: {url!r} (cần mqtt://máy:cổng hoặc mqtts://máy:cổng).")
    tls = parts.scheme == "mqtts"
    return parts.hostname, parts.port or (8883 if tls else 1883), tls


class AgentRuntime:
    def __init__(
        self,
        credentials: EnrolResponse,
        core: AgentCore,
        fetcher: MediaFetcher,
        clock: Clock | None = None,
        options: RuntimeOptions | None = None,
        rng: random.Random | None = None,
        hardware: Callable[[], dict[str, Any]] | None = None,
        on_reboot: Callable[[], None] | None = None,
        on_command: Callable[[str, bytes], None] | None = None,
        flush_gate: Callable[[], Awaitable[None]] | None = None,
        hold: ChangeHold | None = None,
        client_class: Callable[..., Any] | None = None,
    ) -> None:
        """``client_class`` makes the MQTT connection (default :class:`MqttClient`, aiomqtt and paho; the simulator
        may pass :class:`loa_agent.lean_mqtt.LeanMqttClient`). ``on_command`` is told of every command message once
        it is handled (the play started or refused); ``flush_gate`` is awaited before acks and play logs are sent. The simulator uses both to let every agent of
        its process start a group command before any of them spends CPU on publishing (real devices each have
        their own CPU); a real agent needs neither."""
        self.credentials = credentials
        self.core = core
        self.fetcher = fetcher
        self.clock = clock or SystemClock()
        self.options = options or RuntimeOptions()
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not secrets
        self.hardware = hardware or (lambda: {})
        self.on_reboot = on_reboot
        self.on_command = on_command
        self.flush_gate = flush_gate
        self.hold = hold
        self.client_class = client_class or MqttClient
        self.device_id = credentials.device_id
        self.client: Any = None  # an aiomqtt.Client (MqttClient) or a LeanMqttClient while connected
        self.connected = asyncio.Event()
        self.connections = 0
        self.connected_at: float | None = None  # wall-clock time (time.time()) of the latest connection
        self.acks_out: deque[CommandAck | ManifestAck] = deque()
        self._wake = asyncio.Event()
        self._flush = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._last_status_key: tuple[str, str | None] | None = None
        self.published_batches = 0
        self.manifest_polls = 0
        self.manifest_poll_failures = 0
        core.on_change = self._changed

    # --- lifecycle ------------------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`shutdown` (or cancellation)."""
        self._tasks = [
            asyncio.create_task(self._connection_loop(), name=f"{self.device_id}-mqtt"),
            asyncio.create_task(self._ticker(), name=f"{self.device_id}-tick"),
            asyncio.create_task(self._sender(), name=f"{self.device_id}-send"),
        ]
        if self.options.manifest_poll_s > 0:
            self._tasks.append(asyncio.create_task(self._manifest_poller(), name=f"{self.device_id}-poll"))
        try:
            await asyncio.gather(*self._tasks)
        except asyncio.CancelledError:
            pass

    async def shutdown(self) -> None:
        """Say goodbye (retained ``offline``) and stop."""
        self._stopping = True
        client = self.client
        if client is not None and self.connected.is_set():
            with contextlib.suppress(aiomqtt.MqttError, asyncio.TimeoutError):
                await client.publish(presence_topic(self.device_id), PRESENCE_OFFLINE, qos=1, retain=True,
                                     timeout=2)  # fmt: skip
        self._wake.set()
        self._flush.set()
        for task in self._tasks:
            # Python 3.11's wait_for can swallow a cancellation that races with a completion: insist.
            while not task.done():
                task.cancel()
                await asyncio.wait([task], timeout=1)

    def _changed(self) -> None:
        if self.hold is not None and self.hold.defer(self):
            return
        self._wake.set()
        self._flush.set()

    # --- MQTT connection ------------------------------------------------------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.options.ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    async def _connection_loop(self) -> None:
        host, port, tls = parse_mqtt_url(self.credentials.mqtt_url)
        backoff = self.options.reconnect_initial_s
        away_since: float | None = None  # one log line when the broker goes away, one when it is back
        while not self._stopping:
            try:
                async with self.client_class(
                    host,
                    port,
                    username=self.credentials.mqtt_username,
                    password=self.credentials.mqtt_password,
                    identifier=self.device_id,
                    will=aiomqtt.Will(presence_topic(self.device_id), PRESENCE_OFFLINE, qos=1, retain=True),
                    clean_session=False,
                    keepalive=self.options.keepalive_s,
                    timeout=self.options.publish_timeout_s,
                    tls_context=self._tls_context() if tls else None,
                    max_queued_outgoing_messages=1000,
                    on_message=self._handle,
                    ack_hold=self.hold,
                ) as client:
                    await client.subscribe([(topic, 1) for topic in self.credentials.subscriptions])
                    await client.publish(presence_topic(self.device_id), PRESENCE_ONLINE, qos=1, retain=True)
                    self.client = client
                    self.connections += 1
                    self.connected_at = time.time()
                    self.connected.set()
                    self._last_status_key = None
                    self._changed()
                    backoff = self.options.reconnect_initial_s
                    if away_since is None:
                        log.info("%s: đã kết nối %s:%s", self.device_id, host, port)
                    else:
                        log.info(
                            "%s: đã kết nối lại %s:%s sau %.1f s gián đoạn",
                            self.device_id,
                            host,
                            port,
                            time.monotonic() - away_since,
                        )
                        away_since = None
                    # messages are handled as they are read (``on_message``); this ends when the link does
                    async for message in client.messages:
                        self._handle(str(message.topic), _payload_bytes(message.payload))
            except aiomqtt.MqttError as exc:
                if away_since is None:
                    away_since = time.monotonic()
                    log.info("%s: mất kết nối MQTT (%s); tự kết nối lại", self.device_id, exc)
            finally:
                self.connected.clear()
                self.client = None
            if self._stopping:
                return
            delay = min(backoff, self.options.backoff_max_s) * self.rng.uniform(0.5, 1.0)
            backoff = min(backoff * 2, self.options.backoff_max_s)
            await asyncio.sleep(delay)

    def _handle(self, topic: str, payload: bytes) -> None:
        now = self.clock.now()
        try:
            if topic == manifest_topic(self.device_id):
                self.core.receive_manifest(payload, now)
                self._prefetch_soon()
                return
            try:
                self._command(topic, payload, now)
            finally:
                if self.on_command is not None:
                    self.on_command(topic, payload)
        except Exception:  # a bad message must never stop the agent
            log.exception("%s: lỗi khi xử lý tin trên %s", self.device_id, topic)

    def _command(self, topic: str, payload: bytes, now: dt.datetime) -> None:
        command = self.core.receive_command(topic, payload, now)
        if command is None:
            return
        if command.action == "play":
            params = self.core.play_params(command)
            if params.kind == "stream" or params.sha256 is None:  # a relay is played, never downloaded
                self.core.execute(command, now)
                return
            path = self.fetcher.cached_path(params.sha256)
            if path is None:
                asyncio.create_task(self._fetch_then_play(command))  # noqa: RUF006 - finishes on its own
                return
            self.core.execute(command, self.clock.now(), path)
        elif command.action == "refresh_manifest":
            self.core.execute(command, now)
            asyncio.create_task(self.poll_manifest())  # noqa: RUF006
        elif command.action == "reboot":
            self.core.execute(command, now)
            if self.on_reboot is not None:
                self.on_reboot()
        else:
            self.core.execute(command, now)

    async def _fetch_then_play(self, command: Command) -> None:
        params = self.core.play_params(command)
        assert params.sha256 is not None  # a file (a stream is never fetched)
        try:
            path = await self._fetch(params.media_url, params.sha256)
        except MediaError as exc:
            log.warning("%s: không tải được tệp của lệnh %s: %s", self.device_id, command.id, exc.message)
            self.core.fail(command, self.clock.now(), exc.code)
            return
        self.core.execute(command, self.clock.now(), path)

    def _prefetch_soon(self) -> None:
        wanted = self.core.media_wanted(self.clock.now())
        if wanted:
            asyncio.create_task(self._prefetch(wanted))  # noqa: RUF006

    async def _prefetch(self, entries: list[Any]) -> None:
        for entry in entries:
            if entry.sha256 is None:
                continue
            try:
                await self._fetch(entry.media_url, entry.sha256)
            except MediaError as exc:
                log.warning("%s: không tải trước được %s: %s", self.device_id, entry.item_id, exc.message)

    async def _fetch(self, url: str, sha256: str) -> Path:
        """The file, downloaded if needed: in the loop when the fetcher can (``fetch_async``: the simulator's), else
        in a thread (:class:`loa_agent.media.MediaCache`, blocking httpx)."""
        fetch_async = getattr(self.fetcher, "fetch_async", None)
        if fetch_async is not None:
            path: Path = await fetch_async(url, sha256, self.media_auth(url))
            return path
        return await asyncio.to_thread(self.fetcher.fetch, url, sha256, self.media_auth(url))

    def media_auth(self, url: str) -> tuple[str, str] | None:
        """The device's credentials for a media URL of its own server (the origin of ``media_base_url`` or
        ``manifest_url``), never for another host."""
        try:
            wanted = media_origin(url)
            ours = {
                media_origin(self.credentials.media_base_url),
                media_origin(self.credentials.manifest_url),
            }
        except Exception:  # an unparsable URL gets no credentials
            return None
        if wanted not in ours:
            return None
        return (self.credentials.mqtt_username, self.credentials.mqtt_password)

    async def poll_manifest(self) -> bool:
        """Fetch the manifest over HTTPS (the safety net when the retained MQTT message is missed), with the
        device's MQTT credentials as HTTP Basic auth. The core verifies the signature and keeps it only when it is
        for this device and not older than the one it has. Returns whether the server answered with a manifest
        the core accepted (or already had); never raises."""
        auth = (self.credentials.mqtt_username, self.credentials.mqtt_password)
        self.manifest_polls += 1
        try:
            async with httpx.AsyncClient(timeout=30, verify=self.options.ca_file or True) as http:
                response = await http.get(self.credentials.manifest_url, auth=auth)
            if response.status_code == 200:
                if self.core.receive_manifest(response.content, self.clock.now()) is not None:
                    self._prefetch_soon()
                    return True
                log.warning("%s: lịch phát tải qua HTTPS bị từ chối", self.device_id)
            else:
                log.warning("%s: lấy lịch phát qua HTTPS: HTTP %s", self.device_id, response.status_code)
        except (httpx.HTTPError, OSError, ValueError) as exc:
            log.warning("%s: lấy lịch phát qua HTTPS thất bại: %s", self.device_id, exc)
        except Exception:  # the safety net must never take the agent down
            log.exception("%s: lỗi khi lấy lịch phát qua HTTPS", self.device_id)
        self.manifest_poll_failures += 1
        return False

    def _manifest_poll_delay(self, ok: bool, failures: int) -> float:
        """Seconds until the next poll: the period (with jitter) after a success; after the n-th failure in a
        row, an exponential back-off from ``backoff_initial_s``, never more than the period."""
        period = self.options.manifest_poll_s
        if ok:
            spread = period * self.options.manifest_poll_jitter
            return max(1.0, period + self.rng.uniform(-spread, spread))
        delay = self.options.backoff_initial_s * 2 ** min(failures - 1, 30)
        return min(period, delay) * self.rng.uniform(0.8, 1.0)

    async def _manifest_poller(self) -> None:
        # The first poll at a random point of the first period, so a fleet that boots together is spread out.
        delay = self.options.manifest_poll_s * self.rng.uniform(0.05, 1.0)
        failures = 0
        while not self._stopping:
            await self.clock.sleep_until(self.clock.now() + dt.timedelta(seconds=delay))
            if self._stopping:
                return
            ok = await self.poll_manifest()
            failures = 0 if ok else failures + 1
            delay = self._manifest_poll_delay(ok, failures)

    # --- time: the core, heartbeats ---------------------------------------------------------------------------

    def _next_heartbeat(self, now: dt.datetime) -> dt.datetime:
        spread = self.options.heartbeat_s * self.options.jitter
        return now + dt.timedelta(seconds=self.options.heartbeat_s + self.rng.uniform(-spread, spread))

    async def _ticker(self) -> None:
        now = self.clock.now()
        # First heartbeat at a random point of the first period, so a fleet does not report in lock-step.
        next_heartbeat = now + dt.timedelta(seconds=self.rng.uniform(0, self.options.heartbeat_s))
        while not self._stopping:
            self._wake.clear()
            now = self.clock.now()
            deadline = self.core.tick(now)
            status_due = now >= next_heartbeat
            if status_due:
                next_heartbeat = self._next_heartbeat(now)
            await self._maybe_publish_status(now, force=status_due)
            wake_at = min(t for t in (deadline, next_heartbeat) if t is not None)
            # one task (the clock's sleep) that sets the wake event, not a second task and asyncio.wait: the ticker
            # wakes several times per command, and thousands of simulated agents share one loop
            sleeper = asyncio.ensure_future(self.clock.sleep_until(wake_at))
            sleeper.add_done_callback(self._slept)
            try:
                await self._wake.wait()
            finally:
                sleeper.cancel()

    def _slept(self, sleeper: asyncio.Future[None]) -> None:
        """The ticker's sleep ended: wake it, unless the sleep was cancelled (woken already by something else —
        a late wake would cost the next sleep a spurious turn)."""
        if sleeper.cancelled():
            return
        sleeper.exception()  # retrieved: a clock that fails still wakes the ticker, which sleeps again
        self._wake.set()

    async def _maybe_publish_status(self, now: dt.datetime, force: bool) -> None:
        client = self.client
        if client is None or not self.connected.is_set():
            return
        if not force and not self.options.status_on_change:
            return  # nothing to send: don't build a status (nor read the hardware) for nothing
        if self.flush_gate is not None:
            # (the simulator) not while a group command is still reaching the other agents of the process
            await self.flush_gate()
            client, now = self.client, self.clock.now()
            if client is None or not self.connected.is_set():
                return
        status = self.core.status(now, **self.hardware())
        key = (status.state, status.current_item)
        if not force and key == self._last_status_key:
            return
        self._last_status_key = key
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(status_topic(self.device_id), encode(status), qos=0)

    # --- acks and play logs ---------------------------------------------------------------------------------

    async def _sender(self) -> None:
        while not self._stopping:
            await self._flush.wait()
            if self.options.flush_delay_s:
                await asyncio.sleep(self.options.flush_delay_s)
            if self.flush_gate is not None:
                await self.flush_gate()
            self._flush.clear()
            self.acks_out.extend(self.core.take_acks())
            self.acks_out.extend(self.core.take_manifest_acks())
            await self.connected.wait()
            client = self.client
            if client is None:
                continue
            try:
                while self.acks_out:
                    ack = self.acks_out[0]
                    await client.publish(ack_topic(self.device_id), encode(ack), qos=1)
                    self.acks_out.popleft()
                while True:
                    rows = self.core.store.oldest(self.options.batch_size)
                    if not rows:
                        break
                    batch = PlayLogBatch(device_id=self.device_id, events=[event for _, event in rows])
                    await client.publish(
                        playlog_topic(self.device_id), encode(batch), qos=1
                    )  # waits for PUBACK
                    self.core.store.delete([key for key, _ in rows])
                    self.published_batches += 1
            except (TimeoutError, aiomqtt.MqttError) as exc:
                log.info("%s: chưa gửi được, sẽ gửi lại sau khi kết nối lại (%s)", self.device_id, exc)
                self._flush.set()
                await asyncio.sleep(self.options.backoff_initial_s)


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    return b"" if payload is None else str(payload).encode("utf-8")
