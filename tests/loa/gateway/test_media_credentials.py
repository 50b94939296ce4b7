"""End to end: agents download media that is not public with their own credentials (issue 20, item 7).

A play command names library audio that no bulletin published (speech made for the commune); the reference
agent's media cache fetches it from the live server with the device's MQTT credentials as HTTP Basic auth,
verifies the sha256 and plays it. Without credentials the same address answers 401.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from loa.accounts.roles import Role
from loa.broadcast.services import media_url
from loa.fleet import broker
from loa.fleet.models import PlayLog
from loa.fleet.services import credentials_for, do_provision_device, do_send_command
from loa.gateway.service import Gateway, GatewayOptions
from loa.media.models import MediaAsset
from loa.tts.services import do_synthesize
from tests.loa.fleet.brokers import MqttBroker, client_id  # type: ignore[import-not-found]

pytestmark = pytest.mark.mqtt


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@pytest.mark.parametrize("fetcher", ["reference", "simulated"])
def test_agents_fetch_unpublished_media_with_their_credentials(
    mqtt: MqttBroker,
    live_server: Any,
    settings: Any,
    tree: dict,
    make_user: Any,
    tmp_path: Path,
    fetcher: str,
) -> None:
    """``reference``: the reference agent's cache (httpx in a thread); ``simulated``: the simulated devices' cache
    of the benchmarks (loa_agent.sim_media, one GET on an asyncio stream), each device its own directory."""
    from loa_agent.media import MediaCache
    from loa_agent.runtime import RuntimeOptions
    from loa_agent.sim_media import SimulatedMediaCache
    from loa_agent.simulator import Simulator

    settings.LOA_PUBLIC_URL = live_server.url
    operator = make_user("op", Role.COMMUNE_OPERATOR, tree["a"])
    clip = do_synthesize("Loa của xã, không công khai.", actor=operator, unit=tree["a"])
    asset = MediaAsset.objects.get(pk=clip.media_asset_id)
    url = media_url(asset.sha256)
    assert url.startswith(live_server.url)
    assert httpx.get(url).status_code == 401, "not public"

    creds = []
    for i in range(2):
        device, password = do_provision_device(tree["a"], actor=None, serial=f"MC-{i}")
        creds.append(credentials_for(device, password))
    broker.write_broker_files()
    gateway = Gateway(
        GatewayOptions(
            url=mqtt.url, client_id=client_id("loa-gateway"), flush_interval=0.2, outbox_interval=0.05
        )
    )
    thread = threading.Thread(target=gateway.run, daemon=True)
    thread.start()
    cache = tmp_path / "agent-media"
    if fetcher == "reference":
        sim = Simulator(creds, media_fetcher=MediaCache(cache), options=RuntimeOptions(heartbeat_s=2))
    else:
        sim = Simulator(creds, media_fetchers=lambda device_id: SimulatedMediaCache(cache / device_id),
                        options=RuntimeOptions(heartbeat_s=2))  # fmt: skip
    sim.start(wait_connected=30)
    try:
        command = do_send_command(
            actor=operator,
            action="play",
            params={"item_id": "mc-1", "media_url": url, "sha256": asset.sha256,
                    "duration_s": float(asset.duration_s or 1), "priority": 4},
            target_unit=tree["a"],
        )  # fmt: skip
        ids = {c.device_id for c in creds}
        expected = {(d, k) for d in ids for k in ("start", "end")}

        def played() -> set[tuple[str, str]]:
            return set(PlayLog.objects.filter(command_id=command.pk).values_list("device_id", "kind"))

        assert wait_until(lambda: expected <= played(), 30 + float(asset.duration_s or 1)), (
            played(),
            sim.refusals(),
        )
        for downloaded in (
            [cache / asset.sha256] if fetcher == "reference" else [cache / d / asset.sha256 for d in ids]
        ):
            assert hashlib.sha256(downloaded.read_bytes()).hexdigest() == asset.sha256
    finally:
        sim.stop()
        gateway.stop()
        thread.join(15)
