"""End to end on real Mosquitto with the reference agent's simulator: the province publishes a bulletin with TTS
audio → the operator of commune A chooses it in the console's "play now" form → the gateway publishes the signed
command → every agent of A downloads the audio over HTTP from the live server (by its content address, no
session), verifies its sha256 and plays it (start and end logs) → the logs show in the console and the API;
agents of commune B play nothing.

Runs on ``LOA_MQTT_URL``'s broker when it is set (see tests/loa/fleet/brokers.py), else on our own Mosquitto.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from loa.accounts.roles import Role
from loa.fleet import broker
from loa.fleet.models import Command, CommandDelivery, PlayLog
from loa.fleet.services import credentials_for, do_provision_device, do_send_command
from loa.gateway.service import Gateway, GatewayOptions
from tests.loa.fleet.brokers import MqttBroker, client_id  # type: ignore[import-not-found]
from tests.loa.fleet.helpers import (  # type: ignore[import-not-found]
    publish_province_bulletin_with_tts,
    send_from_console,
)

pytestmark = pytest.mark.mqtt


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_play_now_of_a_province_bulletin_reaches_exactly_commune_a(
    mqtt: MqttBroker,
    live_server: Any,
    settings: Any,
    tree: dict,
    make_user: Any,
    client_for: Any,
    token_for: Any,
    tmp_path: Path,
) -> None:
    from loa_agent.media import MediaCache
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.simulator import Simulator

    settings.LOA_PUBLIC_URL = live_server.url  # what devices are told to download from
    bulletin = publish_province_bulletin_with_tts(tree, make_user, client_for)
    asset = bulletin.audio_asset
    assert asset is not None and asset.unit_id == tree["province"].pk and asset.duration_s

    creds = []
    for unit, n in ((tree["a"], 2), (tree["zone_a"], 2), (tree["b"], 3)):
        for i in range(n):
            device, password = do_provision_device(unit, actor=None, serial=f"E2E-{unit.code}-{i}")
            creds.append(credentials_for(device, password))
    broker.write_broker_files()
    a_ids = {c.device_id for c in creds if c.unit_codes[:2] == [tree["province"].code, tree["a"].code]}
    b_ids = {c.device_id for c in creds} - a_ids
    assert len(a_ids) == 4 and len(b_ids) == 3
    assert all(c.media_base_url.startswith(live_server.url) for c in creds)

    gateway = Gateway(
        GatewayOptions(
            url=mqtt.url, client_id=client_id("loa-gateway"), flush_interval=0.2, outbox_interval=0.05
        )
    )
    thread = threading.Thread(target=gateway.run, daemon=True)
    thread.start()
    cache = tmp_path / "agent-media"
    sim = Simulator(creds, media_fetcher=MediaCache(cache), options=RuntimeOptions(heartbeat_s=2))
    sim.start(wait_connected=30)
    try:
        operator = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
        client = client_for(operator)
        form = client.get("/fleet/commands/new/")
        assert form.status_code == 200 and "Thông báo cắt điện" in form.content.decode()
        resp = send_from_console(
            client, {"unit": tree["a"].code, "action": "play", "bulletin_id": str(bulletin.pk)}
        )
        assert resp.status_code == 302, resp.content.decode()[:2000]
        command = Command.objects.get(action="play")
        params = command.params
        assert params["sha256"] == asset.sha256 and params["priority"] == 4  # a normal bulletin
        assert params["media_url"] == f"{live_server.url}/media/files/{asset.sha256}.mp3"
        assert params["duration_s"] == pytest.approx(asset.duration_s, abs=0.01)

        def played() -> set[tuple[str, str]]:
            return set(PlayLog.objects.filter(command_id=command.pk).values_list("device_id", "kind"))

        expected = {(d, k) for d in a_ids for k in ("start", "end")}
        assert wait_until(lambda: expected <= played(), 30 + float(asset.duration_s)), (
            played(),
            sim.refusals(),
        )
        assert wait_until(
            lambda: (
                set(CommandDelivery.objects.filter(command=command).values_list("state", flat=True))
                == {"done"}
            )
        )
        # the agents downloaded the real bytes over HTTP and verified them against the address
        downloaded = cache / asset.sha256
        assert downloaded.is_file()
        assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == asset.sha256
        assert set(PlayLog.objects.filter(command_id=command.pk).values_list("media_sha256", flat=True)) == {
            asset.sha256
        }
        # Nothing reached commune B: a marker command to B, published by the gateway after A's, is done on every
        # device of B (the broker keeps the order of one publisher's messages to a subscriber, the agent handles
        # its commands in order), so A's command would have been handled there before it.
        marker = do_send_command(
            actor=make_user("op-b", Role.COMMUNE_OPERATOR, tree["b"]),
            action="volume",
            params={"volume": 60},
            target_unit=tree["b"],
        )
        assert wait_until(
            lambda: (
                set(CommandDelivery.objects.filter(command=marker).values_list("device_id", "state"))
                == {(d, "done") for d in b_ids}
            )
        )
        assert {sim.devices[d].core.volume for d in b_ids} == {60}
        assert not PlayLog.objects.filter(device_id__in=b_ids).exists()
        assert not [e for d in b_ids for e in sim.events(d)]
        assert sim.refusals() == {}
        # visible in the console and in the API
        one = sorted(a_ids)[0]
        assert params["item_id"] in client.get(f"/fleet/d/{one}/").content.decode()
        token = token_for(operator)
        body = (
            Client()
            .get(f"/api/v1/fleet/playlogs?command={command.pk}", HTTP_AUTHORIZATION=f"Bearer {token}")
            .json()
        )
        assert body["count"] == 8
        assert {i["media_sha256"] for i in body["items"]} == {asset.sha256}
        assert gateway.counters["statuses"] >= 7  # every agent's heartbeats arrive, B's included
    finally:
        sim.stop()
        gateway.stop()
        thread.join(15)
