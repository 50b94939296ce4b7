"""The gateway on a real Mosquitto: batched status ingest, exactly-once play logs, outbox and acks, bad input,
and restarts of the gateway and of the broker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from loa.fleet import broker
from loa.fleet.models import Command, CommandDelivery, Device, PlayLog, StatusSample
from loa.fleet.services import do_send_command
from loa.gateway.models import GatewayState
from loa.gateway.sample_messages import ack_payload, playlog_event, playlog_payload, status_payload
from loa.gateway.service import Gateway, GatewayOptions
from loa_protocol import topics
from loa_protocol.messages import Command as CommandMessage
from loa_protocol.signing import verify_command
from tests.loa.fleet.brokers import MqttBroker, client_id  # type: ignore[import-not-found]
from tests.loa.fleet.devices import DeviceCredentials, MqttClient, device_client, provision  # type: ignore[import-not-found]

pytestmark = pytest.mark.mqtt


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class RunningGateway:
    def __init__(self, url: str, client_id: str = "loa-gateway") -> None:
        self.gateway = Gateway(
            GatewayOptions(
                url=url, client_id=client_id, flush_interval=0.2, check_interval=0.5, state_interval=0.5
            )
        )
        self.thread = threading.Thread(target=self.gateway.run, daemon=True)

    def start(self) -> RunningGateway:
        self.thread.start()
        assert self.gateway.wait_connected(10)
        return self

    def stop(self) -> None:
        self.gateway.stop()
        self.thread.join(15)
        assert not self.thread.is_alive()


@pytest.fixture
def gateway(bus: MqttBroker, transactional_db: None) -> Iterator[Callable[[], RunningGateway]]:
    running: list[RunningGateway] = []
    name = client_id("loa-gateway")  # one persistent session per test, whatever broker it runs on

    def start() -> RunningGateway:
        gw = RunningGateway(bus.url, name).start()
        running.append(gw)
        return gw

    yield start
    for gw in running:
        if gw.thread.is_alive():
            gw.stop()


@pytest.fixture
def devices(tree: dict, transactional_db: None, bus: MqttBroker) -> dict[str, list[DeviceCredentials]]:
    return {"a": provision(tree["a"], 3), "b": provision(tree["b"], 2)}


def test_statuses_are_ingested_in_batches(gateway: Any, devices: dict, bus: MqttBroker) -> None:
    gw = gateway()
    clients = [device_client(bus.url, c).connect() for c in devices["a"]]
    for round_ in range(20):
        for c, creds in zip(clients, devices["a"], strict=True):
            c.publish(
                topics.status_topic(creds.device_id), status_payload(creds.device_id, volume=round_), qos=0
            )
    ids = [c.device_id for c in devices["a"]]
    assert wait_until(lambda: gw.gateway.counters["statuses"] == 60)
    assert wait_until(
        lambda: all(d.last_status.get("volume") == 19 for d in Device.objects.filter(device_id__in=ids))
    )
    assert Device.objects.filter(device_id__in=ids, online=True).count() == 3
    assert gw.gateway.counters["batches"] < 60  # batched, not one write per message
    # one history sample per device per interval
    assert StatusSample.objects.filter(device_id__in=ids).count() == 3
    assert wait_until(lambda: GatewayState.objects.filter(connected=True).exists())
    for c in clients:
        c.close()


def test_playlogs_are_ingested_exactly_once(gateway: Any, devices: dict, bus: MqttBroker) -> None:
    gateway()
    creds = devices["a"][0]
    client = device_client(bus.url, creds).connect()
    events = [playlog_event(creds.device_id, kind=k) for k in ("start", "end")] * 1
    more = [playlog_event(creds.device_id) for _ in range(50)]
    client.publish(topics.playlog_topic(creds.device_id), playlog_payload(creds.device_id, events))
    client.publish(
        topics.playlog_topic(creds.device_id), playlog_payload(creds.device_id, events)
    )  # re-upload
    client.publish(topics.playlog_topic(creds.device_id), playlog_payload(creds.device_id, [*more, *events]))
    assert wait_until(lambda: PlayLog.objects.count() == 52)
    # No late duplicate: a marker event sent after the re-uploads is ingested after them (one client, in order),
    # so once it is in, a duplicate would be too.
    marker = playlog_event(creds.device_id, kind="end")
    client.publish(topics.playlog_topic(creds.device_id), playlog_payload(creds.device_id, [marker]))
    assert wait_until(lambda: PlayLog.objects.filter(event_id=marker.event_id).exists())
    assert PlayLog.objects.count() == 53
    assert PlayLog.objects.filter(device_id=creds.device_id, unit__code="06652").count() == 53
    client.close()


def test_bad_input_is_counted_and_never_crashes(
    gateway: Any, devices: dict, mosquitto: broker.EmbeddedBroker
) -> None:
    gw = gateway()
    creds = devices["a"][0]
    client = device_client(mosquitto.url, creds).connect()
    me = creds.device_id
    bad = [
        (topics.status_topic(me), b"not json"),
        (topics.status_topic(me), b'{"v": 2, "device_id": "x"}'),
        (topics.status_topic(me), b"[1,2,3]"),
        (topics.status_topic(me), status_payload(devices["a"][1].device_id)),  # claims to be another device
        (topics.playlog_topic(me), b'{"device_id": "' + me.encode() + b'", "events": []}'),
        (topics.ack_topic(me), b"\xff\xfe"),
        (topics.presence_topic(me), b"maybe"),
        (f"loa/v1/d/{me}/other", b"{}"),
    ]
    for topic, payload in bad:
        client.publish(topic, payload)
    # oversized: the broker refuses the packet and drops the connection; the gateway never sees it
    client.client.publish(topics.playlog_topic(me), b"{" + b" " * (300 * 1024) + b"}", qos=1)
    assert wait_until(lambda: gw.gateway.counters["rejected"] >= 7)
    counts = gw.gateway.counters.snapshot()
    assert counts["rejected.malformed_json"] >= 2
    assert counts["rejected.unsupported_version"] == 1
    assert counts["rejected.device_mismatch"] == 1
    # still alive and ingesting
    client.close()
    client = device_client(mosquitto.url, creds).connect()
    client.publish(topics.playlog_topic(me), playlog_payload(me, [playlog_event(me)]))
    assert wait_until(lambda: PlayLog.objects.count() == 1)
    client.close()


def test_unknown_device_messages_are_dropped(
    gateway: Any, devices: dict, mosquitto: broker.EmbeddedBroker
) -> None:
    gw = gateway()
    creds = devices["a"][0]
    Device.objects.filter(device_id=creds.device_id).update(revoked_at="2026-01-01T00:00:00Z")
    client = device_client(mosquitto.url, creds).connect()  # broker files not yet regenerated
    client.publish(
        topics.playlog_topic(creds.device_id),
        playlog_payload(creds.device_id, [playlog_event(creds.device_id)]),
    )
    assert wait_until(lambda: gw.gateway.counters["rejected.unknown_device"] == 1)
    assert PlayLog.objects.count() == 0
    client.close()


def _agent(url: str, creds: DeviceCredentials) -> MqttClient:
    client = device_client(url, creds).connect()
    for topic in topics.device_subscriptions(creds.device_id, creds.unit_codes):
        client.subscribe(topic)
    return client


def test_outbox_delivers_commands_and_acks_move_deliveries(
    gateway: Any, devices: dict, tree: dict, make_user: Any, bus: MqttBroker
) -> None:
    from loa.fleet import keys

    agents = {c.device_id: (_agent(bus.url, c), c) for c in devices["a"] + devices["b"]}
    gateway()
    operator = make_user("op", "commune_operator", tree["a"])
    command = do_send_command(actor=operator, action="volume", params={"volume": 55}, target_unit=tree["a"])
    a_ids = {c.device_id for c in devices["a"]}
    for device_id, (client, _c) in agents.items():
        got = client.wait_for(lambda ms: len(ms) >= 1, timeout=5 if device_id in a_ids else 0.5)
        assert got == (device_id in a_ids)
    assert wait_until(lambda: Command.objects.get(pk=command.pk).state == Command.State.PUBLISHED)
    assert set(CommandDelivery.objects.filter(command=command).values_list("state", flat=True)) <= {"sent"}
    # the message is the signed one: an agent verifies it
    any_a = agents[next(iter(a_ids))][0]
    message = CommandMessage.model_validate_json(any_a.received.messages[0].payload)
    verify_command(message, keys.public_key(), any_a.received.messages[0].topic, message.issued_at, None)
    # acks from two devices (one refuses); a forged ack from commune B's device for A's command is ignored
    ida, idb, idc = sorted(a_ids)
    agents[ida][0].publish(topics.ack_topic(ida), ack_payload(ida, command.pk, "received"))
    agents[ida][0].publish(topics.ack_topic(ida), ack_payload(ida, command.pk, "done"))
    agents[ida][0].publish(
        topics.ack_topic(ida), ack_payload(ida, command.pk, "received")
    )  # late: no downgrade
    agents[idb][0].publish(topics.ack_topic(idb), ack_payload(idb, command.pk, "refused", "bad_signature"))
    b0 = devices["b"][0].device_id
    agents[b0][0].publish(topics.ack_topic(b0), ack_payload(b0, command.pk, "done"))
    states = lambda: dict(CommandDelivery.objects.filter(command=command).values_list("device_id", "state"))  # noqa: E731
    assert wait_until(lambda: states() == {ida: "done", idb: "refused", idc: "sent"})
    assert CommandDelivery.objects.get(command=command, device_id=idb).reason == "bad_signature"
    for client, _c in agents.values():
        client.close()


def test_expired_commands_are_never_published(
    gateway: Any, devices: dict, tree: dict, make_user: Any
) -> None:
    operator = make_user("op", "commune_operator", tree["a"])
    command = do_send_command(actor=operator, action="stop", target_unit=tree["a"], ttl_s=10)
    Command.objects.filter(pk=command.pk).update(expires_at="2020-01-01T00:00:00Z")
    gateway()
    assert wait_until(
        lambda: (
            set(CommandDelivery.objects.filter(command=command).values_list("state", flat=True))
            == {"expired"}
        )
    )
    assert Command.objects.get(pk=command.pk).state == Command.State.EXPIRED


def test_gateway_restart_loses_nothing(gateway: Any, devices: dict, bus: MqttBroker) -> None:
    first = gateway()
    creds = devices["a"][0]
    client = device_client(bus.url, creds).connect()
    first.stop()  # gateway down: the broker queues for its persistent session
    sent = [playlog_event(creds.device_id) for _ in range(120)]
    for i in range(0, 120, 10):
        client.publish(
            topics.playlog_topic(creds.device_id), playlog_payload(creds.device_id, sent[i : i + 10])
        )
    gateway()
    assert wait_until(lambda: PlayLog.objects.count() == 120)
    assert set(PlayLog.objects.values_list("event_id", flat=True)) == {e.event_id for e in sent}
    client.close()


def test_broker_restart_heals(
    gateway: Any, devices: dict, tree: dict, make_user: Any, mosquitto: broker.EmbeddedBroker
) -> None:
    gw = gateway()
    creds = devices["a"][0]
    mosquitto.restart()
    assert wait_until(lambda: gw.gateway.counters["connects"] >= 2, timeout=20)
    operator = make_user("op", "commune_operator", tree["a"])
    agent = _agent(mosquitto.url, creds)  # subscribed before the command exists (no persistent session)
    command = do_send_command(
        actor=operator, action="pause", target_device=Device.objects.get(device_id=creds.device_id)
    )
    assert wait_until(lambda: Command.objects.get(pk=command.pk).state == Command.State.PUBLISHED)
    assert agent.wait_for(lambda ms: any(str(command.pk) in m.payload.decode() for m in ms))
    event = playlog_event(creds.device_id)
    agent.publish(topics.playlog_topic(creds.device_id), playlog_payload(creds.device_id, [event]))
    assert wait_until(lambda: PlayLog.objects.filter(event_id=event.event_id).exists())
    agent.close()


def test_presence_and_offline_alarm(gateway: Any, devices: dict, bus: MqttBroker, settings: Any) -> None:
    from loa.fleet.models import Alarm

    settings.LOA_OFFLINE_ALARM_AFTER_S = 1
    gateway()
    creds = devices["a"][0]
    client = device_client(bus.url, creds)
    client.connect(will=(topics.presence_topic(creds.device_id), b"offline"))
    client.publish(topics.presence_topic(creds.device_id), b"online", retain=True)
    assert wait_until(lambda: Device.objects.get(device_id=creds.device_id).online)
    client.client.socket().close()  # abrupt loss: the broker publishes the Last Will
    assert wait_until(lambda: not Device.objects.get(device_id=creds.device_id).online, timeout=30)
    assert wait_until(
        lambda: Alarm.objects.filter(device_id=creds.device_id, cleared_at__isnull=True).exists()
    )
    client.client.loop_stop()
    again = device_client(bus.url, creds).connect()
    again.publish(topics.status_topic(creds.device_id), status_payload(creds.device_id))
    assert wait_until(lambda: Device.objects.get(device_id=creds.device_id).online)
    assert wait_until(
        lambda: not Alarm.objects.filter(device_id=creds.device_id, cleared_at__isnull=True).exists()
    )
    again.close()


def test_a_refused_manifest_raises_an_alarm_until_a_newer_one_is_taken(
    gateway: Any, devices: dict, bus: MqttBroker
) -> None:
    """A device reports a manifest it refused (a ManifestAck on its ack topic, protocol.md §6): the gateway raises
    one alarm the console shows (reason and version), a status with the old version keeps it, a status with a
    version at least as new clears it."""
    import datetime as dt
    import json

    from loa.fleet.models import Alarm
    from loa_protocol.messages import ManifestAck, encode

    gw = gateway()
    creds = devices["a"][0]
    client = device_client(bus.url, creds).connect()

    def refuse(reason: str, version: int) -> None:
        ack = ManifestAck(
            device_id=creds.device_id, manifest_version=version, reason=reason, at=dt.datetime.now(dt.UTC)
        )
        client.publish(topics.ack_topic(creds.device_id), encode(ack), qos=1)

    def status(version: int) -> None:
        payload = json.loads(status_payload(creds.device_id))
        client.publish(
            topics.status_topic(creds.device_id),
            json.dumps({**payload, "manifest_version": version}).encode(),
        )

    def open_alarms() -> list[str]:
        return list(
            Alarm.objects.filter(
                device_id=creds.device_id, kind=Alarm.Kind.MANIFEST_REFUSED, cleared_at__isnull=True
            ).values_list("detail", flat=True)
        )

    refuse("bad_signature", 18)
    assert wait_until(lambda: open_alarms() == ["bad_signature (phiên bản 18)"])
    # what a shared broker (LOA_MQTT_URL) still holds retained from other runs' devices reached the gateway on
    # subscribing, before this device's first message: counted from here on, only this device's messages count
    rejected_before = gw.gateway.counters["rejected"]
    refuse("bad_signature", 18)  # the retained manifest again after a reconnect: still one alarm
    status(17)
    client.publish(topics.presence_topic(creds.device_id), b"online", retain=True)
    assert wait_until(
        lambda: gw.gateway.counters["statuses"] >= 1 and gw.gateway.counters["manifest_refusals"] == 2
    )
    assert open_alarms() == ["bad_signature (phiên bản 18)"]
    assert gw.gateway.counters["rejected"] == rejected_before
    status(19)
    assert wait_until(lambda: open_alarms() == [])
    client.close()


def test_an_ack_that_races_its_delivery_row_is_kept(
    gateway: Any, devices: dict, tree: dict, make_user: Any, bus: MqttBroker
) -> None:
    """A device acks a command whose delivery row is not written yet (a command published before its rows, or a
    device the group command reached that was not in the unit when it was issued): the gateway writes the row from
    the ack, and the row written later does not undo it. A device of another unit cannot make itself a row."""
    gw = gateway()
    operator = make_user("op", "commune_operator", tree["a"])
    command = do_send_command(actor=operator, action="volume", params={"volume": 55}, target_unit=tree["a"])
    assert wait_until(lambda: Command.objects.get(pk=command.pk).state == Command.State.PUBLISHED)
    first = devices["a"][0].device_id
    CommandDelivery.objects.filter(command=command, device_id=first).delete()  # its row is not there yet
    client = device_client(bus.url, devices["a"][0]).connect()
    client.publish(topics.ack_topic(first), ack_payload(first, command.pk, "received"))
    client.publish(topics.ack_topic(first), ack_payload(first, command.pk, "done"))
    outsider = devices["b"][0]
    other = device_client(bus.url, outsider).connect()
    other.publish(topics.ack_topic(outsider.device_id), ack_payload(outsider.device_id, command.pk, "done"))
    assert wait_until(
        lambda: CommandDelivery.objects.filter(command=command, device_id=first, state="done").exists()
    )
    assert wait_until(lambda: gw.gateway.counters["acks_foreign"] == 1)
    assert not CommandDelivery.objects.filter(command=command, device_id=outsider.device_id).exists()
    assert gw.gateway.counters["acks_before_row"] == 1
    # the row's writer comes after the ack: it keeps the ack's state
    CommandDelivery.objects.bulk_create(
        [CommandDelivery(command=command, device_id=first)], ignore_conflicts=True
    )
    row = CommandDelivery.objects.get(command=command, device_id=first)
    assert (row.state, row.acked_at is not None) == ("done", True)
    client.close()
    other.close()


def test_an_ack_that_comes_before_its_command_is_stored_is_held_until_it_is(
    gateway: Any, devices: dict, tree: dict, bus: MqttBroker
) -> None:
    """An ack whose command is not in the database yet (its transaction still committing) is held and applied once
    the command and its row are there, without any other message from the device."""
    import datetime as dt
    import uuid

    from django.db import transaction
    from django.utils import timezone

    gw = gateway()
    creds = devices["a"][0]
    command_id = uuid.uuid4()
    client = device_client(bus.url, creds).connect()
    client.publish(topics.ack_topic(creds.device_id), ack_payload(creds.device_id, command_id, "done"))
    assert wait_until(lambda: gw.gateway.counters["acks"] == 1)
    assert len(gw.gateway.ingestor._early_acks) == 1  # held, not dropped
    now = timezone.now()
    # the command and its row in one transaction, as the server stores them: the gateway retrying the held ack sees
    # both or neither (created one after the other, the gateway could write the row between them)
    with transaction.atomic():
        command = Command.objects.create(
            id=command_id, action="volume", params={"volume": 40}, topic=topics.device_command_topic(creds.device_id),
            seq=1, target_device_id=Device.objects.get(device_id=creds.device_id).pk, unit=tree["a"], issued_at=now,
            expires_at=now + dt.timedelta(minutes=5), message={}, state=Command.State.PUBLISHED, published_at=now,
        )  # fmt: skip
        CommandDelivery.objects.create(command=command, device_id=creds.device_id, state="sent")
    assert wait_until(
        lambda: CommandDelivery.objects.get(command=command, device_id=creds.device_id).state == "done"
    )
    assert gw.gateway.ingestor._early_acks == []
    assert gw.gateway.counters["acks_unmatched"] == 0
    client.close()
