"""Storms and outages on real services (issue 21, items 3, 7 and 8): while the database is away the gateway holds at
most one heartbeat per device and every play log, writes them once when it is back, and says so in two log lines;
after a broker restart the gateway (and agents) are back within seconds, not after a 8–15 s back-off."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection

from loa.fleet import broker
from loa.fleet.models import Alarm, Device, PlayLog
from loa.gateway.sample_messages import playlog_event, playlog_payload, status_payload
from loa.gateway.service import Gateway, GatewayOptions
from loa_protocol import topics
from tests.loa.fleet.brokers import client_id  # type: ignore[import-not-found]
from tests.loa.fleet.devices import device_client, provision  # type: ignore[import-not-found]

pytestmark = pytest.mark.mqtt


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return predicate()


class Lines(logging.Handler):
    """Every line the gateway logs (its own logger, whatever the project's logging config does with it)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def text(self) -> list[str]:
        out = []
        for r in self.records:
            out.append(r.getMessage())
            if r.exc_info:
                out.append("Traceback " + logging.Formatter().formatException(r.exc_info))
        return out


@pytest.fixture
def gateway_log() -> Iterator[Lines]:
    handler = Lines()
    logger = logging.getLogger("loa.gateway")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@contextlib.contextmanager
def database_away() -> Iterator[None]:
    """Make the test database refuse the gateway's writes until the block ends.

    SQLite: another connection holds an exclusive lock (see :func:`quick_sqlite_timeout`). PostgreSQL: the database
    stops accepting connections and the existing ones are terminated."""
    if connection.vendor == "sqlite":
        lock = sqlite3.connect(connection.settings_dict["NAME"], timeout=5, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    import psycopg

    db = connection.settings_dict
    name = db["NAME"]
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=int(db["PORT"] or 5432),
        user=db["USER"] or "postgres",
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            )
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    connection.close()  # the test's own connection was terminated too


@pytest.fixture
def quick_sqlite_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """SQLite connections opened from now on give up on a lock after 0.2 s instead of 30 s (an outage, not a wait)."""
    if connection.vendor == "sqlite":
        monkeypatch.setitem(connection.settings_dict["OPTIONS"], "timeout", 0.2)


@pytest.fixture
def running(mosquitto: broker.EmbeddedBroker, transactional_db: None) -> Iterator[Callable[..., Gateway]]:
    started: list[tuple[Gateway, threading.Thread]] = []

    def start(**options: Any) -> Gateway:
        gw = Gateway(
            GatewayOptions(
                url=mosquitto.url,
                client_id=client_id("loa-gateway-storm"),
                flush_interval=0.2,
                check_interval=0.5,
                state_interval=0.5,
                **options,
            )
        )
        thread = threading.Thread(target=gw.run, daemon=True)
        thread.start()
        started.append((gw, thread))
        assert gw.wait_connected(10)
        return gw

    yield start
    for gw, thread in started:
        gw.stop()
        thread.join(15)


def test_database_outage_holds_one_heartbeat_per_device_and_every_play_log(
    tree: dict,
    running: Any,
    mosquitto: broker.EmbeddedBroker,
    gateway_log: Lines,
    quick_sqlite_timeout: None,
) -> None:
    creds = provision(tree["a"], 30)
    gw = running(db_retry_s=0.3)
    clients = [device_client(mosquitto.url, c).connect() for c in creds]
    before = [playlog_event(creds[0].device_id) for _ in range(5)]
    clients[0].publish(topics.playlog_topic(creds[0].device_id), playlog_payload(creds[0].device_id, before))
    assert wait_until(lambda: PlayLog.objects.count() == 5)
    sent = list(before)
    most_statuses = most_others = most_waiting = 0
    last_round = 0
    with database_away():
        t0 = time.monotonic()
        round_ = 0
        # A heartbeat flood from every device for a few seconds (several retry cycles), play logs among it.
        while time.monotonic() - t0 < 3.0 or gw.db.failures < 4:
            round_ += 1
            for client, c in zip(clients, creds, strict=True):
                client.publish(
                    topics.status_topic(c.device_id), status_payload(c.device_id, volume=round_ % 100), qos=0
                )
            if round_ % 10 == 0:
                c = creds[round_ % len(creds)]
                events = [playlog_event(c.device_id) for _ in range(3)]
                sent += events
                clients[round_ % len(creds)].publish(
                    topics.playlog_topic(c.device_id), playlog_payload(c.device_id, events)
                )
            statuses, others = gw.pending.counts()
            most_waiting = max(most_waiting, statuses + others)
            if gw.db.down:  # noticed: from now on one status per device
                most_statuses, most_others = max(most_statuses, statuses), max(most_others, others)
            assert time.monotonic() - t0 < 60, "the gateway never noticed the database was away"
        last_round = round_
        assert gw.db.down
        # everything the devices sent has reached the gateway before the database returns
        assert wait_until(lambda: gw.counters["received"] >= last_round * len(creds) + 1 + last_round // 10)
        statuses, others = gw.pending.counts()
        most_statuses, most_others = max(most_statuses, statuses), max(most_others, others)
    heartbeats = last_round * len(creds)
    assert heartbeats >= 1000, heartbeats  # a storm, not a trickle
    # Bounded: before the first failed write a backlog of one batch at most, then one heartbeat per device.
    assert most_waiting <= gw.options.batch_size + len(creds) + last_round // 10, most_waiting
    assert most_statuses <= len(creds), most_statuses
    assert most_others <= last_round // 10  # play log messages: held (never dropped) until written
    ids = [c.device_id for c in creds]
    volume = last_round % 100
    assert wait_until(
        lambda: all(d.last_status.get("volume") == volume for d in Device.objects.filter(device_id__in=ids)),
        timeout=20,
    )
    assert wait_until(lambda: PlayLog.objects.count() == len(sent), timeout=20)
    assert set(PlayLog.objects.values_list("event_id", flat=True)) == {e.event_id for e in sent}
    assert wait_until(lambda: not gw.db.down)
    # Quiet: one line when the database went away, one when it came back; no traceback, whatever the retries.
    lines = gateway_log.text()
    assert not any("Traceback" in line for line in lines), lines
    away = [line for line in lines if "không kết nối được tới cơ sở dữ liệu" in line]
    back = [line for line in lines if "đã kết nối lại cơ sở dữ liệu" in line]
    assert len(away) == 1 and len(back) == 1, lines
    assert "nhịp tim" in back[0]
    assert lines[lines.index(away[0]) :] == [away[0], back[0]], lines  # nothing else from the outage on
    for client in clients:
        client.close()


def test_gateway_and_agents_are_back_within_seconds_of_a_broker_restart(
    tree: dict, running: Any, mosquitto: broker.EmbeddedBroker, gateway_log: Lines
) -> None:
    """Broker down for 7.2 s (between the oldest back-off's retries at 7 s and 15 s), back on the same port: the
    gateway reconnects within 1.5 s and 20 real agent runtimes (the simulator's) within 2 s (3 s allowed under load;
    the old 1-15 s and 1-60 s back-offs took 8-10 s), the play logs an agent buffered meanwhile reach the database,
    and the gateway says "away" and "back" once each."""
    from loa.fleet.services import credentials_for
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.simulator import Simulator

    provisioned = provision(tree["a"], 20)
    creds = [credentials_for(Device.objects.get(device_id=c.device_id), c.password) for c in provisioned]
    gw = running()
    sim = Simulator(creds, options=RuntimeOptions(heartbeat_s=3600, manifest_poll_s=0), keep_history=True)
    sim.start(wait_connected=30)
    try:
        connects = gw.counters["connects"]
        agent_connections = {d: dev.runtime.connections for d, dev in sim.devices.items()}
        mosquitto.stop()
        assert wait_until(lambda: not gw.wait_connected(0) and sim.connected_count() == 0, timeout=10)
        down_at = time.monotonic()
        wait_until(lambda: False, timeout=7.2)  # the outage itself: long enough for several retries
        # a play log an agent writes while the broker is away is buffered on its disk
        device = next(iter(sim.devices.values()))
        event = playlog_event(device.runtime.device_id)
        device.core.store.append(event)  # uploaded when the agent is connected again
        mosquitto.start()
        back_at = time.monotonic()
        assert back_at - down_at >= 7.2
        assert wait_until(lambda: gw.wait_connected(0), timeout=10)
        gateway_after = time.monotonic() - back_at
        assert wait_until(
            lambda: all(
                dev.runtime.connected.is_set() and dev.runtime.connections > agent_connections[d]
                for d, dev in sim.devices.items()
            ),
            timeout=15,
        )
        agents_after = time.monotonic() - back_at
        assert gw.counters["connects"] > connects
        # the gateway retries every 0.5 s at most (an emergency accepted during the outage waits for it); with the
        # earlier 2 s cap its retries fell at 7.1 and 9.1 s after the loss, ≈ 1.8 s after this broker's return
        assert gateway_after <= 1.5, f"gateway back {gateway_after:.1f} s after the broker"
        assert agents_after <= 3.0, f"last agent back {agents_after:.1f} s after the broker"
        assert wait_until(lambda: PlayLog.objects.filter(event_id=event.event_id).exists(), timeout=10)
        stored_after = time.monotonic() - back_at
        assert stored_after <= 5.0, f"buffered play log stored {stored_after:.1f} s after the broker's return"
    finally:
        sim.stop()
    lines = gateway_log.text()
    assert not any("Traceback" in line for line in lines), lines
    assert len([line for line in lines if "không kết nối được tới broker" in line]) == 1, lines
    assert len([line for line in lines if "đã kết nối lại broker" in line]) == 1, lines


def test_a_broker_outage_does_not_turn_the_clusters_offline(
    tree: dict, running: Any, mosquitto: broker.EmbeddedBroker, settings: Any
) -> None:
    """While the broker is away the gateway is deaf, the clusters are not silent: no loudspeaker is marked offline or
    alarmed during the outage, nor before the gateway has listened for ``LOA_DEVICE_OFFLINE_AFTER_S`` again (a
    new-user walk of the demo saw "0/20 cụm loa đang trực tuyến" and twenty offline alarms for a broker killed 13
    minutes, with every cluster playing). A board reports over HTTPS and is judged as always."""
    from django.utils import timezone

    settings.LOA_DEVICE_OFFLINE_AFTER_S = 3
    settings.LOA_OFFLINE_ALARM_AFTER_S = 0
    creds = provision(tree["a"], 4)
    clusters = [c.device_id for c in creds[:3]]
    board = creds[3].device_id
    Device.objects.filter(device_id=board).update(kind="eboard")
    gw = running()
    mosquitto.stop()
    assert wait_until(lambda: not gw.wait_connected(0))
    Device.objects.filter(device_id__in=[*clusters, board]).update(
        online=True, last_seen=timezone.now() - dt.timedelta(hours=1)
    )
    wait_until(lambda: False, timeout=4.0)  # longer than LOA_DEVICE_OFFLINE_AFTER_S: eight periodic checks
    assert not Device.objects.get(device_id=board).online  # the board: silent over HTTPS, offline
    assert Alarm.objects.filter(device_id=board, kind=Alarm.Kind.OFFLINE).exists()
    assert Device.objects.filter(device_id__in=clusters, online=True).count() == 3
    assert not Alarm.objects.filter(device_id__in=clusters).exists()
    mosquitto.start()
    assert wait_until(lambda: gw.wait_connected(0), timeout=10)
    listening_from = time.monotonic()
    wait_until(lambda: False, timeout=1.0)
    assert Device.objects.filter(device_id__in=clusters, online=True).count() == 3  # heard for 1 s of 3
    # Still silent once the gateway has listened for the whole period: offline, then alarmed.
    assert wait_until(
        lambda: not Device.objects.filter(device_id__in=clusters, online=True).exists(), timeout=15
    )
    assert time.monotonic() - listening_from >= 2.5
    assert wait_until(lambda: Alarm.objects.filter(device_id__in=clusters).count() == 3)
