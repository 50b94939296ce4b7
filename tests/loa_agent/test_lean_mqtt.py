"""The simulator's lean MQTT client against a real Mosquitto, and paho on the other side (ADR 0021)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
import pytest

from loa_agent.lean_mqtt import LeanMqttClient
from loa_protocol.mosquitto import MosquittoBroker

pytestmark = pytest.mark.mqtt


class PahoPeer:
    """A paho client on the other side: publishes at QoS 1 and records what it receives (topic, payload, retain)."""

    def __init__(self, broker: MosquittoBroker, subscribe: str | None = None, **auth: str) -> None:
        self.received: list[tuple[str, bytes, bool]] = []
        self.ready = threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=f"peer-{id(self)}")
        if auth:
            self.client.username_pw_set(auth["username"], auth["password"])

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any) -> None:
            if subscribe:
                c.subscribe(subscribe, qos=1)
            else:
                self.ready.set()

        self.client.on_connect = on_connect
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload, bool(m.retain)))
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert self.ready.wait(5)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        for _ in range(int(timeout / 0.02)):
            if predicate():
                return
            threading.Event().wait(0.02)
        raise AssertionError("không xảy ra trong thời gian chờ")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


async def _until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("không xảy ra trong thời gian chờ")


def test_subscribes_receives_in_order_and_publishes_with_puback(broker: MosquittoBroker) -> None:
    got: list[tuple[str, bytes]] = []
    peer = PahoPeer(broker, subscribe="loa/v1/d/dev-1/#")

    async def main() -> None:
        async with LeanMqttClient(
            "127.0.0.1", broker.port, identifier="dev-1", on_message=lambda t, p: got.append((t, p))
        ) as c:
            granted = await c.subscribe([("loa/v1/g/22/cmd", 1), ("loa/v1/d/dev-1/cmd", 1)])
            assert granted == (1, 1)
            for i in range(50):  # from the peer's thread, while this loop reads
                await asyncio.to_thread(peer.publish, "loa/v1/g/22/cmd", f"lệnh {i}".encode())
            await _until(lambda: len(got) == 50)
            # a payload larger than one read (the remaining length takes three bytes)
            big = bytes(range(256)) * 1200
            await asyncio.to_thread(peer.publish, "loa/v1/d/dev-1/cmd", big)
            await _until(lambda: len(got) == 51)
            assert got[-1] == ("loa/v1/d/dev-1/cmd", big)
            await c.publish("loa/v1/d/dev-1/ack", b'{"ok":1}', qos=1)  # returns once the broker said PUBACK
            await c.publish("loa/v1/d/dev-1/presence", "online", qos=1, retain=True)
            await c.publish("loa/v1/d/dev-1/status", b"s", qos=0)

    try:
        asyncio.run(main())
        assert got[:50] == [("loa/v1/g/22/cmd", f"lệnh {i}".encode()) for i in range(50)]
        mine = lambda: [m for m in peer.received if not m[0].endswith("/cmd")]  # noqa: E731 - its own are there too
        peer.wait(lambda: len(mine()) == 3)
        assert sorted(mine()) == sorted([
            ("loa/v1/d/dev-1/ack", b'{"ok":1}', False),
            ("loa/v1/d/dev-1/presence", b"online", False),  # retain is only set for a late subscriber
            ("loa/v1/d/dev-1/status", b"s", False),
        ])  # fmt: skip
        late = PahoPeer(broker, subscribe="loa/v1/d/dev-1/presence")
        late.wait(lambda: late.received == [("loa/v1/d/dev-1/presence", b"online", True)])
        late.close()
    finally:
        peer.close()


def test_persistent_session_gets_what_was_published_while_away(broker: MosquittoBroker) -> None:
    got: list[bytes] = []
    peer = PahoPeer(broker)

    async def first() -> bool:
        async with LeanMqttClient("127.0.0.1", broker.port, identifier="dev-2", clean_session=False,
                                  on_message=lambda t, p: got.append(p)) as c:  # fmt: skip
            await c.subscribe([("loa/v1/d/dev-2/cmd", 1)])
            return c.session_present

    try:
        assert asyncio.run(first()) is False
        for i in range(3):
            peer.publish("loa/v1/d/dev-2/cmd", f"khi vắng {i}".encode())

        async def again() -> bool:
            async with LeanMqttClient("127.0.0.1", broker.port, identifier="dev-2", clean_session=False,
                                      on_message=lambda t, p: got.append(p)) as c:  # fmt: skip
                await _until(lambda: len(got) == 3)
                return c.session_present

        assert asyncio.run(again()) is True
        assert got == [b"khi v\xe1\xba\xafng 0", b"khi v\xe1\xba\xafng 1", b"khi v\xe1\xba\xafng 2"]
    finally:
        peer.close()


def test_a_handler_that_fails_ends_the_connection_and_the_message_comes_again(
    broker: MosquittoBroker,
) -> None:
    """Nothing acknowledged is lost: the PUBACK of a message whose handler raised is never sent."""
    seen: list[bytes] = []
    peer = PahoPeer(broker)

    def flaky(topic: str, payload: bytes) -> None:
        seen.append(payload)
        if len(seen) == 1:
            raise RuntimeError("hỏng lần đầu")

    async def main() -> None:
        async with LeanMqttClient("127.0.0.1", broker.port, identifier="dev-3", on_message=flaky) as c:
            await c.subscribe([("loa/v1/d/dev-3/cmd", 1)])
            await asyncio.to_thread(peer.publish, "loa/v1/d/dev-3/cmd", b"m")
            with pytest.raises(aiomqtt.MqttError, match="hỏng lần đầu"):
                async for _ in c.messages:
                    pass
            with pytest.raises(aiomqtt.MqttError):
                await c.publish("loa/v1/d/dev-3/ack", b"x", qos=1)
        async with LeanMqttClient("127.0.0.1", broker.port, identifier="dev-3", on_message=flaky) as c:
            await _until(lambda: len(seen) == 2)

    try:
        asyncio.run(main())
        assert seen == [b"m", b"m"]
    finally:
        peer.close()


def test_will_is_published_when_the_connection_drops(broker: MosquittoBroker) -> None:
    peer = PahoPeer(broker, subscribe="loa/v1/d/dev-4/presence")

    async def main() -> None:
        c = LeanMqttClient("127.0.0.1", broker.port, identifier="dev-4", on_message=lambda t, p: None,
                           will=aiomqtt.Will("loa/v1/d/dev-4/presence", "offline", qos=1, retain=True))  # fmt: skip
        await c.__aenter__()
        assert c._transport is not None
        c._transport.abort()  # the device loses power: no DISCONNECT
        with pytest.raises(aiomqtt.MqttError):
            async for _ in c.messages:
                pass

    try:
        asyncio.run(main())
        peer.wait(lambda: ("loa/v1/d/dev-4/presence", b"offline", False) in peer.received)
    finally:
        peer.close()


def test_refusals_are_mqtt_errors_a_person_can_read(mosquitto: Callable[..., MosquittoBroker]) -> None:
    secured = mosquitto(users={"dev-5": "đúng-mật-khẩu"})

    async def attempt(port: int, password: str) -> None:
        async with LeanMqttClient("127.0.0.1", port, identifier="dev-5", username="dev-5", password=password,
                                  on_message=lambda t, p: None, timeout=3):  # fmt: skip
            pass

    with pytest.raises(aiomqtt.MqttError, match=r"không được phép kết nối \(sai tên đăng nhập, mật khẩu"):
        asyncio.run(attempt(secured.port, "sai"))
    asyncio.run(attempt(secured.port, "đúng-mật-khẩu"))
    port = secured.port
    secured.stop()
    with pytest.raises(aiomqtt.MqttError, match="không kết nối được"):
        asyncio.run(attempt(port, "đúng-mật-khẩu"))


def test_keepalive_pings_hold_an_idle_connection(broker: MosquittoBroker) -> None:
    """keepalive 1 s and nothing to say for 3 s: the broker (which drops a client silent for 1.5 keepalives) keeps
    it, because the client pings."""

    async def main() -> None:
        async with LeanMqttClient("127.0.0.1", broker.port, identifier="dev-6", keepalive=1,
                                  on_message=lambda t, p: None) as c:  # fmt: skip
            await asyncio.sleep(3.0)
            await c.publish("loa/v1/d/dev-6/ack", b"x", qos=1, timeout=2)

    asyncio.run(main())


def test_packets_split_anywhere_are_put_together() -> None:
    """A PUBLISH whose bytes arrive one at a time, then two packets in one read: each handled once, whole."""
    from loa_agent.lean_mqtt import publish_packet

    got: list[tuple[str, bytes]] = []
    written: list[bytes] = []

    class Transport(asyncio.Transport):
        def write(self, data: Any) -> None:
            written.append(bytes(data))

        def is_closing(self) -> bool:
            return False

    c = LeanMqttClient("x", identifier="d", on_message=lambda t, p: got.append((t, p)))
    c.connection_made(Transport())
    first = publish_packet("loa/v1/g/22/cmd", b"a" * 200, 1, False, 7)
    for i in range(len(first)):
        c.data_received(first[i : i + 1])
    assert got == [("loa/v1/g/22/cmd", b"a" * 200)]
    assert written == [b"\x40\x02\x00\x07"]  # one PUBACK, after the handler
    c.data_received(publish_packet("t/1", b"x", 0, False, 0) + publish_packet("t/2", b"y", 1, False, 8))
    assert got[1:] == [("t/1", b"x"), ("t/2", b"y")]
    assert written[-1] == b"\x40\x02\x00\x08"


def test_the_simulator_refuses_what_the_lean_client_does_not_do() -> None:
    from loa_agent.simulator import Simulator
    from loa_protocol.messages import EnrolResponse
    from loa_protocol.signing import generate_keypair

    _, public = generate_keypair()
    creds = EnrolResponse(device_id="loa-00000000aa01", mqtt_url="mqtts://127.0.0.1:8883", mqtt_username="u",
                          mqtt_password="p", server_public_key=public, unit_codes=["22"], subscriptions=[],
                          media_base_url="x", manifest_url="x")  # fmt: skip
    with pytest.raises(ValueError, match="không hỗ trợ TLS"):
        Simulator([creds], transport="lean")
    with pytest.raises(ValueError, match="transport 'udp'"):
        Simulator([creds], transport="udp")
    assert Simulator([creds], transport="aiomqtt").devices  # the reference agent's connection does TLS
