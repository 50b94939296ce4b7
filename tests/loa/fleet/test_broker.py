"""The broker files Loa generates, checked against the real Mosquitto: attacks must fail."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from loa.fleet import broker
from loa.fleet.models import Device
from loa.fleet.services import do_revoke_device
from loa.gateway.sample_messages import status_payload
from loa_protocol import topics
from tests.loa.fleet.devices import MqttClient, device_client, provision  # type: ignore[import-not-found]


def test_hash_matches_mosquitto_passwd(tmp_path: Path) -> None:
    hashed = broker.hash_password("bí-mật-123")
    assert hashed.startswith("$7$101$")
    assert broker.check_password("bí-mật-123", hashed)
    assert not broker.check_password("bí-mật-124", hashed)
    if broker.mosquitto_binary() is None:
        pytest.skip("mosquitto_passwd missing")
    pwfile = tmp_path / "p"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(pwfile), "u", "secret"], check=True)
    theirs = pwfile.read_text().strip().split(":", 1)[1]
    assert broker.check_password("secret", theirs)
    assert not broker.check_password("Secret", theirs)


def test_acl_lists_only_own_and_ancestor_topics(tree: dict, db: None, mqtt_dir: Path) -> None:
    (creds,) = provision(tree["zone_a"], 1)
    _passwd, acl = broker.write_broker_files(reload=False)
    text = acl.read_text()
    block = text.split(f"user {creds.device_id}\n")[1].split("\n\n")[0].splitlines()
    assert block == [
        f"topic write loa/v1/d/{creds.device_id}/#",
        f"topic read loa/v1/dev/{creds.device_id}/cmd",
        f"topic read loa/v1/dev/{creds.device_id}/manifest",
        "topic read loa/v1/g/22/cmd",
        "topic read loa/v1/g/22/06652/cmd",
        "topic read loa/v1/g/22/06652/06652.001/cmd",
    ]
    passwd = (mqtt_dir / "passwd").read_text()
    assert creds.password not in passwd and creds.password not in text
    assert oct((mqtt_dir / "passwd").stat().st_mode & 0o777) == "0o600"


@pytest.mark.mqtt
def test_wrong_credentials_are_refused(
    tree: dict, transactional_db: None, mosquitto: broker.EmbeddedBroker
) -> None:
    (creds,) = provision(tree["a"], 1)
    with pytest.raises(ConnectionRefusedError):
        MqttClient(mosquitto.url, creds.device_id, creds.password + "x").connect()
    with pytest.raises(ConnectionRefusedError):
        MqttClient(mosquitto.url, "", "").connect()  # anonymous
    with pytest.raises(ConnectionRefusedError):
        MqttClient(mosquitto.url, "loa-000000000000", creds.password).connect()
    ok = device_client(mosquitto.url, creds).connect()
    ok.close()


@pytest.mark.mqtt
def test_device_cannot_impersonate_or_eavesdrop(
    tree: dict, transactional_db: None, mosquitto: broker.EmbeddedBroker
) -> None:
    alice, bob = provision(tree["a"], 2)
    (carol,) = provision(tree["b"], 1)
    watcher = MqttClient(mosquitto.url, broker.GATEWAY_USERNAME, broker.gateway_password()).connect()
    assert watcher.subscribe("loa/v1/d/#") == 1
    mallory = device_client(mosquitto.url, alice).connect()
    # Her own topics work; the gateway sees them.
    mallory.publish(topics.status_topic(alice.device_id), status_payload(alice.device_id))
    assert watcher.wait_for(lambda ms: any(m.topic == topics.status_topic(alice.device_id) for m in ms))
    # Publishing as Bob is silently dropped by the broker.
    mallory.publish(topics.status_topic(bob.device_id), status_payload(bob.device_id))
    mallory.publish(topics.playlog_topic(bob.device_id), b"{}")
    # She subscribes to Bob's commands, commune B's, and everything (Mosquitto grants the SUBACK and filters
    # every delivery by the ACL: what matters is that nothing reaches her).
    for topic in (
        topics.device_command_topic(bob.device_id),
        topics.group_command_topic(["22", "06658"]),
        "loa/v1/#",
    ):
        mallory.subscribe(topic)
    victim = device_client(mosquitto.url, carol).connect()
    victim.subscribe(topics.group_command_topic(["22", "06658"]))
    # She cannot publish commands to others either.
    mallory.publish(topics.group_command_topic(["22", "06658"]), b'{"action":"play"}')
    mallory.publish(topics.device_command_topic(carol.device_id), b'{"action":"play"}')
    # Nothing of hers slipped through: the broker handles her messages in order, so once her marker on her own
    # topic reaches the gateway, the forged ones before it were routed (or dropped) already.
    mallory.publish(topics.status_topic(alice.device_id), b"marker-mallory")
    assert watcher.wait_for(lambda ms: any(m.payload == b"marker-mallory" for m in ms), timeout=20)
    # The gateway publishes to everyone: she only gets what is hers.
    mine = {topics.device_command_topic(alice.device_id), topics.group_command_topic(["22", "06652"])}
    others = {
        topics.device_command_topic(bob.device_id),
        topics.group_command_topic(["22", "06658"]),
        topics.status_topic(carol.device_id),
    }
    for topic in sorted(mine | others):
        watcher.publish(topic, b"from-gateway")
    # Markers last: a subscriber gets one client's messages in order, so anything that was going to reach Mallory
    # or Carol has arrived once the marker has (no sleep deciding "nothing else came").
    watcher.publish(topics.device_command_topic(alice.device_id), b"marker")
    watcher.publish(topics.group_command_topic(["22", "06658"]), b"marker")
    assert mallory.wait_for(lambda ms: any(m.payload == b"marker" for m in ms), timeout=20)
    assert victim.wait_for(lambda ms: any(m.payload == b"marker" for m in ms), timeout=20)
    assert mine <= {m.topic for m in mallory.received.messages}
    assert {m.topic for m in mallory.received.messages} <= mine | {topics.status_topic(alice.device_id)}
    assert [m.payload for m in victim.received.messages] == [b"from-gateway", b"marker"]
    assert topics.status_topic(bob.device_id) not in watcher.received.topics()
    assert topics.playlog_topic(bob.device_id) not in watcher.received.topics()
    for c in (watcher, mallory, victim):
        c.close()


@pytest.mark.mqtt
def test_revoked_device_is_locked_out(
    tree: dict, transactional_db: None, mosquitto: broker.EmbeddedBroker
) -> None:
    (creds,) = provision(tree["a"], 1)
    device_client(mosquitto.url, creds).connect().close()
    do_revoke_device(Device.objects.get(device_id=creds.device_id), actor=None)  # on_commit: files + SIGHUP
    deadline = time.monotonic() + 15  # the broker rereads its files on SIGHUP, a moment later
    while True:
        try:
            device_client(mosquitto.url, creds).connect().close()
        except ConnectionRefusedError:
            break
        assert time.monotonic() < deadline, "the revoked device can still connect"
        time.sleep(0.2)


@pytest.mark.mqtt
def test_a_device_password_gives_one_session_under_the_device_id(
    tree: dict, transactional_db: None, mosquitto: broker.EmbeddedBroker
) -> None:
    """Issue 20, item 8: the client id is bound to the user name. With one device's password, a second session
    under another client id is forced to the device's id, so it takes the place of the first instead of running
    beside it (the protocol says client id = device id; sessions, wills and presence are keyed by it)."""
    import threading

    (alice,) = provision(tree["a"], 1)
    legit = device_client(mosquitto.url, alice)
    dropped = threading.Event()
    legit.client.on_disconnect = lambda *args: dropped.set()
    legit.connect()
    assert legit.subscribe(topics.device_command_topic(alice.device_id)) == 1
    intruder = MqttClient(
        mosquitto.url, alice.device_id, alice.password, client_id="loa-ke-gian-1234"
    ).connect()
    try:
        assert dropped.wait(5), "the broker kept two sessions of one device under two client ids"
        log = mosquitto.log_file.read_text(errors="replace")
        assert " as loa-ke-gian-1234 " not in log, "the broker knows the intruder only by the device's id"
    finally:
        intruder.close()
        legit.close()
