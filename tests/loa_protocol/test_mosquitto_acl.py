"""Generated Mosquitto password and ACL files, checked against the real broker: wrong credentials are refused, a
device publishes only under its own id and reads only its own and its groups' command topics."""

from __future__ import annotations

import base64
import hashlib
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.reasoncodes import ReasonCode

from loa_protocol.mosquitto import MosquittoBroker, find_mosquitto, password_hash, render_acl
from loa_protocol.topics import device_command_topic, group_command_topic, status_topic
from tests.waiting import wait_until

pytestmark = pytest.mark.mqtt

A, B = "loa-a0000000000a", "loa-b0000000000b"
SERVER = "loa-gateway"
USERS = {A: "pw-a-7d1c9e", B: "pw-b-3f8a2b", SERVER: "pw-server-91c0"}


def test_password_hash_format() -> None:
    salt = bytes(range(12))
    line = password_hash("secret", iterations=101, salt=salt)
    _, seven, iterations, salt_b64, digest_b64 = line.split("$")
    assert (seven, iterations) == ("7", "101")
    assert base64.b64decode(salt_b64) == salt
    assert base64.b64decode(digest_b64) == hashlib.pbkdf2_hmac("sha512", b"secret", salt, 101, 64)
    assert password_hash("secret") != password_hash("secret")  # random salt


def test_same_format_as_mosquitto_passwd(tmp_path: Path) -> None:
    tool = Path("/usr/bin/mosquitto_passwd")
    if not tool.exists():
        pytest.skip("mosquitto_passwd không có")
    pw = tmp_path / "pw"
    pw.write_text("")
    subprocess.run([str(tool), "-b", str(pw), "alice", "secret"], check=True)
    theirs = pw.read_text().strip().split(":", 1)[1]
    salt = base64.b64decode(theirs.split("$")[3])
    assert password_hash("secret", iterations=int(theirs.split("$")[2]), salt=salt) == theirs


@pytest.fixture(scope="module")
def acl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MosquittoBroker]:
    if find_mosquitto() is None:
        pytest.skip("cần Mosquitto")
    acl = render_acl([(A, ["22", "06652", "06652.001"]), (B, ["22", "06658"])], server_users=[SERVER])
    broker = MosquittoBroker(directory=tmp_path_factory.mktemp("acl"), users=USERS, acl=acl).start()
    yield broker
    broker.stop()


class Peer:
    def __init__(self, broker: MosquittoBroker, user: str, password: str) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.connected = threading.Event()
        self.result: ReasonCode | None = None
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"{user}-{time.monotonic_ns()}")
        self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.received.append((m.topic, m.payload))
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        self.connected.wait(5)

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, rc: ReasonCode, p: object
    ) -> None:
        self.result = rc
        self.connected.set()

    def subscribe(self, topic: str) -> None:
        done = threading.Event()
        self.client.on_subscribe = lambda *a: done.set()
        self.client.subscribe(topic, qos=1)
        assert done.wait(5)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def test_wrong_credentials_are_refused(acl_broker: MosquittoBroker) -> None:
    for user, password in [(A, "wrong"), (A, USERS[B]), ("nobody", "x"), (A, "")]:
        peer = Peer(acl_broker, user, password)
        assert peer.result is not None and peer.result.is_failure, (user, password)
        peer.close()
    ok = Peer(acl_broker, A, USERS[A])
    assert ok.result is not None and not ok.result.is_failure
    ok.close()


def test_devices_are_isolated(acl_broker: MosquittoBroker) -> None:
    server, a, b = (
        Peer(acl_broker, SERVER, USERS[SERVER]),
        Peer(acl_broker, A, USERS[A]),
        Peer(acl_broker, B, USERS[B]),
    )
    try:
        server.subscribe("loa/v1/d/#")
        a.subscribe("loa/v1/#")  # asks for everything; the ACL lets through only A's own and group topics
        a.subscribe(device_command_topic(B))
        b.subscribe(device_command_topic(B))
        # A may publish as A, not as B, and not commands.
        a.publish(status_topic(A), b"from-a")
        a.publish(status_topic(B), b"a-pretending-to-be-b")
        a.publish(device_command_topic(B), b"a-commands-b")
        a.publish(group_command_topic(["22"]), b"a-commands-province")
        # The server commands B, commune 06652 and province 22.
        server.publish(device_command_topic(B), b"for-b")
        server.publish(group_command_topic(["22", "06652"]), b"for-commune-a")
        server.publish(group_command_topic(["22", "06658"]), b"for-commune-b")
        server.publish(group_command_topic(["22"]), b"for-province")
        # Nothing else arrives: each client's messages reach a subscriber in order, so once the markers sent after
        # the forbidden publications have arrived, a forbidden one that got through would be there too.
        a.publish(status_topic(A), b"marker-a")
        server.publish(device_command_topic(B), b"marker-b")
        server.publish(group_command_topic(["22"]), b"marker-province")
        wait_until(lambda: (status_topic(A), b"marker-a") in server.received)
        wait_until(lambda: (group_command_topic(["22"]), b"marker-province") in a.received)
        wait_until(lambda: (device_command_topic(B), b"marker-b") in b.received)
        for peer, marker in ((server, b"marker-a"), (a, b"marker-province"), (b, b"marker-b")):
            peer.received.remove(next(m for m in peer.received if m[1] == marker))
        assert server.received == [(status_topic(A), b"from-a")]
        assert sorted(p for _, p in a.received) == [b"for-commune-a", b"for-province"]
        assert sorted(p for _, p in b.received) == [b"for-b"]
    finally:
        for peer in (server, a, b):
            peer.close()
