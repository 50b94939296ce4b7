"""A large loudspeaker fan-out is published before its delivery rows are written (issue 21 item 3): the rows
come right after the commit and the gateway's poke, one INSERT … SELECT, and nothing is lost — rows written after
the publish are ``sent``, rows written before it are moved by the gateway, an ack that came first keeps its row,
and a device may fetch the command's audio before its row exists (its topic proves the command was sent to it).

Real Mosquitto and the real gateway; SQLite by default, PostgreSQL with ``LOA_DATABASE_URL``. The fan-out size
from which rows are deferred is lowered to 1 so that a test's few devices take the emergency's path."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from loa.fleet import services
from loa.fleet.device_auth import commanded_media
from loa.fleet.models import Command, CommandDelivery, Device
from loa.fleet.services import do_send_command
from loa.gateway.ingest import mark_published
from loa.gateway.sample_messages import ack_payload
from loa.gateway.service import Gateway, GatewayOptions
from loa_protocol import topics
from tests.loa.fleet.brokers import MqttBroker, client_id  # type: ignore[import-not-found]
from tests.loa.fleet.devices import DeviceCredentials, device_client, provision  # type: ignore[import-not-found]

pytestmark = pytest.mark.mqtt


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def deferred(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "DEFERRED_ROWS_FROM", 1)


@pytest.fixture
def devices(tree: dict, transactional_db: None, bus: MqttBroker) -> dict[str, list[DeviceCredentials]]:
    return {"a": provision(tree["a"], 3), "b": provision(tree["b"], 2)}


@pytest.fixture
def gateway(bus: MqttBroker, transactional_db: None) -> Iterator[Gateway]:
    gw = Gateway(
        GatewayOptions(
            url=bus.url,
            client_id=client_id("loa-gateway"),
            flush_interval=0.2,
            check_interval=0.5,
            state_interval=0.5,
        )
    )
    thread = threading.Thread(target=gw.run, daemon=True)
    thread.start()
    assert gw.wait_connected(10)
    yield gw
    gw.stop()
    thread.join(15)


def _rows(command: Command) -> dict[str, str]:
    return dict(CommandDelivery.objects.filter(command=command).values_list("device_id", "state"))


def test_rows_written_after_the_commit_are_moved_by_the_gateway_or_created_sent(
    deferred: None, devices: dict, tree: dict, make_user: Any
) -> None:
    """No gateway: the rows are written at commit (``pending``, the command not published yet) and the gateway's
    ``mark_published`` moves them; rows written after the publish are created ``sent``, with the publish instant;
    a row an ack made first keeps the ack's state."""
    operator = make_user("op", "commune_operator", tree["a"])
    a_ids = {c.device_id for c in devices["a"]}
    command = do_send_command(actor=operator, action="volume", params={"volume": 55}, target_unit=tree["a"])
    assert command.reached == 3
    assert _rows(command) == dict.fromkeys(a_ids, "pending")  # only commune A's clusters
    mark_published([command.pk])
    assert _rows(command) == dict.fromkeys(a_ids, "sent")

    # inside a caller's transaction (the emergency's) the rows wait for its commit
    with transaction.atomic():
        later = do_send_command(actor=operator, action="volume", params={"volume": 40}, target_unit=tree["a"])
        assert _rows(later) == {}
    assert _rows(later) == dict.fromkeys(a_ids, "pending")
    # the gateway publishes before the rows are written, and one device's ack already made its row
    CommandDelivery.objects.filter(command=later).delete()
    mark_published([later.pk])
    first = sorted(a_ids)[0]
    CommandDelivery.objects.create(command=later, device_id=first, state="done")
    services._write_deferred_deliveries(
        later.pk, Device.objects.active().in_unit(tree["a"]).filter(kind="loudspeaker")
    )
    published_at = Command.objects.get(pk=later.pk).published_at
    assert _rows(later) == dict.fromkeys(a_ids - {first}, "sent") | {first: "done"}
    assert set(
        CommandDelivery.objects.filter(command=later)
        .exclude(device_id=first)
        .values_list("sent_at", flat=True)
    ) == {published_at}


def test_a_deferred_fan_out_reaches_every_device_and_keeps_every_ack(
    deferred: None, devices: dict, gateway: Gateway, tree: dict, make_user: Any, bus: MqttBroker
) -> None:
    """Through the broker and the gateway: every device of the unit gets the signed command, every ack ends on its
    row (whether it came before or after the row), no row is left ``pending``, and the other unit has none."""
    agents = []
    for creds in devices["a"]:
        client = device_client(bus.url, creds).connect()
        for topic in topics.device_subscriptions(creds.device_id, creds.unit_codes):
            client.subscribe(topic)
        agents.append((client, creds))
    operator = make_user("op", "commune_operator", tree["a"])
    command = do_send_command(actor=operator, action="volume", params={"volume": 55}, target_unit=tree["a"])
    for client, creds in agents:
        assert client.wait_for(lambda ms: len(ms) >= 1, timeout=5)
        client.publish(topics.ack_topic(creds.device_id), ack_payload(creds.device_id, command.pk, "done"))
    a_ids = {c.device_id for c in devices["a"]}
    assert wait_until(lambda: _rows(command) == dict.fromkeys(a_ids, "done"))
    assert Command.objects.get(pk=command.pk).state == Command.State.PUBLISHED
    assert not CommandDelivery.objects.filter(device_id__in=[c.device_id for c in devices["b"]]).exists()
    for client, _creds in agents:
        client.close()


def test_a_device_may_fetch_the_audio_of_a_command_before_its_row_exists(
    devices: dict, tree: dict, make_user: Any
) -> None:
    """The media view's check (``commanded_media``): a play command on a topic the device subscribes to grants it,
    with or without its row; a device of another unit is refused, and so is an expired command."""
    import datetime as dt

    from django.utils import timezone

    from loa.fleet import broker

    sha = "a" * 64
    a_device = Device.objects.get(device_id=devices["a"][0].device_id)
    b_device = Device.objects.get(device_id=devices["b"][0].device_id)
    topic = topics.group_command_topic(list(broker.unit_codes_of(tree["a"].path)))
    now = timezone.now()
    command = Command.objects.create(
        action="play", params={"sha256": sha}, topic=topic, seq=1, unit=tree["a"], target_unit=tree["a"],
        issued_at=now, expires_at=now + dt.timedelta(minutes=15), message={},
    )  # fmt: skip
    assert not CommandDelivery.objects.exists()
    assert commanded_media(a_device, sha)
    assert not commanded_media(b_device, sha)
    assert not commanded_media(a_device, "b" * 64)
    Command.objects.filter(pk=command.pk).update(expires_at=now - dt.timedelta(seconds=1))
    assert not commanded_media(a_device, sha)
