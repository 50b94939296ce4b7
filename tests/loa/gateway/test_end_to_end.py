"""End to end on real Mosquitto with the reference agent's simulator: "play now" from the console to commune A →
every agent of A plays it (start and end logs) → the logs show in the console and the API; B plays nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from loa.fleet import broker
from loa.fleet.models import Command, CommandDelivery, PlayLog
from loa.fleet.services import credentials_for, do_provision_device
from loa.gateway.service import Gateway, GatewayOptions

pytestmark = pytest.mark.mqtt


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def test_play_now_reaches_exactly_commune_a(
    tree: dict,
    transactional_db: None,
    mosquitto: broker.EmbeddedBroker,
    make_user: Any,
    client_for: Any,
    token_for: Any,
) -> None:
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.simulator import Simulator

    creds = []
    for unit, n in ((tree["a"], 2), (tree["zone_a"], 2), (tree["b"], 3)):
        for i in range(n):
            device, password = do_provision_device(unit, actor=None, serial=f"E2E-{unit.code}-{i}")
            creds.append(credentials_for(device, password))
    broker.write_broker_files()
    a_ids = {c.device_id for c in creds if c.unit_codes[:2] == ["22", "06652"]}
    b_ids = {c.device_id for c in creds} - a_ids
    assert len(a_ids) == 4 and len(b_ids) == 3

    gateway = Gateway(GatewayOptions(url=mosquitto.url, flush_interval=0.2, outbox_interval=0.05))
    thread = threading.Thread(target=gateway.run, daemon=True)
    thread.start()
    sim = Simulator(creds, options=RuntimeOptions(heartbeat_s=2)).start(wait_connected=30)
    try:
        operator = make_user("op", "commune_operator", tree["a"])
        client = client_for(operator)
        resp = client.post(
            "/fleet/commands/new/",
            {
                "unit": "06652",
                "action": "play",
                "item_id": "ban-tin-phong-chong-bao",
                "media_url": "https://loa.example.vn/files/ban-tin.mp3",
                "sha256": "b" * 64,
                "duration_s": "1",
                "priority": "3",
            },
        )
        assert resp.status_code == 302, resp.content.decode()[:2000]
        command = Command.objects.get()

        def played() -> set[tuple[str, str]]:
            return set(PlayLog.objects.filter(command_id=command.pk).values_list("device_id", "kind"))

        expected = {(d, k) for d in a_ids for k in ("start", "end")}
        assert wait_until(lambda: expected <= played(), 30), played()
        assert wait_until(
            lambda: (
                set(CommandDelivery.objects.filter(command=command).values_list("state", flat=True))
                == {"done"}
            )
        )
        time.sleep(1.0)
        assert not PlayLog.objects.filter(device_id__in=b_ids).exists()
        assert not [e for d in b_ids for e in sim.events(d)]
        assert sim.refusals() == {}
        # visible in the console and in the API
        one = sorted(a_ids)[0]
        assert "ban-tin-phong-chong-bao" in client.get(f"/fleet/d/{one}/").content.decode()
        token = token_for(operator)
        body = client.get(
            f"/api/v1/fleet/playlogs?command={command.pk}", HTTP_AUTHORIZATION=f"Bearer {token}"
        ).json()
        assert body["count"] == 8
        assert gateway.counters["statuses"] >= 7  # every agent's heartbeats arrive, B's included
    finally:
        sim.stop()
        gateway.stop()
        thread.join(15)
