"""A lean MQTT 3.1.1 client on an asyncio protocol, for the simulator's thousands of agents in one process.

The reference agent talks MQTT through aiomqtt and paho (:class:`loa_agent.runtime.MqttClient`): a well-kept library,
what a real device runs. In the simulator, though, 3,000–10,000 agents share one or two of the server's cores, and
the devices' own CPU, not Loa's, decided the benchmarks (docs/benchmarks.md: ≈ 0.25 ms per agent per message, most of
it paho's packet read, its thread-pool connect and the asyncio hops around them). This client does only what
:class:`~loa_agent.runtime.AgentRuntime` asks of a connection — connect with a will and a persistent session,
subscribe, publish at QoS 0 and 1 (waiting for the PUBACK), hand each PUBLISH to ``on_message`` before its PUBACK,
keep alive — with the same interface and errors (:class:`aiomqtt.MqttError`), so the agent's core and runtime are the
same code either way. ADR 0021 says why, and what it does not do (QoS 2, MQTT 5, redelivery of its own unacknowledged
publishes: the runtime publishes those again itself, as with a new aiomqtt client per connection).

Used by the simulator with ``transport="lean"`` (the benchmarks and the drills); tests run it against a real Mosquitto.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import struct
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import aiomqtt

log = logging.getLogger("loa_agent.lean_mqtt")

CONNECT, CONNACK, PUBLISH, PUBACK = 0x10, 0x20, 0x30, 0x40
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 0x82, 0x90, 0xC0, 0xD0, 0xE0
# a socket is read into one buffer of this size per thread (asyncio's default read allocates 256 KiB per ``recv``)
READ_BUFFER_BYTES = 65536
CONNACK_REFUSED = {
    1: "phiên bản giao thức không được chấp nhận",
    2: "mã định danh client bị từ chối",
    3: "broker không sẵn sàng",
    4: "sai tên đăng nhập hoặc mật khẩu",
    5: "không được phép kết nối (sai tên đăng nhập, mật khẩu, hoặc thiết bị đã bị thu hồi)",
}


def _length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(value: str | bytes) -> bytes:
    raw = value.encode("utf-8") if isinstance(value, str) else value
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _length(len(body)) + body


def _as_bytes(payload: Any) -> bytes:
    if payload is None:
        return b""
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, int | float):
        return str(payload).encode("ascii")
    raise TypeError(f"payload {type(payload).__name__}")


def connect_packet(
    identifier: str,
    *,
    username: str | None,
    password: str | None,
    will: aiomqtt.Will | None,
    clean_session: bool,
    keepalive: int,
) -> bytes:
    flags = 0x02 if clean_session else 0
    payload = _string(identifier)
    if will is not None:
        flags |= 0x04 | (will.qos << 3) | (0x20 if will.retain else 0)
        payload += _string(will.topic) + _string(_as_bytes(will.payload))
    if username is not None:
        flags |= 0x80
        payload += _string(username)
        if password is not None:
            flags |= 0x40
            payload += _string(password)
    return _packet(CONNECT, _string("MQTT") + bytes((4, flags)) + struct.pack("!H", keepalive) + payload)


def publish_packet(topic: str, payload: bytes, qos: int, retain: bool, mid: int) -> bytes:
    body = _string(topic) + (struct.pack("!H", mid) if qos else b"") + payload
    return _packet(PUBLISH | (qos << 1) | (1 if retain else 0), body)


# one receive buffer per thread (per event loop), reused by every client of the loop
_reads = threading.local()


def _read_buffer() -> memoryview:
    view: memoryview | None = getattr(_reads, "view", None)
    if view is None:
        view = _reads.view = memoryview(bytearray(READ_BUFFER_BYTES))
    return view


class LeanMqttClient(asyncio.BufferedProtocol):
    """``async with LeanMqttClient(host, port, identifier=…, on_message=…) as client``: the subset of
    :class:`aiomqtt.Client` that :class:`~loa_agent.runtime.AgentRuntime` uses. Every failure (refused or lost
    connection, a CONNACK refusal, a timeout, a malformed packet) is an :class:`aiomqtt.MqttError`."""

    def __init__(
        self,
        hostname: str,
        port: int = 1883,
        *,
        identifier: str,
        on_message: Callable[[str, bytes], None],
        username: str | None = None,
        password: str | None = None,
        will: aiomqtt.Will | None = None,
        clean_session: bool = False,
        keepalive: int = 60,
        timeout: float = 10.0,
        tls_context: ssl.SSLContext | None = None,
        ack_hold: Any = None,
        **_ignored: Any,  # aiomqtt's tuning options (max_queued_outgoing_messages …) have no meaning here
    ) -> None:
        self.hostname, self.port = hostname, port
        self.identifier = identifier
        self.message_handler = on_message
        self.username, self.password, self.will = username, password, will
        self.clean_session = clean_session
        self.keepalive = int(keepalive)
        self.timeout = timeout
        if tls_context is not None:
            # the simulator's benchmarks and drills run on loopback without TLS; a TLS path nobody tests is not offered
            raise ValueError("LeanMqttClient không hỗ trợ TLS (mqtts://): dùng transport “aiomqtt”")
        # the simulator's ChangeHold: while thousands of agents of the process take one group command, their
        # PUBACKs wait for its release (one send each, ≈ 30 µs on a VM), as their acks and play logs do
        self.ack_hold = ack_hold
        self.session_present = False
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connack: asyncio.Future[int] | None = None
        self._disconnected: asyncio.Future[None] | None = None
        self._inflight: dict[int, asyncio.Future[Any]] = {}
        self._next_mid = 0
        self._last_write = 0.0
        self._last_read = 0.0
        self._ping_sent: float | None = None
        self._keepalive_timer: asyncio.TimerHandle | None = None
        self._acks = bytearray()  # PUBACKs of handled messages, written on the loop's next turn

    # --- the interface the runtime uses -------------------------------------------------------------------------

    async def __aenter__(self) -> LeanMqttClient:
        loop = self._loop = asyncio.get_running_loop()
        self._connack = loop.create_future()
        self._disconnected = loop.create_future()
        # nobody may await it (a connection that ends while only publishing): never "exception was never retrieved"
        self._disconnected.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            await asyncio.wait_for(
                loop.create_connection(
                    lambda: self,
                    self.hostname,
                    self.port,
                ),
                self.timeout,
            )
        except (TimeoutError, OSError) as exc:
            raise aiomqtt.MqttError(
                f"không kết nối được {self.hostname}:{self.port}: {exc or 'quá thời gian'}"
            ) from exc
        self._write(
            connect_packet(
                self.identifier,
                username=self.username,
                password=self.password,
                will=self.will,
                clean_session=self.clean_session,
                keepalive=self.keepalive,
            )
        )
        try:
            code = await asyncio.wait_for(asyncio.shield(self._connack), self.timeout)
        except TimeoutError:
            self._close(None)
            raise aiomqtt.MqttError("broker không trả lời CONNECT (quá thời gian)") from None
        except (
            BaseException
        ):  # a refusal, a lost connection, or the agent stopping meanwhile: no socket left open
            self._close(None)
            raise
        if code != 0:
            self._close(None)
            raise aiomqtt.MqttError(f"broker từ chối kết nối: {CONNACK_REFUSED.get(code, code)} (mã {code})")
        self._schedule_keepalive()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(bytes((DISCONNECT, 0)))
        self._close(None)

    async def subscribe(
        self, topics: Iterable[tuple[str, int]], *, timeout: float | None = None
    ) -> tuple[int, ...]:
        pairs = list(topics)
        mid = self._take_mid()
        body = struct.pack("!H", mid) + b"".join(_string(t) + bytes((qos,)) for t, qos in pairs)
        granted: tuple[int, ...] = await self._request(mid, _packet(SUBSCRIBE, body), timeout)
        if any(code == 0x80 for code in granted):
            refused = [t for (t, _), code in zip(pairs, granted, strict=False) if code == 0x80]
            raise aiomqtt.MqttError(f"broker từ chối đăng ký {', '.join(refused)}")
        return granted

    async def publish(
        self,
        topic: str,
        payload: Any = None,
        qos: int = 0,
        retain: bool = False,
        *,
        timeout: float | None = None,
    ) -> None:
        if qos not in (0, 1):
            raise ValueError("LeanMqttClient gửi QoS 0 hoặc 1")
        raw = _as_bytes(payload)
        if qos == 0:
            self._check_open()
            self._write(publish_packet(topic, raw, 0, retain, 0))
            return
        mid = self._take_mid()
        await self._request(mid, publish_packet(topic, raw, 1, retain, mid), timeout)

    @property
    def messages(self) -> AsyncIterator[Any]:
        """Ends (with :class:`aiomqtt.MqttError`) when the connection does: messages go to ``on_message``."""
        return self._until_disconnected()

    async def _until_disconnected(self) -> AsyncIterator[Any]:
        assert self._disconnected is not None
        await asyncio.shield(self._disconnected)
        raise aiomqtt.MqttError("mất kết nối")
        yield  # an async generator that never yields a message

    # --- asyncio.Protocol --------------------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._last_read = self._last_write = self._now()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(aiomqtt.MqttError(f"mất kết nối: {exc}" if exc else "broker đóng kết nối"))

    def get_buffer(self, sizehint: int) -> memoryview:
        return _read_buffer()

    def buffer_updated(self, nbytes: int) -> None:
        # the buffer is the thread's: what is read is taken out before the loop reads the next socket into it
        self.data_received(_read_buffer()[:nbytes].tobytes())

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer
        buffer += data
        self._last_read = self._now()
        self._ping_sent = None
        acks = self._acks
        had_acks = bool(acks)
        pos, size = 0, len(buffer)
        try:
            while size - pos >= 2:
                first = buffer[pos]
                length, shift, i, complete = 0, 0, pos + 1, False
                while i < size:
                    digit = buffer[i]
                    i += 1
                    length |= (digit & 0x7F) << shift
                    if not digit & 0x80:
                        complete = True
                        break
                    shift += 7
                    if shift > 21:
                        raise ValueError("độ dài gói tin không hợp lệ")
                if not complete or i + length > size:
                    break  # the rest of this packet is still on its way
                body = bytes(buffer[i : i + length])
                pos = i + length
                self._packet_in(first, body, acks)
        except Exception as exc:
            # a malformed packet or a handler that failed: the connection ends before the PUBACK of the message
            # that failed, so the broker hands it again on the next connection (nothing acknowledged is lost)
            self._write_acks()
            log.warning("%s: lỗi khi xử lý gói MQTT: %s", self.identifier, exc, exc_info=True)
            self._close(aiomqtt.MqttError(f"lỗi xử lý gói MQTT: {exc}"))
            return
        del buffer[:pos]
        if acks and not had_acks:
            if self._loop is None:
                self._write_acks()
            elif self.ack_hold is None or not self.ack_hold.later(self._write_acks):
                # after the handlers, on the loop's next turn: the other sockets that are ready to read (thousands
                # of agents taking one group command) are read first, as real devices, each on its own CPU, would
                self._loop.call_soon(self._write_acks)

    def _write_acks(self) -> None:
        if self._acks:
            acks, self._acks = bytes(self._acks), bytearray()
            self._write(acks)  # dropped if the connection is gone: the broker hands those messages again

    # --- internals ------------------------------------------------------------------------------------------

    def _packet_in(self, first: int, body: bytes, acks: bytearray) -> None:
        kind = first & 0xF0
        if kind == PUBLISH:
            qos = (first >> 1) & 0x03
            if qos > 1:
                raise ValueError(f"QoS {qos} không được hỗ trợ")
            end = 2 + ((body[0] << 8) | body[1])
            topic = body[2:end].decode("utf-8")
            if qos:
                mid = body[end : end + 2]
                self.message_handler(topic, body[end + 2 :])
                acks += bytes((PUBACK, 2)) + mid
            else:
                self.message_handler(topic, body[end:])
        elif kind == PUBACK:
            self._resolve(struct.unpack("!H", body[:2])[0], None)
        elif kind == CONNACK:
            self.session_present = bool(body[0] & 0x01)
            if self._connack is not None and not self._connack.done():
                self._connack.set_result(body[1])
        elif kind == SUBACK & 0xF0:
            self._resolve(struct.unpack("!H", body[:2])[0], tuple(body[2:]))
        elif kind == PINGRESP:
            pass
        else:
            raise ValueError(f"gói MQTT không mong đợi 0x{first:02x}")

    def _resolve(self, mid: int, value: Any) -> None:
        future = self._inflight.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(value)

    async def _request(self, mid: int, packet: bytes, timeout: float | None) -> Any:
        self._check_open()
        assert self._loop is not None
        future = self._inflight[mid] = self._loop.create_future()
        self._write(packet)
        try:
            return await asyncio.wait_for(future, self.timeout if timeout is None else timeout)
        except TimeoutError:
            raise aiomqtt.MqttError("quá thời gian chờ broker xác nhận") from None
        finally:
            self._inflight.pop(mid, None)

    def _take_mid(self) -> int:
        for _ in range(65535):
            self._next_mid = self._next_mid % 65535 + 1
            if self._next_mid not in self._inflight:
                return self._next_mid
        raise aiomqtt.MqttError("quá nhiều gói chờ xác nhận")

    def _check_open(self) -> None:
        if self._transport is None or self._transport.is_closing():
            raise aiomqtt.MqttError("chưa kết nối")

    def _write(self, data: bytes) -> None:
        if self._transport is not None:
            self._transport.write(data)
            self._last_write = self._now()

    def _now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    def _schedule_keepalive(self) -> None:
        """One timer per client, moved forward lazily: a PINGREQ when nothing was written for ¾ of the keepalive;
        the connection ends when nothing at all was read for a whole keepalive after it (paho does the same)."""
        if self.keepalive <= 0 or self._loop is None:
            return
        self._keepalive_timer = self._loop.call_at(
            self._last_write + self.keepalive * 0.75, self._keepalive_due
        )

    def _keepalive_due(self) -> None:
        if self._transport is None:
            return
        now = self._now()
        if self._ping_sent is not None and now - self._ping_sent >= self.keepalive:
            self._close(aiomqtt.MqttError("broker không trả lời PINGREQ"))
            return
        if self._ping_sent is None and now - self._last_write >= self.keepalive * 0.75:
            self._write(bytes((PINGREQ, 0)))
            self._ping_sent = now
        assert self._loop is not None
        due = (
            self._ping_sent + self.keepalive
            if self._ping_sent is not None
            else self._last_write + self.keepalive * 0.75
        )
        self._keepalive_timer = self._loop.call_at(due, self._keepalive_due)

    def _close(self, error: aiomqtt.MqttError | None) -> None:
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()
        self._fail(error or aiomqtt.MqttError("đã ngắt kết nối"))

    def _fail(self, error: aiomqtt.MqttError) -> None:
        """Stop the keepalive and fail whatever waits (CONNACK, the end of the connection, PUBACKs, SUBACKs)."""
        if self._keepalive_timer is not None:
            self._keepalive_timer.cancel()
            self._keepalive_timer = None
        for future in (self._connack, self._disconnected, *self._inflight.values()):
            if future is not None and not future.done():
                future.set_exception(error)
                with contextlib.suppress(BaseException):
                    future.exception()  # retrieved: a waiter that gave up meanwhile leaves no warning
        self._inflight.clear()
