"""The console's dashboard shows the gateway's broker outage as a state (issue 21): what the gateway writes to its
``GatewayState`` row — at once when the broker connection changes — becomes one clear line for the operators of
loudspeakers, in Vietnamese and in English; nothing while the gateway is connected or when none ever ran."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import threading
import time
from typing import Any

import pytest
from django.utils import timezone
from django.utils.formats import date_format

from loa.fleet import broker
from loa.gateway.models import GatewayState
from loa.gateway.service import Gateway, GatewayOptions
from tests.loa.fleet.brokers import client_id  # type: ignore[import-not-found]


def state(**fields: Any) -> GatewayState:
    now = timezone.now()
    defaults: dict[str, Any] = {"started_at": now, "heartbeat_at": now, "connected": True}
    defaults.update(fields)
    return GatewayState.objects.create(name="loa-gateway", **defaults)


def dashboard(client: Any) -> str:
    response = client.get("/")
    assert response.status_code == 200
    return str(response.content.decode())


def test_no_line_when_connected_or_when_no_gateway_ever_ran(
    tree: dict, make_user: Any, client_for: Any
) -> None:
    client = client_for(make_user("op-gw", "commune_operator", tree["a"]))
    assert "data-gateway" not in dashboard(client)
    state()
    assert "data-gateway" not in dashboard(client)


def test_a_broker_outage_is_a_state_with_its_start(tree: dict, make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("op-gw", "commune_operator", tree["a"]))
    since = timezone.now() - dt.timedelta(seconds=42)
    state(connected=False, disconnected_at=since)
    page = dashboard(client)
    local = timezone.localtime(since)
    assert 'data-gateway="broker-down"' in page
    assert "Gateway mất kết nối tới broker MQTT từ " + local.strftime("%H:%M:%S %d/%m/%Y") in page
    assert "gửi đi ngay khi có kết nối" in page


def test_a_silent_gateway_is_a_state_too(tree: dict, make_user: Any, client_for: Any) -> None:
    client = client_for(make_user("op-gw", "commune_operator", tree["a"]))
    last = timezone.now() - dt.timedelta(minutes=3)
    state(heartbeat_at=last)  # said "connected" three minutes ago, and nothing since: stopped or cut off
    page = dashboard(client)
    assert 'data-gateway="silent"' in page
    assert "Gateway không báo trạng thái từ " + date_format(timezone.localtime(last), "H:i:s d/m/Y") in page


def test_the_english_console_says_it_in_english(tree: dict, make_user: Any, client_for: Any) -> None:
    user = make_user("op-gw-en", "commune_operator", tree["a"])
    client = client_for(user)
    state(connected=False, disconnected_at=timezone.now())
    response = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert "The gateway has lost its connection to the MQTT broker since" in page
    assert "Gateway mất kết nối" not in page


@pytest.mark.mqtt
def test_the_gateway_writes_its_disconnection_at_once(
    tree: dict, transactional_db: None, mosquitto: broker.EmbeddedBroker
) -> None:
    """The periodic state write is every 5 s; a change of the broker connection is written at once, both ways."""
    broker.write_broker_files()  # the gateway's account on our broker
    name = client_id("loa-gateway-console")
    gw = Gateway(GatewayOptions(url=mosquitto.url, client_id=name, state_interval=5.0, flush_interval=0.2))
    thread = threading.Thread(target=gw.run, daemon=True)
    thread.start()
    try:
        assert gw.wait_connected(10)

        def row() -> GatewayState | None:
            return GatewayState.objects.filter(name=name).first()

        deadline = time.monotonic() + 5
        while not ((r := row()) and r.connected) and time.monotonic() < deadline:
            time.sleep(0.05)
        r = row()
        assert r is not None and r.connected and r.disconnected_at is None
        mosquitto.stop()
        stopped = timezone.now()
        t0 = time.monotonic()
        while (r := row()) is not None and r.connected and time.monotonic() - t0 < 5:
            time.sleep(0.02)
        seen = time.monotonic() - t0
        r = row()
        assert r is not None and not r.connected and seen <= 1.0, seen
        assert r.disconnected_at is not None and abs((r.disconnected_at - stopped).total_seconds()) <= 1.0
        mosquitto.start()
        t0 = time.monotonic()
        while (r := row()) is not None and not r.connected and time.monotonic() - t0 < 10:
            time.sleep(0.05)
        r = row()
        assert r is not None and r.connected and r.disconnected_at is None
    finally:
        gw.stop()
        thread.join(15)


def test_the_loudspeaker_pages_show_the_banner_too(tree: dict, make_user: Any, client_for: Any) -> None:
    """A walk found the fleet list showing twenty clusters "Trực tuyến" during a broker outage, with no word of it
    there or on the command form: the banner is on every loudspeaker page now."""
    client = client_for(make_user("op-gw", "commune_operator", tree["a"]))
    state(connected=False, disconnected_at=timezone.now())
    for url in ("/fleet/", "/fleet/commands/new/", "/fleet/commands/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'data-gateway="broker-down"' in response.content.decode(), url


def test_a_gateway_process_that_ended_is_shown_at_once(tree: dict, make_user: Any, client_for: Any) -> None:
    """kill -9 of the gateway showed nothing for 30 s (its last state write said "connected"): a gateway on this
    machine that the web process saw running and whose process has ended is shown stopped at once."""
    client = client_for(make_user("op-gw", "commune_operator", tree["a"]))
    gateway = subprocess.Popen(["sleep", "60"])
    try:
        state(host=socket.gethostname(), pid=gateway.pid, instance="abc123")
        assert "data-gateway" not in dashboard(client)  # running, and now known to this process
        gateway.kill()
        gateway.wait()
        assert 'data-gateway="silent"' in dashboard(client)  # its state was written a moment ago
    finally:
        if gateway.poll() is None:
            gateway.kill()


def test_a_process_never_seen_is_judged_by_its_writes(tree: dict, make_user: Any, client_for: Any) -> None:
    """A web process that cannot see the gateway's process (another PID namespace with the host's name: a
    container) never calls it stopped on that ground; its state writes decide, as before."""
    client = client_for(make_user("op-gw", "commune_operator", tree["a"]))
    ended = subprocess.Popen(["true"])
    ended.wait()
    state(host=socket.gethostname(), pid=ended.pid, instance="never-seen")
    assert "data-gateway" not in dashboard(client)
